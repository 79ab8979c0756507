package memory_test

import (
	"testing"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/cdntest"
	"github.com/devupdate/devupdate/cdn/memory"
)

func TestConformance(t *testing.T) {
	cdntest.Run(t, func(*testing.T) cdn.Store { return memory.New() })
}
