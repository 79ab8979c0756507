// Package pkcs11 opens signing keys held on PKCS#11 tokens (HSMs, smart
// cards, SoftHSM2) named by RFC 7512 URIs, through relic's token/p11token.
// It needs cgo (github.com/miekg/pkcs11); it is a package of its own so
// that package signer and everything else builds with CGO_ENABLED=0. Built
// without cgo, Open returns signer.ErrNoCgo; URI parsing works either way.
//
// The PIN never comes from the command line: DEVUPDATE_PKCS11_PIN or the
// URI's pin-source=file:PATH. A URI carrying pin-value is refused.
package pkcs11

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/devupdate/devupdate/signer"
)

// URI is the part of an RFC 7512 PKCS#11 URI that selects a key.
type URI struct {
	Token      string // token label
	Serial     string // token serial number
	Object     string // key label (CKA_LABEL)
	ID         []byte // key id (CKA_ID)
	ModulePath string // module-path: the PKCS#11 library
	PINSource  string // pin-source: "file:PATH" (or a bare path)
}

// ParseURI parses an RFC 7512 URI such as
// "pkcs11:token=HSM;object=ev-key?module-path=/usr/lib/softhsm/libsofthsm2.so".
// Unknown attributes are refused rather than ignored, so a typo cannot
// silently select another key; pin-value is refused with signer.ErrPINInURI.
func ParseURI(s string) (*URI, error) {
	rest, ok := strings.CutPrefix(s, "pkcs11:")
	if !ok {
		return nil, fmt.Errorf("%w: %q is not a pkcs11: URI", signer.ErrKey, redact(s))
	}
	path, query, _ := strings.Cut(rest, "?")
	u := &URI{}
	seen := map[string]bool{}
	parse := func(part, sep string, isQuery bool) error {
		if part == "" {
			return nil
		}
		for _, attr := range strings.Split(part, sep) {
			k, v, ok := strings.Cut(attr, "=")
			if !ok || k == "" {
				return fmt.Errorf("%w: pkcs11 URI attribute %q is not name=value", signer.ErrKey, k)
			}
			if k == "pin-value" {
				return signer.ErrPINInURI
			}
			val, err := url.PathUnescape(v)
			if err != nil {
				return fmt.Errorf("%w: pkcs11 URI attribute %s: %w", signer.ErrKey, k, err)
			}
			if seen[k] {
				return fmt.Errorf("%w: pkcs11 URI attribute %s given twice", signer.ErrKey, k)
			}
			seen[k] = true
			switch k {
			case "token":
				u.Token = val
			case "serial":
				u.Serial = val
			case "object":
				u.Object = val
			case "id":
				u.ID = []byte(val)
			case "module-path":
				u.ModulePath = val
			case "pin-source":
				u.PINSource = val
			case "type":
				if val != "private" {
					return fmt.Errorf("%w: pkcs11 URI type=%s: only private keys sign", signer.ErrKey, val)
				}
			case "manufacturer", "model", "library-manufacturer", "library-description", "library-version", "slot-description", "slot-manufacturer", "slot-id", "module-name":
				// accepted, not used to select
			default:
				return fmt.Errorf("%w: unknown pkcs11 URI attribute %q", signer.ErrKey, k)
			}
		}
		return nil
	}
	if err := parse(path, ";", false); err != nil {
		return nil, err
	}
	if err := parse(query, "&", true); err != nil {
		return nil, err
	}
	if u.Object == "" && len(u.ID) == 0 {
		return nil, fmt.Errorf("%w: pkcs11 URI names no key (object= or id=)", signer.ErrKey)
	}
	return u, nil
}

// redact drops a URI's query (where a PIN could hide) from messages.
func redact(s string) string {
	p, _, _ := strings.Cut(s, "?")
	return p
}
