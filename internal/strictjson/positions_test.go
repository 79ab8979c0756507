package strictjson

import "testing"

func TestPositions(t *testing.T) {
	data := []byte("{\n  \"a\": 1,\n  \"b\": {\"c\": [true, \"x\"]},\n  \"d\" : null,\n  \"e\": {\"x.y\": 2}\n}")
	pos := Positions(data)
	for path, want := range map[string][2]int{
		"":         {1, 1},
		"a":        {2, 8},
		"b":        {3, 8},
		"b.c":      {3, 14},
		"b.c[0]":   {3, 15},
		"b.c[1]":   {3, 21},
		"d":        {4, 9},
		`e["x.y"]`: {5, 16},
	} {
		off, ok := pos[path]
		if !ok {
			t.Errorf("%q: no position", path)
			continue
		}
		if l, c := LineCol(data, off); l != want[0] || c != want[1] {
			t.Errorf("%q at %d:%d, want %d:%d", path, l, c, want[0], want[1])
		}
	}
	// A broken document keeps what was read before the error.
	if pos := Positions([]byte(`{"a": 1, "b": [`)); pos["a"] == 0 {
		t.Errorf("positions of a truncated document: %v", pos)
	}
}
