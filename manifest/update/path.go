package update

import (
	"errors"
	"fmt"
	"strings"
)

// MaxPathLen is the longest path a cabinet entry may have ([MS-CAB]
// CFFILE.szName is at most 255 bytes, without its terminator).
const MaxPathLen = 255

// Path rule errors, wrapped by CheckPath and CheckRelative.
var (
	ErrPathAbsolute  = errors.New("path must be relative, not absolute")
	ErrPathEscape    = errors.New("path must not contain .. segments")
	ErrPathBackslash = errors.New(`path must use / as its separator, not \`)
	ErrPathSegment   = errors.New("path has an empty or . segment")
	ErrPathName      = errors.New(`path segment is not a valid Windows file name (no control characters, none of <>:"|?*, no trailing dot or space, no device name such as CON or NUL)`)
	ErrPathLong      = fmt.Errorf("path is longer than %d bytes", MaxPathLen)
)

// CheckPath checks a slash-separated path (a file or, with a trailing
// slash, a directory) inside a cabinet: relative, no .. or empty segments,
// each segment a valid Windows file name, at most MaxPathLen bytes.
func CheckPath(p string) error {
	if err := CheckRelative(p); err != nil {
		return err
	}
	if len(p) > MaxPathLen {
		return ErrPathLong
	}
	for _, seg := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		if err := checkSegment(seg); err != nil {
			return err
		}
	}
	return nil
}

// CheckRelative refuses absolute paths, drive letters, UNC paths,
// backslashes and .. segments.
func CheckRelative(p string) error {
	switch {
	case strings.HasPrefix(p, "/") || (len(p) >= 2 && p[1] == ':'):
		return ErrPathAbsolute
	case strings.Contains(p, `\`):
		return ErrPathBackslash
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return ErrPathEscape
		}
	}
	return nil
}

var deviceNames = map[string]bool{
	"CON": true, "PRN": true, "AUX": true, "NUL": true, "CONIN$": true, "CONOUT$": true,
	"COM0": true, "COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT0": true, "LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true,
}

func checkSegment(seg string) error {
	if seg == "" || seg == "." {
		return ErrPathSegment
	}
	if strings.HasSuffix(seg, ".") || strings.HasSuffix(seg, " ") {
		return ErrPathName
	}
	for _, r := range seg {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`<>:"|?*`, r) {
			return ErrPathName
		}
	}
	stem, _, _ := strings.Cut(seg, ".")
	if deviceNames[strings.ToUpper(strings.TrimRight(stem, " "))] {
		return ErrPathName
	}
	return nil
}

// FoldPath is the key under which Windows considers two paths the same.
func FoldPath(p string) string { return strings.ToUpper(p) }
