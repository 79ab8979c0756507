package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/manifest/update"
)

func ver(s string) update.Version {
	v, err := update.ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

var (
	t0  = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	sum = strings.Repeat("ab", 32)
)

func sample() *Record {
	r := New()
	r.Installed["Contoso.Toaster.Driver"] = Installed{Version: ver("1.0.0.2"), Kind: update.KindDriver, SHA256: sum, Ring: "Preview", InstalledAt: t0, PendingReboot: true}
	r.Attempt = &Attempt{Name: "Contoso.Toaster.App", Version: ver("1.0.0.3"), Kind: update.KindApp, SHA256: sum, Length: 42, Ring: "Preview", Phase: Installing, Started: t0}
	r.Failures[FailureKey("Contoso.Toaster.App", ver("1.0.0.1"))] = Failure{Count: 2, Last: t0, Code: "handler_failed", Message: "exit status 1"}
	r.LastScan = &Scan{Time: t0, Ring: "Preview", OK: true, Offered: 2, TargetsVersion: 7}
	return r
}

func TestRoundTrip(t *testing.T) {
	for _, r := range []*Record{New(), sample()} {
		data, err := r.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse("state.json", data)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(r, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	good, _ := sample().Encode()
	tests := []struct {
		name, doc, field string
	}{
		{"not json", "{", ""},
		{"no schema", `{"installed": {}}`, "schema"},
		{"future schema", `{"schema": 2}`, "schema"},
		{"unknown key", `{"schema": 1, "extra": true}`, "extra"},
		{"unknown field", `{"schema": 1, "installed": {"A.B": {"colour": "red"}}}`, `installed["A.B"].colour`},
		{"bad name", `{"schema": 1, "installed": {"nodots": {"version": "1.0.0.1", "kind": "app", "sha256": "` + sum + `", "installed_at": "2026-01-01T00:00:00Z"}}}`, "installed.nodots"},
		{"bad version", `{"schema": 1, "installed": {"A.B": {"version": "1.0", "kind": "app", "sha256": "` + sum + `", "installed_at": "2026-01-01T00:00:00Z"}}}`, `installed["A.B"].version`},
		{"bad digest", `{"schema": 1, "installed": {"A.B": {"version": "1.0.0.1", "kind": "app", "sha256": "AB", "installed_at": "2026-01-01T00:00:00Z"}}}`, `installed["A.B"].sha256`},
		{"bad phase", strings.Replace(string(good), `"installing"`, `"dancing"`, 1), "attempt.phase"},
		{"bad failure key", `{"schema": 1, "failures": {"A.B": {"count": 1}}}`, `failures["A.B"]`},
		{"truncated", string(good[:len(good)/2]), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("state.json", []byte(tt.doc))
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			ps := problem.As(err)
			for _, p := range ps {
				if p.Field == tt.field && p.File == "state.json" {
					return
				}
			}
			t.Errorf("no problem at %q in %v", tt.field, ps)
		})
	}
}

func TestFileStore(t *testing.T) {
	ctx := context.Background()
	s := File{Dir: filepath.Join(t.TempDir(), "state")}
	r, err := s.Load(ctx)
	if err != nil || len(r.Installed) != 0 {
		t.Fatalf("empty store: %+v, %v", r, err)
	}
	if err := s.Save(ctx, sample()); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sample(), got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// A corrupt record is refused and left for a person to look at.
	p := filepath.Join(s.Dir, RecordFile)
	if err := os.WriteFile(p, []byte(`{"schema": 1, "installed": `), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx); !errors.Is(err, ErrCorrupt) {
		t.Errorf("corrupt record: %v", err)
	}
	if data, _ := os.ReadFile(p); string(data) != `{"schema": 1, "installed": ` {
		t.Errorf("corrupt record changed: %q", data)
	}
}

func TestMemoryStoreCopies(t *testing.T) {
	ctx := context.Background()
	var m Memory
	r := sample()
	if err := m.Save(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.Installed["X.Y"] = Installed{}
	r.Attempt.Phase = Downloading
	got, _ := m.Load(ctx)
	if diff := cmp.Diff(sample(), got); diff != "" {
		t.Errorf("the store kept the caller's later changes (-want +got):\n%s", diff)
	}
}

func TestIdentity(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, err := Identity(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Identity(ctx, dir)
	if err != nil || a != b || len(a) != 36 || a[14] != '4' {
		t.Errorf("identity %q then %q (%v)", a, b, err)
	}
	if other, _ := Identity(ctx, t.TempDir()); other == a {
		t.Error("two state directories share an identity")
	}
	if err := os.WriteFile(filepath.Join(dir, IdentityFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Identity(ctx, dir); !errors.Is(err, ErrCorrupt) {
		t.Errorf("corrupt identity: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	good, _ := sample().Encode()
	empty, _ := New().Encode()
	f.Add(string(good))
	f.Add(string(empty))
	f.Add(`{"schema": 1, "failures": {"A.B@1.0.0.1": {"count": 1}}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		r, err := Parse("f.json", []byte(doc))
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		// What is accepted survives a save and a load unchanged.
		data, err := r.Encode()
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse("f.json", data)
		if err != nil {
			t.Fatalf("re-parse of an accepted record: %v\n%s", err, data)
		}
		if diff := cmp.Diff(r, again, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Fatalf("round trip changed the record:\n%s", diff)
		}
	})
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(dir); !errors.Is(err, ErrLocked) {
		t.Errorf("second lock: %v", err)
	}
	unlock()
	again, err := Lock(dir)
	if err != nil {
		t.Errorf("after unlock: %v", err)
	} else {
		again()
	}
}
