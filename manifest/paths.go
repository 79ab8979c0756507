package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/devupdate/devupdate/manifest/update"
)

// ErrPattern: a source pattern is malformed.
var ErrPattern = errors.New("pattern is malformed (** must be a whole path segment; [ ] classes must be closed)")

// glob is a parsed source pattern: slash-separated segments where each
// segment is a path.Match pattern or "**", which matches zero or more
// whole segments.
type glob struct {
	segs []string
	base string // the leading literal segments, "." when none
}

func hasMeta(s string) bool { return strings.ContainsAny(s, "*?[") }

// parseGlob checks a source pattern (relative to the manifest's directory,
// slash-separated, no .. segments) and splits it.
func parseGlob(pattern string) (*glob, error) {
	if pattern == "" {
		return nil, ErrPathSegment
	}
	if err := update.CheckRelative(pattern); err != nil {
		return nil, err
	}
	g := &glob{base: "."}
	literal := true
	for _, seg := range strings.Split(pattern, "/") {
		if seg == "" || seg == "." {
			return nil, ErrPathSegment
		}
		if seg != "**" {
			if strings.Contains(seg, "**") {
				return nil, ErrPattern
			}
			if _, err := path.Match(seg, ""); err != nil {
				return nil, ErrPattern
			}
		}
		if literal && !hasMeta(seg) {
			g.base = path.Join(g.base, seg)
		} else {
			literal = false
		}
		g.segs = append(g.segs, seg)
	}
	return g, nil
}

// literal reports whether the pattern names one path without wildcards.
func (g *glob) literal() bool { return !hasMeta(strings.Join(g.segs, "/")) }

// match reports whether the slash-separated relative path name matches.
func (g *glob) match(name string) bool {
	return matchSegs(g.segs, strings.Split(name, "/"))
}

func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			// Collapse repeated ** and try every split point.
			for len(pat) > 0 && pat[0] == "**" {
				pat = pat[1:]
			}
			if len(pat) == 0 {
				return len(name) > 0
			}
			for i := 0; i < len(name); i++ {
				if matchSegs(pat, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// errSourceDir says a literal source names a directory.
var errSourceDir = errors.New("source is a directory; use dir/** to take the files under it")

// expand returns, sorted, the regular files under fsys that g matches, as
// slash-separated paths relative to the root of fsys. Directories are
// walked without following symbolic links to directories; a symbolic link
// to a file is taken when it resolves inside fsys (an os.Root refuses
// links that leave it), and reported otherwise.
func (g *glob) expand(fsys fs.FS) ([]string, error) {
	if g.literal() {
		st, err := fs.Stat(fsys, g.base)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, nil
		case err != nil:
			return nil, err
		case st.IsDir():
			return nil, errSourceDir
		case !st.Mode().IsRegular():
			return nil, fmt.Errorf("%s is not a regular file", g.base)
		}
		return []string{g.base}, nil
	}
	st, err := fs.Stat(fsys, g.base)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !st.IsDir()) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	err = fs.WalkDir(fsys, g.base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !g.match(p) {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			st, err := fs.Stat(fsys, p)
			if err != nil {
				return fmt.Errorf("symbolic link %s: %w", p, err)
			}
			if !st.Mode().IsRegular() {
				return nil
			}
		} else if !d.Type().IsRegular() {
			return nil
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

// destFor places a matched source file in the cabinet: under dest when dest
// is a directory (empty or ending in /), keeping the path below the
// pattern's literal base; at dest itself when the pattern is literal and
// dest names a file.
func (g *glob) destFor(dest, src string) string {
	if dest != "" && !strings.HasSuffix(dest, "/") {
		return dest
	}
	rel := path.Base(src)
	if !g.literal() && g.base != "." {
		rel = strings.TrimPrefix(src, g.base+"/")
	} else if !g.literal() {
		rel = src
	}
	return dest + rel
}
