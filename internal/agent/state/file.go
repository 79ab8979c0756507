package state

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/devupdate/devupdate/internal/iox"
	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/smbios"
)

// RecordFile and IdentityFile are the names of the record and of the
// generated identity in the state directory.
const (
	RecordFile   = "state.json"
	IdentityFile = "device-id"
)

// File is a Store in a state directory: Dir/state.json, replaced
// crash-safely (iox.ReplaceFile) on every Save.
type File struct {
	Dir string
}

func (f File) path() string { return filepath.Join(f.Dir, RecordFile) }

// Load reads and checks the record; an absent file is an empty record. A
// malformed one is a problem.List wrapping ErrCorrupt, and stays as it is.
func (f File) Load(ctx context.Context) (*Record, error) {
	data, err := iox.ReadFile(ctx, f.path(), MaxSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return New(), nil
	case errors.Is(err, iox.ErrTooLarge):
		return nil, problem.List{{File: f.path(), Rule: fmt.Sprintf("larger than the %d-byte limit", MaxSize), Err: ErrCorrupt}}
	case err != nil:
		return nil, err
	}
	return Parse(f.path(), data)
}

// Save replaces the record: a crash leaves the old record or this one
// (and perhaps a temporary file, removed by the next Save; the caller
// holds the state directory's lock).
func (f File) Save(ctx context.Context, r *Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	iox.RemoveStale(f.path())
	data, err := r.Encode()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return err
	}
	return iox.WriteFileAtomic(f.path(), data, 0o600)
}

// Identity returns the device's generated identity, kept in
// dir/device-id: a random UUID made the first time and never replaced
// (iox.CreateNew), so the device's rollout buckets never move. A file that
// is not one UUID is refused (ErrCorrupt), never silently regenerated.
func Identity(ctx context.Context, dir string) (string, error) {
	p := filepath.Join(dir, IdentityFile)
	for range 2 {
		data, err := iox.ReadFile(ctx, p, 64)
		if err == nil {
			u, perr := smbios.ParseUUID(strings.TrimSpace(string(data)))
			if perr != nil {
				return "", fmt.Errorf("%s: %w: not one UUID (delete it to make a new identity, which moves the device's rollout buckets)", p, ErrCorrupt)
			}
			return u.String(), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			if errors.Is(err, iox.ErrTooLarge) {
				return "", fmt.Errorf("%s: %w: %w", p, ErrCorrupt, err)
			}
			return "", err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", err
		}
		var u smbios.UUID
		_, _ = rand.Read(u[:])
		u[6] = u[6]&0x0f | 0x40 // version 4
		u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
		err = iox.CreateNew(p, 0o600, func(f *os.File) error {
			_, err := f.WriteString(u.String() + "\n")
			return err
		})
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return "", err
		}
		// Created, or another process was first: read what is there.
	}
	return "", fmt.Errorf("%s: %w: cannot be read back", p, ErrCorrupt)
}
