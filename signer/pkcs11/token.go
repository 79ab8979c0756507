//go:build cgo

package pkcs11

import (
	"context"
	"crypto"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	mpkcs11 "github.com/miekg/pkcs11"
	"github.com/sassoftware/relic/v8/config"
	"github.com/sassoftware/relic/v8/signers/sigerrors"
	"github.com/sassoftware/relic/v8/token/p11token"

	"github.com/devupdate/devupdate/signer"
)

// Open opens the private key named by an RFC 7512 URI (see ParseURI). The
// module is the URI's module-path, else module, else the environment's
// DEVUPDATE_PKCS11_MODULE; the PIN is pin-source=file:PATH, else
// DEVUPDATE_PKCS11_PIN. getenv reads the environment (nil: os.LookupEnv).
// A refused PIN is signer.ErrWrongPIN, an absent token
// signer.ErrTokenNotFound, an absent key signer.ErrKeyNotFound.
func Open(ctx context.Context, uri string, getenv func(string) (string, bool), module string) (signer.Key, error) {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	u, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if u.ModulePath != "" {
		module = u.ModulePath
	}
	if module == "" {
		module, _ = getenv(signer.EnvPKCS11Module)
	}
	if module == "" {
		return nil, fmt.Errorf("%w: give module-path= in the URI, an option, or %s", signer.ErrNoModule, signer.EnvPKCS11Module)
	}
	if err := checkModule(module); err != nil {
		return nil, err
	}
	pin, err := readPIN(u, getenv)
	if err != nil {
		return nil, err
	}
	cfg := &config.Config{}
	tc := cfg.NewToken("devupdate")
	tc.Type = "pkcs11"
	tc.Provider = module
	tc.Label = u.Token
	tc.Serial = u.Serial
	tc.Pin = &pin
	kc := cfg.NewKey("key")
	kc.Token = "devupdate"
	kc.Label = u.Object
	if len(u.ID) > 0 {
		kc.ID = hex.EncodeToString(u.ID)
	}
	name := redact(uri)
	tok, err := p11token.Open(cfg, "devupdate", nil)
	if err != nil {
		if errors.As(err, &sigerrors.PinIncorrectError{}) {
			return nil, fmt.Errorf("%s: %w", name, signer.ErrWrongPIN)
		}
		if present, perr := tokenPresent(module, u); perr == nil && !present {
			return nil, fmt.Errorf("%s: %w", name, signer.ErrTokenNotFound)
		}
		return nil, fmt.Errorf("%s: %w: %v", name, signer.ErrKey, err)
	}
	k, err := tok.GetKey(ctx, "key")
	if err != nil {
		tok.Close()
		if errors.As(err, &sigerrors.KeyNotFoundError{}) {
			return nil, fmt.Errorf("%s: %w", name, signer.ErrKeyNotFound)
		}
		return nil, fmt.Errorf("%s: %w: %v", name, signer.ErrKey, err)
	}
	return &tokenKey{Signer: k, tok: tok}, nil
}

type tokenKey struct {
	crypto.Signer
	tok *p11token.Token
}

func (k *tokenKey) Close() error { return k.tok.Close() }

func readPIN(u *URI, getenv func(string) (string, bool)) (string, error) {
	if u.PINSource != "" {
		path := strings.TrimPrefix(u.PINSource, "file:")
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("%w: pin-source: %v", signer.ErrNoPIN, err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, 4096))
		if err != nil {
			return "", fmt.Errorf("%w: pin-source: %v", signer.ErrNoPIN, err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		return strings.TrimSuffix(line, "\r"), nil
	}
	// Set but empty is not a PIN: the token would answer CKR_ARGUMENTS_BAD.
	if pin, ok := getenv(signer.EnvPKCS11PIN); ok && pin != "" {
		return pin, nil
	}
	return "", fmt.Errorf("%w: set %s or pin-source=file:PATH in the URI", signer.ErrNoPIN, signer.EnvPKCS11PIN)
}

// tokenPresent reports whether a token matching u is in the module's
// slots. It only classifies a failed open, so it tolerates the module being
// initialised already (relic keeps it initialised for the process).
func tokenPresent(module string, u *URI) (bool, error) {
	c := mpkcs11.New(module)
	if c == nil {
		return false, errors.New("cannot load PKCS#11 module")
	}
	defer c.Destroy()
	err := c.Initialize()
	switch {
	case err == nil:
		defer c.Finalize()
	case errors.Is(err, mpkcs11.Error(mpkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)):
	default:
		return false, err
	}
	slots, err := c.GetSlotList(true)
	if err != nil {
		return false, err
	}
	for _, s := range slots {
		info, err := c.GetTokenInfo(s)
		if err != nil {
			continue
		}
		if (u.Token == "" || strings.TrimRight(info.Label, " ") == u.Token) && (u.Serial == "" || strings.TrimRight(info.SerialNumber, " ") == u.Serial) {
			return true, nil
		}
	}
	return false, nil
}

// elfMachines are the ELF machine types of the architectures a module can
// be built for.
var elfMachines = map[string]elf.Machine{
	"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "386": elf.EM_386, "arm": elf.EM_ARM,
	"riscv64": elf.EM_RISCV, "ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390,
}

// checkModule says why the shared library at path cannot be a PKCS#11
// module for this process, which the loader itself does not tell (dlopen
// failures reach us without their reason): missing, not a shared library,
// or built for another architecture.
func checkModule(path string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: PKCS#11 module %s: %s", signer.ErrKey, path, fmt.Sprintf(format, args...))
	}
	if _, err := os.Stat(path); err != nil {
		return bad("%v", errors.Unwrap(err))
	}
	if runtime.GOOS != "linux" {
		return nil
	}
	f, err := elf.Open(path)
	if err != nil {
		return bad("not a shared library (%v)", err)
	}
	defer f.Close()
	if f.Type != elf.ET_DYN {
		return bad("not a shared library (ELF type %v)", f.Type)
	}
	if want, ok := elfMachines[runtime.GOARCH]; ok && f.Machine != want {
		return bad("built for %v, this program is %s", f.Machine, runtime.GOARCH)
	}
	return nil
}
