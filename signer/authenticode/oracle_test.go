package authenticode_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	relicauth "github.com/sassoftware/relic/v8/lib/authenticode"
	"github.com/sassoftware/relic/v8/lib/cabfile"
	"github.com/sassoftware/relic/v8/lib/pkcs7"
	"github.com/sassoftware/relic/v8/lib/pkcs9"

	"github.com/devupdate/devupdate/internal/testtool"
	"github.com/devupdate/devupdate/manifest/update"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/signer/authenticode"
	"github.com/devupdate/devupdate/signer/devpki"
	"github.com/devupdate/devupdate/signer/signertest"
)

// relicVerify is the oracle relic offers: its own cabinet digest, PKCS #7
// parser and signature check, timestamp check and chain building (what
// signer.Verify did before authenticode existed). It applies no EV, key
// size or subject rule.
func relicVerify(path string, roots, tsRoots *x509.CertPool) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("relic panicked: %v", r)
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	d, err := cabfile.Digest(bufio.NewReader(f), crypto.SHA256)
	if err != nil {
		return err
	}
	if d.Cabinet.SignatureHeader == nil || len(d.Cabinet.Signature) == 0 {
		return errors.New("not signed")
	}
	psd, err := pkcs7.Unmarshal(d.Cabinet.Signature)
	if err != nil {
		return err
	}
	indirect := new(relicauth.SpcIndirectDataContentPe)
	if err := psd.Content.ContentInfo.Unmarshal(indirect); err != nil {
		return err
	}
	if !bytes.Equal(indirect.MessageDigest.Digest, d.Imprint) {
		return errors.New("digest mismatch")
	}
	sig, err := psd.Content.Verify(nil, false)
	if err != nil {
		return err
	}
	ts, err := pkcs9.VerifyOptionalTimestamp(sig)
	if err != nil {
		return err
	}
	at := time.Now()
	if cs := ts.CounterSignature; cs != nil {
		if err := cs.VerifyChain(tsRoots, nil); err != nil {
			return err
		}
		at = cs.SigningTime
	}
	pool := x509.NewCertPool()
	for _, c := range sig.Intermediates {
		pool.AddCert(c)
	}
	_, err = sig.Certificate.Verify(x509.VerifyOptions{Roots: roots, Intermediates: pool, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}})
	return err
}

// osslVerify is the other oracle, osslsigncode.
func osslVerify(t *testing.T, path, rootFile, tsaRootFile string) error {
	t.Helper()
	args := []string{"verify", "-in", path, "-CAfile", rootFile}
	if tsaRootFile != "" {
		args = append(args, "-TSA-CAfile", tsaRootFile)
	}
	out, err := exec.Command(testtool.Need(t, "osslsigncode"), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

type oracleCase struct {
	name string
	path string
	// stricter names why ours refuses what both oracles accept ("" when
	// ours must agree with them).
	stricter string
}

// TestOraclesAgree runs ours, relic's verification and osslsigncode on one
// corpus: signatures by relic (in place into the packager's reserve and by
// copy into a gcab cabinet), by osslsigncode, RFC 3161 timestamped ones,
// and one-byte changes all over a signed cabinet. Whatever both oracles
// accept, ours accepts; whatever either refuses, ours refuses. Where ours
// is stricter on purpose, the case says why; where the oracles disagree,
// the test logs it and ours must refuse.
func TestOraclesAgree(t *testing.T) {
	ctx := context.Background()
	pki, err := devpki.New(devpki.WithRSA(3072))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := pki.Write(ctx, dir); err != nil {
		t.Fatal(err)
	}
	rootFile := filepath.Join(dir, "root.pem")
	tsa := signertest.NewTSA(t)
	policy := authenticode.Policy{Roots: pki.Roots(), TimestampRoots: tsa.Roots()}
	s, err := signer.New(ctx, pki.LeafKey, pki.Chain(), policy)
	if err != nil {
		t.Fatal(err)
	}
	sts, err := signer.New(ctx, pki.LeafKey, pki.Chain(), policy, signer.WithTimestampURL(tsa.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	inf := signertest.File{Name: "driver.inf", Data: []byte("[Version]\r\n")}
	sys := signertest.File{Name: "driver.sys", Data: bytes.Repeat([]byte("toaster "), 20000)}
	gcab := func(name string) string {
		return signertest.GcabCabinet(t, filepath.Join(dir, name), signertest.UpdateJSON(t, update.KindDriver, inf, sys), inf, sys)
	}
	sign := func(with *signer.Signer, in, out string) string {
		if _, err := with.SignFile(ctx, in, out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	var cases []oracleCase
	good := sign(s, gcab("a.cab"), filepath.Join(dir, "relic.cab"))
	cases = append(cases, oracleCase{name: "relic, gcab cabinet", path: good})
	reserved := signertest.StoredCabinet(t, filepath.Join(dir, "reserved.cab"), true, signertest.UpdateJSON(t, update.KindDriver, inf, sys), inf, sys)
	cases = append(cases, oracleCase{name: "relic, in place into the reserve", path: sign(s, reserved, reserved)})
	cases = append(cases, oracleCase{name: "relic, RFC 3161 timestamp", path: sign(sts, gcab("b.cab"), filepath.Join(dir, "ts.cab"))})
	ossl := filepath.Join(dir, "ossl.cab")
	if out, err := exec.Command(testtool.Need(t, "osslsigncode"), "sign", "-certs", filepath.Join(dir, "chain.pem"), "-key", filepath.Join(dir, "leaf.key"),
		"-h", "sha256", "-in", gcab("c.cab"), "-out", ossl).CombinedOutput(); err != nil {
		t.Fatalf("osslsigncode sign: %v\n%s", err, out)
	}
	cases = append(cases, oracleCase{name: "osslsigncode", path: ossl})

	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	total := int(le.Uint32(data[8:]))
	offFiles := int(le.Uint32(data[16:]))
	firstData := int(le.Uint32(data[60:]))
	for _, m := range []struct {
		name     string
		off      int
		stricter string
	}{
		{"cbCabinet", 8, ""}, {"coffFiles", 16, ""}, {"setID", 32, ""}, {"flags", 30, ""},
		{"reserved1", 4, "reserved1 is outside the digest: ours requires it zero, so no byte of a signed cabinet changes unnoticed"},
		{"iCabinet", 34, "iCabinet is outside the digest: ours requires it zero"},
		{"signature header size field", 48, ""},
		{"CFFOLDER", 60, ""}, {"CFFILE", offFiles + 4, ""}, {"CFFILE name", offFiles + 17, ""},
		{"CFDATA checksum", firstData, ""}, {"data", firstData + 100, ""}, {"last data byte", total - 1, ""},
		{"signature start", total, ""}, {"signature middle", total + (len(data)-total)/2, ""}, {"signature end", len(data) - 12, ""},
	} {
		bad := bytes.Clone(data)
		bad[m.off] ^= 0x01
		p := filepath.Join(dir, fmt.Sprintf("tamper-%d.cab", m.off))
		if err := os.WriteFile(p, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, oracleCase{name: "one byte changed: " + m.name, path: p, stricter: m.stricter})
	}
	short := filepath.Join(dir, "short.cab")
	if err := os.WriteFile(short, data[:len(data)-8], 0o644); err != nil {
		t.Fatal(err)
	}
	cases = append(cases, oracleCase{name: "signature cut short", path: short})

	accepted := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, ours := authenticode.Verify(ctx, c.path, policy)
			relic := relicVerify(c.path, pki.Roots(), tsa.Roots())
			ossl := osslVerify(t, c.path, rootFile, tsa.RootFile)
			switch {
			case (relic == nil) != (ossl == nil):
				t.Logf("the oracles disagree: relic %v; osslsigncode %v", relic, ossl)
				if ours == nil {
					t.Errorf("ours accepts what an oracle refuses")
				}
			case relic == nil && c.stricter != "":
				if ours == nil {
					t.Errorf("ours accepts; it should refuse: %s", c.stricter)
				}
			case relic == nil && ours != nil:
				t.Errorf("both oracles accept, ours refuses: %v", ours)
			case relic != nil && ours == nil:
				t.Errorf("both oracles refuse (relic: %v), ours accepts", relic)
			}
			if ours == nil {
				accepted++
			}
		})
	}
	if accepted < 4 {
		t.Errorf("only %d cases accepted: the corpus lost its valid signatures", accepted)
	}
}
