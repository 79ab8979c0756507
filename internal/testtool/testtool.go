// Package testtool lets tests use the real external tools a user would meet
// (cabextract, gcab, 7z, dmidecode, osslsigncode, softhsm2-util, nginx,
// Azurite). The tools are installed by `make deps`; when a tool is missing a
// test is skipped on a developer's machine, but fails under `make test` and in
// CI (DEVUPDATE_REQUIRE_TOOLS=1 or CI=true), so a missing install step can
// never pass as a green run.
package testtool

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Required reports whether missing tools must fail tests rather than skip them.
func Required() bool {
	return os.Getenv("DEVUPDATE_REQUIRE_TOOLS") == "1" || os.Getenv("CI") == "true"
}

// Need returns the absolute path of the named executable, searching PATH and
// then the repository's node_modules/.bin. It skips or fails the test when the
// tool is missing, as described in the package comment.
func Need(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", filepath.Join(RepoRoot(t), "node_modules", ".bin")} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	Missing(t, name)
	return ""
}

// Missing skips or fails the test because what names is not installed.
func Missing(t testing.TB, what string) {
	t.Helper()
	if Required() {
		t.Fatalf("%s is not installed; run `make deps` (required under make test and CI)", what)
	}
	t.Skipf("%s is not installed; run `make deps` to install it", what)
}

// RepoRoot returns the repository root (the directory holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate testtool source")
	}
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// SharedTestdata returns the path of the shared test data directory that sits
// beside the repository (../shared/testdata), failing the test when absent.
func SharedTestdata(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{RepoRoot(t), "..", "shared", "testdata"}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("shared test data missing: %v", err)
	}
	return p
}

// SoftHSM2Module returns the path of Debian's SoftHSM2 PKCS#11 module,
// failing or skipping the test (as Need does) when it is not installed.
func SoftHSM2Module(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so", "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	Missing(t, "libsofthsm2.so (Debian softhsm2)")
	return ""
}
