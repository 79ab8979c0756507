package update

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/devupdate/devupdate/smbios"
)

// Limits on the free-text fields.
const (
	MaxDescription  = 1024
	MaxReleaseNotes = 64 << 10
)

// AppExtensions are the package files an app update may name.
var AppExtensions = []string{".appx", ".msix", ".appxbundle", ".msixbundle"}

// The rules an update obeys. Every *FieldError wraps one of them (test with
// errors.Is); the path rules (ErrPath…), ErrName, ErrProductName and
// ErrVersion are the others.
var (
	// ErrRequired: a required field is empty or absent.
	ErrRequired = errors.New("required")
	// ErrKind: the kind is not one of os, driver, app, ocp.
	ErrKind = errors.New("is not a kind: one of os, driver, app, ocp")
	// ErrZeroVersion: the update's version is 0.0.0.0.
	ErrZeroVersion = errors.New("0.0.0.0 is not a release version")
	// ErrTextTooLong: a free-text field exceeds its limit.
	ErrTextTooLong = errors.New("text longer than its limit")
	// ErrControlCharacter: a free-text field holds a control character
	// (other than tab and newline) or invalid UTF-8, which would make
	// reports and catalogs ambiguous.
	ErrControlCharacter = errors.New("control character or invalid UTF-8")
	// ErrNoTargets: the update targets no CHID.
	ErrNoTargets = errors.New("an update needs at least one target CHID")
	// ErrZeroTarget: a target is the all-zero GUID, which targets nothing.
	ErrZeroTarget = errors.New("the all-zero GUID targets nothing")
	// ErrDuplicate: a target, product, requirement or file is listed twice.
	ErrDuplicate = errors.New("listed twice")
	// ErrRequiresSelf: the update requires its own package.
	ErrRequiresSelf = errors.New("an update cannot require its own package")
	// ErrNoFiles: the update has no payload file.
	ErrNoFiles = errors.New("an update needs at least one file")
	// ErrReservedPath: a payload file takes the place of update.json.
	ErrReservedPath = errors.New("reserved for the update manifest")
	// ErrPathConflict: a cabinet path is a file and another file's directory.
	ErrPathConflict = errors.New("a cabinet path is both a file and a directory")
	// ErrSize: a file's size is negative.
	ErrSize = errors.New("must not be negative")
	// ErrDigest: a file's SHA-256 is not 64 lower-case hexadecimal digits.
	ErrDigest = errors.New("must be 64 lower-case hexadecimal digits")
	// ErrKindField: a per-kind field is missing (a driver's .inf, an app's
	// package, an OS update's build and vendor signature) or names a file
	// of the wrong type.
	ErrKindField = errors.New("per-kind field missing or wrong")
	// ErrNotInPayload: a per-kind field names a file the update lacks.
	ErrNotInPayload = errors.New("not one of the update's files")
	// ErrOnlyForKind: a per-kind field is set on an update of another kind.
	ErrOnlyForKind = errors.New("field belongs to another kind")
)

// FieldError is one broken rule: the field (as update.json names it, with
// indexes: "requires[2].name", "files[0].path") and the rule. It unwraps to
// the rule's sentinel.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// ruleError is a rule's sentinel with a message that names the value.
type ruleError struct {
	msg string
	err error
}

func (e *ruleError) Error() string { return e.msg }
func (e *ruleError) Unwrap() error { return e.err }

func rulef(sentinel error, format string, args ...any) error {
	return &ruleError{msg: fmt.Sprintf(format, args...), err: sentinel}
}

// CheckText applies the free-text rule: at most limit bytes, no control
// character other than tab and newline, valid UTF-8.
func CheckText(s string, limit int) error {
	if len(s) > limit {
		return rulef(ErrTextTooLong, "is %d bytes, more than the %d-byte limit", len(s), limit)
	}
	for _, r := range s {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || r == 0xFFFD {
			return rulef(ErrControlCharacter, "contains control character or invalid UTF-8 %U", r)
		}
	}
	return nil
}

// CheckTarget refuses a target CHID that targets nothing.
func CheckTarget(c smbios.CHID) error {
	if c.IsZero() {
		return ErrZeroTarget
	}
	return nil
}

// Validate checks every rule of an update that can be checked without its
// payload, in field order, and returns each broken rule (nil when there is
// none). Both update.yaml (manifest.Load, on the resolved update) and
// update.json (ParseJSON) are checked by it.
func (u *Update) Validate() []*FieldError {
	var errs []*FieldError
	add := func(field string, err error) { errs = append(errs, &FieldError{Field: field, Err: err}) }

	switch {
	case u.Name == "":
		add("name", ErrRequired)
	case CheckName(u.Name) != nil:
		add("name", rulef(ErrName, "%q: %v", u.Name, ErrName))
	}
	switch {
	case u.Kind == "":
		add("kind", rulef(ErrRequired, "required (one of os, driver, app, ocp)"))
	case !u.Kind.Valid():
		add("kind", rulef(ErrKind, "%q %v", string(u.Kind), ErrKind))
	}
	if u.Version.IsZero() {
		add("version", ErrZeroVersion)
	}
	if err := CheckText(u.Description, MaxDescription); err != nil {
		add("description", err)
	}
	if err := CheckText(u.ReleaseNotes, MaxReleaseNotes); err != nil {
		add("release_notes", err)
	}

	seenProduct := map[string]bool{}
	for i, p := range u.Products {
		f := fmt.Sprintf("products[%d]", i)
		switch {
		case CheckProductName(p) != nil:
			add(f, rulef(ErrProductName, "%q: %v", p, ErrProductName))
		case seenProduct[p]:
			add(f, rulef(ErrDuplicate, "%s is listed twice", p))
		}
		seenProduct[p] = true
	}

	if len(u.Targets) == 0 {
		add("targets", ErrNoTargets)
	}
	seenTarget := map[smbios.CHID]bool{}
	for i, c := range u.Targets {
		f := fmt.Sprintf("targets[%d]", i)
		switch {
		case CheckTarget(c) != nil:
			add(f, CheckTarget(c))
		case seenTarget[c]:
			add(f, rulef(ErrDuplicate, "%s is listed twice", c))
		}
		seenTarget[c] = true
	}

	seenReq := map[string]bool{}
	for i, r := range u.Requires {
		f := fmt.Sprintf("requires[%d].name", i)
		key := strings.ToUpper(r.Name)
		switch {
		case r.Name == "":
			add(f, ErrRequired)
		case CheckName(r.Name) != nil:
			add(f, rulef(ErrName, "%q: %v", r.Name, ErrName))
		case strings.EqualFold(r.Name, u.Name):
			add(f, ErrRequiresSelf)
		case seenReq[key]:
			add(f, rulef(ErrDuplicate, "%s is required twice", r.Name))
		}
		seenReq[key] = true
	}

	files := u.validateFiles(add)
	u.validateKind(add, files)
	return errs
}

// validateFiles checks the payload list and returns its cabinet paths,
// keyed by their folded form.
func (u *Update) validateFiles(add func(string, error)) map[string]string {
	if len(u.Files) == 0 {
		add("files", ErrNoFiles)
	}
	cab := map[string]string{}
	for i, f := range u.Files {
		field := fmt.Sprintf("files[%d]", i)
		key := FoldPath(f.Path)
		switch err := CheckPath(f.Path); {
		case err != nil:
			add(field+".path", rulef(err, "%q: %v", f.Path, err))
		case strings.HasSuffix(f.Path, "/"):
			add(field+".path", rulef(ErrPathSegment, "%q: %v", f.Path, ErrPathSegment))
		case key == FoldPath(JSONName):
			add(field+".path", rulef(ErrReservedPath, "%q is reserved for the update manifest", f.Path))
		case cab[key] != "":
			add(field+".path", rulef(ErrDuplicate, "%q is listed twice (Windows paths ignore case)", f.Path))
		default:
			cab[key] = f.Path
		}
		if f.Size < 0 {
			add(field+".size", ErrSize)
		}
		if !isSHA256(f.SHA256) {
			add(field+".sha256", ErrDigest)
		}
	}
	// A path that is a file cannot also be a directory of another file.
	for _, f := range u.Files {
		for d := path.Dir(f.Path); d != "." && d != "/" && d != ""; d = path.Dir(d) {
			if other, ok := cab[FoldPath(d)]; ok {
				add("files", rulef(ErrPathConflict, "cabinet path %q is a file, but %q needs it as a directory", other, f.Path))
			}
		}
	}
	return cab
}

// validateKind applies the per-kind rules: a driver names its .inf, an app
// its package, an OS update its build and its vendor's signature; each
// field only on its kind.
func (u *Update) validateKind(add func(string, error), cab map[string]string) {
	payload := func(field, p string, exts []string) {
		if err := CheckPath(p); err != nil || strings.HasSuffix(p, "/") {
			if err == nil {
				err = ErrPathSegment
			}
			add(field, rulef(err, "%q: %v", p, err))
			return
		}
		if !slices.Contains(exts, strings.ToLower(path.Ext(p))) {
			add(field, rulef(ErrKindField, "%q must have one of the extensions %s", p, strings.Join(exts, ", ")))
			return
		}
		if cab[FoldPath(p)] != p {
			add(field, rulef(ErrNotInPayload, "%q is not one of the update's files", p))
		}
	}
	switch u.Kind {
	case KindDriver:
		if u.INF == "" {
			add("inf", rulef(ErrKindField, "a driver update must name its .inf (its path in the cabinet)"))
		} else {
			payload("inf", u.INF, []string{".inf"})
		}
	case KindApp:
		if u.Package == "" {
			add("package", rulef(ErrKindField, "an app update must name its package file (%s)", strings.Join(AppExtensions, ", ")))
		} else {
			payload("package", u.Package, AppExtensions)
		}
	case KindOS:
		if u.OSBuild.IsZero() {
			add("os_build", rulef(ErrKindField, "an OS update must name the OS build it brings (a.b.c.d)"))
		}
		if !u.VendorSigned {
			add("vendor_signed", rulef(ErrKindField, "an OS update is signed by its vendor: vendor_signed must be true"))
		}
	}
	if !u.Kind.Valid() {
		return
	}
	only := func(field string, set bool, k Kind) {
		if set && u.Kind != k {
			add(field, rulef(ErrOnlyForKind, "is only for kind %s, not %s", k, u.Kind))
		}
	}
	only("inf", u.INF != "", KindDriver)
	only("package", u.Package != "", KindApp)
	only("os_build", !u.OSBuild.IsZero(), KindOS)
	only("vendor_signed", u.VendorSigned, KindOS)
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
