package signer_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devupdate/devupdate/manifest"
	"github.com/devupdate/devupdate/packager"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/signer/signertest"
)

// packagerCab writes files with our packager, with the signature reserve
// that signing fills in place.
func packagerCab(t *testing.T, path string, files ...signertest.File) string {
	t.Helper()
	var pf []packager.File
	for _, f := range files {
		data := f.Data
		pf = append(pf, packager.File{Name: f.Name, Size: int64(len(data)), Open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		}})
	}
	if _, err := packager.WriteFile(context.Background(), path, pf, packager.WithModTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)), packager.WithSignatureReserve(true)); err != nil {
		t.Fatal(err)
	}
	return path
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSignFillsPackagerReserve: on a cabinet from our packager (with the
// 20-byte Authenticode reserve) signing rewrites no data: it fills the
// signature size in the reserve and appends the signature.
func TestSignFillsPackagerReserve(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	dir := t.TempDir()
	inf := signertest.File{Name: "toaster.inf", Data: []byte("[Version]\r\n")}
	sys := signertest.File{Name: "toaster.sys", Data: payload(200_000)}
	in := packagerCab(t, filepath.Join(dir, "in.cab"), signertest.UpdateJSON(t, manifest.KindDriver, inf, sys), inf, sys)
	before := read(t, in)
	out := filepath.Join(dir, "out.cab")
	res, err := f.signer(t).SignFile(ctx, in, out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Kind != "driver" {
		t.Errorf("kind = %q, want driver", res.Kind)
	}
	after := read(t, out)
	le := binary.LittleEndian
	total := int(le.Uint32(before[8:]))
	if total != len(before) || le.Uint16(before[30:])&4 == 0 || le.Uint16(before[36:]) != 20 {
		t.Fatalf("packager cabinet has no 20-byte reserve: flags %#x cbCFHeader %d", le.Uint16(before[30:]), le.Uint16(before[36:]))
	}
	sigSize := int(le.Uint32(after[48:]))
	if len(after) != total+sigSize || sigSize == 0 || sigSize%8 != 0 {
		t.Fatalf("signed size %d, cabinet %d + signature %d", len(after), total, sigSize)
	}
	// Only the signature-size field of the reserve changed before the end.
	for i := range before {
		if before[i] != after[i] && (i < 48 || i >= 52) {
			t.Fatalf("byte %d changed (%#x -> %#x): signing rewrote cabinet data", i, before[i], after[i])
		}
	}
	if _, err := signer.Verify(ctx, out, f.policy); err != nil {
		t.Fatal(err)
	}
	if err := osslVerify(t, out, f.rootFile); err != nil {
		t.Errorf("osslsigncode: %v", err)
	}
	// our reader still reads it, and sees the signature
	cab, err := packager.OpenFile(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	defer cab.Close()
	if sig := cab.Signature(); !sig.Reserved || sig.Size != int64(sigSize) {
		t.Errorf("packager sees signature %+v", sig)
	}
}

// TestTamperDetected: one changed byte anywhere in a signed cabinet is
// refused by ours and by osslsigncode.
func TestTamperDetected(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	dir := t.TempDir()
	signed := filepath.Join(dir, "signed.cab")
	if _, err := f.signer(t).SignFile(ctx, gcabCab(t), signed); err != nil {
		t.Fatal(err)
	}
	good := read(t, signed)
	le := binary.LittleEndian
	total := int(le.Uint32(good[8:]))
	offFiles := int(le.Uint32(good[16:]))
	folderStart := 36 + 4 + 20
	firstData := int(le.Uint32(good[folderStart:]))
	offsets := []struct {
		name string
		off  int
		ossl bool // osslsigncode covers this byte too
	}{
		{"header cbCabinet", 8, true},
		{"header setID", 32, true},
		{"header reserved1 (not in the Authenticode digest)", 4, false},
		{"header iCabinet (not in the Authenticode digest)", 34, false},
		{"CFFOLDER coffCabStart", folderStart, true},
		{"CFFOLDER typeCompress", folderStart + 6, true},
		{"CFFILE size", offFiles, true},
		{"CFFILE name", offFiles + 17, true},
		{"CFDATA checksum", firstData, true},
		{"data first byte", firstData + 8, true},
		{"data middle", (firstData + total) / 2, true},
		{"data last byte", total - 1, true},
		{"signature start", total, true},
		{"signature middle", total + (len(good)-total)/2, true},
		{"signature near end", len(good) - 20, true},
	}
	for _, tt := range offsets {
		t.Run(tt.name, func(t *testing.T) {
			bad := bytes.Clone(good)
			bad[tt.off] ^= 0x01
			p := filepath.Join(t.TempDir(), "bad.cab")
			if err := os.WriteFile(p, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := signer.Verify(ctx, p, f.policy); err == nil {
				t.Errorf("ours accepted a change at offset %d", tt.off)
			} else if !errors.Is(err, signer.ErrMalformed) && !errors.Is(err, signer.ErrDigestMismatch) && !errors.Is(err, signer.ErrBadSignature) && !errors.Is(err, signer.ErrPolicy) {
				t.Errorf("ours: err = %v, want ErrMalformed, ErrDigestMismatch, ErrBadSignature or a policy refusal", err)
			}
			if tt.ossl {
				if err := osslVerify(t, p, f.rootFile); err == nil {
					t.Errorf("osslsigncode accepted a change at offset %d", tt.off)
				}
			}
		})
	}
	// control: the untouched file passes both
	if _, err := signer.Verify(ctx, signed, f.policy); err != nil {
		t.Fatal(err)
	}
	if err := osslVerify(t, signed, f.rootFile); err != nil {
		t.Fatal(err)
	}
}

func osslSign(t *testing.T, f *fixture, in, out string, extra ...string) {
	t.Helper()
	args := append([]string{"sign", "-certs", filepath.Join(f.dir, "chain.pem"), "-key", filepath.Join(f.dir, "leaf.key"), "-h", "sha256"}, extra...)
	args = append(args, "-in", in, "-out", out)
	if err := runTool(t, "osslsigncode", args...); err != nil {
		t.Fatalf("osslsigncode sign: %v", err)
	}
}

// TestSignInPlace: without an output name the cabinet is replaced
// atomically and no temporary file is left; an existing output other than
// the input is never overwritten.
func TestSignInPlace(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	in := gcabCab(t)
	if _, err := f.signer(t).SignFile(ctx, in, in); err != nil {
		t.Fatal(err)
	}
	if _, err := signer.Verify(ctx, in, f.policy); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(in))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
	other := gcabCab(t)
	before := read(t, other)
	if _, err := f.signer(t).SignFile(ctx, gcabCab(t), other); !errors.Is(err, os.ErrExist) {
		t.Errorf("signing onto an existing file: err = %v, want ErrExist", err)
	}
	if !bytes.Equal(before, read(t, other)) {
		t.Error("existing output was changed")
	}
}

func TestVerifyUnsigned(t *testing.T) {
	f := newFixture(t)
	if _, err := signer.Verify(context.Background(), gcabCab(t), f.policy); !errors.Is(err, signer.ErrNotSigned) {
		t.Errorf("err = %v, want ErrNotSigned", err)
	}
}

func TestSignContextCancelled(t *testing.T) {
	f := newFixture(t)
	s := f.signer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(t.TempDir(), "out.cab")
	if _, err := s.SignFile(ctx, gcabCab(t), out); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("output exists after a cancelled sign")
	}
}

// TestSignInPlaceFillsReserve: signing a packager cabinet in place keeps
// the same file (no copy, no rename), changes only the signature size in
// the reserve and appends the signature.
func TestSignInPlaceFillsReserve(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	app := signertest.File{Name: "app.msix", Data: payload(300_000)}
	in := packagerCab(t, filepath.Join(t.TempDir(), "in.cab"), signertest.UpdateJSON(t, manifest.KindApp, app), app)
	before := read(t, in)
	st1, _ := os.Stat(in)
	res, err := f.signer(t).SignFile(ctx, in, in)
	if err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(in)
	if !os.SameFile(st1, st2) {
		t.Error("in-place signing of a reserved cabinet replaced the file")
	}
	after := read(t, in)
	if len(after) <= len(before) || !bytes.Equal(after[:48], before[:48]) || !bytes.Equal(after[52:len(before)], before[52:]) {
		t.Fatal("in-place signing changed more than the signature size field")
	}
	got, err := signer.Verify(ctx, in, f.policy)
	if err != nil || got.Digest != res.Digest || got.Kind != "app" {
		t.Fatalf("verify: %+v, %v", got, err)
	}
	if err := osslVerify(t, in, f.rootFile); err != nil {
		t.Errorf("osslsigncode: %v", err)
	}
}
