package agent

import (
	"context"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/internal/agent/state"
	"github.com/devupdate/devupdate/internal/agent/tufrepo"
	"github.com/devupdate/devupdate/manifest/update"
	"github.com/devupdate/devupdate/smbios"
)

// Reason codes of a decision: why an update does not apply ("" when it
// does). The first six are catalog.Decide's.
const (
	ReasonHalted         = "halted"
	ReasonPaused         = "paused"
	ReasonNoCHID         = "no_matching_chid"
	ReasonNotHigher      = "not_higher"
	ReasonRequirement    = "requirement_not_met"
	ReasonRollout        = "outside_rollout"
	ReasonSuperseded     = "superseded"
	ReasonInvalidEntry   = "invalid_catalog_entry"
	ReasonGaveUp         = "gave_up"
	ReasonNotInstallable = "no_handler"
)

var catalogReasons = map[catalog.Reason]string{
	catalog.ReasonHalted: ReasonHalted, catalog.ReasonPaused: ReasonPaused, catalog.ReasonNoCHID: ReasonNoCHID,
	catalog.ReasonInstalled: ReasonNotHigher, catalog.ReasonRequirement: ReasonRequirement, catalog.ReasonRollout: ReasonRollout,
}

// Rollout is an update's rollout in the ring.
type Rollout struct {
	State   catalog.State `json:"state"`
	Percent int           `json:"percent"`
}

// Decision is what the device decided about one update of its ring.
type Decision struct {
	Name    string         `json:"name"`
	Version update.Version `json:"version"`
	Kind    update.Kind    `json:"kind,omitempty"`
	// Target is the TUF target path, SHA256 and Length its signed hash
	// and length.
	Target string `json:"target"`
	SHA256 string `json:"sha256"`
	Length int64  `json:"length"`
	// Applies: the device installs it.
	Applies bool `json:"applies"`
	// Reason (one of the Reason codes) and Message say why not.
	Reason  string  `json:"reason,omitempty"`
	Message string  `json:"message,omitempty"`
	Rollout Rollout `json:"rollout"`
	// After names the updates of this scan it is installed after (those
	// that meet its requirements).
	After []string `json:"after,omitempty"`

	entry *catalog.Entry
}

// ScanResult is what a scan found: the updates of the device's ring, in
// the order they would be installed, then those that do not apply.
type ScanResult struct {
	Ring    string      `json:"ring"`
	Product smbios.CHID `json:"product_chid"`
	// Repository is the ring's metadata path for the product.
	Repository     string `json:"repository"`
	TargetsVersion int64  `json:"targets_version"`
	// Rebuilt: the TUF cache was corrupt and was rebuilt.
	Rebuilt bool       `json:"cache_rebuilt,omitempty"`
	Updates []Decision `json:"updates"`
}

// Applicable returns the decisions that apply, in install order.
func (r *ScanResult) Applicable() []Decision {
	var out []Decision
	for _, d := range r.Updates {
		if d.Applies {
			out = append(out, d)
		}
	}
	return out
}

// entryOf is a target with its decoded entry (or why it could not be).
type entryOf struct {
	tf    *metadata.TargetFiles
	entry *catalog.Entry
	err   error
}

// entries decodes a verified state's entries once per state, sorted by
// name, then version from the highest.
func entries(t *tufrepo.Trusted) []entryOf {
	return t.Derived(func(t *tufrepo.Trusted) any {
		out := make([]entryOf, 0, len(t.Targets))
		for _, tf := range t.Targets {
			e, err := catalog.FromTarget("targets.json", tf)
			out = append(out, entryOf{tf: tf, entry: e, err: err})
		}
		slices.SortFunc(out, func(a, b entryOf) int {
			if a.entry == nil || b.entry == nil || a.entry.Name != b.entry.Name {
				return strings.Compare(a.tf.Path, b.tf.Path)
			}
			return b.entry.Version.Compare(a.entry.Version)
		})
		return out
	}).([]entryOf)
}

// Scan refreshes the ring's metadata and decides, for every update in it,
// whether it applies to this device and why not. The outcome is kept in
// the record's last scan.
func (a *Agent) Scan(ctx context.Context) (*ScanResult, error) {
	_, res, unlock, err := a.begin(ctx)
	if unlock != nil {
		unlock()
	}
	return res, err
}

// begin starts a run that may change the record: it takes the state
// directory's lock, loads the record, scans and saves the scan's outcome.
// unlock, when not nil, ends the run.
func (a *Agent) begin(ctx context.Context) (rec *state.Record, res *ScanResult, unlock func(), err error) {
	if unlock, err = a.lock(); err != nil {
		return nil, nil, nil, err
	}
	if rec, err = a.store.Load(ctx); err != nil {
		return nil, nil, unlock, err
	}
	res, err = a.scan(ctx, rec)
	if serr := a.store.Save(ctx, rec); err == nil {
		err = serr
	}
	return rec, res, unlock, err
}

// scan is Scan over a loaded record, which it updates (last scan, pending
// reboots) but does not save.
func (a *Agent) scan(ctx context.Context, rec *state.Record) (*ScanResult, error) {
	a.clearRebooted(rec)
	res, err := a.decide(ctx, rec)
	last := &state.Scan{Time: a.now(), Ring: a.cfg.Ring, OK: err == nil}
	if err != nil {
		last.Code, last.Message = CodeOf(err), err.Error()
	} else {
		last.Offered = len(res.Applicable())
		last.TargetsVersion = res.TargetsVersion
	}
	rec.LastScan = last
	return res, err
}

// clearRebooted marks installs pending a reboot complete once the system
// has started since.
func (a *Agent) clearRebooted(rec *state.Record) {
	boot, ok := bootTime()
	if !ok {
		return
	}
	for name, in := range rec.Installed {
		if in.PendingReboot && boot.After(in.InstalledAt) {
			in.PendingReboot = false
			rec.Installed[name] = in
		}
	}
}

// Installed is what the device has: the base inventory (the OS build on
// Windows, the configured inventory) and what the agent installed.
func (a *Agent) Installed(rec *state.Record) map[string]update.Version {
	have := maps.Clone(a.cfg.Inventory)
	if have == nil {
		have = map[string]update.Version{}
	}
	if v, ok, err := osBuild(); err != nil {
		a.o.logger.Warn("OS build unreadable", "error", err)
	} else if ok {
		if cur, seen := have[a.cfg.OSPackage]; !seen || v.Compare(cur) > 0 {
			have[a.cfg.OSPackage] = v
		}
	}
	for name, in := range rec.Installed {
		if cur, seen := have[name]; !seen || in.Version.Compare(cur) > 0 {
			have[name] = in.Version
		}
	}
	return have
}

func (a *Agent) decide(ctx context.Context, rec *state.Record) (*ScanResult, error) {
	repo, err := a.repo(ctx)
	if err != nil {
		return nil, err
	}
	trusted, err := repo.Refresh(ctx)
	if err != nil {
		return nil, fmt.Errorf("ring %s, product %s: %w", a.cfg.Ring, a.dev.Product, err)
	}
	res := &ScanResult{Ring: a.cfg.Ring, Product: a.dev.Product, Repository: repo.Dir, TargetsVersion: trusted.TargetsVersion, Rebuilt: repo.Rebuilt}
	res.Updates = a.plan(entries(trusted), a.Installed(rec), rec)
	return res, nil
}

// plan decides every entry and orders those that apply so that each comes
// after the updates of this scan that meet its requirements: an entry
// whose requirement an applicable update of the same scan meets applies,
// after it. Of several applicable versions of one name the highest wins.
func (a *Agent) plan(all []entryOf, installed map[string]update.Version, rec *state.Record) []Decision {
	out := make([]Decision, 0, len(all)) // never nil: a scan's updates are a list, [] when empty
	var rest []Decision
	planned := map[string]update.Version{}
	open := make([]*Decision, 0, len(all))
	for _, eo := range all {
		d := Decision{Target: eo.tf.Path, Length: eo.tf.Length}
		if h, ok := eo.tf.Hashes["sha256"]; ok {
			d.SHA256 = hex.EncodeToString(h)
		}
		if eo.err != nil {
			d.Name, d.Reason, d.Message = eo.tf.Path, ReasonInvalidEntry, eo.err.Error()
			rest = append(rest, d)
			continue
		}
		e := eo.entry
		d.Name, d.Version, d.Kind, d.Rollout, d.entry = e.Name, e.Version, update.Kind(e.Kind), Rollout{e.Rollout.State, e.Rollout.Percent}, e
		if d.SHA256 == "" || d.Length <= 0 {
			d.Reason, d.Message = ReasonInvalidEntry, "the target has no SHA-256 or no length"
			rest = append(rest, d)
			continue
		}
		open = append(open, &d)
	}
	// Requirements met only by what this scan installs are decided again
	// once those are planned, until nothing changes.
	for changed := true; changed; {
		changed = false
		for i, d := range open {
			if d == nil {
				continue
			}
			view := maps.Clone(installed)
			for n, v := range planned {
				if n != d.Name {
					if cur, ok := view[n]; !ok || v.Compare(cur) > 0 {
						view[n] = v
					}
				}
			}
			dec := catalog.Decide(d.entry, catalog.Device{ID: a.dev.ID, CHIDs: a.dev.CHIDs, Installed: view})
			if dec.Reason == catalog.ReasonRequirement {
				d.Reason, d.Message = ReasonRequirement, fmt.Sprintf("needs %s %s or higher", dec.Requirement.Name, dec.Requirement.MinVersion)
				continue // perhaps met by an update planned later
			}
			open[i] = nil
			changed = true
			switch {
			case !dec.Offered:
				d.Reason, d.Message = catalogReasons[dec.Reason], describe(dec, d)
			case planned[d.Name].Compare(d.Version) > 0:
				d.Reason, d.Message = ReasonSuperseded, fmt.Sprintf("%s %s applies", d.Name, planned[d.Name])
			case rec.Failures[state.FailureKey(d.Name, d.Version)].Count >= a.cfg.MaxAttempts:
				f := rec.Failures[state.FailureKey(d.Name, d.Version)]
				d.Reason, d.Message = ReasonGaveUp, fmt.Sprintf("failed %d times (last: %s)", f.Count, f.Message)
			case a.installers[d.Kind] == nil:
				d.Reason, d.Message = ReasonNotInstallable, fmt.Sprintf("no handler configured for kind %s", d.Kind)
			default:
				if _, ok := planned[d.Name]; ok {
					// A lower version of the name was planned first (this
					// one waited for a requirement): it gives way.
					i := slices.IndexFunc(out, func(o Decision) bool { return o.Name == d.Name })
					low := out[i]
					out = slices.Delete(out, i, i+1)
					low.Applies, low.After = false, nil
					low.Reason, low.Message = ReasonSuperseded, fmt.Sprintf("%s %s applies", d.Name, d.Version)
					rest = append(rest, low)
				}
				d.Applies = true
				for _, r := range d.entry.Requires {
					if _, ok := planned[r.Name]; ok {
						d.After = append(d.After, r.Name)
					}
				}
				planned[d.Name] = d.Version
				out = append(out, *d)
				continue
			}
			rest = append(rest, *d)
		}
	}
	for _, d := range open {
		if d != nil {
			rest = append(rest, *d)
		}
	}
	slices.SortStableFunc(rest, func(a, b Decision) int { return strings.Compare(a.Target, b.Target) })
	return append(out, rest...)
}

// describe says why an entry is not offered, for people.
func describe(dec catalog.Decision, d *Decision) string {
	switch dec.Reason {
	case catalog.ReasonRollout:
		return fmt.Sprintf("outside the rollout at %d %%", d.Rollout.Percent)
	case catalog.ReasonNoCHID:
		return "targets none of this device's CHIDs"
	case catalog.ReasonInstalled:
		return "version not higher than the installed one"
	case catalog.ReasonHalted:
		return "halted in this ring"
	case catalog.ReasonPaused:
		return "paused in this ring"
	}
	return string(dec.Reason)
}
