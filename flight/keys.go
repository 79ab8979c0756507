package flight

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/internal/iox"
)

// Roles are the four TUF top-level roles, root first.
var Roles = []string{metadata.ROOT, metadata.TARGETS, metadata.SNAPSHOT, metadata.TIMESTAMP}

// ErrKey is wrapped by every key problem: a key of an unsupported type, a
// role without keys, a threshold that cannot be met.
var ErrKey = errors.New("flight key")

// Key is a private key from any key source (a PEM/PKCS#8 file, a PKCS#12
// file, a PKCS#11 token). Close releases what holds it.
type Key interface {
	crypto.Signer
	Close() error
}

// KeyOpener opens the key named by a reference (file:PATH, PATH or a
// pkcs11: URI). The CLI passes one built on signer.OpenKey, with PKCS#11
// wired in; the flight library links no HSM code.
type KeyOpener func(ctx context.Context, ref string) (Key, error)

// tufSigner adapts a crypto.Signer to the signature.Signer go-tuf signs
// metadata with. Ed25519 signs the message itself; ECDSA P-256 signs its
// SHA-256 digest (TUF's ecdsa-sha2-nistp256), which is all a PKCS#11 token
// holding a non-extractable key needs to do.
type tufSigner struct {
	k   crypto.Signer
	pub crypto.PublicKey
}

// NewSigner wraps k for go-tuf. Only Ed25519 and ECDSA P-256 keys are
// accepted.
func NewSigner(k crypto.Signer) (signature.Signer, error) {
	switch pub := k.Public().(type) {
	case ed25519.PublicKey:
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: ECDSA keys must be P-256, not %s", ErrKey, pub.Curve.Params().Name)
		}
	default:
		return nil, fmt.Errorf("%w: %T keys are not supported (Ed25519 or ECDSA P-256)", ErrKey, pub)
	}
	return &tufSigner{k: k, pub: k.Public()}, nil
}

func (s *tufSigner) PublicKey(...signature.PublicKeyOption) (crypto.PublicKey, error) {
	return s.pub, nil
}

func (s *tufSigner) SignMessage(r io.Reader, _ ...signature.SignOption) ([]byte, error) {
	msg, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if _, ok := s.pub.(ed25519.PublicKey); ok {
		return s.k.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	d := sha256.Sum256(msg)
	return s.k.Sign(rand.Reader, d[:], crypto.SHA256)
}

// KeyID returns the TUF key ID of a public key.
func KeyID(pub crypto.PublicKey) (string, error) {
	k, err := metadata.KeyFromPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrKey, err)
	}
	return k.ID()
}

// RoleKeys names the keys of one role and how many must sign.
type RoleKeys struct {
	// Keys are key references (file:PATH, PATH, pkcs11:URI); relative
	// paths are relative to the keys file.
	Keys []string `json:"keys"`
	// Threshold is how many of Keys must sign (default 1).
	Threshold int `json:"threshold,omitempty"`
	// Retired (root only) are previous root keys that must still sign the
	// next root version during a rotation, so devices trusting them accept it.
	Retired []string `json:"retired,omitempty"`
}

// KeysFile is the keys configuration: for each ring, the key references of
// each role. It holds references, never key material or PINs.
type KeysFile struct {
	Rings map[string]map[string]*RoleKeys `json:"rings"`
}

// MaxKeysFile bounds the keys file.
const MaxKeysFile = 1 << 20

// Keyring opens the keys of each ring's roles on demand and keeps them
// open until Close.
type Keyring struct {
	cfg  KeysFile
	dir  string
	open KeyOpener
	mu   sync.Mutex
	keys map[string]Key
}

// LoadKeyring reads a keys file (see ReadKeysFile) and returns its keyring.
func LoadKeyring(ctx context.Context, path string, open KeyOpener) (*Keyring, error) {
	cfg, err := ReadKeysFile(ctx, path)
	if err != nil {
		return nil, err
	}
	return NewKeyring(cfg, filepath.Dir(path), open), nil
}

// ReadKeysFile reads and checks a keys file (JSON, see KeysFile).
func ReadKeysFile(ctx context.Context, path string) (KeysFile, error) {
	data, err := iox.ReadFile(ctx, path, MaxKeysFile)
	if err != nil {
		return KeysFile{}, fmt.Errorf("keys file: %w", err)
	}
	return ParseKeysFile(path, data)
}

// ParseKeysFile parses the keys file data read from path (path labels
// errors): unknown fields, unknown roles, roles without keys and thresholds
// that cannot be met are refused.
func ParseKeysFile(path string, data []byte) (KeysFile, error) {
	var cfg KeysFile
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return KeysFile{}, fmt.Errorf("%s: %w: %v", path, ErrKey, err)
	}
	if dec.More() {
		return KeysFile{}, fmt.Errorf("%s: %w: data after the JSON object", path, ErrKey)
	}
	for ring, roles := range cfg.Rings {
		if !catalog.ValidRing(ring) {
			return KeysFile{}, fmt.Errorf("%s: %w: ring name %q", path, ErrKey, ring)
		}
		for role, rk := range roles {
			if !slices.Contains(Roles, role) {
				return KeysFile{}, fmt.Errorf("%s: %w: ring %s: unknown role %q (root, targets, snapshot, timestamp)", path, ErrKey, ring, role)
			}
			if rk == nil || len(rk.Keys) == 0 {
				return KeysFile{}, fmt.Errorf("%s: %w: ring %s: role %s lists no keys", path, ErrKey, ring, role)
			}
			if rk.Threshold == 0 {
				rk.Threshold = 1
			}
			if rk.Threshold < 1 || rk.Threshold > len(rk.Keys) {
				return KeysFile{}, fmt.Errorf("%s: %w: ring %s: role %s threshold %d with %d keys", path, ErrKey, ring, role, rk.Threshold, len(rk.Keys))
			}
			if len(rk.Retired) > 0 && role != metadata.ROOT {
				return KeysFile{}, fmt.Errorf("%s: %w: ring %s: only root keys are retired by signing the next root", path, ErrKey, ring)
			}
		}
	}
	return cfg, nil
}

// NewKeyring returns a keyring for cfg; relative file references are
// resolved against dir.
func NewKeyring(cfg KeysFile, dir string, open KeyOpener) *Keyring {
	return &Keyring{cfg: cfg, dir: dir, open: open, keys: map[string]Key{}}
}

// Close closes every opened key.
func (k *Keyring) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	var errs []error
	for _, key := range k.keys {
		errs = append(errs, key.Close())
	}
	k.keys = map[string]Key{}
	return errors.Join(errs...)
}

func (k *Keyring) resolve(ref string) string {
	if strings.HasPrefix(ref, "pkcs11:") {
		return ref
	}
	p := strings.TrimPrefix(ref, "file:")
	if !filepath.IsAbs(p) {
		p = filepath.Join(k.dir, p)
	}
	return "file:" + p
}

func (k *Keyring) openRef(ctx context.Context, ref string) (Key, error) {
	ref = k.resolve(ref)
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok := k.keys[ref]; ok {
		return key, nil
	}
	key, err := k.open(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", ref, err)
	}
	k.keys[ref] = key
	return key, nil
}

// Role returns the configuration of a ring's role.
func (k *Keyring) Role(ring, role string) (*RoleKeys, error) {
	rk := k.cfg.Rings[ring][role]
	if rk == nil {
		return nil, fmt.Errorf("%w: no %s keys configured for ring %s", ErrKey, role, ring)
	}
	return rk, nil
}

// Signers opens the keys of a ring's role (retired ones too when asked)
// and returns them as go-tuf signers.
func (k *Keyring) Signers(ctx context.Context, ring, role string, retired bool) ([]signature.Signer, error) {
	rk, err := k.Role(ring, role)
	if err != nil {
		return nil, err
	}
	refs := rk.Keys
	if retired {
		refs = append(slices.Clone(refs), rk.Retired...)
	}
	var out []signature.Signer
	for _, ref := range refs {
		key, err := k.openRef(ctx, ref)
		if err != nil {
			return nil, err
		}
		s, err := NewSigner(key)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// GenerateDevKeys writes TEST-ONLY development keys for every role of each
// ring into dir (one ECDSA P-256 PKCS#8 PEM file per ring and role, mode
// 0600, named TEST-ONLY-<ring>-<role>.key) and a keys file dir/keys.json
// naming them. Development keys live on disk in the clear: never use them
// for devices in the field.
func GenerateDevKeys(dir string, rings []string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	cfg := KeysFile{Rings: map[string]map[string]*RoleKeys{}}
	for _, ring := range rings {
		if !catalog.ValidRing(ring) {
			return "", fmt.Errorf("%w: ring name %q", ErrKey, ring)
		}
		cfg.Rings[ring] = map[string]*RoleKeys{}
		for _, role := range Roles {
			k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				return "", err
			}
			der, err := x509.MarshalPKCS8PrivateKey(k)
			if err != nil {
				return "", err
			}
			name := fmt.Sprintf("TEST-ONLY-%s-%s.key", ring, role)
			data := append([]byte("# TEST-ONLY development key: never sign for devices in the field.\n"),
				pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})...)
			if err := writeNew(filepath.Join(dir, name), data, 0o600); err != nil {
				return "", err
			}
			cfg.Rings[ring][role] = &RoleKeys{Keys: []string{"file:" + name}, Threshold: 1}
		}
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "keys.json")
	return path, writeNew(path, append(data, '\n'), 0o600)
}

// writeNew writes a new file and refuses to replace an existing one.
func writeNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
