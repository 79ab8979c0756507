package update

import (
	"errors"
	"slices"
	"testing"
)

func TestParseVersion(t *testing.T) {
	good := []struct {
		in   string
		want Version
	}{
		{"1.0.0.1", Version{1, 0, 0, 1}},
		{"10.0.17763.615", Version{10, 0, 17763, 615}},
		{"65535.65535.65535.65535", Version{65535, 65535, 65535, 65535}},
		{"0.0.0.0", Version{}},
	}
	for _, tt := range good {
		got, err := ParseVersion(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("String() = %q, want %q", got.String(), tt.in)
		}
	}
	for _, in := range []string{"", "1", "1.0.0", "1.0.0.1.2", "1.0.0.65536", "1.0.0.99999", "1.0.0.-1",
		"1.0.0.+1", "01.0.0.1", "1.0.0.1 ", " 1.0.0.1", "1..0.1", "1.0.0.x", "1.0.0.0x1", "1.0.0.١"} {
		if _, err := ParseVersion(in); !errors.Is(err, ErrVersion) {
			t.Errorf("ParseVersion(%q) err = %v, want ErrVersion", in, err)
		}
	}
}

func TestVersionCompareIsNumeric(t *testing.T) {
	// Sorted by hand: lexical order would put 1.0.0.10 before 1.0.0.9 and
	// 10.0.0.0 before 9.0.0.0.
	want := []string{"0.0.0.0", "1.0.0.2", "1.0.0.9", "1.0.0.10", "1.0.1.0", "1.2.0.0", "9.0.0.0", "10.0.0.0", "10.0.17763.615", "65535.0.0.0"}
	var vs []Version
	for _, s := range []string{"10.0.0.0", "1.0.0.10", "65535.0.0.0", "1.0.0.9", "9.0.0.0", "1.2.0.0", "0.0.0.0", "10.0.17763.615", "1.0.1.0", "1.0.0.2"} {
		v, err := ParseVersion(s)
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	slices.SortFunc(vs, Version.Compare)
	for i, v := range vs {
		if v.String() != want[i] {
			t.Fatalf("sorted[%d] = %s, want %s", i, v, want[i])
		}
	}
	a, b := Version{1, 0, 0, 1}, Version{1, 0, 0, 1}
	if a.Compare(b) != 0 || a.Compare(Version{1, 0, 0, 2}) != -1 || (Version{2}).Compare(a) != 1 {
		t.Error("Compare gives wrong signs")
	}
}

func TestVersionText(t *testing.T) {
	var v Version
	if err := v.UnmarshalText([]byte("1.2.3.4")); err != nil || v != (Version{1, 2, 3, 4}) {
		t.Errorf("UnmarshalText = %v, %v", v, err)
	}
	if err := v.UnmarshalText([]byte("1.2.3")); !errors.Is(err, ErrVersion) {
		t.Errorf("UnmarshalText(1.2.3) err = %v", err)
	}
	b, _ := Version{1, 2, 3, 4}.MarshalText()
	if string(b) != "1.2.3.4" {
		t.Errorf("MarshalText = %s", b)
	}
}

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"Contoso.Toaster", "Contoso.Toaster.Driver", "Windows.IoT.Core", "a.b", "A1.B_2.c3_"} {
		if err := CheckName(ok); err != nil {
			t.Errorf("CheckName(%q) = %v", ok, err)
		}
	}
	long := "A" + string(make([]byte, 0))
	for len(long) < 65 {
		long += "b"
	}
	for _, bad := range []string{"", "Contoso", "Contoso.", ".Toaster", "Contoso..Driver", "a.b.c.d", "1Contoso.Toaster",
		"Contoso.Toaster-Driver", "Contoso._x", "Contoso.Toaster ", "Contoso.Töaster", long + ".x", "Contoso/x.y"} {
		if err := CheckName(bad); !errors.Is(err, ErrName) {
			t.Errorf("CheckName(%q) = %v, want ErrName", bad, err)
		}
	}
}
