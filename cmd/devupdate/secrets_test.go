package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devupdate/devupdate/internal/azurite"
)

// secret stands for a credential in a URL: a SAS token's signature, a
// password, an API key.
const secret = "S3CRETVALUE"

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestNoSecretInOutput runs the failure paths that report a URL carrying a
// credential (a SAS token from the environment, userinfo or a query in a
// store, CDN or timestamp URL) in text and in JSON, and greps everything
// printed for the credential.
func TestNoSecretInOutput(t *testing.T) {
	dir := t.TempDir()
	cab := newCab(t, dir, "x.cab", []byte("cabinet"))
	signFlags := devPKI(t, filepath.Join(dir, "pki"))
	refused := closedAddr(t)
	srv := azurite.StartT(t)
	tsa := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no timestamps today", http.StatusInternalServerError)
	}))
	t.Cleanup(tsa.Close)
	sas := "sv=2022-11-02&ss=b&srt=sco&sp=rwdlac&se=2030-01-01T00:00:00Z&sig=" + secret

	tests := []struct {
		name string
		env  map[string]string
		args []string
		want int
	}{
		{"SAS token, endpoint refuses", map[string]string{"AZURE_STORAGE_SAS_TOKEN": sas},
			[]string{"publish", cab, "--insecure-allow-unsigned", "--store", "azblob://acct/cont?endpoint=http://" + refused + "/acct"}, exitFailed},
		{"SAS token refused by the service", map[string]string{"AZURE_STORAGE_SAS_TOKEN": sas},
			[]string{"publish", cab, "--insecure-allow-unsigned", "--store", "azblob://" + azurite.Account + "/cont?endpoint=" + srv.Endpoint}, exitFailed},
		{"serve, SAS token, endpoint refuses", map[string]string{"AZURE_STORAGE_SAS_TOKEN": sas},
			[]string{"serve", "--store", "azblob://acct/cont?endpoint=http://" + refused + "/acct"}, exitFailed},
		{"flight, SAS token, endpoint refuses", map[string]string{"AZURE_STORAGE_SAS_TOKEN": sas},
			[]string{"flight", "status", "--store", "azblob://acct/cont?endpoint=http://" + refused + "/acct"}, exitFailed},
		{"endpoint with a query", nil,
			[]string{"publish", cab, "--store", "azblob://acct/cont?endpoint=http://" + refused + "/acct?sig=" + secret}, exitUsage},
		{"password in an unknown scheme", nil,
			[]string{"publish", cab, "--store", "s3://user:" + secret + "@bucket/x"}, exitUsage},
		{"unparsable store URL", nil,
			[]string{"publish", cab, "--store", "azblob://acct:" + secret + "@[bad/x"}, exitUsage},
		{"CDN base with credentials", nil,
			[]string{"publish", cab, "--store", dir, "--cdn-base", "ftp://user:" + secret + "@cdn.example.com/?token=" + secret}, exitUsage},
		{"timestamp authority refuses", nil,
			append([]string{"sign", cab, "-o", filepath.Join(dir, "a.cab"), "--timestamp-url", "http://user:" + secret + "@" + refused + "/ts?apikey=" + secret}, signFlags...), exitFailed},
		{"timestamp authority fails", nil,
			append([]string{"sign", cab, "-o", filepath.Join(dir, "b.cab"), "--timestamp-url", tsa.URL + "/ts?apikey=" + secret}, signFlags...), exitFailed},
	}
	for _, tt := range tests {
		for _, format := range []string{"text", "json"} {
			t.Run(tt.name+"/"+format, func(t *testing.T) {
				for k, v := range tt.env {
					t.Setenv(k, v)
				}
				stdout, stderr, code := run(t, append(tt.args, "--output", format)...)
				if code != tt.want {
					t.Errorf("exit %d, want %d: %s%s", code, tt.want, stdout, stderr)
				}
				if strings.Contains(stdout+stderr, secret) {
					t.Errorf("the credential is printed:\nstdout: %s\nstderr: %s", stdout, stderr)
				}
			})
		}
	}
}
