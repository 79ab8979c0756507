package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/devupdate/devupdate/smbios"
)

// RepositoryField is the field of a repository's signed targets metadata
// (beside "targets", under the targets signature) naming the ring and the
// product the repository belongs to. Every product repository of a ring is
// signed by the ring's keys, so TUF alone cannot tell one product's
// metadata from another's: this field does. Standard TUF clients ignore it
// (unrecognised fields are kept and covered by the signature).
const RepositoryField = "x-devupdate-repository"

// MaxRepositoryField bounds the encoded field a device parses.
const MaxRepositoryField = 1024

// Repository names one TUF repository of a store: a ring and the targeting
// CHID of a product.
type Repository struct {
	Ring    string      `json:"ring"`
	Product smbios.CHID `json:"product"`
}

func (r Repository) String() string { return r.Ring + "/" + r.Product.String() }

// ErrWrongRepository is wrapped by every *RepositoryError: signed metadata
// that belongs to another ring or product than the one a device reads, or
// that does not say which it belongs to.
var ErrWrongRepository = errors.New("metadata of another ring or product")

// RepositoryError is targets metadata whose RepositoryField does not name
// the repository it was read as: File is the metadata document, Want the
// repository, Got what the field names (zero when missing or malformed),
// Reason the rule broken.
type RepositoryError struct {
	File      string
	Want, Got Repository
	Reason    string
}

func (e *RepositoryError) Error() string {
	s := fmt.Sprintf("%s: %s: read as %s: %s", e.File, RepositoryField, e.Want, e.Reason)
	if e.Got != (Repository{}) {
		s += " (it names " + e.Got.String() + ")"
	}
	return s
}

func (e *RepositoryError) Unwrap() error { return ErrWrongRepository }

// BindRepository writes into targets metadata the ring and product it
// belongs to (the publishing side calls it before signing every version).
func BindRepository(t *metadata.Metadata[metadata.TargetsType], ring string, product smbios.CHID) error {
	want := Repository{Ring: ring, Product: product}
	if !ValidRing(ring) || product.IsZero() {
		return &RepositoryError{Want: want, Reason: "a repository needs a valid ring name and a product CHID"}
	}
	// Stored as the generic JSON value go-tuf's decoder makes, so a
	// repository read back and re-signed keeps an identical field.
	if t.Signed.UnrecognizedFields == nil {
		t.Signed.UnrecognizedFields = map[string]any{}
	}
	t.Signed.UnrecognizedFields[RepositoryField] = map[string]any{"ring": ring, "product": product.String()}
	return nil
}

// CheckRepository checks that verified targets metadata (file labels
// errors) belongs to the repository of ring and product: a device calls it
// on the targets its TUF client trusts after every refresh, and refuses
// the ring when it fails. A missing, malformed or different field is a
// *RepositoryError wrapping ErrWrongRepository.
func CheckRepository(file string, t *metadata.Metadata[metadata.TargetsType], ring string, product smbios.CHID) error {
	want := Repository{Ring: ring, Product: product}
	bad := func(got Repository, format string, args ...any) error {
		return &RepositoryError{File: file, Want: want, Got: got, Reason: fmt.Sprintf(format, args...)}
	}
	raw, ok := t.Signed.UnrecognizedFields[RepositoryField]
	if !ok {
		return bad(Repository{}, "missing")
	}
	got, err := parseRepository(raw)
	if err != nil {
		return bad(Repository{}, "%v", err)
	}
	if got != want {
		return bad(got, "names another repository")
	}
	return nil
}

// parseRepository reads the field's value as go-tuf decoded it (or as
// BindRepository wrote it): an object with a valid ring name and a
// product CHID. Fields a later version may add are ignored.
func parseRepository(v any) (Repository, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return Repository{}, err
	}
	if len(data) > MaxRepositoryField {
		return Repository{}, fmt.Errorf("%d bytes, over the %d-byte limit", len(data), MaxRepositoryField)
	}
	var w struct {
		Ring    *string `json:"ring"`
		Product *string `json:"product"`
	}
	if !bytes.HasPrefix(data, []byte("{")) {
		return Repository{}, errors.New("not a JSON object")
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return Repository{}, err
	}
	if w.Ring == nil || w.Product == nil {
		return Repository{}, errors.New(`needs "ring" and "product"`)
	}
	if !ValidRing(*w.Ring) {
		return Repository{}, fmt.Errorf("ring name %q", *w.Ring)
	}
	chid, err := smbios.ParseCHID(*w.Product)
	if err != nil {
		return Repository{}, fmt.Errorf("product: %v", err)
	}
	if chid.IsZero() || chid.String() != *w.Product {
		return Repository{}, fmt.Errorf("product %q: not a CHID in canonical form (lower-case, no braces) or all zero", *w.Product)
	}
	return Repository{Ring: *w.Ring, Product: chid}, nil
}
