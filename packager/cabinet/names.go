package cabinet

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The path rules, written once for every name a cabinet holds: what the
// writer stores (package packager: devupdate build and cab create alike),
// what update.json lists (package manifest/update delegates here), what
// signing and verification accept (CheckStructure) and what extraction
// creates (SafePath, Extract). Paths are '/'-separated here; a cabinet
// stores them with '\', which SafePath turns into '/'. There are two
// modes:
//
//   - CheckPath: the path of a file in a cabinet. Relative, without empty,
//     "." or ".." segments, each segment a valid Windows file name (no
//     control characters, none of <>:"|?*, no trailing dot or space, no
//     device name such as CON or NUL: Windows would open the device, or
//     store "a." as "a"), valid UTF-8, at most MaxPathLen bytes.
//   - CheckRelative: a relative path outside a cabinet (a source path in
//     update.yaml, on the build machine): only that it stays below its
//     base (not absolute, no drive letter or UNC prefix, no '\', no "..").
//
// Names are compared as Windows compares them, without case (FoldPath): two
// files whose paths fold alike, or a file whose path is a directory of
// another, would overwrite each other when extracted.

// MaxPathLen is the longest path a cabinet entry may have (CFFILE.szName
// is at most 255 bytes without its terminator).
const MaxPathLen = MaxNameLength

// The rule a path breaks; every path error wraps one of them.
var (
	ErrPathAbsolute  = errors.New("path must be relative, not absolute")
	ErrPathEscape    = errors.New("path must not contain .. segments")
	ErrPathBackslash = errors.New(`path must use / as its separator, not \`)
	ErrPathSegment   = errors.New("path has an empty or . segment")
	ErrPathName      = errors.New(`path segment is not a valid Windows file name (no control characters, none of <>:"|?*, no trailing dot or space, no device name such as CON or NUL)`)
	ErrPathLong      = fmt.Errorf("path is longer than %d bytes", MaxPathLen)
	ErrPathEncoding  = errors.New("path is not valid UTF-8")
	ErrPathCollision = errors.New("path is another file's, compared as Windows does (without case), or a directory of another")
)

// CheckPath checks the path of a file in a cabinet (see the rules above).
func CheckPath(p string) error {
	if err := CheckRelative(p); err != nil {
		return err
	}
	switch {
	case len(p) > MaxPathLen:
		return ErrPathLong
	case !utf8.ValidString(p):
		return ErrPathEncoding
	}
	for _, seg := range strings.Split(p, "/") {
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

// SafePath returns the relative, '/'-separated path under which a file
// stored as name ('\' or '/' separated) may be extracted, or a *NameError
// wrapping the rule it breaks (see CheckPath).
func SafePath(name string) (string, error) {
	p := strings.ReplaceAll(name, `\`, "/")
	if err := CheckPath(p); err != nil {
		return "", &NameError{Name: name, Reason: err.Error(), Err: err}
	}
	return p, nil
}

// CheckPaths checks that no two of paths (each passing CheckPath) name
// the same file when extracted: none folds like another (FoldPath), none
// is a directory of another. The error is a *NameError wrapping
// ErrPathCollision, naming the later path and the earlier.
func CheckPaths(paths []string) error {
	i, j, ok := collision(paths)
	if !ok {
		return nil
	}
	return &NameError{Name: paths[i], Reason: fmt.Sprintf("%v: %q", ErrPathCollision, paths[j]), Err: ErrPathCollision}
}

// collision returns the indexes of the first path that collides (i) and
// of the one it collides with (j).
func collision(paths []string) (i, j int, found bool) {
	files := make(map[string]int, len(paths))
	for i, p := range paths {
		k := FoldPath(p)
		if j, dup := files[k]; dup {
			return i, j, true
		}
		files[k] = i
	}
	for i, p := range paths {
		k := FoldPath(p)
		for s := strings.LastIndexByte(k, '/'); s > 0; s = strings.LastIndexByte(k[:s], '/') {
			if j, clash := files[k[:s]]; clash {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

// checkNames checks every file's name (SafePath) and that no two collide
// (CheckPaths), returning each file's safe path.
func (c *Cabinet) checkNames() ([]string, error) {
	paths := make([]string, len(c.files))
	for i, f := range c.files {
		p, err := SafePath(f.stored)
		if err != nil {
			return nil, fmt.Errorf("%s: CFFILE[%d]: %w", c.o.name, i, err)
		}
		paths[i] = p
	}
	if i, j, found := collision(paths); found {
		return nil, fmt.Errorf("%s: CFFILE[%d]: %w", c.o.name, i, &NameError{Name: c.files[i].stored,
			Reason: fmt.Sprintf("%v: CFFILE[%d] %q", ErrPathCollision, j, c.files[j].stored), Err: ErrPathCollision})
	}
	return paths, nil
}
