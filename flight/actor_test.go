package flight_test

import (
	"strings"
	"testing"

	"github.com/devupdate/devupdate/flight"
)

func TestActor(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	tests := []struct {
		name, flag string
		getenv     func(string) string
		want       string
	}{
		{"flag wins", "alice", env("DEVUPDATE_ACTOR", "bob"), "alice"},
		{"variable", "", env("DEVUPDATE_ACTOR", "bob", "GITHUB_ACTIONS", "true", "GITHUB_ACTOR", "ci"), "bob"},
		{"GitHub Actions", "", env("GITHUB_ACTIONS", "true", "GITHUB_ACTOR", "octo", "GITHUB_REPOSITORY", "contoso/fw", "GITHUB_RUN_ID", "42"), "octo (GitHub Actions contoso/fw run 42)"},
		{"Azure Pipelines", "", env("TF_BUILD", "True", "BUILD_REQUESTEDFOREMAIL", "a@contoso.com", "BUILD_BUILDID", "7"), "a@contoso.com (Azure Pipelines build 7)"},
	}
	for _, tt := range tests {
		if got := flight.Actor(tt.flag, tt.getenv); got != tt.want {
			t.Errorf("%s: Actor = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := flight.Actor("", env()); !strings.Contains(got, "@") {
		t.Errorf("fallback %q is not user@host", got)
	}
}
