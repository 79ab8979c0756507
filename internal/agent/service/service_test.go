package service

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestServeStops(t *testing.T) {
	for _, req := range []Request{Stop, Shutdown} {
		reqs := make(chan Request)
		var states []State
		stopped := errors.New("stopped cleanly")
		running := make(chan struct{})
		done := make(chan error)
		go func() {
			done <- Serve(context.Background(), reqs, func(s State) { states = append(states, s) }, func(ctx context.Context) error {
				close(running)
				<-ctx.Done()
				return stopped
			})
		}()
		<-running
		reqs <- Other
		reqs <- Interrogate
		reqs <- req
		if err := <-done; !errors.Is(err, stopped) {
			t.Errorf("Serve returned %v", err)
		}
		want := []State{StartPending, Running, Running, StopPending, Stopped}
		if !slices.Equal(states, want) {
			t.Errorf("request %d: states %v, want %v", req, states, want)
		}
	}
}

func TestServeRunEnds(t *testing.T) {
	var states []State
	boom := errors.New("boom")
	err := Serve(context.Background(), nil, func(s State) { states = append(states, s) }, func(context.Context) error { return boom })
	if !errors.Is(err, boom) || !slices.Equal(states, []State{StartPending, Running, Stopped}) {
		t.Errorf("%v %v", err, states)
	}
}
