package agent

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/devupdate/devupdate/internal/agent/report"
	"github.com/devupdate/devupdate/internal/agent/state"
	"github.com/devupdate/devupdate/manifest/update"
)

// Package is one entry of what the device has.
type Package struct {
	Name    string         `json:"name"`
	Version update.Version `json:"version"`
	// Source is "agent" (installed by the agent) or "inventory" (the base
	// inventory: configured, or the OS build on Windows).
	Source        string      `json:"source"`
	Kind          update.Kind `json:"kind,omitempty"`
	Ring          string      `json:"ring,omitempty"`
	InstalledAt   *time.Time  `json:"installed_at,omitempty"`
	PendingReboot bool        `json:"pending_reboot,omitempty"`
}

// DeviceStatus is what `status` shows: the device, its ring, what it has, the
// install in progress, failures, the last scan, the reports.
type DeviceStatus struct {
	Device    *Device                  `json:"device"`
	Ring      string                   `json:"ring"`
	Installed []Package                `json:"installed"`
	Attempt   *state.Attempt           `json:"attempt,omitempty"`
	Failures  map[string]state.Failure `json:"failures"`
	LastScan  *state.Scan              `json:"last_scan,omitempty"`
	// ReportsPending are reports not yet sent to the report URL;
	// LastReport is the latest.
	ReportsPending int            `json:"reports_pending"`
	LastReport     *report.Report `json:"last_report,omitempty"`
}

// Status reads the record and reports; it touches no network and changes
// nothing.
func (a *Agent) Status(ctx context.Context) (*DeviceStatus, error) {
	rec, err := a.store.Load(ctx)
	if err != nil {
		return nil, err
	}
	st := &DeviceStatus{Device: a.dev, Ring: a.cfg.Ring, Attempt: rec.Attempt, Failures: rec.Failures, LastScan: rec.LastScan, Installed: []Package{}}
	for name, v := range a.Installed(rec) {
		p := Package{Name: name, Version: v, Source: "inventory"}
		if in, ok := rec.Installed[name]; ok && in.Version == v {
			at := in.InstalledAt
			p.Source, p.Kind, p.Ring, p.InstalledAt, p.PendingReboot = "agent", in.Kind, in.Ring, &at, in.PendingReboot
		}
		st.Installed = append(st.Installed, p)
	}
	slices.SortFunc(st.Installed, func(a, b Package) int { return strings.Compare(a.Name, b.Name) })
	pending, err := a.outbox.Pending()
	if err != nil {
		return nil, err
	}
	if a.cfg.ReportURL != "" {
		st.ReportsPending = len(pending)
	}
	sent, err := a.outbox.Sent()
	if err != nil {
		return nil, err
	}
	// The latest report: file names start with the finish time.
	all := append(sent, pending...)
	slices.SortFunc(all, func(x, y string) int { return strings.Compare(filepath.Base(x), filepath.Base(y)) })
	if len(all) > 0 {
		if st.LastReport, err = report.Read(ctx, all[len(all)-1]); err != nil {
			return nil, err
		}
	}
	return st, nil
}
