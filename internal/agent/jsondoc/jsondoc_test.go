package jsondoc

import (
	"errors"
	"slices"
	"testing"

	"github.com/devupdate/devupdate/internal/problem"
)

func TestSplit(t *testing.T) {
	for path, want := range map[string][]string{
		"":                           nil,
		"a":                          {"a"},
		"a.b.c":                      {"a", "b", "c"},
		"mirrors[2]":                 {"mirrors", "[]"},
		`installed["A.B"].version`:   {"installed", "A.B", "version"},
		`x["q\"uote"][3].y`:          {"x", `q"uote`, "[]", "y"},
		`handlers.app.command[1]`:    {"handlers", "app", "command", "[]"},
		`failures["A.B@1.0.0.1"]`:    {"failures", "A.B@1.0.0.1"},
		`inventory["Windows.IoT.X"]`: {"inventory", "Windows.IoT.X"},
	} {
		if got := Split(path); !slices.Equal(got, want) {
			t.Errorf("Split(%q) = %q, want %q", path, got, want)
		}
	}
}

var errDoc = errors.New("bad doc")

func TestParse(t *testing.T) {
	known := func(segs []string) bool { return segs[0] == "a" || segs[0] == "m" }
	var v struct {
		A int            `json:"a"`
		M map[string]int `json:"m"`
	}
	if _, err := Parse("f", []byte(`{"a": 1, "m": {"x.y": 2}}`), 100, errDoc, known, &v); err != nil || v.M["x.y"] != 2 {
		t.Fatalf("%v %+v", err, v)
	}
	for doc, field := range map[string]string{
		`{"a": "one"}`:         "a",
		`{"b": {"c": 1}}`:      "b",
		`{"a": 1, "a": 2}`:     "",
		`[1]`:                  "",
		`{"m": {"k": "v"}}`:    "m.k",
		`{"a": 1}` + "   xxxx": "",
	} {
		d, err := Parse("f", []byte(doc), 100, errDoc, known, &v)
		ps := problem.As(err)
		if !errors.Is(err, errDoc) || !errors.Is(err, problem.ErrInvalid) || len(ps) != 1 || ps[0].Field != field || d == nil {
			t.Errorf("%s: %v (problems %+v), want one at %q", doc, err, ps, field)
		}
	}
	if _, err := Parse("f", make([]byte, 101), 100, errDoc, known, &v); !errors.Is(err, errDoc) {
		t.Errorf("oversized: %v", err)
	}
}
