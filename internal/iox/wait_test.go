package iox

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 10: 8 * time.Second, 100: 8 * time.Second} {
		for range 50 {
			if got := Backoff(n, time.Second, 8*time.Second); got > want || got < want/2 {
				t.Fatalf("Backoff(%d) = %s, want %s less up to half", n, got, want)
			}
		}
	}
	if got := Backoff(3, 0, 0); got != 0 {
		t.Errorf("no backoff: %s", got)
	}
}

func TestSleepCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep = %v", err)
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("Sleep = %v", err)
	}
}
