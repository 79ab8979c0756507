package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/cmd/internal/cli/clitest"
	"github.com/devupdate/devupdate/smbios/smbiostest"
)

// TestJSONGolden holds the JSON report of every command: one golden file
// per command under testdata/json, each reviewed by hand.
func TestJSONGolden(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1793491200")
	tmp := t.TempDir()
	at := func(p ...string) string { return filepath.Join(append([]string{tmp}, p...)...) }
	pki := devPKI(t, at("pki"))
	src := at("src")
	if err := os.MkdirAll(filepath.Join(src, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"readme.txt": "hello\n", "docs/a.txt": "a\n"} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(at("notes.cab"), []byte("release notes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A manifest whose product has two problems of its own.
	for name, data := range map[string]string{
		"bad/product.yaml":  "name: p\nsmbios:\n  manufacturer: Contoso\n  family: F\n  product_name: Default string\n  sku: S1\n  baseboard_product: [B]\n",
		"bad/update.yaml":   "name: Contoso.Toaster.X\nkind: ocp\nversion: 1.0.0.1\nproducts: [product.yaml]\nfiles: [{source: payload/*, dest: s/}]\n",
		"bad/payload/a.txt": "a\n",
	} {
		if err := os.MkdirAll(filepath.Dir(at(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(at(name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		golden string
		args   []string
		code   int
	}{
		{"version", []string{"version"}, exitOK},
		{"manifest-validate", []string{"manifest", "validate", exampleUpdate("settings")}, exitOK},
		{"manifest-validate-bad-product", []string{"manifest", "validate", at("bad", "update.yaml")}, exitFailed},
		{"build", []string{"build", exampleUpdate("settings"), exampleUpdate("app"), "-o", at("cabs")}, exitOK},
		{"build-again", []string{"build", exampleUpdate("settings"), "-o", at("cabs")}, exitOK},
		// A failure leaves out what it could not read (no empty fields, no null).
		{"smbios-show-missing", []string{"smbios", "show", "--dmi", at("nope.bin")}, exitFailed},
		{"cab-create", []string{"cab", "create", at("x.cab"), src}, exitOK},
		{"cab-create-exists", []string{"cab", "create", at("x.cab"), src}, exitFailed},
		{"cab-list", []string{"cab", "list", at("x.cab")}, exitOK},
		{"cab-test", []string{"cab", "test", at("notes.cab")}, exitFailed},
		{"cab-extract", []string{"cab", "extract", at("x.cab"), "-C", at("out")}, exitOK},
		{"keys-dev-pki", []string{"keys", "dev-pki", at("pki2")}, exitOK},
		{"keys-csr", []string{"keys", "csr", "--key", pki[1], "--subject", "CN=Contoso Ltd,O=Contoso Ltd,C=US"}, exitOK},
		// A failing cabinet does not stop the ones after it.
		{"sign", append([]string{"sign", at("notes.cab"), at("cabs", "Contoso.Toaster.Settings_1.0.0.1.cab")}, pki...), exitFailed},
		{"sign-again", append([]string{"sign", at("cabs", "Contoso.Toaster.Settings_1.0.0.1.cab")}, pki...), exitOK},
		{"verify", []string{"verify", at("cabs", "Contoso.Toaster.Settings_1.0.0.1.cab"), at("cabs", "Contoso.Toaster.App_1.0.0.3.cab"), "--roots", pki[5]}, exitFailed},
		{"publish", []string{"publish", at("x.cab"), at("notes.cab"), "--store", at("store"), "--cdn-base", "https://cdn.example.com", "--insecure-allow-unsigned"}, exitFailed},
		// serve fails before it is ready: one document, ok false.
		{"serve-bad-addr", []string{"serve", "--store", at("store"), "--addr", "127.0.0.1:99999"}, exitFailed},
	}
	for _, st := range steps {
		t.Run(st.golden, func(t *testing.T) {
			out, stderr, code := run(t, append(st.args, "-O", "json")...)
			if code != st.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, st.code, stderr)
			}
			if stderr != "" {
				t.Errorf("stderr %q with --output json", stderr)
			}
			clitest.Golden(t, "json/"+st.golden+".json", clitest.Normalize(out, tmp, "$TMP",
				`"version": "`+cli.Version(buildVersion)+`"`, `"version": "<version>"`, `"go": "`+runtime.Version()+`"`, `"go": "<go version>"`))
		})
	}
	t.Run("serve", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var out lockedBuffer
		done := make(chan int, 1)
		go func() {
			done <- Execute(ctx, []string{"serve", "--store", at("store"), "--addr", "127.0.0.1:0", "-O", "json"}, &out, io.Discard)
		}()
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "}") && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		}
		cancel()
		<-done
		clitest.Golden(t, "json/serve.json", clitest.Normalize(out.String(), tmp, "$TMP"))
	})
}

// TestMessagesGolden holds the text of the messages that tell a person what
// to change: usage errors (exit 2) naming the flag or variable, and the
// wording of common refusals.
func TestMessagesGolden(t *testing.T) {
	tmp := t.TempDir()
	at := func(p ...string) string { return filepath.Join(append([]string{tmp}, p...)...) }
	for k := range map[string]bool{"DEVUPDATE_PKCS11_MODULE": true, "DEVUPDATE_PKCS11_PIN": true, "DEVUPDATE_PFX_PASSWORD": true,
		"AZURE_STORAGE_CONNECTION_STRING": true, "AZURE_STORAGE_KEY": true, "AZURE_STORAGE_SAS_TOKEN": true, "AZURE_STORAGE_BLOB_ENDPOINT": true} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	pki := devPKI(t, at("pki"))
	cab := newCab(t, tmp, "a.cab", []byte("payload"))
	big := newCab(t, tmp, "big.cab", []byte(strings.Repeat("x", 5000)))
	write := func(name, data string) string {
		if err := os.WriteFile(at(name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return at(name)
	}
	notes := write("notes.cab", "release notes\n")
	pfx := write("k.pfx", "not really PKCS#12")
	chain := write("chain.pem", "")
	typos := write("typos.yaml", "name: Contoso.Toaster.X\nkind: ocp\nversion: 1.0.0.1\ndescripton: x\nrelease_note: y\nfiles: [{source: '*.txt', dest: x/}]\nchids: [not-a-chid]\n")
	write("a.txt", "a")
	// A dump whose type 1 structure names string 9 of a set of 1.
	badDump := write("bad.bin", string(smbiostest.Dump(3, 2, 0, []byte{1, 8, 0x12, 0, 9, 0, 0, 0, 'x', 0, 0, 127, 4, 0xFF, 0xFF, 0, 0})))
	tests := []struct {
		args []string
		env  map[string]string
	}{
		{args: []string{"biuld", "x.yaml"}},
		{args: []string{"cab", "lst", "x.cab"}},
		{args: []string{"keys"}},
		{args: []string{"sign", cab, big, "-o", at("out.cab"), "--key", "k.pem", "--cert", chain}},
		{args: []string{"sign", cab}},
		{args: []string{"sign", cab, "--key", "k.pem"}},
		{args: []string{"sign", cab, "--key", pfx}},
		{args: []string{"sign", cab, "--key", "pkcs11:token=t;object=k", "--cert", chain}},
		{args: []string{"sign", cab, "--key", "pkcs11:token=t;object=k", "--cert", chain, "--pkcs11-module", at("nope.so")}, env: map[string]string{"DEVUPDATE_PKCS11_PIN": "1"}},
		{args: []string{"sign", cab, "--key", "pkcs11:token=t;object=k", "--cert", chain, "--pkcs11-module", notes}, env: map[string]string{"DEVUPDATE_PKCS11_PIN": "1"}},
		{args: []string{"sign", cab, "--key", "pkcs11:token=t;object=k;pin-value=1234", "--cert", chain}},
		{args: []string{"keys", "csr", "--key", "pkcs11:token=t;object=k;pin-value=1234", "--subject", "CN=x"}, env: map[string]string{"DEVUPDATE_PKCS11_MODULE": at("nope.so")}},
		{args: []string{"verify", cab}},
		{args: []string{"verify", cab, "--roots", at("nope.pem")}},
		{args: []string{"sign", cab, "--key", pki[1], "--cert", at("nope.pem")}},
		{args: []string{"verify", notes, cab, "--roots", pki[5]}},
		{args: []string{"publish", cab, "--store", "mem://"}},
		{args: []string{"publish", cab, "--store", at("store"), "--cdn-base", "ftp://cdn"}},
		{args: []string{"publish", cab, notes, "--store", at("store")}},
		{args: []string{"publish", cab, "--store", "azblob://devstoreaccount1/updates?endpoint=http://127.0.0.1:1/devstoreaccount1"}},
		{args: []string{"serve", "--store", at("missing")}},
		{args: []string{"cab", "extract", big, "-C", at("x"), "--max-bytes", "100"}},
		{args: []string{"smbios", "show", "--dmi", "a.bin", "--fields", "f.yaml"}},
		{args: []string{"manifest", "validate", typos}},
		{args: []string{"product", "validate"}},
		{args: []string{"product", "validate", at("nope.yaml")}},
		{args: []string{"smbios", "show", "--dmi", badDump}},
		{args: []string{"smbios", "show", "--dmi", notes}},
		{args: []string{"cab", "test", notes}},
	}
	var b strings.Builder
	for _, tt := range tests {
		for k, v := range tt.env {
			t.Setenv(k, v)
		}
		out, stderr, code := run(t, tt.args...)
		for k := range tt.env {
			os.Unsetenv(k)
		}
		b.WriteString("$ devupdate " + strings.Join(tt.args, " ") + "\n")
		b.WriteString(streams(out, stderr))
		b.WriteString("exit " + string(rune('0'+code)) + "\n\n")
	}
	clitest.Golden(t, "messages.txt", clitest.Normalize(b.String(), tmp, "$TMP"))
}
