package manifest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/devupdate/devupdate/internal/problem"
)

// FuzzManifest feeds arbitrary update.yaml text to Load beside a fixed
// payload (a product, XML files, a driver and an app package): Load must
// never panic, must fail only with problems, and whatever it accepts must
// encode to an update.json that reads back to the same bytes.
func FuzzManifest(f *testing.F) {
	seeds := []string{
		"name: Contoso.Toaster.Settings\nkind: ocp\nversion: 1.0.0.1\nproducts: [product.yaml]\nrequires: [{name: Windows.IoT.Core, min_version: 10.0.17763.615}]\nfiles:\n  - source: payload/**\n    dest: settings/\n",
		"name: Contoso.Toaster.Driver\nkind: driver\nversion: 1.0.0.2\nproducts: [product.yaml]\nfiles: [{source: drv/**, dest: d/}]\ninf: d/toaster.inf\n",
		"name: A.B.C\nkind: app\nversion: 1.0.0.3\nchids: ['{4162eff5-3114-538e-86e0-e7617be93c9a}']\nfiles: [{source: app/*.msix}]\npackage: Contoso.Toast.msix\n",
		"name: A.B\nkind: os\nversion: 9.9.9.9\nproducts: [product.yaml, product.yaml]\nfiles: [{source: 'os/[a-z]*.bin', dest: x/}, {source: '**/a.xml', dest: a.xml}]\nos_build: 10.0.17763.1\n",
		"files: [{source: ../x}, {source: /etc}, {source: 'p/**/**/*'}, {dest: 'CON'}]\nkind: 5\nversion: [1]\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	for name, content := range basePayload() {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	manifestPath := filepath.Join(dir, "update.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(manifestPath, data, 0o644); err != nil {
			t.Fatal(err)
		}
		u, err := Load(context.Background(), manifestPath)
		if err != nil {
			l := problem.As(err)
			if len(l) == 0 {
				t.Fatalf("error is not a non-empty problem.List: %v", err)
			}
			for _, p := range l {
				if p.File == "" || p.Rule == "" {
					t.Fatalf("problem without file or rule: %+v", p)
				}
			}
			return
		}
		doc, err := u.EncodeJSON()
		if err != nil {
			t.Fatalf("EncodeJSON: %v", err)
		}
		back, err := ParseUpdateJSON("update.json", doc)
		if err != nil {
			t.Fatalf("update.json of an accepted manifest does not parse: %v\n%s", err, doc)
		}
		again, err := back.EncodeJSON()
		if err != nil || !bytes.Equal(doc, again) {
			t.Fatalf("update.json is not stable: %v", err)
		}
	})
}
