package local_test

import (
	"testing"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/cdntest"
	"github.com/devupdate/devupdate/cdn/local"
)

func newStore(t *testing.T) *local.Store {
	t.Helper()
	s, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	cdntest.Run(t, func(t *testing.T) cdn.Store { return newStore(t) })
}
