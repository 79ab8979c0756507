package catalog_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/smbios"
)

// roundTrip serialises targets metadata and reads it back, as a device's
// TUF client does.
func roundTrip(t testing.TB, md *metadata.Metadata[metadata.TargetsType]) *metadata.Metadata[metadata.TargetsType] {
	t.Helper()
	data, err := md.ToBytes(false)
	if err != nil {
		t.Fatal(err)
	}
	back, err := metadata.Targets().FromBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func TestRepositoryBinding(t *testing.T) {
	md := metadata.Targets(t0.Add(time.Hour))
	if err := catalog.BindRepository(md, "Preview", chidA); err != nil {
		t.Fatal(err)
	}
	read := roundTrip(t, md)
	if err := catalog.CheckRepository("3.targets.json", read, "Preview", chidA); err != nil {
		t.Fatalf("its own repository: %v", err)
	}
	// Binding again (a re-signed version) keeps the field identical.
	if err := catalog.BindRepository(read, "Preview", chidA); err != nil {
		t.Fatal(err)
	}
	a, _ := md.ToBytes(false)
	b, _ := read.ToBytes(false)
	if string(a) != string(b) {
		t.Errorf("re-binding changed the document:\n%s\n%s", a, b)
	}

	tests := []struct {
		name       string
		ring       string
		product    smbios.CHID
		field      any // replaces the field; nil keeps the bound one
		delete     bool
		wantGot    catalog.Repository
		wantReason string
	}{
		{name: "another product", ring: "Preview", product: chidB, wantGot: catalog.Repository{Ring: "Preview", Product: chidA}, wantReason: "names another repository"},
		{name: "another ring", ring: "EarlyAdopter", product: chidA, wantGot: catalog.Repository{Ring: "Preview", Product: chidA}, wantReason: "names another repository"},
		{name: "missing", ring: "Preview", product: chidA, delete: true, wantReason: "missing"},
		{name: "not an object", ring: "Preview", product: chidA, field: "Preview/" + chidA.String(), wantReason: "not a JSON object"},
		{name: "no product", ring: "Preview", product: chidA, field: map[string]any{"ring": "Preview"}, wantReason: `needs "ring" and "product"`},
		{name: "bad ring", ring: "Preview", product: chidA, field: map[string]any{"ring": "../Preview", "product": chidA.String()}, wantReason: `ring name "../Preview"`},
		{name: "braces", ring: "Preview", product: chidA, field: map[string]any{"ring": "Preview", "product": "{" + chidA.String() + "}"}, wantReason: "canonical form"},
		{name: "upper case", ring: "Preview", product: chidA, field: map[string]any{"ring": "Preview", "product": strings.ToUpper(chidA.String())}, wantReason: "canonical form"},
		{name: "zero", ring: "Preview", product: chidA, field: map[string]any{"ring": "Preview", "product": smbios.CHID{}.String()}, wantReason: "canonical form"},
		{name: "product a number", ring: "Preview", product: chidA, field: map[string]any{"ring": "Preview", "product": 7}, wantReason: "cannot unmarshal"},
		{name: "too big", ring: "Preview", product: chidA, field: map[string]any{"ring": "Preview", "product": chidA.String(), "x": strings.Repeat("a", catalog.MaxRepositoryField)}, wantReason: "over the"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := metadata.Targets(t0.Add(time.Hour))
			if err := catalog.BindRepository(md, "Preview", chidA); err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.delete:
				delete(md.Signed.UnrecognizedFields, catalog.RepositoryField)
			case tt.field != nil:
				md.Signed.UnrecognizedFields[catalog.RepositoryField] = tt.field
			}
			err := catalog.CheckRepository("3.targets.json", roundTrip(t, md), tt.ring, tt.product)
			var re *catalog.RepositoryError
			if !errors.As(err, &re) || !errors.Is(err, catalog.ErrWrongRepository) {
				t.Fatalf("error = %v, want *RepositoryError wrapping ErrWrongRepository", err)
			}
			want := catalog.Repository{Ring: tt.ring, Product: tt.product}
			if re.File != "3.targets.json" || re.Want != want || re.Got != tt.wantGot || !strings.Contains(re.Reason, tt.wantReason) {
				t.Errorf("error %+v, want file 3.targets.json, want %v, got %v, reason with %q", re, want, tt.wantGot, tt.wantReason)
			}
		})
	}

	// A later version's extra fields inside the binding are ignored.
	md = metadata.Targets(t0.Add(time.Hour))
	md.Signed.UnrecognizedFields = map[string]any{catalog.RepositoryField: map[string]any{"ring": "Preview", "product": chidA.String(), "store": "cdn-eu"}}
	if err := catalog.CheckRepository("t.json", roundTrip(t, md), "Preview", chidA); err != nil {
		t.Errorf("extra field in the binding: %v", err)
	}
	// The writer refuses what the reader would refuse.
	for _, bad := range []struct {
		ring string
		chid smbios.CHID
	}{{"", chidA}, {"a/b", chidA}, {"Preview", smbios.CHID{}}} {
		if err := catalog.BindRepository(metadata.Targets(t0), bad.ring, bad.chid); !errors.Is(err, catalog.ErrWrongRepository) {
			t.Errorf("BindRepository(%q, %v) = %v, want ErrWrongRepository", bad.ring, bad.chid, err)
		}
	}
}

// FuzzCheckRepository feeds targets metadata with an arbitrary binding
// field through go-tuf's decoder and CheckRepository: it never panics,
// refuses with ErrWrongRepository, and accepts only a field naming exactly
// the repository asked for.
func FuzzCheckRepository(f *testing.F) {
	f.Add(`{"ring":"Preview","product":"` + chidA.String() + `"}`)
	f.Add(`{"ring":"Preview","product":"` + chidB.String() + `"}`)
	f.Add(`{"ring":"Preview","product":"` + chidA.String() + `","ring":"EarlyAdopter"}`)
	f.Add(`"Preview"`)
	f.Add(`null`)
	f.Add(`{"ring":["Preview"]}`)
	f.Fuzz(func(t *testing.T, field string) {
		doc := `{"signed":{"_type":"targets","spec_version":"1.0.31","version":1,"expires":"2030-01-01T00:00:00Z","targets":{},"` +
			catalog.RepositoryField + `":` + field + `},"signatures":[]}`
		md, err := metadata.Targets().FromBytes([]byte(doc))
		if err != nil {
			return // not JSON: a TUF client refuses it before us
		}
		err = catalog.CheckRepository("f.json", md, "Preview", chidA)
		if err != nil {
			if !errors.Is(err, catalog.ErrWrongRepository) {
				t.Fatalf("error %v does not wrap ErrWrongRepository", err)
			}
			return
		}
		// Accepted: binding the repository anew checks the same.
		again := metadata.Targets(t0)
		if err := catalog.BindRepository(again, "Preview", chidA); err != nil {
			t.Fatal(err)
		}
		if err := catalog.CheckRepository("f.json", roundTrip(t, again), "Preview", chidA); err != nil {
			t.Fatal(err)
		}
		if catalog.CheckRepository("f.json", md, "Preview", chidB) == nil || catalog.CheckRepository("f.json", md, "EarlyAdopter", chidA) == nil {
			t.Fatalf("field %s accepted for two repositories", field)
		}
	})
}
