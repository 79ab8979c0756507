package agent

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/devupdate/devupdate/internal/iox"
)

// Run is the service loop: install (which scans first) now, then every
// scan interval plus a random part of the jitter, so a fleet does not
// scan in step. A failed run is retried sooner, backing off from a minute
// up to the interval. It returns nil when ctx is done (SIGTERM, a service
// stop), after the step in progress: a download stops and resumes next
// time, a handler that runs finishes.
func (a *Agent) Run(ctx context.Context) error {
	failures := 0
	for {
		res, err := a.Install(ctx)
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case errors.Is(err, ErrBusy):
			a.o.logger.Info("another agent is at work; skipping this run")
		case err != nil:
			a.o.logger.Warn("run failed", "error", err)
		default:
			a.o.logger.Info("run done", "ring", res.Scan.Ring, "targets_version", res.Scan.TargetsVersion,
				"applicable", len(res.Scan.Applicable()), "installed", len(res.Installations), "reports_pending", res.ReportsPending)
		}
		if err != nil || res.Failed() {
			failures++
		} else {
			failures = 0
		}
		if err := a.o.sleep(ctx, a.nextRun(failures)); err != nil {
			return nil
		}
	}
}

// nextRun is the wait before the next run after failures failed runs in
// a row.
func (a *Agent) nextRun(failures int) time.Duration {
	wait := a.cfg.ScanInterval
	if failures > 0 {
		wait = iox.Backoff(failures, time.Minute, a.cfg.ScanInterval)
	}
	if j := a.cfg.Jitter; j > 0 {
		wait += rand.N(min(j, wait) + 1)
	}
	return wait
}
