package yamlpos

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/devupdate/devupdate/internal/problem"
)

func TestDecodeYAMLPositions(t *testing.T) {
	src := "name: x\nsmbios:\n  sku: ABC\nlist:\n  - one\n  - two\n"
	var v struct {
		Name   string            `yaml:"name"`
		SMBIOS map[string]string `yaml:"smbios"`
		List   []string          `yaml:"list"`
	}
	doc, err := Decode("p.yaml", []byte(src), &v)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path []string
		want Pos
		ok   bool
	}{
		{[]string{"smbios", "sku"}, Pos{3, 8}, true},
		{[]string{"list", "1"}, Pos{6, 5}, true},
		{[]string{"smbios", "missing"}, Pos{3, 3}, false},
	} {
		got, ok := Find(doc, tt.path...)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Find(%v) = %v, %v; want %v, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
	if got, _ := KeyPos(doc, "smbios", "sku"); got != (Pos{3, 3}) {
		t.Errorf("KeyPos = %v", got)
	}
}

// doc is the shape the error tests decode into: the kinds of values
// update.yaml, product.yaml and fields files use.
type doc struct {
	Name  string   `yaml:"name"`
	Byte  *uint8   `yaml:"byte"`
	List  []string `yaml:"list"`
	Items []struct {
		Source string `yaml:"source"`
		Dest   string `yaml:"dest"`
	} `yaml:"items"`
	Sub struct {
		SKU string `yaml:"sku"`
	} `yaml:"sub"`
}

func TestDecodeYAMLErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want problem.List
	}{
		{"unknown key", "name: x\nnope: 1\n", problem.List{{File: "f.yaml", Line: 2, Col: 1, Field: "nope", Rule: `unknown key "nope" (known: byte, items, list, name, sub)`}}},
		{"typo", "nme: x\n", problem.List{{File: "f.yaml", Line: 1, Col: 1, Field: "nme", Rule: `unknown key "nme": did you mean name?`}}},
		{"wrong type and typo", "name: [1]\nnmae: x\n", problem.List{
			{File: "f.yaml", Line: 1, Col: 7, Field: "name", Rule: "want a string, not a list"},
			{File: "f.yaml", Line: 2, Col: 1, Field: "nmae", Rule: `unknown key "nmae": did you mean name?`}}},
		{"every wrong type", "name: {a: b}\nbyte: 300\nlist: 3\nitems:\n  - source: [x]\n    dest: ok\n  - 7\nsub: [sku]\n", problem.List{
			{File: "f.yaml", Line: 1, Col: 7, Field: "name", Rule: "want a string, not a mapping"},
			{File: "f.yaml", Line: 2, Col: 7, Field: "byte", Rule: `want an integer 0-255, not "300"`},
			{File: "f.yaml", Line: 3, Col: 7, Field: "list", Rule: `want a list, not "3"`},
			{File: "f.yaml", Line: 5, Col: 13, Field: "items[0].source", Rule: "want a string, not a list"},
			{File: "f.yaml", Line: 7, Col: 5, Field: "items[1]", Rule: `want a mapping (key: value), not "7"`},
			{File: "f.yaml", Line: 8, Col: 6, Field: "sub", Rule: "want a mapping (key: value), not a list"}}},
		{"not an integer", "byte: 2.5\n", problem.List{{File: "f.yaml", Line: 1, Col: 7, Field: "byte", Rule: `want an integer 0-255, not "2.5"`}}},
		{"document not a mapping", "- a\n", problem.List{{File: "f.yaml", Line: 1, Col: 1, Rule: "want a mapping (key: value), not a list"}}},
		{"key twice", "name: a\nsub:\n  sku: x\n  sku: y\nname: b\n", problem.List{
			{File: "f.yaml", Line: 4, Col: 3, Field: "sub.sku", Rule: "key given twice (first at line 3)"},
			{File: "f.yaml", Line: 5, Col: 1, Field: "name", Rule: "key given twice (first at line 1)"}}},
		{"merge", "base: &b {sku: x, skus: y}\nsub:\n  <<: *b\n", problem.List{
			{File: "f.yaml", Line: 1, Col: 1, Field: "base", Rule: `unknown key "base" (known: byte, items, list, name, sub)`},
			{File: "f.yaml", Line: 1, Col: 19, Field: "sub.skus", Rule: `unknown key "skus": did you mean sku?`}}},
		{"nulls are absent values", "name: ~\nbyte:\nlist: null\nsub:\n", nil},
		{"syntax", "name: [\n", problem.List{{File: "f.yaml", Line: 1, Col: 7, Field: "name", Rule: "yaml: sequence end token ']' not found"}}},
		{"mapping value in a value", "name: x\nlist:\n  - a: b: c\n", problem.List{{File: "f.yaml", Line: 3, Col: 8, Field: "list[0].a", Rule: "yaml: mapping value is not allowed in this context"}}},
		{"unterminated quote", "name: x\nsub:\n  sku: 'abc\nlist: []\n", problem.List{{File: "f.yaml", Line: 3, Col: 8, Field: "sub.sku", Rule: "yaml: could not find end character of single-quoted text"}}},
		{"reserved character", "name: x\nlist:\n  - @x\n", problem.List{{File: "f.yaml", Line: 3, Col: 5, Field: "list", Rule: "yaml: '@' is a reserved character"}}},
		{"control character", "name: x\nsub:\n  sku: a\x01b\n", problem.List{{File: "f.yaml", Line: 3, Col: 9, Field: "sub.sku", Rule: "yaml: control character U+0001 is not allowed"}}},
		{"next line is allowed", "name: \"a\u0085b\"\nlist: [\n", problem.List{{File: "f.yaml", Line: 2, Col: 7, Field: "list", Rule: "yaml: sequence end token ']' not found"}}},
		{"invalid UTF-8", "name: \xffx\n", problem.List{{File: "f.yaml", Line: 1, Col: 7, Field: "name", Rule: "yaml: invalid UTF-8 (byte 0xff)"}}},
		{"empty", "", problem.List{{File: "f.yaml", Rule: "file is empty"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v doc
			_, err := Decode("f.yaml", []byte(tt.src), &v)
			if diff := cmp.Diff(tt.want, problem.As(err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// A field with a problem is Reported, and so is every field inside it:
// callers do not report it missing as well.
func TestReported(t *testing.T) {
	var v doc
	_, err := Decode("f.yaml", []byte("items: 3\nsub: {sku: [1]}\n"), &v)
	probs := problem.As(err)
	for field, want := range map[string]bool{"items": true, "items[0].dest": true, "sub.sku": true, "sub": false, "itemsx": false, "name": false} {
		if got := Reported(probs, field); got != want {
			t.Errorf("Reported(%q) = %v, want %v", field, got, want)
		}
	}
}

// FuzzDecode decodes arbitrary text: never a panic, every problem names a
// line and a column (only an empty file is about the whole file), and
// whatever Decode accepts, yaml.v3 decodes without error.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"name: x\nbyte: 7\nlist: [a, b]\nitems:\n  - source: a\n    dest: b\nsub: {sku: c}\n",
		"name: [1]\nbyte: 300\nlist: {a: b}\nitems: [7]\n",
		"a: &a [*a]\nname: *a\n",
		"sub:\n  <<: [*x]\n",
		"name: 'x\n",
		"\xef\xbb\xbfname: x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v doc
		_, err := Decode("f.yaml", data, &v)
		if err == nil {
			var again doc
			if err := yaml.Unmarshal(data, &again); err != nil {
				t.Fatalf("Decode accepted what yaml.v3 refuses: %v", err)
			}
			return
		}
		l := problem.As(err)
		if len(l) == 0 {
			t.Fatalf("not a problem.List: %v", err)
		}
		for _, p := range l {
			if (p.Line < 1 || p.Col < 1) && p.Rule != "file is empty" {
				t.Errorf("problem without a line and column: %+v", p)
			}
		}
	})
}
