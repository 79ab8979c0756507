package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devupdate/devupdate/internal/agent"
	"github.com/devupdate/devupdate/internal/agent/config"
	"github.com/devupdate/devupdate/internal/azurite"
	"github.com/devupdate/devupdate/internal/testtool"
)

// TestFlightOnAzureReachesDevices is the flow on Azure Blob Storage
// (Azurite): the example settings update, built and signed, is added to
// Preview and promoted to EarlyAdopter with the store on Azurite, and
// devices (the agent library, the golden device's SMBIOS, a handler that
// records) read it through `devupdate serve --store azblob://...`: the
// Preview device installs it at once, the EarlyAdopter device only once it
// is promoted, the GeneralAvailability device never.
func TestFlightOnAzureReachesDevices(t *testing.T) {
	srv := azurite.StartT(t)
	t.Setenv("AZURE_STORAGE_KEY", azurite.Key)
	for _, k := range []string{"AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_BLOB_ENDPOINT"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	store := "azblob://" + azurite.Account + "/fleet?create-container=true&endpoint=" + srv.Endpoint
	dir := t.TempDir()
	at := func(p string) string { return filepath.Join(dir, p) }
	cli := func(args ...string) string {
		t.Helper()
		out, stderr, code := run(t, args...)
		if code != exitOK {
			t.Fatalf("devupdate %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
		}
		return out
	}

	sign := devPKI(t, at("pki"))
	example := filepath.Join(testtool.RepoRoot(t), "examples", "contoso-toaster")
	cli("build", filepath.Join(example, "updates", "settings", "update.yaml"), "-o", at("cabs"))
	cab := at("cabs/Contoso.Toaster.Settings_1.0.0.1.cab")
	cli(append([]string{"sign", cab}, sign...)...)
	cli("flight", "init", filepath.Join(example, "product.yaml"), "--store", store, "--dev-keys", at("keys"), "--out", at("roots"))
	t.Setenv(EnvFlightKeys, at("keys/keys.json"))
	cli("flight", "add", cab, "--ring", "Preview", "--roots", at("pki/root.pem"), "--store", store, "--reason", "nightly")

	ctx, cancel := context.WithCancel(context.Background())
	var out lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Execute(ctx, []string{"serve", "--store", store, "--addr", "127.0.0.1:0", "-O", "json"}, &out, io.Discard)
	}()
	t.Cleanup(func() { cancel(); <-done })
	var ready struct {
		OK  bool   `json:"ok"`
		URL string `json:"url"`
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if s := out.String(); strings.Contains(s, "}") {
			if err := json.Unmarshal([]byte(s), &ready); err != nil || !ready.OK {
				t.Fatalf("serve: %s (%v)", s, err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not start")
		}
	}

	subject := leafCommonName(t, at("pki/chain.pem"))
	device := func(ring string) (*agent.Agent, string) {
		t.Helper()
		state := at("device-" + ring)
		log := state + ".installed"
		conf := at(ring + ".json")
		data := fmt.Sprintf(`{"server": %q, "ring": %q, "tuf_roots": %q, "state_dir": %q, "smbios": %q,
		  "authenticode": {"roots": %q, "subjects": [%q]}, "inventory": {"Windows.IoT.Core": "10.0.17763.615"},
		  "handlers": {"ocp": {"command": ["/bin/sh", "-c", "echo \"$DEVUPDATE_NAME $DEVUPDATE_VERSION\" >> %s"]}}}`,
			ready.URL+"/", ring, at("roots"), state, filepath.Join(example, "golden-device.bin"), at("pki/root.pem"), subject, log)
		if err := os.WriteFile(conf, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(ctx, conf)
		if err != nil {
			t.Fatal(err)
		}
		a, err := agent.New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return a, log
	}
	install := func(a *agent.Agent, log, want string) {
		t.Helper()
		res, err := a.Install(ctx)
		if err != nil {
			t.Fatalf("%s device: %v", a.Config().Ring, err)
		}
		if res.Failed() {
			t.Fatalf("%s device: %+v", a.Config().Ring, res.Installations)
		}
		got, err := os.ReadFile(log)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s device's handler ran for %q, want %q", a.Config().Ring, got, want)
		}
	}
	const settings = "Contoso.Toaster.Settings 1.0.0.1\n"
	preview, pLog := device("Preview")
	early, eLog := device("EarlyAdopter")
	general, gLog := device("GeneralAvailability")
	install(preview, pLog, settings)
	install(early, eLog, "")
	install(general, gLog, "")

	cli("flight", "promote", "Contoso.Toaster.Settings", "1.0.0.1", "--to", "EarlyAdopter", "--store", store, "--reason", "Preview soak passed")
	install(early, eLog, settings)
	install(preview, pLog, settings) // installed once
	install(general, gLog, "")
}

// leafCommonName is the common name of a chain file's first certificate.
func leafCommonName(t *testing.T, chain string) string {
	t.Helper()
	data, err := os.ReadFile(chain)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("%s: no certificate", chain)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c.Subject.CommonName
}
