package problem

import (
	"errors"
	"testing"
)

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "a.yaml", Line: 3, Col: 5, Field: "smbios.sku", Rule: "required"}, "a.yaml:3:5: smbios.sku: required"},
		{Problem{File: "a.yaml", Line: 3, Field: "x", Rule: "r"}, "a.yaml:3: x: r"},
		{Problem{File: "a.yaml", Rule: "file is empty"}, "a.yaml: file is empty"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestListIsInvalidAndSorted(t *testing.T) {
	var l List
	l.Addf("b.yaml", 1, 1, "f", "rule %d", 1)
	l.Addf("a.yaml", 9, 1, "f", "late")
	l.Addf("a.yaml", 2, 7, "f", "early")
	err := l.Err()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("errors.Is(err, ErrInvalid) = false")
	}
	want := "a.yaml:2:7: f: early\na.yaml:9:1: f: late\nb.yaml:1:1: f: rule 1"
	if got := err.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	if (List{}).Err() != nil {
		t.Errorf("empty list is an error")
	}
}
