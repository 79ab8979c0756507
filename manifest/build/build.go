// Package build turns a loaded update (manifest.Update) into its cabinet:
// the payload files at their cabinet paths plus the canonical update.json,
// written deterministically by the packager as <name>_<version>.cab.
//
// It owns naming, the no-clobber publication of the cabinet in the output
// directory and the check that the payload still has the bytes the
// manifest recorded. It does not check update.yaml (package manifest) or
// know the cabinet format (package packager).
package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/manifest"
	"github.com/devupdate/devupdate/packager"
)

// ErrExists is wrapped when the output directory already holds a different
// cabinet under the same name: a published name is never overwritten.
var ErrExists = errors.New("a different cabinet already exists under this name")

// ErrPayloadChanged is wrapped when a payload file no longer has the size
// and SHA-256 that manifest.Load recorded (it changed during the build).
var ErrPayloadChanged = errors.New("payload file changed since the manifest was loaded")

// ExistsError names the cabinet that is in the way.
type ExistsError struct{ Path string }

func (e *ExistsError) Error() string {
	return fmt.Sprintf("%s: %v; bump the version or remove it", e.Path, ErrExists)
}
func (e *ExistsError) Unwrap() error { return ErrExists }

// ErrNotBuilt is the error of a manifest without problems of its own that
// was not built because others given with it have problems: Manifests
// builds all or nothing.
var ErrNotBuilt = errors.New("not built: other manifests given with it have problems")

// Result describes the cabinet of one update.
type Result struct {
	// Manifest is the update.yaml it was built from (Manifests only).
	Manifest string
	Path     string
	Size     int64
	SHA256   string
	// Existed is true when the same cabinet was already there: the same
	// bytes, or the same bytes signed in place since (Signed). It was left
	// as it was, and Size and SHA256 are those of the file there.
	Existed bool
	// Signed is true when the cabinet there is this build signed in place.
	Signed bool
	// Err is why this manifest's cabinet was not built (Manifests only).
	Err error
}

// Option configures Cabinet.
type Option func(*options) error

type options struct {
	log     *slog.Logger
	packOpt []packager.Option
	manOpt  []manifest.Option
}

// WithLogger sets the logger. Default: discard.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("build: WithLogger(nil)")
		}
		o.log = l
		o.packOpt = append(o.packOpt, packager.WithLogger(l))
		o.manOpt = append(o.manOpt, manifest.WithLogger(l))
		return nil
	}
}

// WithModTime sets the time stamped on every file in the cabinet. Default:
// the packager's (SOURCE_DATE_EPOCH when set, else its fixed default).
func WithModTime(t time.Time) Option {
	return func(o *options) error {
		o.packOpt = append(o.packOpt, packager.WithModTime(t))
		return nil
	}
}

// WithConcurrency sets how many MSZIP blocks are compressed at once.
// Default: the packager's (every core). The bytes written do not depend on it.
func WithConcurrency(n int) Option {
	return func(o *options) error {
		o.packOpt = append(o.packOpt, packager.WithConcurrency(n))
		return nil
	}
}

// Cabinet writes the cabinet of u into dir as u.CabinetName(): the payload
// files and update.json (u.EncodeJSON) at the cabinet root. The cabinet is
// written to a temporary file in dir and then linked into place, so the
// name never holds a partial cabinet and is never replaced: when a cabinet
// already has the name, the same bytes are fine (Result.Existed), so is
// this build signed in place since (Result.Signed), and anything else is an
// *ExistsError. Building the same update twice gives the same bytes.
func Cabinet(ctx context.Context, u *manifest.Update, dir string, opts ...Option) (*Result, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	return cabinet(ctx, u, dir, o)
}

func newOptions(opts []Option) (*options, error) {
	o := &options{log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// Manifests loads every manifest (manifest.LoadAll: all problems of all
// files at once, before anything is written), creates dir when missing and
// writes one cabinet per manifest, in order. It returns one Result per
// manifest, each with its own Err: a cabinet that fails does not stop the
// others. The error is a failure of the whole: the problems of every
// manifest as a problem.List (then nothing is written, and each Result's
// Err is its manifest's problems or ErrNotBuilt), or the output directory.
func Manifests(ctx context.Context, paths []string, dir string, opts ...Option) ([]*Result, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	updates, err := manifest.LoadAll(ctx, paths, o.manOpt...)
	out := make([]*Result, len(paths))
	for i, p := range paths {
		out[i] = &Result{Manifest: p}
	}
	if probs := problem.As(err); probs != nil {
		for _, r := range out {
			if r.Err = probs.Of(r.Manifest); r.Err == nil {
				r.Err = fmt.Errorf("%s: %w", r.Manifest, ErrNotBuilt)
			}
		}
		return out, err
	} else if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for i, u := range updates {
		res, err := cabinet(ctx, u, dir, o)
		if err != nil {
			out[i].Err = fmt.Errorf("%s: %w", paths[i], err)
			continue
		}
		res.Manifest = paths[i]
		out[i] = res
	}
	return out, nil
}

func cabinet(ctx context.Context, u *manifest.Update, dir string, o *options) (*Result, error) {
	files, err := Files(u)
	if err != nil {
		return nil, err
	}
	final := filepath.Join(dir, u.CabinetName())
	res, err := packager.WriteFile(ctx, final, files, o.packOpt...)
	switch {
	case err == nil:
		o.log.Info("cabinet written", "path", final, "size", res.Size, "sha256", res.SHA256)
		return &Result{Path: final, Size: res.Size, SHA256: res.SHA256}, nil
	case res == nil || !errors.Is(err, fs.ErrExist):
		return nil, err
	}
	there, err := existing(final, res)
	if err != nil {
		return nil, err
	}
	if there == nil {
		return nil, &ExistsError{Path: final}
	}
	o.log.Info("same cabinet already there", "path", final, "signed", there.Signed)
	return there, nil
}

// existing describes the cabinet at path when it is the one just built
// (res): the same bytes, or the same bytes signed in place since (the
// signature filled into the reserve and appended, as `devupdate sign`
// does). It is nil when path holds anything else.
func existing(path string, res *packager.Result) (*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	sum, err := sha256Of(f)
	if err != nil {
		return nil, err
	}
	there := &Result{Path: path, Size: st.Size(), SHA256: sum, Existed: true}
	if st.Size() == res.Size && sum == res.SHA256 {
		return there, nil
	}
	c, err := packager.Open(f, st.Size(), packager.WithName(path))
	if err != nil {
		return nil, nil // not a cabinet: someone else's file
	}
	r, size, ok := c.Unsigned()
	if !ok || size != res.Size {
		return nil, nil
	}
	if unsigned, err := sha256Of(r); err != nil || unsigned != res.SHA256 {
		return nil, err
	}
	there.Signed = true
	return there, nil
}

func sha256Of(r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Files returns what goes into the cabinet of u: update.json and the
// payload, each payload file checked against the size and SHA-256 recorded
// in u as it is read.
func Files(u *manifest.Update) ([]packager.File, error) {
	doc, err := u.EncodeJSON()
	if err != nil {
		return nil, err
	}
	files := []packager.File{{
		Name: manifest.UpdateJSONName,
		Size: int64(len(doc)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(doc)), nil },
	}}
	for _, f := range u.Files {
		if f.Source == "" {
			return nil, fmt.Errorf("%s: no source file (an Update read from update.json cannot be rebuilt)", f.Path)
		}
		files = append(files, packager.File{
			Name: f.Path,
			Size: f.Size,
			Open: func() (io.ReadCloser, error) {
				r, err := os.Open(f.Source)
				if err != nil {
					return nil, err
				}
				return &verifyingReader{f: f, r: r, h: sha256.New()}, nil
			},
		})
	}
	return files, nil
}

// verifyingReader hashes what it passes on and, at the end, fails instead
// of returning io.EOF when the content is not what the manifest recorded.
type verifyingReader struct {
	f manifest.File
	r *os.File
	h hash.Hash
	n int64
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if err == io.EOF && (v.n != v.f.Size || hex.EncodeToString(v.h.Sum(nil)) != v.f.SHA256) {
		return n, fmt.Errorf("%s: %w", v.f.Source, ErrPayloadChanged)
	}
	return n, err
}

func (v *verifyingReader) Close() error { return v.r.Close() }
