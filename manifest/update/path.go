package update

import (
	"strings"

	"github.com/devupdate/devupdate/packager/cabinet"
)

// The path rules are the cabinet's (package packager/cabinet, where the
// writer, the reader, signing and extraction find them too): a path in
// update.json is a path in the cabinet.

// MaxPathLen is the longest path a cabinet entry may have ([MS-CAB]
// CFFILE.szName is at most 255 bytes, without its terminator).
const MaxPathLen = cabinet.MaxPathLen

// Path rule errors, wrapped by CheckPath and CheckRelative.
var (
	ErrPathAbsolute  = cabinet.ErrPathAbsolute
	ErrPathEscape    = cabinet.ErrPathEscape
	ErrPathBackslash = cabinet.ErrPathBackslash
	ErrPathSegment   = cabinet.ErrPathSegment
	ErrPathName      = cabinet.ErrPathName
	ErrPathLong      = cabinet.ErrPathLong
)

// CheckPath checks a slash-separated path (a file or, with a trailing
// slash, a directory) inside a cabinet: cabinet.CheckPath.
func CheckPath(p string) error {
	if err := cabinet.CheckRelative(p); err != nil {
		return err
	}
	return cabinet.CheckPath(strings.TrimSuffix(p, "/"))
}

// CheckRelative refuses absolute paths, drive letters, UNC paths,
// backslashes and .. segments: cabinet.CheckRelative.
func CheckRelative(p string) error { return cabinet.CheckRelative(p) }

// FoldPath is the key under which Windows considers two paths the same:
// cabinet.FoldPath.
func FoldPath(p string) string { return cabinet.FoldPath(p) }
