// Package cdntest is the one conformance suite every cdn.Store backend must
// pass (memory, local directory, Azure Blob Storage against Azurite): the
// conditional-write semantics, ranges, listing, key validation, and that a
// failed or cancelled write leaves nothing visible. It also runs Publish and
// PutPointer over the backend, so the publishing guarantees are proven on
// each real store, not only on a fake.
package cdntest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/devupdate/devupdate/cdn"
	"github.com/google/go-cmp/cmp"
)

// Run runs the suite. newStore must return a fresh, empty store for each
// subtest (and clean it up through t.Cleanup).
func Run(t *testing.T, newStore func(t *testing.T) cdn.Store) {
	tests := []struct {
		name string
		f    func(*testing.T, cdn.Store)
	}{
		{"CreateStatGet", testCreateStatGet},
		{"EmptyBlob", testEmptyBlob},
		{"Range", testRange},
		{"NotFound", testNotFound},
		{"CreateNeverOverwrites", testCreateNeverOverwrites},
		{"ConcurrentCreateOneWinner", testConcurrentCreate},
		{"ReplaceByETag", testReplace},
		{"ConcurrentReplaceOneWinner", testConcurrentReplace},
		{"CopyCreatesOnce", testCopy},
		{"List", testList},
		{"InvalidKeys", testInvalidKeys},
		{"FailedBodyLeavesNothing", testFailedBody},
		{"CancelledUploadLeavesNothing", testCancelledUpload},
		{"LargeBlob", testLargeBlob},
		{"PublishIdempotent", testPublishIdempotent},
		{"PublishInterruptedThenRerun", testPublishInterrupted},
		{"PutPointerCompareAndSwap", testPutPointer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.f(t, newStore(t)) })
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func readAll(t *testing.T, s cdn.Store, key string, r cdn.Range) ([]byte, cdn.Info) {
	t.Helper()
	rc, info, err := s.Get(ctx(t), key, r)
	if err != nil {
		t.Fatalf("Get(%q, %+v): %v", key, r, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return data, info
}

func create(t *testing.T, s cdn.Store, key string, data []byte, p cdn.Props) cdn.Info {
	t.Helper()
	info, err := s.Create(ctx(t), key, bytes.NewReader(data), p)
	if err != nil {
		t.Fatalf("Create(%q): %v", key, err)
	}
	return info
}

func wantNotFound(t *testing.T, s cdn.Store, key string) {
	t.Helper()
	if _, err := s.Stat(ctx(t), key); !errors.Is(err, cdn.ErrNotFound) {
		t.Fatalf("Stat(%q) error = %v, want ErrNotFound", key, err)
	}
}

// wantNoKeys asserts that nothing at all is visible in the store.
func wantNoKeys(t *testing.T, s cdn.Store) {
	t.Helper()
	var keys []string
	if err := s.List(ctx(t), "", func(i cdn.Info) error { keys = append(keys, i.Key); return nil }); err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(keys) != 0 {
		t.Fatalf("store holds %q, want nothing visible", keys)
	}
}

func testCreateStatGet(t *testing.T, s cdn.Store) {
	data := []byte("hello, devices\n")
	props := cdn.Props{
		ContentType:  "application/vnd.ms-cab-compressed",
		CacheControl: cdn.ImmutableCacheControl,
		Metadata:     map[string]string{"sha256": "abc123"},
	}
	created := create(t, s, "blobs/sha256/one", data, props)
	if created.Size != int64(len(data)) || created.ETag == "" || created.Key != "blobs/sha256/one" {
		t.Errorf("Create info = %+v, want key, size %d and an ETag", created, len(data))
	}
	st, err := s.Stat(ctx(t), "blobs/sha256/one")
	if err != nil {
		t.Fatal(err)
	}
	if st.ETag != created.ETag {
		t.Errorf("Stat ETag %q, Create ETag %q", st.ETag, created.ETag)
	}
	if st.Size != int64(len(data)) {
		t.Errorf("Stat size %d, want %d", st.Size, len(data))
	}
	if diff := cmp.Diff(props, st.Props); diff != "" {
		t.Errorf("Stat props (-want +got):\n%s", diff)
	}
	if st.Modified.IsZero() {
		t.Error("Stat: zero modification time")
	}
	got, gi := readAll(t, s, "blobs/sha256/one", cdn.Range{})
	if !bytes.Equal(got, data) {
		t.Errorf("Get = %q, want %q", got, data)
	}
	if gi.ETag != created.ETag || gi.Size != int64(len(data)) || gi.Props.CacheControl != props.CacheControl {
		t.Errorf("Get info = %+v, want the stat's", gi)
	}
}

func testEmptyBlob(t *testing.T, s cdn.Store) {
	create(t, s, "empty", nil, cdn.Props{ContentType: "text/plain"})
	got, info := readAll(t, s, "empty", cdn.Range{})
	if len(got) != 0 || info.Size != 0 {
		t.Errorf("empty blob: %d bytes, size %d", len(got), info.Size)
	}
}

func testRange(t *testing.T, s cdn.Store) {
	data := []byte("0123456789abcdef")
	create(t, s, "r", data, cdn.Props{})
	tests := []struct {
		r    cdn.Range
		want string
	}{
		{cdn.Range{}, "0123456789abcdef"},
		{cdn.Range{Offset: 10}, "abcdef"},
		{cdn.Range{Offset: 2, Length: 3}, "234"},
		{cdn.Range{Offset: 15, Length: 100}, "f"},
		{cdn.Range{Length: 1}, "0"},
	}
	for _, tt := range tests {
		got, _ := readAll(t, s, "r", tt.r)
		if string(got) != tt.want {
			t.Errorf("Get range %+v = %q, want %q", tt.r, got, tt.want)
		}
	}
	if _, _, err := s.Get(ctx(t), "r", cdn.Range{Offset: 16}); !errors.Is(err, cdn.ErrInvalidRange) {
		t.Errorf("Get past the end: error = %v, want ErrInvalidRange", err)
	}
}

func testNotFound(t *testing.T, s cdn.Store) {
	wantNotFound(t, s, "blobs/sha256/missing")
	_, _, err := s.Get(ctx(t), "blobs/sha256/missing", cdn.Range{})
	if !errors.Is(err, cdn.ErrNotFound) {
		t.Fatalf("Get missing: error = %v, want ErrNotFound", err)
	}
	var se *cdn.StatusError
	if !errors.As(err, &se) || se.Status != 404 {
		t.Errorf("Get missing: error %v is not a *StatusError with status 404", err)
	}
	create(t, s, "dir/file", []byte("x"), cdn.Props{})
	wantNotFound(t, s, "dir") // a "directory" is not a blob
}

func testCreateNeverOverwrites(t *testing.T, s cdn.Store) {
	first := create(t, s, "k", []byte("first"), cdn.Props{CacheControl: "a"})
	_, err := s.Create(ctx(t), "k", bytes.NewReader([]byte("second")), cdn.Props{CacheControl: "b"})
	if !errors.Is(err, cdn.ErrExists) {
		t.Fatalf("second Create: error = %v, want ErrExists", err)
	}
	var se *cdn.StatusError
	if !errors.As(err, &se) || se.Status != 409 {
		t.Errorf("second Create: %v is not a *StatusError with status 409", err)
	}
	got, info := readAll(t, s, "k", cdn.Range{})
	if string(got) != "first" || info.ETag != first.ETag || info.Props.CacheControl != "a" {
		t.Errorf("after refused Create: %q %+v, want the first blob untouched", got, info)
	}
}

func testConcurrentCreate(t *testing.T, s cdn.Store) {
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := bytes.Repeat([]byte{byte('a' + i)}, 64<<10)
			_, errs[i] = s.Create(ctx(t), "race", bytes.NewReader(body), cdn.Props{Metadata: map[string]string{"writer": fmt.Sprint(i)}})
		}()
	}
	wg.Wait()
	winner := oneWinner(t, errs, cdn.ErrExists, "writer")
	got, info := readAll(t, s, "race", cdn.Range{})
	if !bytes.Equal(got, bytes.Repeat([]byte{byte('a' + winner)}, 64<<10)) || info.Props.Metadata["writer"] != fmt.Sprint(winner) {
		t.Errorf("stored blob is not writer %d's (metadata %v)", winner, info.Props.Metadata)
	}
}

func testReplace(t *testing.T, s cdn.Store) {
	v1 := create(t, s, "ptr", []byte("v1"), cdn.Props{CacheControl: "public, max-age=60"})
	v2, err := s.Replace(ctx(t), "ptr", bytes.NewReader([]byte("v2")), cdn.Props{CacheControl: "public, max-age=30"}, v1.ETag)
	if err != nil {
		t.Fatalf("Replace with current ETag: %v", err)
	}
	if v2.ETag == v1.ETag || v2.ETag == "" {
		t.Errorf("ETag after replace %q, before %q: want a new one", v2.ETag, v1.ETag)
	}
	got, info := readAll(t, s, "ptr", cdn.Range{})
	if string(got) != "v2" || info.ETag != v2.ETag || info.Props.CacheControl != "public, max-age=30" {
		t.Errorf("after Replace: %q %+v", got, info)
	}
	_, err = s.Replace(ctx(t), "ptr", bytes.NewReader([]byte("stale")), cdn.Props{}, v1.ETag)
	if !errors.Is(err, cdn.ErrPreconditionFailed) {
		t.Fatalf("Replace with stale ETag: error = %v, want ErrPreconditionFailed", err)
	}
	var se *cdn.StatusError
	if !errors.As(err, &se) || se.Status != 412 {
		t.Errorf("stale Replace: %v is not a *StatusError with status 412", err)
	}
	if got, _ := readAll(t, s, "ptr", cdn.Range{}); string(got) != "v2" {
		t.Errorf("stale Replace changed the blob to %q", got)
	}
	_, err = s.Replace(ctx(t), "nothing-here", bytes.NewReader([]byte("x")), cdn.Props{}, v2.ETag)
	if !errors.Is(err, cdn.ErrPreconditionFailed) {
		t.Errorf("Replace of a missing blob: error = %v, want ErrPreconditionFailed", err)
	}
	wantNotFound(t, s, "nothing-here")
}

func testConcurrentReplace(t *testing.T, s cdn.Store) {
	v1 := create(t, s, "ptr", []byte("v1"), cdn.Props{})
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Replace(ctx(t), "ptr", bytes.NewReader([]byte(fmt.Sprint("v2-", i))), cdn.Props{}, v1.ETag)
		}()
	}
	wg.Wait()
	winner := oneWinner(t, errs, cdn.ErrPreconditionFailed, "replacer")
	if got, _ := readAll(t, s, "ptr", cdn.Range{}); string(got) != fmt.Sprint("v2-", winner) {
		t.Errorf("stored %q, want replacer %d's", got, winner)
	}
}

func testCopy(t *testing.T, s cdn.Store) {
	data := randomBytes(t, 200<<10)
	props := cdn.Props{ContentType: cdn.CabinetContentType, CacheControl: cdn.ImmutableCacheControl, Metadata: map[string]string{"sha256": "abc"}}
	create(t, s, "blobs/sha256/src", data, props)
	info, err := s.Copy(ctx(t), "blobs/sha256/src", "targets/abc.A.B_1.0.0.1.cab")
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if info.Key != "targets/abc.A.B_1.0.0.1.cab" || info.Size != int64(len(data)) {
		t.Errorf("Copy returned %+v", info)
	}
	got, gotInfo := readAll(t, s, "targets/abc.A.B_1.0.0.1.cab", cdn.Range{})
	if !bytes.Equal(got, data) {
		t.Error("copy holds other bytes")
	}
	if diff := cmp.Diff(props, gotInfo.Props); diff != "" {
		t.Errorf("copy's properties (-want +got):\n%s", diff)
	}
	create(t, s, "blobs/sha256/other", []byte("other"), cdn.Props{})
	if _, err := s.Copy(ctx(t), "blobs/sha256/other", "targets/abc.A.B_1.0.0.1.cab"); !errors.Is(err, cdn.ErrExists) {
		t.Errorf("Copy over an existing blob: error = %v, want ErrExists", err)
	}
	if got, _ := readAll(t, s, "targets/abc.A.B_1.0.0.1.cab", cdn.Range{}); !bytes.Equal(got, data) {
		t.Error("a refused Copy changed the destination")
	}
	if _, err := s.Copy(ctx(t), "blobs/sha256/missing", "targets/x"); !errors.Is(err, cdn.ErrNotFound) {
		t.Errorf("Copy of a missing blob: error = %v, want ErrNotFound", err)
	}
	wantNotFound(t, s, "targets/x")
	if _, err := s.Copy(ctx(t), "blobs/sha256/src", "../x"); !errors.Is(err, cdn.ErrInvalidKey) {
		t.Errorf("Copy to an invalid key: error = %v, want ErrInvalidKey", err)
	}
}

func testList(t *testing.T, s cdn.Store) {
	for _, k := range []string{"a/b/1", "a/b/2", "a/c", "ab", "z"} {
		create(t, s, k, []byte(k), cdn.Props{})
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a/b/1", "a/b/2", "a/c", "ab", "z"}},
		{"a/", []string{"a/b/1", "a/b/2", "a/c"}},
		{"a", []string{"a/b/1", "a/b/2", "a/c", "ab"}},
		{"a/b/", []string{"a/b/1", "a/b/2"}},
		{"a/b/2", []string{"a/b/2"}},
		{"nope/", nil},
	}
	for _, tt := range tests {
		var got []string
		err := s.List(ctx(t), tt.prefix, func(i cdn.Info) error {
			if i.Size != int64(len(i.Key)) || i.ETag == "" {
				t.Errorf("List(%q): %+v: want size %d and an ETag", tt.prefix, i, len(i.Key))
			}
			got = append(got, i.Key)
			return nil
		})
		if err != nil {
			t.Fatalf("List(%q): %v", tt.prefix, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("List(%q) (-want +got):\n%s", tt.prefix, diff)
		}
	}
	stop := errors.New("stop")
	calls := 0
	err := s.List(ctx(t), "", func(cdn.Info) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("List stopping early: error %v after %d calls, want stop after 1", err, calls)
	}
}

func testInvalidKeys(t *testing.T, s cdn.Store) {
	for _, k := range []string{"", "/abs", "../escape", "a/../../b", "a//b", ".hidden", "a/.tmp-x", "a/", "a\\b", "a b", "a/./b", "ü"} {
		if _, err := s.Create(ctx(t), k, bytes.NewReader([]byte("x")), cdn.Props{}); !errors.Is(err, cdn.ErrInvalidKey) {
			t.Errorf("Create(%q): error = %v, want ErrInvalidKey", k, err)
		}
		if _, err := s.Stat(ctx(t), k); !errors.Is(err, cdn.ErrInvalidKey) {
			t.Errorf("Stat(%q): error = %v, want ErrInvalidKey", k, err)
		}
	}
	wantNoKeys(t, s)
}

// failingReader returns n bytes, then err.
type failingReader struct {
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	k := min(len(p), f.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	f.n -= k
	return k, nil
}

func testFailedBody(t *testing.T, s cdn.Store) {
	boom := errors.New("disk read error")
	_, err := s.Create(ctx(t), "blobs/sha256/partial", &failingReader{n: 3 << 20, err: boom}, cdn.Props{})
	if err == nil {
		t.Fatal("Create with a failing body succeeded")
	}
	wantNotFound(t, s, "blobs/sha256/partial")
	wantNoKeys(t, s)
	create(t, s, "blobs/sha256/partial", []byte("whole"), cdn.Props{})
}

// cancellingReader cancels the upload's context after n bytes.
type cancellingReader struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n -= int64(k)
	if c.n <= 0 {
		c.cancel()
	}
	return k, err
}

func testCancelledUpload(t *testing.T, s cdn.Store) {
	data := randomBytes(t, 12<<20)
	c, cancel := context.WithCancel(ctx(t))
	defer cancel()
	_, err := s.Create(c, "big", &cancellingReader{r: bytes.NewReader(data), n: 5 << 20, cancel: cancel}, cdn.Props{})
	if err == nil {
		t.Fatal("cancelled Create succeeded")
	}
	wantNotFound(t, s, "big")
	wantNoKeys(t, s)
	create(t, s, "big", data, cdn.Props{})
	got, _ := readAll(t, s, "big", cdn.Range{})
	if !bytes.Equal(got, data) {
		t.Error("re-run after a cancelled upload stored other bytes")
	}
}

func testLargeBlob(t *testing.T, s cdn.Store) {
	data := randomBytes(t, 21<<20+123)
	info := create(t, s, "large", data, cdn.Props{})
	if info.Size != int64(len(data)) {
		t.Errorf("size %d, want %d", info.Size, len(data))
	}
	got, _ := readAll(t, s, "large", cdn.Range{})
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Error("large blob read back differs")
	}
	tail, _ := readAll(t, s, "large", cdn.Range{Offset: int64(len(data)) - 1000})
	if !bytes.Equal(tail, data[len(data)-1000:]) {
		t.Error("range read of the tail differs")
	}
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func testPublishIdempotent(t *testing.T, s cdn.Store) {
	data := randomBytes(t, 300<<10)
	p := writeFile(t, "update.cab", data)
	sum := sha256.Sum256(data)
	want := cdn.Result{Path: p, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), Key: cdn.BlobKey(hex.EncodeToString(sum[:])), Uploaded: true,
		URL: "https://cdn.example.com/blobs/sha256/" + hex.EncodeToString(sum[:])}
	got, err := cdn.Publish(ctx(t), s, p, cdn.WithBaseURL("https://cdn.example.com/"))
	if err != nil {
		t.Fatalf("first Publish: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("first Publish (-want +got):\n%s", diff)
	}
	info, err := s.Stat(ctx(t), want.Key)
	if err != nil {
		t.Fatal(err)
	}
	wantProps := cdn.Props{ContentType: cdn.CabinetContentType, CacheControl: cdn.ImmutableCacheControl, Metadata: map[string]string{"sha256": want.SHA256}}
	if diff := cmp.Diff(wantProps, info.Props); diff != "" {
		t.Errorf("stored props (-want +got):\n%s", diff)
	}
	sent := int64(0)
	again, err := cdn.Publish(ctx(t), s, p, cdn.WithBaseURL("https://cdn.example.com"), cdn.WithProgress(func(_ string, done, _ int64) { sent = done }))
	if err != nil {
		t.Fatalf("second Publish: %v", err)
	}
	want.Uploaded = false
	if diff := cmp.Diff(want, again); diff != "" {
		t.Errorf("second Publish (-want +got):\n%s", diff)
	}
	if sent != 0 {
		t.Errorf("second Publish sent %d bytes, want none", sent)
	}
	if after, _ := s.Stat(ctx(t), want.Key); after.ETag != info.ETag {
		t.Errorf("second Publish rewrote the blob: ETag %q -> %q", info.ETag, after.ETag)
	}
}

func testPublishInterrupted(t *testing.T, s cdn.Store) {
	data := randomBytes(t, 10<<20)
	p := writeFile(t, "big.cab", data)
	c, cancel := context.WithCancel(ctx(t))
	defer cancel()
	_, err := cdn.Publish(c, s, p, cdn.WithProgress(func(_ string, done, _ int64) {
		if done >= 4<<20 {
			cancel()
		}
	}))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted Publish: error = %v, want context.Canceled", err)
	}
	wantNoKeys(t, s)
	res, err := cdn.Publish(ctx(t), s, p)
	if err != nil || !res.Uploaded {
		t.Fatalf("re-run Publish = %+v, %v; want uploaded", res, err)
	}
	got, _ := readAll(t, s, res.Key, cdn.Range{})
	if !bytes.Equal(got, data) {
		t.Error("re-run stored other bytes")
	}
}

func testPutPointer(t *testing.T, s cdn.Store) {
	v1, err := cdn.PutPointer(ctx(t), s, "rings/Preview/catalog.json", []byte(`{"v":1}`), "", cdn.WithMaxAge(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if v1.Props.CacheControl != "public, max-age=1" || v1.Props.ContentType != "application/json" {
		t.Errorf("pointer props %+v, want max-age=1 JSON", v1.Props)
	}
	if _, err := cdn.PutPointer(ctx(t), s, "rings/Preview/catalog.json", []byte(`{"v":0}`), ""); !errors.Is(err, cdn.ErrExists) {
		t.Errorf("creating an existing pointer: error = %v, want ErrExists", err)
	}
	v2, err := cdn.PutPointer(ctx(t), s, "rings/Preview/catalog.json", []byte(`{"v":2}`), v1.ETag)
	if err != nil {
		t.Fatalf("swap with current ETag: %v", err)
	}
	if _, err := cdn.PutPointer(ctx(t), s, "rings/Preview/catalog.json", []byte(`{"v":3}`), v1.ETag); !errors.Is(err, cdn.ErrPreconditionFailed) {
		t.Errorf("swap with stale ETag: error = %v, want ErrPreconditionFailed", err)
	}
	got, info := readAll(t, s, "rings/Preview/catalog.json", cdn.Range{})
	if string(got) != `{"v":2}` || info.ETag != v2.ETag {
		t.Errorf("pointer holds %q (ETag %q), want v2 (%q)", got, info.ETag, v2.ETag)
	}
	if _, err := cdn.PutPointer(ctx(t), s, "blobs/sha256/x", []byte("x"), ""); !errors.Is(err, cdn.ErrInvalidKey) {
		t.Errorf("pointer under blobs/: error = %v, want ErrInvalidKey", err)
	}
}

// oneWinner checks the outcome of concurrent conditional writes: exactly one
// succeeded, and every other failed with loserErr. It returns the winner.
func oneWinner(t *testing.T, errs []error, loserErr error, who string) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("%ss %d and %d both won", who, winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, loserErr):
			t.Errorf("%s %d: error = %v, want %v", who, i, err, loserErr)
		}
	}
	if winner < 0 {
		t.Fatalf("no %s won", who)
	}
	return winner
}
