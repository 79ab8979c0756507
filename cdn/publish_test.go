package cdn_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/memory"
)

func tempFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// mutatingStore rewrites the file being published just before the upload,
// as a build step racing the publisher would.
type mutatingStore struct {
	cdn.Store
	path string
	data []byte
}

func (m *mutatingStore) Create(ctx context.Context, key string, body io.Reader, p cdn.Props) (cdn.Info, error) {
	if err := os.WriteFile(m.path, m.data, 0o644); err != nil {
		return cdn.Info{}, err
	}
	return m.Store.Create(ctx, key, body, p)
}

func TestPublishRefusesFileChangedDuringUpload(t *testing.T) {
	for name, newData := range map[string][]byte{
		"same size": bytes.Repeat([]byte("B"), 4096),
		"grown":     bytes.Repeat([]byte("A"), 8192),
		"truncated": []byte("A"),
	} {
		t.Run(name, func(t *testing.T) {
			p := tempFile(t, "u.cab", bytes.Repeat([]byte("A"), 4096))
			mem := memory.New()
			_, err := cdn.Publish(t.Context(), &mutatingStore{Store: mem, path: p, data: newData}, p)
			if !errors.Is(err, cdn.ErrDigestMismatch) {
				t.Fatalf("error = %v, want ErrDigestMismatch", err)
			}
			n := 0
			_ = mem.List(t.Context(), "", func(cdn.Info) error { n++; return nil })
			if n != 0 {
				t.Errorf("%d blobs visible after a refused upload, want 0", n)
			}
		})
	}
}

func TestPublishVerifiesExistingBlob(t *testing.T) {
	data := []byte("the real cabinet")
	p := tempFile(t, "u.cab", data)
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])
	tests := []struct {
		name string
		body []byte
		meta map[string]string
	}{
		{"other digest recorded", []byte("forged cabinet!!"), map[string]string{"sha256": strings.Repeat("0", 64)}},
		{"no recorded digest", data, nil},
		{"wrong size", []byte("short"), map[string]string{"sha256": hexSum}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := memory.New()
			if _, err := s.Create(t.Context(), cdn.BlobKey(hexSum), bytes.NewReader(tt.body), cdn.Props{Metadata: tt.meta}); err != nil {
				t.Fatal(err)
			}
			_, err := cdn.Publish(t.Context(), s, p)
			if !errors.Is(err, cdn.ErrDigestMismatch) {
				t.Errorf("error = %v, want ErrDigestMismatch", err)
			}
		})
	}
}

// racingStore lets another publisher win between Stat and Create.
type racingStore struct {
	cdn.Store
	winner []byte
}

func (r *racingStore) Create(ctx context.Context, key string, body io.Reader, p cdn.Props) (cdn.Info, error) {
	if _, err := r.Store.Create(ctx, key, bytes.NewReader(r.winner), p); err != nil {
		return cdn.Info{}, err
	}
	return r.Store.Create(ctx, key, body, p)
}

func TestPublishLosesRaceToSameContent(t *testing.T) {
	data := []byte("cabinet")
	p := tempFile(t, "u.cab", data)
	res, err := cdn.Publish(t.Context(), &racingStore{Store: memory.New(), winner: data}, p)
	if err != nil || res.Uploaded {
		t.Errorf("Publish = %+v, %v; want success with uploaded false", res, err)
	}
}

func TestContentTypeFor(t *testing.T) {
	for name, want := range map[string]string{
		"x.cab": cdn.CabinetContentType, "X.CAB": cdn.CabinetContentType,
		"catalog.json": "application/json", "blob": "application/octet-stream",
	} {
		if got := cdn.ContentTypeFor(name); got != want {
			t.Errorf("ContentTypeFor(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestPublishFilesCollectsErrors(t *testing.T) {
	good := tempFile(t, "good.cab", []byte("good"))
	missing := filepath.Join(t.TempDir(), "missing.cab")
	res, err := cdn.PublishFiles(t.Context(), memory.New(), []string{missing, good})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error = %v, want the missing file's", err)
	}
	if len(res) != 2 || res[0].Path != missing || !errors.Is(res[0].Err, os.ErrNotExist) || res[1].Path != good || !res[1].Uploaded || res[1].Err != nil {
		t.Errorf("results = %+v, want the missing file's error, then the good file published", res)
	}
}

func TestOptionsValidated(t *testing.T) {
	p := tempFile(t, "x.cab", []byte("x"))
	for _, opt := range []cdn.Option{cdn.WithBaseURL("ftp://x"), cdn.WithBaseURL("/rel"), cdn.WithContentType("not a type;;"), cdn.WithMaxAge(0), cdn.WithLogger(nil)} {
		if _, err := cdn.Publish(t.Context(), memory.New(), p, opt); err == nil {
			t.Error("invalid option accepted")
		}
	}
}

func ExamplePublish() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	cab := filepath.Join(dir, "Contoso.Toaster.Driver.cab")
	_ = os.WriteFile(cab, []byte("MSCF..."), 0o644)

	store := memory.New()
	ctx := context.Background()
	first, _ := cdn.Publish(ctx, store, cab, cdn.WithBaseURL("https://cdn.example.com"))
	again, _ := cdn.Publish(ctx, store, cab, cdn.WithBaseURL("https://cdn.example.com"))
	info, _ := store.Stat(ctx, first.Key)

	fmt.Println(first.URL)
	fmt.Println("uploaded:", first.Uploaded, "then", again.Uploaded)
	fmt.Println(info.Props.CacheControl)
	fmt.Println(info.Props.ContentType)
	// Output:
	// https://cdn.example.com/blobs/sha256/bf63e9a0306de4ce85ae6844af2932531ab9c0a36ad50872996ccea6e1705f36
	// uploaded: true then false
	// public, max-age=31536000, immutable
	// application/vnd.ms-cab-compressed
}

func FuzzValidateKey(f *testing.F) {
	for _, s := range []string{"blobs/sha256/ab", "../x", "a//b", ".x", "a/b/.c", "rings/Preview/catalog.json", "a\x00b", "/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if cdn.ValidateKey(key) != nil {
			return
		}
		// An accepted key names a path strictly inside any root.
		root := "/srv/store"
		joined := filepath.Join(root, filepath.FromSlash(key))
		if !strings.HasPrefix(joined, root+"/") || path.Clean(key) != key {
			t.Errorf("accepted key %q escapes or is not clean (%s)", key, joined)
		}
		for _, seg := range strings.Split(key, "/") {
			if seg == "" || seg[0] == '.' {
				t.Errorf("accepted key %q has segment %q", key, seg)
			}
		}
	})
}

func ExamplePutPointer() {
	store := memory.New()
	ctx := context.Background()
	const ring = "rings/Preview/catalog.json"

	v1, _ := cdn.PutPointer(ctx, store, ring, []byte(`{"version":1}`), "", cdn.WithMaxAge(30*time.Second))
	v2, _ := cdn.PutPointer(ctx, store, ring, []byte(`{"version":2}`), v1.ETag, cdn.WithMaxAge(30*time.Second))
	// A writer still holding the old ETag loses the compare-and-swap.
	_, err := cdn.PutPointer(ctx, store, ring, []byte(`{"version":3}`), v1.ETag)

	fmt.Println(v2.Props.CacheControl)
	fmt.Println(errors.Is(err, cdn.ErrPreconditionFailed))
	// Output:
	// public, max-age=30
	// true
}

// committedThenFailed commits a Replace or Create and then reports a
// transient failure, as a connection dropped after the service committed.
type committedThenFailed struct {
	cdn.Store
	failed bool
}

func (c *committedThenFailed) Replace(ctx context.Context, key string, body io.Reader, p cdn.Props, ifMatch string) (cdn.Info, error) {
	info, err := c.Store.Replace(ctx, key, body, p, ifMatch)
	if err == nil && !c.failed {
		c.failed = true
		return cdn.Info{}, &cdn.StatusError{Op: "replace", Key: key, Status: 503}
	}
	return info, err
}

func (c *committedThenFailed) Create(ctx context.Context, key string, body io.Reader, p cdn.Props) (cdn.Info, error) {
	info, err := c.Store.Create(ctx, key, body, p)
	if err == nil && !c.failed {
		c.failed = true
		return cdn.Info{}, &cdn.StatusError{Op: "create", Key: key, Status: 503}
	}
	return info, err
}

func TestPutPointerRetriedCommitIsNoLostRace(t *testing.T) {
	mem := memory.New()
	flaky := &committedThenFailed{Store: mem}
	s, err := cdn.WithRetry(flaky, cdn.RetryBackoff(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	v1, err := cdn.PutPointer(t.Context(), s, "rings/x/timestamp.json", []byte("v1"), "")
	if err != nil {
		t.Fatalf("create whose first attempt committed: %v", err)
	}
	flaky.failed = false
	v2, err := cdn.PutPointer(t.Context(), s, "rings/x/timestamp.json", []byte("v2"), v1.ETag)
	if err != nil {
		t.Fatalf("replace whose first attempt committed: %v", err)
	}
	if v2.ETag == v1.ETag {
		t.Error("returned the old ETag")
	}
	// A real lost race is still reported.
	if _, err := cdn.PutPointer(t.Context(), s, "rings/x/timestamp.json", []byte("v3"), v1.ETag); !errors.Is(err, cdn.ErrPreconditionFailed) {
		t.Errorf("stale replace: error = %v, want ErrPreconditionFailed", err)
	}
}
