package agent

import "testing"

func TestParseOSBuild(t *testing.T) {
	v, err := parseOSBuild(10, 0, "17763", 615)
	if err != nil || v.String() != "10.0.17763.615" {
		t.Errorf("%v, %v", v, err)
	}
	for _, bad := range []struct {
		build string
		ubr   uint64
	}{{"17763a", 1}, {"", 1}, {"17763", 70000}} {
		if _, err := parseOSBuild(10, 0, bad.build, bad.ubr); err == nil {
			t.Errorf("%q %d accepted", bad.build, bad.ubr)
		}
	}
}
