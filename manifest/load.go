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
	"github.com/devupdate/devupdate/manifest/update"
	"github.com/devupdate/devupdate/packager"
	"github.com/devupdate/devupdate/smbios"
	"github.com/devupdate/devupdate/smbios/product"
)

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
// The updates come back in the order of paths, nil where a manifest has
// problems, with the problems of every manifest as one problem.List.
func LoadAll(ctx context.Context, paths []string, opts ...Option) ([]*Update, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	var all problem.List
	out := make([]*Update, len(paths))
	seen := map[string]string{}
	for i, p := range paths {
		u, err := load(ctx, p, o)
		if l := problem.As(err); l != nil {
			// A product listed by several manifests is reported once.
			for _, pr := range l {
				if !slices.ContainsFunc(all, func(q problem.Problem) bool { return q.String() == pr.String() }) {
					all = append(all, pr)
				}
			}
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
		out[i] = u
	}
	return out, all.Err()
}

// loader holds the state of one Load.
type loader struct {
	ctx   context.Context
	log   *slog.Logger
	file  string // the manifest path as given
	dir   string // its directory
	doc   *yaml.Node
	probs problem.List
	// decoded holds the problems decoding found (unknown keys, values of
	// the wrong type): a field among them is not reported again, as
	// missing or otherwise (see yamlpos.Reported).
	decoded problem.List
	root    *os.Root
	// reported holds the update fields (as update.json names them: "version",
	// "targets", "files", "requires[2].min_version") whose problem Load has
	// already reported in update.yaml's own terms, so Update.Validate's
	// report of the same field is not repeated.
	reported map[string]bool
}

func (l *loader) add(field string, at []string, format string, args ...any) {
	if yamlpos.Reported(l.decoded, field) {
		return
	}
	p, _ := yamlpos.Find(l.doc, at...)
	l.probs.Addf(l.file, p.Line, p.Col, field, format, args...)
}

// validate applies the update rules (Update.Validate, the rules update.json
// is read with) to the resolved update, placing each problem at its field
// in update.yaml.
func (l *loader) validate(u *Update) {
	for _, fe := range u.Validate() {
		at := yamlPathOf(fe.Field)
		if l.suppressed(fe.Field) || yamlpos.Reported(l.decoded, fe.Field) || yamlpos.Reported(l.decoded, at[0]) {
			continue
		}
		p, _ := yamlpos.Find(l.doc, at...)
		l.probs.Add(problem.Problem{File: l.file, Line: p.Line, Col: p.Col, Field: fe.Field, Rule: fe.Err.Error(), Err: fe.Err})
	}
}

// suppressed reports whether field, or a field containing it, was reported.
func (l *loader) suppressed(field string) bool {
	for f := field; f != ""; {
		if l.reported[f] {
			return true
		}
		i := strings.LastIndexAny(f, ".[")
		if i < 0 {
			return false
		}
		f = f[:i]
	}
	return false
}

// yamlPathOf turns an update field ("requires[2].name") into the path of
// the same value in update.yaml. Targets, products and files are resolved
// from other keys (products, chids, files globs): their problems are placed
// at the key they come from.
func yamlPathOf(field string) []string {
	switch head, _, _ := strings.Cut(field, "["); head {
	case "targets", "products":
		return []string{"products"}
	case "files":
		return []string{"files"}
	}
	var at []string
	for _, part := range strings.Split(field, ".") {
		name, idx, ok := strings.Cut(part, "[")
		at = append(at, name)
		if ok {
			at = append(at, strings.TrimSuffix(idx, "]"))
		}
	}
	return at
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
	if doc == nil {
		return nil, err
	}
	// Unknown keys and wrong types are problems like the others: go on, so
	// that one run reports them all.
	l := &loader{ctx: ctx, log: o.log, file: file, dir: filepath.Dir(file), doc: doc, reported: map[string]bool{}, probs: problem.As(err), decoded: problem.As(err)}
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
	if err := l.hash(u); err != nil {
		return nil, err
	}
	l.validate(u)
	if err := l.probs.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(u.Requires, func(a, b Requirement) int { return cmp.Compare(a.Name, b.Name) })
	o.log.Debug("manifest loaded", "file", file, "name", u.Name, "version", u.Version.String(), "files", len(u.Files), "targets", len(u.Targets))
	return u, nil
}

// header reads name, kind, version and the texts; their rules are
// Update.Validate's, applied once the update is resolved.
func (l *loader) header(src *source, u *Update) {
	u.Name, u.Kind = src.Name, Kind(src.Kind)
	if src.Version == "" {
		l.add("version", []string{"version"}, "required (a.b.c.d, each 0-65535)")
		l.reported["version"] = true
	} else if v, err := ParseVersion(src.Version); err != nil {
		l.add("version", []string{"version"}, "%v", err)
		l.reported["version"] = true
	} else {
		u.Version = v
	}
	u.Description, u.ReleaseNotes = src.Description, src.ReleaseNotes
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
	before := len(l.probs)
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
			if !yamlpos.Reported(l.decoded, field) {
				refers := &problem.Refers{File: host, Count: len(ps)}
				pos, _ := yamlpos.Find(l.doc, at...)
				l.probs.Add(problem.Problem{File: l.file, Line: pos.Line, Col: pos.Col, Field: field,
					Rule: fmt.Sprintf("product %s is invalid: %v", p, refers), Err: refers})
			}
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
		if err := update.CheckTarget(c); err != nil {
			l.add(field, at, "%v", err)
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
	if len(l.probs) > before {
		l.reported["targets"] = true
	}
	for c := range set {
		u.Targets = append(u.Targets, c)
	}
	slices.SortFunc(u.Targets, func(a, b smbios.CHID) int { return cmp.Compare(a.String(), b.String()) })
	slices.Sort(u.Products)
}

// requires reads the requirements in order (their name rules are
// Update.Validate's), refusing only a missing or malformed min_version here.
func (l *loader) requires(src *source, u *Update) {
	for i, r := range src.Requires {
		verField, verAt := idx("requires", i, "min_version")
		req := Requirement{Name: r.Name}
		if r.MinVersion == "" {
			l.add(verField, verAt, "required (a.b.c.d)")
			l.reported[verField] = true
		} else if v, err := ParseVersion(r.MinVersion); err != nil {
			l.add(verField, verAt, "%v", err)
			l.reported[verField] = true
		} else {
			req.MinVersion = v
		}
		u.Requires = append(u.Requires, req)
	}
}

// reservedPaths are cabinet paths the builder writes itself.
var reservedPaths = map[string]bool{update.FoldPath(UpdateJSONName): true}

// files resolves the file globs and returns the cabinet paths, keyed by
// their case-folded form.
func (l *loader) files(src *source, u *Update) map[string]string {
	type owner struct {
		entry  int
		source string
	}
	before := len(l.probs)
	defer func() {
		if len(l.probs) > before {
			l.reported["files"] = true
		}
	}()
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
			if err := update.CheckPath(fe.Dest); err != nil {
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
			if err := update.CheckPath(dest); err != nil {
				l.add(srcField, srcAt, "file %s would be %q in the cabinet: %v", m, dest, err)
				continue
			}
			key := update.FoldPath(dest)
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
			if other, ok := cab[update.FoldPath(d)]; ok {
				o := byPath[update.FoldPath(d)]
				field, at := idx("files", o.entry, "dest")
				l.add(field, at, "cabinet path %q is a file, but %q needs it as a directory", other, f.Path)
			}
		}
	}
	slices.SortFunc(u.Files, func(a, b File) int {
		return cmp.Or(cmp.Compare(update.FoldPath(a.Path), update.FoldPath(b.Path)), cmp.Compare(a.Path, b.Path))
	})
	return cab
}

// kind reads the per-kind fields (their rules are Update.Validate's) and
// checks what only update.yaml's payload can show: the driver's .inf and
// the files it names, the OS vendor's signed packages.
func (l *loader) kind(src *source, u *Update, cab map[string]string) {
	// A per-kind field names a payload file by its cabinet path; Windows
	// paths ignore case, and the update records the payload's spelling.
	spelled := func(p string) string {
		if got, ok := cab[update.FoldPath(p)]; ok && p != "" {
			return got
		}
		return p
	}
	u.INF, u.Package = spelled(src.INF), spelled(src.Package)
	if src.OSBuild != "" {
		if v, err := ParseVersion(src.OSBuild); err != nil {
			l.add("os_build", []string{"os_build"}, "%v", err)
			l.reported["os_build"] = true
		} else {
			u.OSBuild = v
		}
	}
	switch u.Kind {
	case KindDriver:
		if strings.EqualFold(path.Ext(u.INF), ".inf") && cab[update.FoldPath(u.INF)] == u.INF && u.INF != "" {
			l.checkINF(u, u.INF, cab)
		}
	case KindOS:
		u.VendorSigned = true
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
		if _, ok := cab[update.FoldPath(want)]; !ok {
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
