package manifest

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/devupdate/devupdate/internal/iox"
	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/internal/problem/yamlpos"
	"github.com/devupdate/devupdate/manifest/inf"
	"github.com/devupdate/devupdate/packager"
	"github.com/devupdate/devupdate/smbios"
	"github.com/devupdate/devupdate/smbios/product"
)

// Limits on the free-text fields.
const (
	MaxDescription  = 1024
	MaxReleaseNotes = 64 << 10
)

// appExtensions are the package files an app update may carry.
var appExtensions = []string{".appx", ".msix", ".appxbundle", ".msixbundle"}

// source is the on-disk shape of update.yaml.
type source struct {
	Name         string        `yaml:"name"`
	Kind         string        `yaml:"kind"`
	Version      string        `yaml:"version"`
	Description  string        `yaml:"description"`
	ReleaseNotes string        `yaml:"release_notes"`
	Products     []string      `yaml:"products"`
	CHIDs        []string      `yaml:"chids"`
	Requires     []sourceReq   `yaml:"requires"`
	Files        []sourceFiles `yaml:"files"`
	INF          string        `yaml:"inf"`
	Package      string        `yaml:"package"`
	OSBuild      string        `yaml:"os_build"`
}

type sourceReq struct {
	Name       string `yaml:"name"`
	MinVersion string `yaml:"min_version"`
}

type sourceFiles struct {
	Source string `yaml:"source"`
	Dest   string `yaml:"dest"`
}

// Option configures Load and LoadAll.
type Option func(*options) error

type options struct {
	log *slog.Logger
}

// WithLogger sets the logger that Load reports its progress to. Default: a
// logger that discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("manifest: WithLogger(nil)")
		}
		o.log = l
		return nil
	}
}

func newOptions(opts []Option) (*options, error) {
	o := &options{log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// Load reads update.yaml at path, checks every rule, resolves the payload
// files (globs relative to the manifest's directory) and the products'
// targets, and hashes the payload. Every problem found is returned at once
// as a problem.List (FILE:LINE:COL: FIELD: RULE); an INF problem names the
// .inf file and its line. Other errors (I/O, a cancelled ctx) are returned
// as they are.
func Load(ctx context.Context, path string, opts ...Option) (*Update, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	return load(ctx, path, o)
}

// LoadAll loads several manifests, collecting the problems of all of them,
// and also refuses two manifests that describe the same name and version.
func LoadAll(ctx context.Context, paths []string, opts ...Option) ([]*Update, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	var all problem.List
	var out []*Update
	seen := map[string]string{}
	for _, p := range paths {
		u, err := load(ctx, p, o)
		if l := problem.As(err); l != nil {
			all = append(all, l...)
			continue
		} else if err != nil {
			return nil, err
		}
		key := strings.ToUpper(u.CabinetName())
		if first, dup := seen[key]; dup {
			all.Addf(p, 0, 0, "", "update %s %s is also described by %s", u.Name, u.Version, first)
			continue
		}
		seen[key] = p
		out = append(out, u)
	}
	if err := all.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// loader holds the state of one Load.
type loader struct {
	ctx   context.Context
	log   *slog.Logger
	file  string // the manifest path as given
	dir   string // its directory
	doc   *yaml.Node
	probs problem.List
	root  *os.Root
}

func (l *loader) add(field string, at []string, format string, args ...any) {
	p, _ := yamlpos.Find(l.doc, at...)
	l.probs.Addf(l.file, p.Line, p.Col, field, format, args...)
}

func load(ctx context.Context, file string, o *options) (*Update, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := problem.ReadFileBounded(file, problem.MaxYAMLSize)
	if err != nil {
		return nil, err
	}
	var src source
	doc, err := yamlpos.Decode(file, data, &src)
	if err != nil {
		return nil, err
	}
	l := &loader{ctx: ctx, log: o.log, file: file, dir: filepath.Dir(file), doc: doc}
	l.root, err = os.OpenRoot(l.dir)
	if err != nil {
		return nil, err
	}
	defer l.root.Close()

	u := &Update{}
	l.header(&src, u)
	l.targets(&src, u)
	l.requires(&src, u)
	cabPaths := l.files(&src, u)
	l.kind(&src, u, cabPaths)
	if err := l.probs.Err(); err != nil {
		return nil, err
	}
	if err := l.hash(u); err != nil {
		return nil, err
	}
	o.log.Debug("manifest loaded", "file", file, "name", u.Name, "version", u.Version.String(), "files", len(u.Files), "targets", len(u.Targets))
	return u, nil
}

func (l *loader) header(src *source, u *Update) {
	switch {
	case src.Name == "":
		l.add("name", []string{"name"}, "required")
	case CheckName(src.Name) != nil:
		l.add("name", []string{"name"}, "%q: %v", src.Name, ErrName)
	default:
		u.Name = src.Name
	}

	u.Kind = Kind(src.Kind)
	switch {
	case src.Kind == "":
		l.add("kind", []string{"kind"}, "required (one of os, driver, app, ocp)")
	case !u.Kind.valid():
		l.add("kind", []string{"kind"}, "%q is not a kind: one of os, driver, app, ocp", src.Kind)
	}

	if src.Version == "" {
		l.add("version", []string{"version"}, "required (a.b.c.d, each 0-65535)")
	} else if v, err := ParseVersion(src.Version); err != nil {
		l.add("version", []string{"version"}, "%v", err)
	} else if v.IsZero() {
		l.add("version", []string{"version"}, "0.0.0.0 is not a release version")
	} else {
		u.Version = v
	}

	l.text("description", src.Description, MaxDescription)
	l.text("release_notes", src.ReleaseNotes, MaxReleaseNotes)
	u.Description, u.ReleaseNotes = src.Description, src.ReleaseNotes
}

// text refuses over-long text and control characters other than tab and
// newline, which would make reports and catalogs ambiguous.
func (l *loader) text(field, s string, limit int) {
	if len(s) > limit {
		l.add(field, []string{field}, "is %d bytes, more than the %d-byte limit", len(s), limit)
	}
	for _, r := range s {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || r == 0xFFFD {
			l.add(field, []string{field}, "contains control character or invalid UTF-8 %U", r)
			return
		}
	}
}

func idx(field string, i int, sub ...string) (string, []string) {
	name := fmt.Sprintf("%s[%d]", field, i)
	at := []string{field, strconv.Itoa(i)}
	for _, s := range sub {
		name += "." + s
		at = append(at, s)
	}
	return name, at
}

func (l *loader) targets(src *source, u *Update) {
	set := map[smbios.CHID]bool{}
	seenPath := map[string]bool{}
	seenName := map[string]string{}
	for i, p := range src.Products {
		field, at := idx("products", i)
		if p == "" {
			l.add(field, at, "is empty")
			continue
		}
		if filepath.IsAbs(p) || strings.HasPrefix(p, "/") || strings.Contains(p, `\`) || (len(p) >= 2 && p[1] == ':') {
			l.add(field, at, "%q: product paths are relative to the manifest, with / separators", p)
			continue
		}
		host := filepath.Join(l.dir, filepath.FromSlash(p))
		if seenPath[host] {
			l.add(field, at, "%q is listed twice", p)
			continue
		}
		seenPath[host] = true
		prod, err := product.Load(host)
		if ps := problem.As(err); ps != nil {
			l.probs = append(l.probs, ps...)
			l.add(field, at, "product %s is invalid (see its problems)", p)
			continue
		} else if errors.Is(err, fs.ErrNotExist) {
			l.add(field, at, "product file %s does not exist", p)
			continue
		} else if err != nil {
			l.add(field, at, "reading product %s: %v", p, err)
			continue
		}
		if first, dup := seenName[prod.Name]; dup {
			l.add(field, at, "product %q is also loaded from %s", prod.Name, first)
			continue
		}
		seenName[prod.Name] = p
		u.Products = append(u.Products, prod.Name)
		for _, c := range prod.Targets() {
			set[c] = true
		}
	}
	seenCHID := map[smbios.CHID]bool{}
	for i, s := range src.CHIDs {
		field, at := idx("chids", i)
		c, err := smbios.ParseCHID(s)
		if err != nil {
			l.add(field, at, "%v", err)
			continue
		}
		if c.IsZero() {
			l.add(field, at, "the all-zero GUID targets nothing")
			continue
		}
		if seenCHID[c] {
			l.add(field, at, "%s is listed twice", c)
			continue
		}
		seenCHID[c] = true
		set[c] = true
	}
	if len(src.Products) == 0 && len(src.CHIDs) == 0 {
		l.add("products", []string{"products"}, "an update needs targets: list at least one product (or chids)")
	}
	for c := range set {
		u.Targets = append(u.Targets, c)
	}
	slices.SortFunc(u.Targets, func(a, b smbios.CHID) int { return cmp.Compare(a.String(), b.String()) })
	slices.Sort(u.Products)
}

func (l *loader) requires(src *source, u *Update) {
	seen := map[string]bool{}
	for i, r := range src.Requires {
		nameField, nameAt := idx("requires", i, "name")
		verField, verAt := idx("requires", i, "min_version")
		req := Requirement{Name: r.Name}
		ok := true
		switch {
		case r.Name == "":
			l.add(nameField, nameAt, "required")
			ok = false
		case CheckName(r.Name) != nil:
			l.add(nameField, nameAt, "%q: %v", r.Name, ErrName)
			ok = false
		case strings.EqualFold(r.Name, src.Name):
			l.add(nameField, nameAt, "an update cannot require its own package")
			ok = false
		case seen[strings.ToUpper(r.Name)]:
			l.add(nameField, nameAt, "%s is required twice", r.Name)
			ok = false
		}
		seen[strings.ToUpper(r.Name)] = true
		if r.MinVersion == "" {
			l.add(verField, verAt, "required (a.b.c.d)")
			ok = false
		} else if v, err := ParseVersion(r.MinVersion); err != nil {
			l.add(verField, verAt, "%v", err)
			ok = false
		} else {
			req.MinVersion = v
		}
		if ok {
			u.Requires = append(u.Requires, req)
		}
	}
	slices.SortFunc(u.Requires, func(a, b Requirement) int { return cmp.Compare(a.Name, b.Name) })
}

// reservedPaths are cabinet paths the builder writes itself.
var reservedPaths = map[string]bool{foldPath(UpdateJSONName): true}

// files resolves the file globs and returns the cabinet paths, keyed by
// their case-folded form.
func (l *loader) files(src *source, u *Update) map[string]string {
	type owner struct {
		entry  int
		source string
	}
	byPath := map[string]owner{}
	cab := map[string]string{}
	if len(src.Files) == 0 {
		l.add("files", []string{"files"}, "an update needs at least one file")
	}
	for i, fe := range src.Files {
		srcField, srcAt := idx("files", i, "source")
		destField, destAt := idx("files", i, "dest")
		g, err := parseGlob(fe.Source)
		if fe.Source == "" {
			l.add(srcField, srcAt, "required")
			continue
		} else if err != nil {
			l.add(srcField, srcAt, "%q: %v", fe.Source, err)
			continue
		}
		if fe.Dest != "" {
			if err := checkCabPath(fe.Dest); err != nil {
				l.add(destField, destAt, "%q: %v", fe.Dest, err)
				continue
			}
		}
		if !g.literal() && fe.Dest != "" && !strings.HasSuffix(fe.Dest, "/") {
			l.add(destField, destAt, "%q must end with / (a directory) because source %q is a pattern", fe.Dest, fe.Source)
			continue
		}
		matches, err := g.expand(l.root.FS())
		if err != nil {
			l.add(srcField, srcAt, "%q: %v", fe.Source, err)
			continue
		}
		if len(matches) == 0 {
			l.add(srcField, srcAt, "%q matches no files", fe.Source)
			continue
		}
		for _, m := range matches {
			dest := g.destFor(fe.Dest, m)
			if err := checkCabPath(dest); err != nil {
				l.add(srcField, srcAt, "file %s would be %q in the cabinet: %v", m, dest, err)
				continue
			}
			key := foldPath(dest)
			if reservedPaths[key] {
				l.add(destField, destAt, "%q is reserved for the update manifest the builder embeds", dest)
				continue
			}
			if prev, dup := byPath[key]; dup {
				if prev.source != m {
					l.add(destField, destAt, "cabinet path %q (from %s) is also written by files[%d] (from %s); Windows paths ignore case",
						dest, m, prev.entry, prev.source)
				}
				continue
			}
			byPath[key] = owner{i, m}
			cab[key] = dest
			u.Files = append(u.Files, File{Path: dest, Source: filepath.Join(l.dir, filepath.FromSlash(m))})
		}
	}
	// A path that is a file cannot also be a directory of another file.
	for _, f := range u.Files {
		for d := path.Dir(f.Path); d != "."; d = path.Dir(d) {
			if other, ok := cab[foldPath(d)]; ok {
				o := byPath[foldPath(d)]
				field, at := idx("files", o.entry, "dest")
				l.add(field, at, "cabinet path %q is a file, but %q needs it as a directory", other, f.Path)
			}
		}
	}
	slices.SortFunc(u.Files, func(a, b File) int {
		return cmp.Or(cmp.Compare(foldPath(a.Path), foldPath(b.Path)), cmp.Compare(a.Path, b.Path))
	})
	return cab
}

// kind applies the per-kind rules.
func (l *loader) kind(src *source, u *Update, cab map[string]string) {
	only := func(field, value string, k Kind) {
		if value != "" && u.Kind != k && u.Kind.valid() {
			l.add(field, []string{field}, "is only for kind %s, not %s", k, u.Kind)
		}
	}
	only("inf", src.INF, KindDriver)
	only("package", src.Package, KindApp)
	only("os_build", src.OSBuild, KindOS)

	switch u.Kind {
	case KindDriver:
		if src.INF == "" {
			l.add("inf", []string{"inf"}, "a driver update must name its .inf (its path in the cabinet)")
			return
		}
		p, ok := l.payloadPath("inf", src.INF, cab, []string{".inf"})
		if !ok {
			return
		}
		u.INF = p
		l.checkINF(u, p, cab)
	case KindApp:
		if src.Package == "" {
			l.add("package", []string{"package"}, "an app update must name its package file (.appx, .msix, .appxbundle or .msixbundle)")
			return
		}
		if p, ok := l.payloadPath("package", src.Package, cab, appExtensions); ok {
			u.Package = p
		}
	case KindOS:
		u.VendorSigned = true
		if src.OSBuild == "" {
			l.add("os_build", []string{"os_build"}, "an OS update must name the OS build it brings (a.b.c.d)")
		} else if v, err := ParseVersion(src.OSBuild); err != nil {
			l.add("os_build", []string{"os_build"}, "%v", err)
		} else {
			u.OSBuild = v
		}
		l.checkVendorCabinets(u)
	}
}

// checkVendorCabinets checks that an OS update carries its vendor's
// packages: at least one .cab, and every .cab with an Authenticode
// signature appended. Only the presence of the signature is checked here:
// the OS vendor's roots are the signer's input, and it verifies every
// package against them before the OEM signs the outer cabinet, and on
// verify; the packages themselves are never signed again.
func (l *loader) checkVendorCabinets(u *Update) {
	n := 0
	for _, f := range u.Files {
		if !strings.EqualFold(path.Ext(f.Path), ".cab") {
			continue
		}
		n++
		rel, err := filepath.Rel(l.dir, f.Source)
		if err != nil {
			l.add("files", []string{"files"}, "%v", err)
			continue
		}
		if rule := vendorCabinetProblem(l.root, filepath.ToSlash(rel)); rule != "" {
			l.probs.Addf(f.Source, 0, 0, "", "%s", rule)
		}
	}
	if n == 0 {
		l.add("files", []string{"files"}, "an OS update carries its vendor's signed packages (.cab files): the payload has none")
	}
}

// vendorCabinetProblem returns what is wrong with a vendor cabinet, or "".
func vendorCabinetProblem(root *os.Root, name string) string {
	f, err := root.Open(name)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err.Error()
	}
	cab, err := packager.Open(f, st.Size())
	if err != nil {
		return fmt.Sprintf("not a readable cabinet: %v", err)
	}
	defer cab.Close()
	if cab.Signature().Size == 0 {
		return "cabinet has no Authenticode signature: an OS update carries its vendor's signed packages, which are never signed again"
	}
	return ""
}

// payloadPath checks that a per-kind field names a file of the payload by
// its cabinet path, with one of the extensions, and returns the path as
// the payload spells it.
func (l *loader) payloadPath(field, p string, cab map[string]string, exts []string) (string, bool) {
	if err := checkCabPath(p); err != nil || strings.HasSuffix(p, "/") {
		if err == nil {
			err = ErrPathSegment
		}
		l.add(field, []string{field}, "%q: %v", p, err)
		return "", false
	}
	ext := strings.ToLower(path.Ext(p))
	if !slices.Contains(exts, ext) {
		l.add(field, []string{field}, "%q must have one of the extensions %s", p, strings.Join(exts, ", "))
		return "", false
	}
	got, ok := cab[foldPath(p)]
	if !ok {
		l.add(field, []string{field}, "%q is not in the payload (a cabinet path that files: produces)", p)
		return "", false
	}
	return got, true
}

// checkINF parses the driver's .inf and refuses references to files the
// payload does not carry.
func (l *loader) checkINF(u *Update, infPath string, cab map[string]string) {
	var host string
	for _, f := range u.Files {
		if f.Path == infPath {
			host = f.Source
		}
	}
	rel, err := filepath.Rel(l.dir, host)
	if err != nil {
		l.add("inf", []string{"inf"}, "%v", err)
		return
	}
	data, err := iox.ReadRootFile(l.root, filepath.ToSlash(rel), inf.MaxSize)
	if errors.Is(err, iox.ErrTooLarge) {
		l.probs.Addf(host, 0, 0, "", "INF file is larger than the %d-byte limit", inf.MaxSize)
		return
	}
	if err != nil {
		l.add("inf", []string{"inf"}, "reading %s: %v", infPath, err)
		return
	}
	f, err := inf.Parse(host, data)
	if ps := problem.As(err); ps != nil {
		l.probs = append(l.probs, ps...)
	} else if err != nil {
		l.add("inf", []string{"inf"}, "%v", err)
	}
	if f == nil {
		return
	}
	base := path.Dir(infPath)
	for _, r := range f.All() {
		want := path.Join(base, r.Path)
		if _, ok := cab[foldPath(want)]; !ok {
			l.probs.Addf(host, r.Line, r.Col, r.Field, "names %s, which is not in the payload (expected at cabinet path %s)", path.Base(r.Path), want)
		}
	}
}

// hash records the size and SHA-256 of every payload file.
func (l *loader) hash(u *Update) error {
	for i := range u.Files {
		if err := l.ctx.Err(); err != nil {
			return err
		}
		f := &u.Files[i]
		rel, err := filepath.Rel(l.dir, f.Source)
		if err != nil {
			return err
		}
		size, sum, err := hashFile(l.root, filepath.ToSlash(rel))
		if err != nil {
			return fmt.Errorf("hashing %s: %w", f.Source, err)
		}
		f.Size, f.SHA256 = size, sum
	}
	return nil
}

func hashFile(root *os.Root, name string) (int64, string, error) {
	r, err := root.Open(name)
	if err != nil {
		return 0, "", err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
