package signer_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/signer/signertest"
)

// TestTimestamp: an RFC 3161 timestamp from the in-process TSA is embedded,
// verified by ours and by osslsigncode, and keeps a signature valid after
// the certificate expires.
func TestTimestamp(t *testing.T) {
	ctx := context.Background()
	tsa := signertest.NewTSA(t)
	f := newFixture(t)
	out := filepath.Join(t.TempDir(), "ts.cab")
	res, err := f.signer(t, signer.WithTimestampURL(tsa.URL, nil)).SignFile(ctx, gcabCab(t), out)
	if err == nil || !errors.Is(err, signer.ErrTimestamp) {
		// the TSA's root is not among the signing policy's roots: the
		// verify-after-sign step must refuse before anything is written
		t.Fatalf("signing with an untrusted TSA: err = %v, want ErrTimestamp", err)
	}
	if res != nil {
		t.Fatal("result returned for a refused signature")
	}

	f.policy.TimestampRoots = tsa.Roots()
	res, err = f.signer(t, signer.WithTimestampURL(tsa.URL, nil)).SignFile(ctx, gcabCab(t), out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Timestamp == nil || time.Since(*res.Timestamp) > time.Minute || tsa.Requests() != 2 {
		t.Fatalf("timestamp = %v after %d TSA requests", res.Timestamp, tsa.Requests())
	}
	if err := osslVerify(t, out, f.rootFile, "-TSA-CAfile", tsa.RootFile); err != nil {
		t.Errorf("osslsigncode refuses the timestamped signature: %v", err)
	}
	// Two years on the leaf has expired; the timestamp proves it was valid
	// when it signed.
	later := signer.Policy{Roots: f.pki.Roots(), TimestampRoots: tsa.Roots(), CurrentTime: time.Now().AddDate(2, 0, 0), RequireEV: true}
	got, err := signer.Verify(ctx, out, later)
	if err != nil {
		t.Fatalf("timestamped signature after expiry: %v", err)
	}
	if got.Timestamp == nil || !got.Timestamp.Equal(*res.Timestamp) {
		t.Errorf("verify timestamp %v, sign %v", got.Timestamp, res.Timestamp)
	}
	// A TSA nobody trusts is refused on verify too: not in the signer's
	// roots, nor in the system roots (SystemTimestampRoots), which do not
	// hold the TEST-ONLY TSA root.
	for _, p := range []signer.Policy{{Roots: f.pki.Roots()}, {Roots: f.pki.Roots(), SystemTimestampRoots: true}} {
		if _, err := signer.Verify(ctx, out, p); !errors.Is(err, signer.ErrTimestamp) {
			t.Errorf("untrusted TSA (system roots %t): err = %v, want ErrTimestamp", p.SystemTimestampRoots, err)
		}
	}
	// An explicit pool wins over SystemTimestampRoots.
	if _, err := signer.Verify(ctx, out, signer.Policy{Roots: f.pki.Roots(), TimestampRoots: tsa.Roots(), SystemTimestampRoots: true}); err != nil {
		t.Errorf("TimestampRoots with SystemTimestampRoots: %v", err)
	}
}

func TestTimestampUnreachable(t *testing.T) {
	f := newFixture(t)
	_, err := f.signer(t, signer.WithTimestampURL("http://127.0.0.1:1/", nil)).SignFile(context.Background(), gcabCab(t), filepath.Join(t.TempDir(), "o.cab"))
	if !errors.Is(err, signer.ErrTimestamp) {
		t.Errorf("err = %v, want ErrTimestamp", err)
	}
}
