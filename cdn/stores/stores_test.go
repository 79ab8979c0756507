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
	"github.com/devupdate/devupdate/cdn/azure"
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

// TestOpenAzureExplains: a missing container and missing credentials are
// each one error at Open, saying what to change, instead of a failure per
// blob later.
func TestOpenAzureExplains(t *testing.T) {
	srv := azurite.StartT(t)
	_, _, err := stores.Open(t.Context(), "azblob://devstoreaccount1/missing", env(map[string]string{"AZURE_STORAGE_KEY": azurite.Key, "AZURE_STORAGE_BLOB_ENDPOINT": srv.Endpoint}))
	if !errors.Is(err, cdn.ErrNotFound) || !strings.Contains(err.Error(), "?create-container=true") {
		t.Errorf("missing container: %v, want cdn.ErrNotFound suggesting ?create-container=true", err)
	}
	_, _, err = stores.Open(t.Context(), "azblob://devstoreaccount1/missing?endpoint="+srv.Endpoint, env(nil))
	if !errors.Is(err, azure.ErrNoCredentials) {
		t.Errorf("no credentials for an http endpoint: %v, want azure.ErrNoCredentials", err)
	}
	s, closeFn, err := stores.Open(t.Context(), "mem://", env(nil), stores.Durable())
	if !errors.Is(err, cdn.ErrInvalidURL) || s != nil || closeFn != nil {
		t.Errorf("mem:// with Durable: %v, want cdn.ErrInvalidURL", err)
	}
	missing := filepath.Join(t.TempDir(), "typo")
	if _, _, err := stores.Open(t.Context(), missing, env(nil), stores.Existing()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing directory with Existing: %v, want os.ErrNotExist", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Error("Existing created the directory")
	}
}
