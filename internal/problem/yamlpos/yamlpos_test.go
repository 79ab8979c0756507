package yamlpos

import (
	"testing"

	"github.com/google/go-cmp/cmp"

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

func TestDecodeYAMLErrors(t *testing.T) {
	var v struct {
		Name string `yaml:"name"`
	}
	tests := []struct {
		name string
		src  string
		want problem.List
	}{
		{"unknown key", "name: x\nnope: 1\n", problem.List{{File: "f.yaml", Line: 2, Col: 1, Field: "nope", Rule: `unknown key "nope" (known: name)`}}},
		{"typo", "nme: x\n", problem.List{{File: "f.yaml", Line: 1, Col: 1, Field: "nme", Rule: `unknown key "nme": did you mean name?`}}},
		{"wrong type and typo", "name: [1]\nnmae: x\n", problem.List{
			{File: "f.yaml", Line: 1, Rule: "yaml: cannot unmarshal !!seq into string"},
			{File: "f.yaml", Line: 2, Col: 1, Field: "nmae", Rule: `unknown key "nmae": did you mean name?`}}},
		{"syntax", "name: [\n", problem.List{{File: "f.yaml", Line: 1, Col: 1, Field: "name", Rule: "yaml: did not find expected node content"}}},
		{"mapping value in a value", "name: x\nlist:\n  - a: b: c\n", problem.List{{File: "f.yaml", Line: 3, Col: 9, Field: "list[0].a", Rule: "yaml: mapping values are not allowed in this context"}}},
		{"empty", "", problem.List{{File: "f.yaml", Rule: "file is empty"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode("f.yaml", []byte(tt.src), &v)
			if diff := cmp.Diff(tt.want, problem.As(err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
