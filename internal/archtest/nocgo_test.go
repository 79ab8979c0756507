package archtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestBuildsWithoutCgo: everything except the PKCS#11 key source builds
// with CGO_ENABLED=0 (the device agent must), and so does the CLI, whose
// PKCS#11 support then reports that it needs cgo.
func TestBuildsWithoutCgo(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	var pkgs []string
	for _, p := range []string{"signer", "packager", "smbios", "manifest", "flight", "cdn", "cmd"} {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			pkgs = append(pkgs, "./"+p+"/...")
		}
	}
	if len(pkgs) == 0 {
		t.Fatal("no package found to build")
	}
	cmd := exec.Command("go", append([]string{"build", "-o", os.DevNull}, pkgs...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build %v: %v\n%s", pkgs, err, out)
	}
	// and the signer core never links miekg/pkcs11, even with cgo on
	signerPkg, ok := listAll(t)[module+"/signer"]
	if !ok {
		t.Fatal("go list did not report the signer package")
	}
	for _, d := range signerPkg.Deps {
		for _, bad := range hsmCgo {
			if d == bad || strings.HasPrefix(d, bad+"/") {
				t.Errorf("signer depends on %s", d)
			}
		}
	}
}
