package signer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	relicauth "github.com/sassoftware/relic/v8/lib/authenticode"
	"github.com/sassoftware/relic/v8/lib/certloader"
	"github.com/sassoftware/relic/v8/lib/pkcs9"

	"github.com/devupdate/devupdate/signer/authenticode"
)

type options struct {
	logger           *slog.Logger
	timestamper      pkcs9.Timestamper
	unsafeAllowNonEV bool
}

// Option configures New.
type Option func(*options) error

// WithLogger sets where progress is logged. Default: discarded.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("WithLogger: nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithTimestampURL countersigns every signature with an RFC 3161 timestamp
// from the authority at url, asked with client (nil: a client with a
// 30-second timeout). Default: no timestamp.
func WithTimestampURL(url string, client *http.Client) Option {
	return func(o *options) error {
		if o.timestamper != nil {
			return errors.New("only one timestamp authority may be given")
		}
		if client == nil {
			client = &http.Client{Timeout: 30 * time.Second}
		}
		o.timestamper = rfc3161Client{url: url, client: client}
		return nil
	}
}

// WithUnsafeAllowNonEV signs with a certificate that lacks the EV policy
// OID. Devices and Device Update Center refuse such signatures; for tests
// and internal builds only. Default: EV required.
func WithUnsafeAllowNonEV() Option {
	return func(o *options) error { o.unsafeAllowNonEV = true; return nil }
}

// Signer signs cabinets with one key and certificate chain.
type Signer struct {
	key    crypto.Signer
	chain  []*x509.Certificate
	policy Policy
	opts   options
}

// New checks the key and chain (leaf first) against policy at the current
// time, with EV required unless WithUnsafeAllowNonEV, and returns a Signer.
// The same policy verifies every signature before SignFile reports success.
func New(ctx context.Context, key crypto.Signer, chain []*x509.Certificate, policy Policy, opts ...Option) (*Signer, error) {
	o := options{logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if len(chain) == 0 {
		return nil, errors.New("no certificate chain given")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	policy.RequireEV = policy.RequireEV || !o.unsafeAllowNonEV
	if err := CheckCertificate(chain[0], chain[1:], key.Public(), policy.Roots, policy.Now(), policy.RequireEV); err != nil {
		return nil, err
	}
	return &Signer{key: key, chain: chain, policy: policy, opts: o}, nil
}

// SignFile signs the cabinet at in and writes the signed cabinet to out
// (out may be in). A cabinet signed in place that carries the empty 20-byte
// Authenticode reserve our packager leaves is signed without rewriting
// anything: see fillReserve. Otherwise SignFile hashes in once while
// copying it to a temporary file in out's directory, fills the signature
// reserve (adding the 20-byte reserve when the cabinet has none), appends
// the signature, verifies the result against the policy, syncs, and only
// then moves it to out: in place by rename, to a new name by link, so an
// existing out other than in is never overwritten.
//
// A cabinet that already carries a signature is never signed again: when
// it is signed in place by this signer's certificate and verifies under its
// policy it is left as it is (see SignCabinets, which reports it done); any
// other signature is refused (ErrAlreadySigned). An existing out other than
// in is left as it is when it is in signed by this signer, else refused
// (os.ErrExist). A present but invalid update.json is
// refused (*UpdateJSONError). Before an os-kind cabinet is signed, every
// vendor package (.cab) inside it must verify against the policy's
// VendorPolicy() (OSVendorRoots required: ErrNoOSVendorRoots); the
// packages are read, never modified, and only the outer cabinet is signed.
func (s *Signer) SignFile(ctx context.Context, in, out string) (*Result, error) {
	res, _, err := s.sign(ctx, in, out)
	return res, err
}

// sign is SignFile, also telling whether the cabinet was left as it was
// because it was already signed by this signer.
func (s *Signer) sign(ctx context.Context, in, out string) (*Result, bool, error) {
	res, err := s.signFile(ctx, in, out)
	var done errAlreadyDone
	if errors.As(err, &done) {
		return done.res, true, nil
	}
	return res, false, err
}

func (s *Signer) signFile(ctx context.Context, in, out string) (res *Result, err error) {
	src, err := os.Open(in)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return nil, err
	}
	h, err := authenticode.ReadHeader(in, src, st.Size())
	if err != nil {
		return nil, err
	}
	inPlace := sameFile(in, out)
	if h.Signed() && inPlace {
		return s.alreadySigned(ctx, in, src, st.Size())
	}
	if h.Signed() {
		return nil, fmt.Errorf("signing %s: %w", in, ErrAlreadySigned)
	}
	if !inPlace {
		if _, err := os.Lstat(out); err == nil {
			return s.signedCopy(ctx, in, src, st.Size(), out)
		}
	}
	// What the cabinet holds (update.json, an os update's vendor packages)
	// is read in one pass of its own while the cabinet is hashed for
	// signing: the two passes take both cores. Nothing is signed before
	// it is accepted.
	pending := authenticode.StartContents(ctx, in, src, st.Size(), s.policy)
	defer pending.Stop()
	contents := func() (*authenticode.Contents, error) {
		c, err := pending.Wait()
		if err != nil {
			return nil, fmt.Errorf("signing: %w", err) // err names the file
		}
		if c.Kind() == KindOS {
			s.opts.logger.DebugContext(ctx, "vendor packages verified", "file", in, "packages", len(c.Packages))
		}
		return c, nil
	}
	if inPlace && h.ReserveHeader == authenticode.SignatureHeaderSize {
		return s.fillReserve(ctx, in, st, contents)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp")
	if err != nil {
		return nil, err
	}
	defer func() {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	s.opts.logger.DebugContext(ctx, "signing", "file", in, "bytes", st.Size(), "shift", h.Shift())

	// Hash and copy at once: relic's cabfile.Digest reads the cabinet on
	// this goroutine while the kernel copies the cabinet data (coffFiles to
	// cbCabinet) to where it goes in the output (copy_file_range where the
	// file system offers it). The input must not change meanwhile: its size
	// and modification time are compared before and after.
	newOffsetFiles := h.OffsetFiles + h.Shift()
	copied := make(chan error, 1)
	go func() { copied <- copyRange(in, tmp, h.OffsetFiles, newOffsetFiles, h.CabinetSize-h.OffsetFiles) }()
	digest, err := digestCabinet(ctx, in, io.NewSectionReader(src, 0, st.Size()))
	cerr := <-copied
	if err != nil {
		return nil, err
	}
	if cerr != nil {
		return nil, fmt.Errorf("copying %s: %w", in, cerr)
	}
	if st2, err := os.Stat(in); err != nil || st2.Size() != st.Size() || !st2.ModTime().Equal(st.ModTime()) {
		return nil, fmt.Errorf("signing %s: the file changed while it was being signed", in)
	}
	if int64(len(digest.Patched)) != newOffsetFiles {
		return nil, fmt.Errorf("signing %s: header area of %d bytes, want %d: %w", in, len(digest.Patched), newOffsetFiles, ErrMalformed)
	}

	c, err := contents()
	if err != nil {
		return nil, err
	}
	cert := &certloader.Certificate{
		Leaf:         s.chain[0],
		Certificates: s.chain,
		PrivateKey:   s.key,
		Timestamper:  s.opts.timestamper,
	}
	_, ts, err := relicauth.SignCabImprint(ctx, digest, cert, nil)
	if err != nil {
		return nil, fmt.Errorf("signing %s: %w", in, classifySignError(err))
	}
	// Verify before anything is reported or moved into place.
	res, err = authenticode.VerifyBlob(in, ts.Raw, digest.Imprint, s.policy)
	if err != nil {
		return nil, fmt.Errorf("verify after sign: %w", err)
	}
	res.Kind, res.Packages = c.Kind(), c.Packages

	// digest.Patched now holds the header with the signature size filled in
	// (relic's MakePatch, called by SignCabImprint); the signature, padded
	// to 8 bytes, goes right after the cabinet.
	header := digest.Patched
	newTotal := int64(binary.LittleEndian.Uint32(header[8:]))
	padded := make([]byte, binary.LittleEndian.Uint32(header[48:]))
	copy(padded, ts.Raw)
	if _, err := tmp.WriteAt(header, 0); err != nil {
		return nil, err
	}
	if _, err := tmp.WriteAt(padded, newTotal); err != nil {
		return nil, err
	}
	if err := checkWritten(tmp, header, padded); err != nil {
		return nil, fmt.Errorf("signing %s: written file: %w", in, err)
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if inPlace {
		err = os.Rename(tmp.Name(), out)
	} else {
		err = os.Link(tmp.Name(), out)
	}
	if err != nil {
		return nil, fmt.Errorf("signing %s: %w", in, err)
	}
	os.Remove(tmp.Name())
	tmp = nil
	syncDir(filepath.Dir(out))
	res.File = out
	s.opts.logger.InfoContext(ctx, "signed", "file", out, "subject", res.Subject, "digest", res.Digest)
	return res, nil
}

// alreadySigned reports the signed cabinet name (r, size bytes) as done
// when its signature is by this signer's certificate and verifies under
// this signer's policy, vendor packages included: it is what SignFile
// would make, up to the signing time, so signing it again is a no-op
// (Result.AlreadySigned). Any other signature is ErrAlreadySigned, saying
// why.
func (s *Signer) alreadySigned(ctx context.Context, name string, r io.ReaderAt, size int64) (*Result, error) {
	res, err := VerifyReaderAt(ctx, name, r, size, s.policy)
	if err != nil {
		return nil, fmt.Errorf("signing %s: %w; its signature does not verify: %w", name, ErrAlreadySigned, err)
	}
	if !res.Certificate.Equal(s.chain[0]) {
		return nil, fmt.Errorf("signing %s: %w, by %q, not by this certificate", name, ErrAlreadySigned, res.Subject)
	}
	return nil, errAlreadyDone{res}
}

// errAlreadyDone carries the result of a cabinet left as it was from
// alreadySigned to signFile; it never leaves the package.
type errAlreadyDone struct{ res *Result }

func (errAlreadyDone) Error() string { return "already signed" }

// signedCopy handles an existing out when signing in to a new name: done
// when out is in signed by this signer (alreadySigned, and the digest its
// signature covers is in's), else os.ErrExist: out is never overwritten.
func (s *Signer) signedCopy(ctx context.Context, in string, src io.ReaderAt, size int64, out string) (*Result, error) {
	exists := fmt.Errorf("signing %s: %s: %w", in, out, os.ErrExist)
	f, err := os.Open(out)
	if err != nil {
		return nil, exists
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, exists
	}
	_, err = s.alreadySigned(ctx, out, f, st.Size())
	var done errAlreadyDone
	if !errors.As(err, &done) {
		return nil, fmt.Errorf("%w (not this cabinet signed by this certificate: %w)", exists, err)
	}
	d, err := digestCabinet(ctx, in, io.NewSectionReader(src, 0, size))
	if err != nil {
		return nil, err
	}
	if done.res.Digest != "sha256:"+hex.EncodeToString(d.Imprint) {
		return nil, fmt.Errorf("%w (it holds another cabinet)", exists)
	}
	return nil, done
}

// fillReserve signs, in place, a cabinet that carries an empty 20-byte
// Authenticode reserve (as our packager writes): nothing of the cabinet is
// rewritten. The signature is appended and synced first, which leaves a
// cabinet that every reader still reads (cbCabinet excludes the tail) and
// that no verifier accepts; then the 4-byte signature size in the reserve
// is written and synced, a single-sector write that turns the file into the
// signed cabinet at once. A failure in between truncates the tail away, so
// the file is at every moment the unsigned or the signed cabinet, never a
// half-signed one.
//
// checked is the file SignFile examines (contents: update.json, vendor
// packages): if path no longer names that same, unchanged file, nothing is
// signed, and nothing is signed before contents accepts it.
func (s *Signer) fillReserve(ctx context.Context, path string, checked os.FileInfo, contents func() (*authenticode.Contents, error)) (*Result, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !os.SameFile(st, checked) || st.Size() != checked.Size() || !st.ModTime().Equal(checked.ModTime()) {
		return nil, fmt.Errorf("signing %s: the file changed while it was being signed", path)
	}
	h, err := authenticode.ReadHeader(path, f, st.Size())
	if err != nil {
		return nil, err
	}
	if h.ReserveHeader != authenticode.SignatureHeaderSize || h.Signed() {
		return nil, fmt.Errorf("signing %s: %w: reserve changed while signing", path, ErrMalformed)
	}
	digest, err := digestCabinet(ctx, path, io.NewSectionReader(f, 0, st.Size()))
	if err != nil {
		return nil, err
	}
	orig := make([]byte, h.OffsetFiles)
	if _, err := f.ReadAt(orig, 0); err != nil {
		return nil, err
	}
	c, err := contents()
	if err != nil {
		return nil, err
	}
	cert := &certloader.Certificate{Leaf: s.chain[0], Certificates: s.chain, PrivateKey: s.key, Timestamper: s.opts.timestamper}
	_, ts, err := relicauth.SignCabImprint(ctx, digest, cert, nil)
	if err != nil {
		return nil, fmt.Errorf("signing %s: %w", path, classifySignError(err))
	}
	res, err := authenticode.VerifyBlob(path, ts.Raw, digest.Imprint, s.policy)
	if err != nil {
		return nil, fmt.Errorf("verify after sign: %w", err)
	}
	res.Kind, res.Packages = c.Kind(), c.Packages
	header := digest.Patched
	// relic's patched header must differ from the file only in the
	// signature size field (offset 48), or this is not a fill-in-place.
	if len(header) != len(orig) || !bytes.Equal(header[:48], orig[:48]) || !bytes.Equal(header[52:], orig[52:]) {
		return nil, fmt.Errorf("signing %s: %w: signing would rewrite the header area", path, ErrMalformed)
	}
	padded := make([]byte, binary.LittleEndian.Uint32(header[48:]))
	copy(padded, ts.Raw)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			_ = f.Truncate(h.CabinetSize)
			_ = f.Sync()
		}
	}()
	if _, err := f.WriteAt(padded, h.CabinetSize); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	if _, err := f.WriteAt(header[48:52], 48); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	committed = true
	if err := checkWritten(f, header, padded); err != nil {
		return nil, fmt.Errorf("signing %s: written file: %w", path, err)
	}
	s.opts.logger.InfoContext(ctx, "signed in place", "file", path, "subject", res.Subject, "digest", res.Digest)
	return res, nil
}

// checkWritten re-reads the header area and signature of the written file.
func checkWritten(f *os.File, header, sig []byte) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	h, err := authenticode.ReadHeader(f.Name(), f, st.Size())
	if err != nil {
		return err
	}
	got := make([]byte, len(header))
	if _, err := f.ReadAt(got, 0); err != nil {
		return err
	}
	blob, err := authenticode.ReadSignature(f.Name(), f, h)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, header) || !bytes.Equal(blob, sig) {
		return errors.New("read back differs from what was written")
	}
	return nil
}

// classifySignError maps what a key source reports to this package's
// sentinels where it can.
func classifySignError(err error) error {
	if errors.Is(err, ErrTimestamp) || errors.Is(err, ErrKey) || errors.Is(err, ErrWrongPIN) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrKey, err)
}

// copyRange copies n bytes at offset from of the file at path to offset to
// of dst, through the kernel where it can (os.File.ReadFrom).
func copyRange(path string, dst *os.File, from, to, n int64) error {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	if _, err := src.Seek(from, io.SeekStart); err != nil {
		return err
	}
	if _, err := dst.Seek(to, io.SeekStart); err != nil {
		return err
	}
	got, err := dst.ReadFrom(io.LimitReader(src, n))
	if err != nil {
		return err
	}
	if got != n {
		return fmt.Errorf("copied %d of %d bytes", got, n)
	}
	return nil
}

func sameFile(a, b string) bool {
	if a == b {
		return true
	}
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
