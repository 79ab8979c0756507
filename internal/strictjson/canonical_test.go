package strictjson

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestCanonical(t *testing.T) {
	known := struct {
		Zeta  string `json:"zeta"`
		Alpha string `json:"alpha"`
	}{Zeta: "<&>", Alpha: "a"}
	got, err := Canonical(known, map[string]json.RawMessage{"mid": json.RawMessage(`{"b":1, "a":2}`)})
	if want := `{"alpha":"a","mid":{"b":1,"a":2},"zeta":"<&>"}`; err != nil || string(got) != want {
		t.Errorf("Canonical = %s, %v; want %s", got, err, want)
	}
	for _, tt := range []struct {
		extra, key, reason string
	}{
		{`"x"`, "alpha", "is a known field"},
		{`{"unclosed"`, "x", "is not valid JSON"},
	} {
		_, err := Canonical(known, map[string]json.RawMessage{tt.key: json.RawMessage(tt.extra)})
		var xe *ExtraError
		if !errors.As(err, &xe) || xe.Key != tt.key || xe.Reason != tt.reason {
			t.Errorf("extra %s=%s: error %v, want %q %s", tt.key, tt.extra, err, tt.key, tt.reason)
		}
	}
}
