package local

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzSidecar: a properties file is untrusted bytes on disk. Parsing never
// panics, refuses with errSidecar, and what it accepts is written back
// (newSidecar) to the same properties.
func FuzzSidecar(f *testing.F) {
	const etag = `"1f-4b000-18eca77ffb435371"`
	f.Add([]byte(`{"etag":"\"1f-4b000-18eca77ffb435371\"","contentType":"application/vnd.ms-cab-compressed","cacheControl":"public, max-age=31536000, immutable","metadata":{"sha256":"ab"}}`))
	f.Add([]byte(`{"etag":"\"other\""}`))
	f.Add([]byte(`{"etag":"\"1f-4b000-18eca77ffb435371\"","metadata":{"a":1}}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseSidecar(data, etag)
		if err != nil {
			if !errors.Is(err, errSidecar) {
				t.Fatalf("error %v is not errSidecar", err)
			}
			return
		}
		again, err := json.Marshal(newSidecar(etag, p))
		if err != nil {
			t.Fatal(err)
		}
		q, err := parseSidecar(again, etag)
		if err != nil || !cmp.Equal(p, q, cmpopts.EquateEmpty()) {
			t.Fatalf("properties %+v written back read as %+v, %v", p, q, err)
		}
	})
}
