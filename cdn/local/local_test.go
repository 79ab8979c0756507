package local_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/cdntest"
	"github.com/devupdate/devupdate/cdn/local"
)

func newStore(t *testing.T) *local.Store {
	t.Helper()
	s, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	cdntest.Run(t, func(t *testing.T) cdn.Store { return newStore(t) })
}

func TestKilledUploadLeavesNothing(t *testing.T) {
	env := map[string]string{"CDNTEST_STORE_DIR": os.Getenv("CDNTEST_STORE_DIR")}
	if env["CDNTEST_STORE_DIR"] == "" {
		env["CDNTEST_STORE_DIR"] = t.TempDir()
	}
	cdntest.KillMidUpload(t, "TestKilledUploadLeavesNothing", env, func(getenv func(string) string) (cdn.Store, error) {
		return local.New(getenv("CDNTEST_STORE_DIR"))
	}, func(t *testing.T, key string) {
		// The killed writer's bytes are only in a hidden temporary file.
		tmps, _ := filepath.Glob(filepath.Join(env["CDNTEST_STORE_DIR"], "blobs", "sha256", ".tmp-*"))
		if len(tmps) == 0 {
			t.Fatal("no temporary file left by the killed writer: did it write at all?")
		}
	})
}

func TestSymlinkOutOfStoreIsNotABlob(t *testing.T) {
	parent := t.TempDir()
	secret := filepath.Join(parent, "secret")
	if err := os.WriteFile(secret, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := local.New(filepath.Join(parent, "store"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := os.Symlink(secret, filepath.Join(parent, "store", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(parent, filepath.Join(parent, "store", "dirlink")); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"link", "dirlink/secret"} {
		if _, _, err := s.Get(t.Context(), key, cdn.Range{}); !errors.Is(err, cdn.ErrNotFound) {
			t.Errorf("Get(%q) through a symlink out of the store: error = %v, want ErrNotFound", key, err)
		}
	}
	// Writing through the directory symlink must not land outside either.
	if _, err := s.Create(t.Context(), "dirlink/new", strings.NewReader("x"), cdn.Props{}); err == nil {
		t.Error("Create through a symlink out of the store succeeded")
	}
	if _, err := os.Stat(filepath.Join(parent, "new")); err == nil {
		t.Error("a blob was written outside the store")
	}
}

// TestPublishCompletesBlobWithoutProperties: a blob whose properties are
// missing (as a writer killed between its data and its properties left it
// in earlier versions) is completed by publishing the same file again, and
// the blob is served with them after.
func TestPublishCompletesBlobWithoutProperties(t *testing.T) {
	s := newStore(t)
	file := filepath.Join(t.TempDir(), "u.cab")
	if err := os.WriteFile(file, []byte("cabinet bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := cdn.Publish(t.Context(), s, file)
	if err != nil {
		t.Fatal(err)
	}
	dir, name := filepath.Split(strings.TrimPrefix(s.URL(res.Key), "file://"))
	metas, _ := filepath.Glob(filepath.Join(dir, "."+name+"*.meta"))
	if len(metas) != 1 {
		t.Fatalf("properties files %q, want one", metas)
	}
	if err := os.Remove(metas[0]); err != nil {
		t.Fatal(err)
	}
	if info, err := s.Stat(t.Context(), res.Key); err != nil || info.Props.Metadata[cdn.MetaSHA256] != "" {
		t.Fatalf("Stat without properties: %+v, %v", info, err)
	}
	again, err := cdn.Publish(t.Context(), s, file)
	if err != nil {
		t.Fatalf("publishing again: %v", err)
	}
	info, err := s.Stat(t.Context(), res.Key)
	if err != nil || info.Props.Metadata[cdn.MetaSHA256] != res.SHA256 || info.Props.CacheControl != cdn.ImmutableCacheControl {
		t.Errorf("after publishing again: %+v, %v; want the properties back", info, err)
	}
	if again.Uploaded {
		t.Error("publishing again reported an upload: the blob's data was already there")
	}
}
