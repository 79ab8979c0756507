//go:build !cgo

package pkcs11

import (
	"context"
	"fmt"

	"github.com/devupdate/devupdate/signer"
)

// Open reports that this binary was built without cgo.
func Open(ctx context.Context, uri string, getenv func(string) (string, bool), module string) (signer.Key, error) {
	return nil, fmt.Errorf("opening %s: %w", redact(uri), signer.ErrNoCgo)
}
