package tufrepo

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/devupdate/devupdate/internal/iox"
)

// Dir is a Cache in a directory: <role>.json files, each replaced
// crash-safely (iox.ReplaceFile) and read bounded by its role's limit.
type Dir string

func (d Dir) file(role string) (string, error) {
	if _, ok := limits[role]; !ok {
		return "", fmt.Errorf("unknown TUF role %q", role)
	}
	return filepath.Join(string(d), role+".json"), nil
}

// Get reads role's file; a missing one is fs.ErrNotExist.
func (d Dir) Get(role string) ([]byte, error) {
	p, err := d.file(role)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return iox.ReadAll(f, p, limits[role])
}

// Put replaces role's file.
func (d Dir) Put(role string, data []byte) error {
	p, err := d.file(role)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(string(d), 0o700); err != nil {
		return err
	}
	return iox.WriteFileAtomic(p, data, 0o600)
}

// Delete removes role's file.
func (d Dir) Delete(role string) error {
	p, err := d.file(role)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Memory is a Cache in memory. With Pool set, identical documents (the
// same timestamp.json held by thousands of simulated devices) share one
// copy.
type Memory struct {
	Pool *Pool
	mu   sync.Mutex
	m    map[string][]byte
}

// Get returns role's bytes; a missing one is fs.ErrNotExist.
func (m *Memory) Get(role string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	data, ok := m.m[role]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return data, nil
}

// Put keeps data for role (not copied: a Cache's documents are never
// modified).
func (m *Memory) Put(role string, data []byte) error {
	if m.Pool != nil {
		data = m.Pool.intern(data)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string][]byte{}
	}
	m.m[role] = data
	return nil
}

// Delete forgets role.
func (m *Memory) Delete(role string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, role)
	return nil
}

// Pool shares identical documents between Memory caches. It keeps every
// document it has seen; a simulator's repositories hold a few hundred.
type Pool struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte][]byte
}

func (p *Pool) intern(data []byte) []byte {
	k := sha256.Sum256(data)
	p.mu.Lock()
	defer p.mu.Unlock()
	if have, ok := p.m[k]; ok {
		return have
	}
	if p.m == nil {
		p.m = map[[sha256.Size]byte][]byte{}
	}
	p.m[k] = data
	return data
}
