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
	"log/slog"
	"os"
	"path/filepath"
	"time"

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

// Result describes the cabinet of one update.
type Result struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Existed is true when an identical cabinet was already there; it was
	// left as it was.
	Existed bool `json:"existed,omitempty"`
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
// already has the name, the same bytes are fine (Result.Existed) and
// different bytes are an *ExistsError. Building the same update twice
// gives the same bytes.
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
// files at once, as a problem.List, before anything is written), creates
// dir when missing and writes one cabinet per manifest, in order. A
// cabinet that fails does not stop the others: the results of those
// written are returned with every failure joined.
func Manifests(ctx context.Context, paths []string, dir string, opts ...Option) ([]*Result, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	updates, err := manifest.LoadAll(ctx, paths, o.manOpt...)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var out []*Result
	var errs []error
	for i, u := range updates {
		res, err := cabinet(ctx, u, dir, o)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", paths[i], err))
			continue
		}
		out = append(out, res)
	}
	return out, errors.Join(errs...)
}

func cabinet(ctx context.Context, u *manifest.Update, dir string, o *options) (*Result, error) {
	files, err := Files(u)
	if err != nil {
		return nil, err
	}
	final := filepath.Join(dir, u.CabinetName())
	tmp, err := os.CreateTemp(dir, "."+u.CabinetName()+".*.tmp")
	if err != nil {
		return nil, err
	}
	defer func() {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}()
	res, err := packager.Write(ctx, tmp, files, o.packOpt...)
	if err != nil {
		return nil, fmt.Errorf("building %s: %w", final, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	out := &Result{Path: final, Size: res.Size, SHA256: res.SHA256}
	// A hard link creates the name only when it is free, atomically: unlike
	// a rename it can never replace a cabinet someone else just wrote.
	err = os.Link(tmp.Name(), final)
	switch {
	case err == nil:
		syncDir(dir)
		o.log.Info("cabinet written", "path", final, "size", res.Size, "sha256", res.SHA256)
		return out, nil
	case errors.Is(err, os.ErrExist):
		same, cerr := sameContent(final, res.Size, res.SHA256)
		if cerr != nil {
			return nil, cerr
		}
		if !same {
			return nil, &ExistsError{Path: final}
		}
		out.Existed = true
		o.log.Info("identical cabinet already there", "path", final)
		return out, nil
	default:
		return nil, err
	}
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

func sameContent(path string, size int64, sum string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	if st.Size() != size {
		return false, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, err
	}
	return hex.EncodeToString(h.Sum(nil)) == sum, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // persist the new name; not every file system supports it
		_ = d.Close()
	}
}
