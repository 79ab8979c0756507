package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/local"
	"github.com/devupdate/devupdate/cdn/origin"
	"github.com/devupdate/devupdate/internal/testtool"
)

// TestBuildSignPublishServe is the pipeline end to end through the CLI: the
// example driver update built by `build`, signed with a dev EV chain, published to a
// local store and fetched back through the origin must still be the signed
// bytes: same digest, valid EV Authenticode by our verifier and by
// osslsigncode.
func TestBuildSignPublishServe(t *testing.T) {
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	if _, stderr, code := run(t, "keys", "dev-pki", pki); code != exitOK {
		t.Fatalf("dev-pki: %s", stderr)
	}
	manifestPath := filepath.Join(testtool.RepoRoot(t), "examples", "contoso-toaster", "updates", "driver", "update.yaml")
	out, stderr, code := run(t, "build", manifestPath, "-o", dir, "--output", "json")
	if code != exitOK {
		t.Fatalf("build: %s", stderr)
	}
	built := decode[batchReport[buildItem]](t, out)
	if len(built.Results) != 1 || built.Results[0].Cabinet == nil {
		t.Fatalf("build report %q", out)
	}
	cab := built.Results[0].Cabinet.File
	root := filepath.Join(pki, "root.pem")
	if _, stderr, code := run(t, "sign", cab, "--key", "file:"+filepath.Join(pki, "leaf.key"), "--cert", filepath.Join(pki, "chain.pem"), "--roots", root); code != exitOK {
		t.Fatalf("sign: %s", stderr)
	}

	store := filepath.Join(dir, "store")
	out, stderr, code = run(t, "publish", cab, "--store", store, "--output", "json")
	if code != exitOK {
		t.Fatalf("publish: %s", stderr)
	}
	res := decode[batchReport[publishItem]](t, out).Results
	if len(res) != 1 {
		t.Fatalf("publish report %q", out)
	}
	if want := sha256sum(t, cab); res[0].SHA256 != want || !res[0].Uploaded {
		t.Fatalf("publish report %+v, want sha256 %s uploaded", res[0], want)
	}

	s, err := local.New(store)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h, err := origin.NewHandler(s)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/blobs/sha256/" + res[0].SHA256)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET: %d %v", resp.StatusCode, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != cdn.CabinetContentType {
		t.Errorf("Content-Type %q", ct)
	}
	fetched := filepath.Join(dir, "fetched.cab")
	if err := os.WriteFile(fetched, body, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := sha256sum(t, fetched); got != res[0].SHA256 {
		t.Errorf("fetched cabinet hashes to %s, published %s", got, res[0].SHA256)
	}
	if _, stderr, code := run(t, "verify", fetched, "--roots", root, "--require-ev"); code != exitOK {
		t.Errorf("verify fetched cabinet: exit %d %s", code, stderr)
	}
	if b, err := exec.Command(testtool.Need(t, "osslsigncode"), "verify", "-in", fetched, "-CAfile", root).CombinedOutput(); err != nil {
		t.Errorf("osslsigncode verify fetched cabinet: %v\n%s", err, b)
	}
}
