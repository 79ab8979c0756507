package manifest

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/")

var examples = []string{"settings", "driver", "app"}

func loadExample(t testing.TB, name string) *Update {
	t.Helper()
	u, err := Load(context.Background(), filepath.Join("..", "examples", "contoso-toaster", "updates", name, "update.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestGoldenUpdateJSON pins the canonical update.json of the example
// updates. The golden files were reviewed by hand; refresh them only with
// -update, and review the diff.
func TestGoldenUpdateJSON(t *testing.T) {
	for _, name := range examples {
		t.Run(name, func(t *testing.T) {
			got, err := loadExample(t, name).EncodeJSON()
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", name+".update.json")
			if *updateGolden {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("update.json (-golden +got):\n%s", diff)
			}
		})
	}
}

func TestUpdateJSONRoundTrip(t *testing.T) {
	for _, name := range examples {
		t.Run(name, func(t *testing.T) {
			u := loadExample(t, name)
			doc, err := u.EncodeJSON()
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseUpdateJSON("update.json", doc)
			if err != nil {
				t.Fatal(err)
			}
			// Everything but the host paths survives.
			for i := range u.Files {
				u.Files[i].Source = ""
			}
			if diff := cmp.Diff(u, back); diff != "" {
				t.Errorf("ParseUpdateJSON(EncodeJSON(u)) (-u +got):\n%s", diff)
			}
			again, err := back.EncodeJSON()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(doc, again) {
				t.Errorf("re-encoding changed the bytes:\n%s\n---\n%s", doc, again)
			}
			if bytes.Contains(doc, []byte("/work/")) || bytes.Contains(doc, []byte("payload/")) {
				t.Errorf("update.json holds a host path:\n%s", doc)
			}
		})
	}
}
