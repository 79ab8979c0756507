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
		{"unknown key", "name: x\nnope: 1\n", problem.List{{File: "f.yaml", Line: 2, Rule: "yaml: field nope not found in type struct { Name string \"yaml:\\\"name\\\"\" }"}}},
		{"syntax", "name: [\n", problem.List{{File: "f.yaml", Line: 1, Rule: "yaml: did not find expected node content"}}},
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
