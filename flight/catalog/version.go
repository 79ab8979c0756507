package catalog

import "github.com/devupdate/devupdate/manifest/update"

// Version is update.json's four-part package version a.b.c.d. Entries carry
// versions as strings; ParseVersion is the one place that reads them.
type Version = update.Version

// ParseVersion parses a.b.c.d (update.ParseVersion: each part 0-65535,
// decimal digits only, no leading zeros).
func ParseVersion(s string) (Version, error) { return update.ParseVersion(s) }

// checkName applies update.json's package name rule
// (Owner.Component[.SubComponent]).
func checkName(name string) bool { return update.CheckName(name) == nil }

// validKind reports whether kind is one of update.json's kinds.
func validKind(kind string) bool { return update.Kind(kind).Valid() }
