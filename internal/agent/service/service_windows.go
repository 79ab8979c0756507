package service

import (
	"context"

	"golang.org/x/sys/windows/svc"
)

// IsService reports whether the process was started by the Service
// Control Manager.
func IsService() (bool, error) { return svc.IsWindowsService() }

// Run runs run as the Windows service name until the Service Control
// Manager stops it (see Serve).
func Run(name string, run func(context.Context) error) error {
	return svc.Run(name, &handler{run: run})
}

type handler struct {
	run func(context.Context) error
	err error
}

// Execute is svc.Handler's: it translates change requests and states.
func (h *handler) Execute(_ []string, changes <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	reqs := make(chan Request)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case c, ok := <-changes:
				if !ok {
					return
				}
				select {
				case reqs <- request(c.Cmd):
				case <-stop:
					return
				}
			case <-stop:
				return
			}
		}
	}()
	report := func(s State) {
		// svc reports SERVICE_STOPPED itself once Execute returns.
		if s != Stopped {
			status <- windowsStatus(s)
		}
	}
	h.err = Serve(context.Background(), reqs, report, h.run)
	close(stop)
	if h.err != nil {
		return false, 1
	}
	return false, 0
}

func request(c svc.Cmd) Request {
	switch c {
	case svc.Interrogate:
		return Interrogate
	case svc.Stop:
		return Stop
	case svc.Shutdown:
		return Shutdown
	}
	return Other
}

func windowsStatus(s State) svc.Status {
	switch s {
	case StartPending:
		return svc.Status{State: svc.StartPending}
	case Running:
		return svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	case StopPending:
		// The agent stops after the step in progress; a handler may take
		// a while, so the hint is generous.
		return svc.Status{State: svc.StopPending, WaitHint: 60000}
	}
	return svc.Status{State: svc.Stopped}
}
