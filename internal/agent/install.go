package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/internal/agent/fetch"
	"github.com/devupdate/devupdate/internal/agent/handler"
	"github.com/devupdate/devupdate/internal/agent/report"
	"github.com/devupdate/devupdate/internal/agent/state"
	"github.com/devupdate/devupdate/internal/failpoint"
	"github.com/devupdate/devupdate/manifest/update"
	"github.com/devupdate/devupdate/packager/cabinet"
	"github.com/devupdate/devupdate/signer/authenticode"
	"github.com/devupdate/devupdate/smbios"
)

// Outcome is how one update's install ended (report.Outcome).
type Outcome = report.Outcome

// Installation is the outcome of one update in an install run.
type Installation struct {
	Name    string         `json:"name"`
	Version update.Version `json:"version"`
	Kind    update.Kind    `json:"kind"`
	Outcome Outcome        `json:"outcome"`
	// Err is why it failed (nil unless Outcome is failed or abandoned);
	// Error is its code and message.
	Err   error         `json:"-"`
	Error *report.Error `json:"error,omitempty"`
	// Report is the report file written to the outbox.
	Report string `json:"report,omitempty"`
	// Handler is the handler's exit status and output (when it ran).
	Handler *handler.Result `json:"handler,omitempty"`
}

// InstallResult is an install run: the scan, then each update tried.
type InstallResult struct {
	Scan          *ScanResult    `json:"scan"`
	Installations []Installation `json:"installations"`
	// ReportsSent and ReportsPending count the outbox after the run (with
	// a report URL); ReportErr is why sending stopped (it never fails the
	// run).
	ReportsSent    int   `json:"reports_sent"`
	ReportsPending int   `json:"reports_pending"`
	ReportErr      error `json:"-"`
}

// Failed reports whether any installation failed.
func (r *InstallResult) Failed() bool {
	return slices.ContainsFunc(r.Installations, func(i Installation) bool {
		return i.Outcome == report.Failed
	})
}

// Install scans and installs what applies, in dependency order: download
// (resumed), verification, extraction, the handler; each recorded
// crash-safely and reported. An install a crash interrupted is finished
// (or, when its update is no longer offered, reported abandoned) first.
// Reports are sent afterwards, never in an install's way. The error is
// the run's (the scan failed, the record cannot be written); an update
// that failed is an Installation with Outcome failed.
func (a *Agent) Install(ctx context.Context) (*InstallResult, error) {
	rec, scan, unlock, err := a.begin(ctx)
	if unlock != nil {
		defer unlock()
	}
	if rec == nil {
		return nil, err
	}
	res := &InstallResult{Scan: scan, Installations: []Installation{}}
	if err != nil {
		return res, err
	}
	plan := res.Scan.Applicable()
	if at := rec.Attempt; at != nil && !slices.ContainsFunc(plan, func(d Decision) bool { return d.Name == at.Name && d.Version == at.Version }) {
		inst, err := a.abandon(ctx, rec)
		if err != nil {
			return res, err
		}
		inst.Error = reportError(inst.Err)
		res.Installations = append(res.Installations, *inst)
	}
	failed := map[string]bool{}
	for _, d := range plan {
		if ctx.Err() != nil {
			break
		}
		var inst *Installation
		if blocked := slices.IndexFunc(d.After, func(n string) bool { return failed[n] }); blocked >= 0 {
			inst, err = a.fail(ctx, rec, d, a.now(), report.Timings{}, fmt.Errorf("%s %s: %w: %s", d.Name, d.Version, ErrRequirementFailed, d.After[blocked]))
		} else {
			inst, err = a.installOne(ctx, rec, d)
		}
		if err != nil {
			return res, err
		}
		if inst.Outcome == report.Failed {
			failed[d.Name] = true
		}
		inst.Error = reportError(inst.Err)
		res.Installations = append(res.Installations, *inst)
	}
	a.sendReports(ctx, res)
	return res, nil
}

// sendReports flushes the outbox for at most a minute, after the installs.
// Without a report URL reports are only kept, and none is pending.
func (a *Agent) sendReports(ctx context.Context, res *InstallResult) {
	if a.cfg.ReportURL == "" {
		return
	}
	if ctx.Err() == nil {
		fctx, cancel := context.WithTimeout(ctx, time.Minute)
		res.ReportsSent, res.ReportErr = a.outbox.Flush(fctx)
		cancel()
	}
	pending, _ := a.outbox.Pending()
	res.ReportsPending = len(pending)
}

// paths of an update's files in the state directory.
func (a *Agent) cabPath(sum string) string {
	return filepath.Join(a.cfg.StateDir, "downloads", sum+".cab")
}

func (a *Agent) workDir(sum string) string { return filepath.Join(a.cfg.StateDir, "work", sum) }

// save writes the record; a failure here fails the run (the record is the
// one thing that must be right).
func (a *Agent) save(ctx context.Context, rec *state.Record, point string) error {
	// Saving is not cancelled with the run: a stop request between two
	// steps must not lose what a finished step did.
	if err := a.store.Save(context.WithoutCancel(ctx), rec); err != nil {
		return err
	}
	failpoint.Hit(point)
	return nil
}

// installOne installs one applicable update.
func (a *Agent) installOne(ctx context.Context, rec *state.Record, d Decision) (*Installation, error) {
	start := a.now()
	var tm report.Timings
	inst := a.installers[d.Kind]
	if rec.Attempt == nil || rec.Attempt.Name != d.Name || rec.Attempt.Version != d.Version {
		rec.Attempt = &state.Attempt{Name: d.Name, Version: d.Version, Kind: d.Kind, SHA256: d.SHA256, Length: d.Length,
			Ring: a.cfg.Ring, Phase: state.Downloading, Started: start}
		if err := a.save(ctx, rec, "attempt-recorded"); err != nil {
			return nil, err
		}
	}
	cab := a.cabPath(d.SHA256)
	t := time.Now()
	if err := a.download(ctx, d, cab); err != nil {
		if ctx.Err() != nil {
			// Stopped: the attempt and its partial download stay, to be
			// resumed by the next run.
			return nil, ctx.Err()
		}
		return a.fail(ctx, rec, d, start, tm, err)
	}
	tm.DownloadMS = time.Since(t).Milliseconds()
	t = time.Now()
	job, err := a.verifyAndExtract(ctx, d, cab)
	tm.VerifyMS = time.Since(t).Milliseconds()
	if err != nil {
		if ctx.Err() != nil {
			// Stopped, not refused: the next run verifies again.
			return nil, ctx.Err()
		}
		// What does not verify is not kept.
		_ = os.Remove(cab)
		return a.fail(ctx, rec, d, start, tm, err)
	}
	// The handler is not stopped by a stop request: an installer killed
	// half-way is worse than a service that stops a little later. Its
	// timeout bounds it.
	hctx := context.WithoutCancel(ctx)
	t = time.Now()
	done, checked, err := inst.Installed(hctx, *job)
	if err != nil {
		return a.fail(ctx, rec, d, start, tm, err)
	}
	var hres *handler.Result
	outcome := report.AlreadyInstalled
	if !done {
		rec.Attempt.Phase = state.Installing
		if err := a.save(ctx, rec, "installing-recorded"); err != nil {
			return nil, err
		}
		hres, err = inst.Install(hctx, *job)
		failpoint.Hit("handler-done")
		tm.InstallMS = time.Since(t).Milliseconds()
		if err != nil {
			return a.failHandler(ctx, rec, d, start, tm, hres, err)
		}
		outcome = report.Installed
		if hres.RebootRequired {
			outcome = report.PendingReboot
		} else if checked {
			// The check must agree with the handler's success.
			if ok, _, err := inst.Installed(hctx, *job); err != nil || !ok {
				if err == nil {
					err = fmt.Errorf("%s %s: %w: the handler succeeded but the installed check says it is not installed", d.Name, d.Version, handler.ErrFailed)
				}
				return a.failHandler(ctx, rec, d, start, tm, hres, err)
			}
		}
	}
	rec.Installed[d.Name] = state.Installed{Version: d.Version, Kind: d.Kind, SHA256: d.SHA256, Ring: a.cfg.Ring,
		InstalledAt: a.now(), PendingReboot: outcome == report.PendingReboot}
	rec.Attempt = nil
	delete(rec.Failures, state.FailureKey(d.Name, d.Version))
	if err := a.save(ctx, rec, "installed-recorded"); err != nil {
		return nil, err
	}
	i := &Installation{Name: d.Name, Version: d.Version, Kind: d.Kind, Outcome: outcome, Handler: hres}
	a.report(ctx, i, d, start, tm, hres)
	a.cleanup(d.SHA256)
	return i, nil
}

// download fetches the cabinet into the state directory, unless a
// complete copy with the signed digest is already there (an earlier run
// got that far).
func (a *Agent) download(ctx context.Context, d Decision, cab string) error {
	if sum, err := fileSHA256(cab); err == nil {
		if sum == d.SHA256 {
			return nil
		}
		_ = os.Remove(cab)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(cab), 0o700); err != nil {
		return err
	}
	return a.fetch.Download(ctx, catalog.TargetKey(d.SHA256, d.Target), cab, d.Length, d.SHA256)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// verifyAndExtract checks the cabinet's Authenticode signature against the
// OEM's policy (and an os update's vendor packages against the vendor's
// roots), that it is the update the signed metadata names and targets
// this device, then extracts it into a fresh work directory.
func (a *Agent) verifyAndExtract(ctx context.Context, d Decision, cab string) (*handler.Job, error) {
	f, err := os.Open(cab)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	res, err := authenticode.VerifyReaderAt(ctx, cab, f, st.Size(), a.policy)
	if err != nil {
		return nil, err
	}
	u := res.Update
	switch {
	case u == nil:
		return nil, mismatch(cab, "it carries no update.json")
	case u.Name != d.Name || u.Version != d.Version || u.Kind != d.Kind:
		return nil, mismatch(cab, "it is %s %s (%s), the metadata names %s %s (%s)", u.Name, u.Version, u.Kind, d.Name, d.Version, d.Kind)
	case !targetsDevice(u.Targets, a.dev):
		return nil, mismatch(cab, "its update.json targets none of this device's CHIDs")
	}
	failpoint.Hit("verified")
	work := a.workDir(d.SHA256)
	if err := os.RemoveAll(work); err != nil {
		return nil, err
	}
	c, err := cabinet.Open(ctx, f, st.Size(), cabinet.WithName(cab), cabinet.WithMaxUncompressed(a.cfg.MaxExtractBytes))
	if err != nil {
		return nil, err
	}
	if _, err := c.Extract(ctx, work); err != nil {
		return nil, err
	}
	failpoint.Hit("extracted")
	job := &handler.Job{Name: d.Name, Version: d.Version.String(), Kind: string(d.Kind), Dir: work, Cab: cab}
	if u.INF != "" {
		job.INF = filepath.Join(work, filepath.FromSlash(u.INF))
	}
	if u.Package != "" {
		job.Package = filepath.Join(work, filepath.FromSlash(u.Package))
	}
	return job, nil
}

// targetsDevice reports whether one of targets is one of the device's
// CHIDs (or its product's).
func targetsDevice(targets []smbios.CHID, d *Device) bool {
	return slices.ContainsFunc(targets, func(c smbios.CHID) bool { return c == d.Product || slices.Contains(d.CHIDs, c) })
}

// fail records a failed attempt (the failure count of the update grows;
// the attempt is over) and reports it.
func (a *Agent) fail(ctx context.Context, rec *state.Record, d Decision, start time.Time, tm report.Timings, err error) (*Installation, error) {
	return a.failHandler(ctx, rec, d, start, tm, nil, err)
}

func (a *Agent) failHandler(ctx context.Context, rec *state.Record, d Decision, start time.Time, tm report.Timings, hres *handler.Result, err error) (*Installation, error) {
	a.o.logger.Warn("install failed", "name", d.Name, "version", d.Version, "error", err)
	// A network that could not deliver is no fault of the update: the
	// attempt and its partial download stay for the next run, and it does
	// not count towards giving up.
	transient := errors.Is(err, fetch.ErrUnreachable)
	if !transient {
		key := state.FailureKey(d.Name, d.Version)
		f := rec.Failures[key]
		f.Count++
		f.Last, f.Code, f.Message = a.now(), CodeOf(err), err.Error()
		rec.Failures[key] = f
		rec.Attempt = nil
		if serr := a.save(ctx, rec, "failure-recorded"); serr != nil {
			return nil, serr
		}
	}
	i := &Installation{Name: d.Name, Version: d.Version, Kind: d.Kind, Outcome: report.Failed, Err: err, Handler: hres}
	a.report(ctx, i, d, start, tm, hres)
	if !transient {
		a.cleanup(d.SHA256)
	}
	return i, nil
}

// abandon ends an interrupted attempt whose update is no longer offered
// (halted, superseded, moved out of the ring): done if its installed check
// says so, else reported abandoned; its files are removed.
func (a *Agent) abandon(ctx context.Context, rec *state.Record) (*Installation, error) {
	at := rec.Attempt
	d := Decision{Name: at.Name, Version: at.Version, Kind: at.Kind, SHA256: at.SHA256, Length: at.Length}
	i := &Installation{Name: at.Name, Version: at.Version, Kind: at.Kind, Outcome: report.Abandoned,
		Err: fmt.Errorf("%s %s: an interrupted install whose update is no longer offered", at.Name, at.Version)}
	if inst := a.installers[at.Kind]; inst != nil && at.Phase == state.Installing {
		work := a.workDir(at.SHA256)
		if _, err := os.Stat(work); err == nil {
			job := handler.Job{Name: at.Name, Version: at.Version.String(), Kind: string(at.Kind), Dir: work, Cab: a.cabPath(at.SHA256)}
			if ok, _, _ := inst.Installed(context.WithoutCancel(ctx), job); ok {
				i.Outcome, i.Err = report.AlreadyInstalled, nil
				rec.Installed[at.Name] = state.Installed{Version: at.Version, Kind: at.Kind, SHA256: at.SHA256, Ring: at.Ring, InstalledAt: a.now()}
			}
		}
	}
	rec.Attempt = nil
	if err := a.save(ctx, rec, "abandon-recorded"); err != nil {
		return nil, err
	}
	a.report(ctx, i, d, at.Started, report.Timings{}, nil)
	a.cleanup(at.SHA256)
	return i, nil
}

// report writes the attempt's report to the outbox; a report that cannot
// be written is logged, never a reason to fail an install.
func (a *Agent) report(ctx context.Context, i *Installation, d Decision, start time.Time, tm report.Timings, hres *handler.Result) {
	r := &report.Report{DeviceID: a.dev.ID, Ring: a.cfg.Ring, Name: d.Name, Version: d.Version, Kind: d.Kind, SHA256: d.SHA256,
		Outcome: i.Outcome, Error: reportError(i.Err), Started: start, Finished: a.now(), Timings: tm}
	if r.Finished.Before(r.Started) {
		r.Finished = r.Started
	}
	if hres != nil {
		r.Handler = &report.Handler{ExitCode: hres.ExitCode, Output: hres.Output}
	}
	p, err := a.outbox.Write(context.WithoutCancel(ctx), r)
	if err != nil {
		a.o.logger.Warn("report not written", "name", d.Name, "version", d.Version, "error", err)
		return
	}
	i.Report = p
	failpoint.Hit("report-written")
}

// cleanup removes an attempt's cabinet and work directory.
func (a *Agent) cleanup(sum string) {
	_ = os.RemoveAll(a.workDir(sum))
	_ = os.Remove(a.cabPath(sum))
	_ = os.Remove(a.cabPath(sum) + ".part")
}
