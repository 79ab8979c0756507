package update

import (
	"encoding/json"

	"github.com/devupdate/devupdate/smbios"
)

// Kind is what an update carries.
type Kind string

// The kinds of update.
const (
	// KindOS is an operating-system update: its payload holds the OS
	// vendor's Authenticode-signed .cab packages, which the signer verifies
	// against the vendor's roots and never re-signs or modifies; the OEM
	// signs the outer cabinet as for every kind.
	KindOS Kind = "os"
	// KindDriver is a driver package: an .inf and the files it names.
	KindDriver Kind = "driver"
	// KindApp is an app package (.appx, .msix or a bundle).
	KindApp Kind = "app"
	// KindOCP is an OEM custom package bundling drivers, apps and settings.
	KindOCP Kind = "ocp"
)

// Kinds lists every kind in documentation order.
var Kinds = []Kind{KindOS, KindDriver, KindApp, KindOCP}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	for _, v := range Kinds {
		if k == v {
			return true
		}
	}
	return false
}

// Requirement says another package must be installed at MinVersion or
// higher.
type Requirement struct {
	Name       string  `json:"name"`
	MinVersion Version `json:"min_version"`
}

// File is one payload file of an update.
type File struct {
	// Path is where the file sits in the cabinet: slash-separated,
	// relative, checked by the cabinet path rules.
	Path string `json:"path"`
	// Size and SHA256 (lower-case hex) describe the bytes.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Source is the file on the build host (manifest.Load sets it). It is
	// never encoded: update.json carries no host-dependent data. Empty for
	// an Update read from update.json.
	Source string `json:"-"`
}

// Update is a checked, resolved update: what update.json says.
type Update struct {
	Name         string
	Kind         Kind
	Version      Version
	Description  string
	ReleaseNotes string
	// Products are the names of the products the update is for.
	Products []string
	// Targets are the CHIDs of those products plus the manifest's explicit
	// chids, sorted by their string form, without duplicates.
	Targets  []smbios.CHID
	Requires []Requirement
	// Files are sorted by Path (case-insensitively, then exactly).
	Files []File
	// INF is the cabinet path of a driver's .inf (KindDriver only).
	INF string
	// Package is the cabinet path of an app's package (KindApp only).
	Package string
	// OSBuild is the OS build an OS update brings (KindOS only).
	OSBuild Version
	// VendorSigned is true for KindOS, and only for it: the .cab packages
	// in the payload come signed by the OS vendor; the signer verifies them
	// against the vendor's roots and never signs them again (the outer
	// cabinet is signed by the OEM as for every kind).
	VendorSigned bool

	// Extra holds the top-level update.json fields this version does not
	// know, so that reading and writing update.json keeps them.
	Extra map[string]json.RawMessage
}

// CabinetName is the file name the update's cabinet is written under:
// <name>_<version>.cab.
func (u *Update) CabinetName() string {
	return u.Name + "_" + u.Version.String() + ".cab"
}
