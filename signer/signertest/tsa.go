// Package signertest holds test doubles for package signer's users: an
// in-process RFC 3161 timestamp authority with its own TEST-ONLY root, and
// helpers that make cabinets and PKIs for tests. It is imported by tests
// only.
package signertest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sassoftware/relic/v8/lib/pkcs7"
	"github.com/sassoftware/relic/v8/lib/pkcs9"

	"github.com/devupdate/devupdate/signer/devpki"
)

// oidSigningCertificateV2 is the ESS signingCertificateV2 attribute (RFC
// 5035) that RFC 3161 requires in a token and OpenSSL checks.
var (
	oidSigningCertificateV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidTSAPolicy            = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}
)

type essCertIDv2 struct {
	CertHash []byte
}

type signingCertificateV2 struct {
	Certs []essCertIDv2
}

// TSA is an in-process RFC 3161 timestamp authority on a loopback port.
type TSA struct {
	URL      string
	Root     *x509.Certificate // the TSA's own TEST-ONLY root
	RootFile string            // Root as PEM, for osslsigncode -TSA-CAfile
	Cert     *x509.Certificate
	key      crypto.Signer
	// Now is the time the TSA stamps. Default: the current time.
	Now      func() time.Time
	requests atomic.Int64
}

// NewTSA starts a TSA for the test and stops it when the test ends.
func NewTSA(t testing.TB) *TSA {
	t.Helper()
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	rootTmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "devupdate TEST-ONLY TSA Root", Organization: []string{devpki.Label}},
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	root, err := devpki.Issue(rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := devpki.Issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "devupdate TEST-ONLY Timestamp Authority", Organization: []string{devpki.Label}},
		NotBefore:   now.Add(-24 * time.Hour),
		NotAfter:    now.AddDate(5, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	}, root, key.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	// Go marks no EKU critical; RFC 3161 wants the timeStamping EKU
	// critical and OpenSSL insists, so re-issue with the extension forced.
	cert = criticalEKU(t, cert, root, rootKey, key)
	rootFile := filepath.Join(t.TempDir(), "tsa-root.pem")
	if err := os.WriteFile(rootFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	tsa := &TSA{Root: root, RootFile: rootFile, Cert: cert, key: key, Now: time.Now}
	srv := httptest.NewServer(http.HandlerFunc(tsa.serve))
	t.Cleanup(srv.Close)
	tsa.URL = srv.URL
	return tsa
}

// Roots returns a pool with the TSA's root.
func (a *TSA) Roots() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.Root)
	return p
}

// Requests is how many timestamps the TSA has issued.
func (a *TSA) Requests() int64 { return a.requests.Load() }

func criticalEKU(t testing.TB, cert, parent *x509.Certificate, parentKey crypto.Signer, key crypto.Signer) *x509.Certificate {
	t.Helper()
	ekuValue, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		t.Fatal(err)
	}
	tmpl := *cert
	tmpl.ExtKeyUsage = nil
	tmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: ekuValue}}
	out, err := devpki.Issue(&tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (a *TSA) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	var req pkcs9.TimeStampReq
	if rest, err := asn1.Unmarshal(body, &req); err != nil || len(rest) != 0 {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	resp, err := a.respond(&req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	a.requests.Add(1)
	w.Header().Set("Content-Type", "application/timestamp-reply")
	_, _ = w.Write(resp)
}

func (a *TSA) respond(req *pkcs9.TimeStampReq) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, err
	}
	genTime, err := asn1.MarshalWithParams(a.Now().UTC().Truncate(time.Second), "generalized")
	if err != nil {
		return nil, err
	}
	info := pkcs9.TSTInfo{
		Version:        1,
		Policy:         oidTSAPolicy,
		MessageImprint: req.MessageImprint,
		SerialNumber:   serial,
		GenTime:        asn1.RawValue{FullBytes: genTime},
		Nonce:          req.Nonce,
	}
	infoDER, err := asn1.Marshal(info)
	if err != nil {
		return nil, err
	}
	b := pkcs7.NewBuilder(a.key, []*x509.Certificate{a.Cert}, crypto.SHA256)
	if err := b.SetContent(pkcs9.OidTSTInfo, infoDER); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(a.Cert.Raw)
	if err := b.AddAuthenticatedAttribute(oidSigningCertificateV2, signingCertificateV2{Certs: []essCertIDv2{{CertHash: sum[:]}}}); err != nil {
		return nil, err
	}
	token, err := b.Sign()
	if err != nil {
		return nil, err
	}
	if !req.CertReq {
		token.Content.Certificates = pkcs7.RawCertificates{}
	}
	return asn1.Marshal(pkcs9.TimeStampResp{
		Status:         pkcs9.PKIStatusInfo{Status: pkcs9.StatusGranted},
		TimeStampToken: *token,
	})
}
