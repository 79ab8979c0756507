package manifest

import (
	"io"

	"github.com/devupdate/devupdate/manifest/update"
)

// The update model lives in package manifest/update, which the device side
// imports without this package's YAML, .inf and product-file readers. These
// aliases keep manifest's API for its callers.
type (
	// Update is update.Update.
	Update = update.Update
	// Kind is update.Kind.
	Kind = update.Kind
	// Requirement is update.Requirement.
	Requirement = update.Requirement
	// File is update.File.
	File = update.File
	// Version is update.Version.
	Version = update.Version
)

// The kinds of update (see update.Kind).
const (
	KindOS     = update.KindOS
	KindDriver = update.KindDriver
	KindApp    = update.KindApp
	KindOCP    = update.KindOCP
)

// Kinds lists every kind in documentation order.
var Kinds = update.Kinds

// update.json and text limits (see package update).
const (
	UpdateJSONName    = update.JSONName
	MaxUpdateJSONSize = update.MaxJSONSize
	Schema            = update.Schema
	MaxDescription    = update.MaxDescription
	MaxReleaseNotes   = update.MaxReleaseNotes
	MaxPathLen        = update.MaxPathLen
)

// Rule errors (see package update).
var (
	ErrVersion       = update.ErrVersion
	ErrName          = update.ErrName
	ErrPathAbsolute  = update.ErrPathAbsolute
	ErrPathEscape    = update.ErrPathEscape
	ErrPathBackslash = update.ErrPathBackslash
	ErrPathSegment   = update.ErrPathSegment
	ErrPathName      = update.ErrPathName
	ErrPathLong      = update.ErrPathLong
)

// ParseVersion is update.ParseVersion.
func ParseVersion(s string) (Version, error) { return update.ParseVersion(s) }

// CheckName is update.CheckName.
func CheckName(name string) error { return update.CheckName(name) }

// ParseUpdateJSON is update.ParseJSON: the update.json rules are those of
// update.yaml (Update.Validate).
func ParseUpdateJSON(name string, data []byte) (*Update, error) { return update.ParseJSON(name, data) }

// ReadUpdateJSON is update.ReadJSON.
func ReadUpdateJSON(name string, r io.Reader) (*Update, error) { return update.ReadJSON(name, r) }
