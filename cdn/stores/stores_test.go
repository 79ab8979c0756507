package stores_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/stores"
	"github.com/devupdate/devupdate/internal/azurite"
)

func env(m map[string]string) stores.Option {
	return stores.WithGetenv(func(k string) string { return m[k] })
}

func TestOpenInvalidURLs(t *testing.T) {
	for _, u := range []string{
		"", "s3://bucket/x", "file://host/srv", "file:///srv?x=1",
		"azblob://acct", "azblob://acct/", "azblob://acct/a/b", "azblob://acct/Bad_Name",
		"azblob://acct/cont?sig=secret", "azblob://user:pw@acct/cont", "azblob://acct/cont?endpoint=ftp://x",
	} {
		_, _, err := stores.Open(t.Context(), u, env(nil))
		if !errors.Is(err, cdn.ErrInvalidURL) {
			t.Errorf("Open(%q): error = %v, want ErrInvalidURL", u, err)
		}
	}
}

func TestOpenLocalAndMemory(t *testing.T) {
	dir := t.TempDir()
	for _, u := range []string{filepath.Join(dir, "a"), "file://" + filepath.Join(dir, "b"), "mem://"} {
		s, closeFn, err := stores.Open(t.Context(), u, env(nil))
		if err != nil {
			t.Fatalf("Open(%q): %v", u, err)
		}
		if _, err := s.Create(t.Context(), "k", bytes.NewReader([]byte("x")), cdn.Props{}); err != nil {
			t.Errorf("Open(%q): Create: %v", u, err)
		}
		if err := closeFn(); err != nil {
			t.Error(err)
		}
		if !strings.HasPrefix(u, "mem:") {
			p := strings.TrimPrefix(u, "file://")
			if _, err := os.Stat(filepath.Join(p, "k")); err != nil {
				t.Errorf("Open(%q): blob not in the directory: %v", u, err)
			}
		}
	}
}

// TestOpenAzureCredentialsFromEnv reaches a real Azurite with each kind of
// credential, taken from the environment only.
func TestOpenAzureCredentialsFromEnv(t *testing.T) {
	srv := azurite.StartT(t)
	cred, err := service.NewSharedKeyCredential(azurite.Account, azurite.Key)
	if err != nil {
		t.Fatal(err)
	}
	q, err := sas.BlobSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour).UTC(),
		Permissions:   (&sas.ContainerPermissions{Read: true, Create: true, Write: true, Add: true, List: true}).String(),
		ContainerName: "envtest",
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		url  string
		env  map[string]string
	}{
		{"account key, endpoint from env", "azblob://devstoreaccount1/envtest?create-container=true",
			map[string]string{"AZURE_STORAGE_KEY": azurite.Key, "AZURE_STORAGE_BLOB_ENDPOINT": srv.Endpoint}},
		{"connection string", "azblob://devstoreaccount1/envtest",
			map[string]string{"AZURE_STORAGE_CONNECTION_STRING": srv.ConnectionString()}},
		{"SAS token, endpoint parameter", "azblob://devstoreaccount1/envtest?endpoint=" + srv.Endpoint,
			map[string]string{"AZURE_STORAGE_SAS_TOKEN": "?" + q.Encode()}},
	}
	p := filepath.Join(t.TempDir(), "u.cab")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(p, []byte(tt.name), 0o644); err != nil {
				t.Fatal(err)
			}
			s, closeFn, err := stores.Open(t.Context(), tt.url, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			defer closeFn()
			res, err := cdn.Publish(t.Context(), s, p)
			if err != nil || !res.Uploaded {
				t.Fatalf("Publish = %+v, %v", res, err)
			}
			if want := srv.Endpoint + "/envtest/" + res.Key; res.URL != want {
				t.Errorf("URL %q, want %q", res.URL, want)
			}
		})
	}
}
