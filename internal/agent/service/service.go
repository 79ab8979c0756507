// Package service runs the agent's loop under a service manager: on
// Windows the Service Control Manager (golang.org/x/sys/windows/svc), with
// Serve, the platform-independent part (which requests stop the loop,
// which states are reported when), tested everywhere.
package service

import "context"

// Request is what the service manager asks.
type Request int

// The requests Serve tells apart.
const (
	Interrogate Request = iota
	Stop
	Shutdown
	Other
)

// State is what Serve reports to the service manager.
type State int

// The states, in the order a service goes through them.
const (
	StartPending State = iota
	Running
	StopPending
	Stopped
)

// Serve runs run until it returns, or until a stop or shutdown request:
// then it cancels run's context, reports StopPending and waits for run to
// return (the agent stops after the step in progress). It reports
// StartPending, Running, and Stopped at the end; an interrogation is
// answered with the current state. It returns run's error.
func Serve(ctx context.Context, requests <-chan Request, report func(State), run func(context.Context) error) error {
	report(StartPending)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	cur := Running
	report(cur)
	for {
		select {
		case err := <-done:
			report(Stopped)
			return err
		case r := <-requests:
			switch r {
			case Interrogate:
				report(cur)
			case Stop, Shutdown:
				cur = StopPending
				report(cur)
				cancel()
				err := <-done
				report(Stopped)
				return err
			}
		}
	}
}
