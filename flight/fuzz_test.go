package flight

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/memory"
	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/smbios"
)

func FuzzParseKeysFile(f *testing.F) {
	f.Add(`{"rings":{"Preview":{"root":{"keys":["file:r.key"]},"targets":{"keys":["pkcs11:token=t;object=o"],"threshold":1}}}}`)
	f.Add(`{"rings":{"Preview":{"root":{"keys":["a","b"],"threshold":3}}}}`)
	f.Add(`{"rings":{"x/y":{}}}`)
	f.Fuzz(func(t *testing.T, data string) {
		cfg, err := ParseKeysFile("keys.json", []byte(data))
		if err != nil {
			if !errors.Is(err, ErrKey) {
				t.Fatalf("error %v does not wrap ErrKey", err)
			}
			return
		}
		for ring, roles := range cfg.Rings {
			for role, rk := range roles {
				if rk.Threshold < 1 || rk.Threshold > len(rk.Keys) {
					t.Fatalf("%s/%s accepted with threshold %d of %d keys", ring, role, rk.Threshold, len(rk.Keys))
				}
			}
		}
	})
}

func FuzzReadRegistry(f *testing.F) {
	chid := smbios.NewCHID("x").String()
	f.Add(`{"rings":[{"name":"Preview","soak":"1h","expiry":{"root":"8760h","targets":"2160h","snapshot":"168h","timestamp":"24h"}}],"products":[{"name":"p","chid":"` + chid + `","targets":["` + chid + `"],"rings":["Preview"]}]}`)
	f.Add(`{"rings":[{"name":"Preview","soak":"-1h"}]}`)
	f.Add(`{"products":[{"chid":"nope"}]}`)
	f.Fuzz(func(t *testing.T, data string) {
		s := memory.New()
		if _, err := s.Create(t.Context(), registryKey, bytes.NewReader([]byte(data)), cdn.Props{}); err != nil {
			t.Fatal(err)
		}
		reg, _, err := readRegistry(t.Context(), s)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if err := reg.validate(); err != nil {
			t.Fatalf("accepted an invalid registry: %v", err)
		}
	})
}

// FuzzReadRepo feeds arbitrary bytes as a repository's timestamp.json:
// reading the repository either refuses them (ErrCorrupt, or the missing
// snapshot they name) or they are the signed timestamp.
func FuzzReadRepo(f *testing.F) {
	ctx := f.Context()
	dir := f.TempDir()
	keysPath, err := GenerateDevKeys(dir+"/keys", []string{"Preview"})
	if err != nil {
		f.Fatal(err)
	}
	kr, err := LoadKeyring(ctx, keysPath, func(ctx context.Context, ref string) (Key, error) {
		k, err := signer.OpenKey(ctx, ref)
		if err != nil {
			return nil, err
		}
		return k.Key, nil
	})
	if err != nil {
		f.Fatal(err)
	}
	s := memory.New()
	fl, err := New(s, WithKeys(kr))
	if err != nil {
		f.Fatal(err)
	}
	rings := DefaultRings()[:1]
	if _, err := fl.Init(ctx, InitRequest{Rings: rings}); err != nil {
		f.Fatal(err)
	}
	chid := smbios.NewCHID("fuzz")
	sg, err := fl.ringSigners(ctx, "Preview", true)
	if err != nil {
		f.Fatal(err)
	}
	if err := fl.createRepo(ctx, "Preview", &rings[0], chid, sg); err != nil {
		f.Fatal(err)
	}
	root, err := fl.ringRoot(ctx, "Preview")
	if err != nil {
		f.Fatal(err)
	}
	key := catalog.MetadataDir("Preview", chid) + "/timestamp.json"
	good, _, err := getBounded(ctx, s, key, maxTimestamp)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(good))
	f.Add(`{"signed":{"_type":"timestamp","version":2,"meta":{"snapshot.json":{"version":1}}},"signatures":[]}`)
	f.Fuzz(func(t *testing.T, data string) {
		info, err := s.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Replace(ctx, key, bytes.NewReader([]byte(data)), cdn.Props{}, info.ETag); err != nil {
			t.Fatal(err)
		}
		st, err := fl.readRepo(ctx, "Preview", chid, root)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, cdn.ErrNotFound) && !errors.Is(err, cdn.ErrInvalidKey) {
				t.Fatalf("error %v is neither ErrCorrupt nor a missing file", err)
			}
			return
		}
		if err := root.VerifyDelegate("timestamp", st.ts); err != nil {
			t.Fatalf("accepted an unsigned timestamp: %v", err)
		}
	})
}

// FuzzSignedRecords feeds arbitrary JSON as the devupdate fields of signed
// metadata (a root version's key rotation record, a snapshot's targets
// expiry): parsing never panics, and what it accepts is what flight writes.
func FuzzSignedRecords(f *testing.F) {
	f.Add(`{"action":"rotate","actor":"ci@build","time":"2026-11-01T12:00:00Z","reason":"key leaked"}`)
	f.Add(`{"action":"promote","actor":"a","time":"2026-11-01T12:00:00Z","reason":"r","from":"Preview"}`)
	f.Add(`"2026-11-01T12:00:00Z"`)
	f.Add(`"2026-11-01T12:00:00+01:00"`)
	f.Add(`{"action":"rotate","actor":"a","time":"2026-11-01T12:00:00Z","reason":"r","extra":1}`)
	f.Fuzz(func(t *testing.T, data string) {
		var raw any
		if json.Unmarshal([]byte(data), &raw) != nil {
			return
		}
		if c, err := parseRotation(raw); err == nil {
			if c.Action != ActionRotate || c.Time.IsZero() || strings.TrimSpace(c.Actor) == "" || strings.TrimSpace(c.Reason) == "" {
				t.Fatalf("accepted %s as %+v", data, c)
			}
		}
		if tm, ok := parseTargetsExpires(raw); ok {
			// UTC only; what setTargetsExpires writes for it reads back.
			back, ok := parseTargetsExpires(tm.Format(time.RFC3339))
			if tm.Location() != time.UTC || !ok || !back.Equal(tm.Truncate(time.Second)) {
				t.Fatalf("accepted %s as %v", data, tm)
			}
		}
	})
}
