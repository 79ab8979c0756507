// Package product loads and validates product definitions (product.yaml):
// the SMBIOS identity of one device model that updates are aimed at, with
// the rules Microsoft's Device Update Center enforced on it.
//
// A product is targeted by HardwareID-3 (Manufacturer, Family, ProductName,
// SKU, BaseboardManufacturer, BaseboardProduct): it has no BIOS fields, so a
// BIOS update does not change it. When the baseboard manufacturer is absent
// HardwareID-3 cannot be formed; the product is then targeted by HardwareID-4
// (Manufacturer, Family, ProductName, SKU), which every device computes too,
// and collisions are checked on that ID. Extra CHIDs listed under `chids:`
// are targeted as well.
//
// The package owns the product file format and its rules; it does not read
// SMBIOS (package smbios does) and does not know about updates or rings'
// contents (packages manifest and flight do).
package product

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/internal/problem/yamlpos"
	"github.com/devupdate/devupdate/manifest/update"
	"github.com/devupdate/devupdate/smbios"
)

// DefaultRings are the flighting rings a product uses when its file names
// none, in promotion order.
var DefaultRings = []string{"Preview", "EarlyAdopter", "GeneralAvailability"}

// MaxFieldLength is the Device Update Center limit on each SMBIOS value.
const MaxFieldLength = 64

// Product is one validated product file.
type Product struct {
	File       string        // the path it was loaded from, as given
	Name       string        // `name:`
	SMBIOS     smbios.Fields // `smbios:`
	ExtraCHIDs []smbios.CHID // `chids:`, extra targets beyond the targeting CHID
	Rings      []string      // `rings:`, or DefaultRings when absent

	doc *yaml.Node
	// decoded holds the problems decoding found (unknown keys, values of
	// the wrong type): a field among them is not reported again.
	decoded problem.List
}

// file is the on-disk shape of product.yaml.
type file struct {
	Name   string        `yaml:"name"`
	SMBIOS smbios.Fields `yaml:"smbios"`
	CHIDs  []string      `yaml:"chids"`
	Rings  []string      `yaml:"rings"`
}

// TargetingID returns the hardware ID the product is targeted by:
// HardwareID-3, or HardwareID-4 when the baseboard manufacturer is absent (see
// the package documentation). ok is false when neither can be formed, which
// Load refuses.
func (p *Product) TargetingID() (smbios.HardwareID, bool) { return p.SMBIOS.TargetingID() }

// Targets returns every CHID the product is targeted by: the targeting CHID
// first, then the extra CHIDs, without duplicates.
func (p *Product) Targets() []smbios.CHID {
	var out []smbios.CHID
	if h, ok := p.TargetingID(); ok {
		out = append(out, h.GUID)
	}
	for _, c := range p.ExtraCHIDs {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// Load reads and validates one product file. Every problem found is returned
// at once as a problem.List (FILE:LINE:COL: FIELD: RULE).
func Load(path string) (*Product, error) {
	data, err := problem.ReadFileBounded(path, problem.MaxYAMLSize)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse validates data, the contents of the product file called name.
func Parse(name string, data []byte) (*Product, error) {
	var f file
	doc, err := yamlpos.Decode(name, data, &f)
	if doc == nil {
		return nil, err
	}
	list := problem.As(err) // unknown keys, wrong types: go on to report every problem
	p := &Product{File: name, Name: f.Name, SMBIOS: f.SMBIOS, Rings: f.Rings, doc: doc, decoded: slices.Clip(list)}
	p.checkName(&list)
	p.checkSMBIOS(&list)
	p.checkCHIDs(&list, f.CHIDs)
	p.checkRings(&list)
	if err := list.Err(); err != nil {
		return nil, err
	}
	if p.Rings == nil {
		p.Rings = slices.Clone(DefaultRings)
	}
	return p, nil
}

// pos returns the position of the value at path, or of the deepest node
// that exists on the way.
func (p *Product) pos(path ...string) yamlpos.Pos {
	at, _ := yamlpos.Find(p.doc, path...)
	return at
}

func (p *Product) add(l *problem.List, field string, at yamlpos.Pos, format string, args ...any) {
	if yamlpos.Reported(p.decoded, field) {
		return
	}
	l.Addf(p.File, at.Line, at.Col, field, format, args...)
}

func (p *Product) checkName(l *problem.List) {
	switch {
	case p.Name == "":
		p.add(l, "name", p.pos("name"), "required")
	case update.CheckProductName(p.Name) != nil:
		p.add(l, "name", p.pos("name"), "must be 1-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit")
	}
}

// smbiosKeys are the product's SMBIOS string fields, in file order.
var smbiosKeys = []struct {
	key      string
	required bool
	get      func(*smbios.Fields) string
}{
	{"manufacturer", true, func(f *smbios.Fields) string { return f.Manufacturer }},
	{"family", true, func(f *smbios.Fields) string { return f.Family }},
	{"product_name", true, func(f *smbios.Fields) string { return f.ProductName }},
	{"sku", true, func(f *smbios.Fields) string { return f.SKU }},
	{"baseboard_manufacturer", false, func(f *smbios.Fields) string { return f.BaseboardManufacturer }},
	{"baseboard_product", true, func(f *smbios.Fields) string { return f.BaseboardProduct }},
}

func (p *Product) checkSMBIOS(l *problem.List) {
	if _, ok := yamlpos.Find(p.doc, "smbios"); !ok {
		p.add(l, "smbios", p.pos("smbios"), "required")
		return
	}
	for _, k := range smbiosKeys {
		field := "smbios." + k.key
		v := k.get(&p.SMBIOS)
		at, present := yamlpos.Find(p.doc, "smbios", k.key)
		if v == "" {
			if k.required {
				if present {
					p.add(l, field, at, "required, must not be empty")
				} else {
					p.add(l, field, at, "required")
				}
			}
			continue
		}
		for _, rule := range CheckValue(v) {
			p.add(l, field, at, "%s", rule)
		}
	}
	// BIOS and enclosure values change with a BIOS update or say nothing
	// about the model; the targeting CHID never uses them.
	unused := []struct {
		key string
		set bool
	}{
		{"bios_vendor", p.SMBIOS.BIOSVendor != ""},
		{"bios_version", p.SMBIOS.BIOSVersion != ""},
		{"bios_major_release", p.SMBIOS.BIOSMajorRelease != nil},
		{"bios_minor_release", p.SMBIOS.BIOSMinorRelease != nil},
		{"enclosure_type", p.SMBIOS.EnclosureType != nil},
	}
	for _, u := range unused {
		if at, ok := yamlpos.Find(p.doc, "smbios", u.key); ok || u.set {
			p.add(l, "smbios."+u.key, at, "not used for product targeting (HardwareID-3 has no BIOS or enclosure fields); remove it")
		}
	}
}

// CheckValue returns the Device Update Center rules an SMBIOS value used for
// targeting breaks: length, leading or trailing spaces, control or invisible
// characters, and factory placeholders. An empty slice means the value is
// acceptable.
func CheckValue(v string) []string {
	var rules []string
	if !utf8.ValidString(v) {
		return []string{"is not valid UTF-8"}
	}
	if n := utf8.RuneCountInString(v); n > MaxFieldLength {
		rules = append(rules, fmt.Sprintf("is %d characters long, at most %d allowed", n, MaxFieldLength))
	}
	if r, _ := utf8.DecodeRuneInString(v); unicode.IsSpace(r) {
		rules = append(rules, "has leading whitespace")
	}
	if r, _ := utf8.DecodeLastRuneInString(v); unicode.IsSpace(r) {
		rules = append(rules, "has trailing whitespace")
	}
	for i, r := range v {
		if invisible(r) {
			rules = append(rules, fmt.Sprintf("has the control or invisible character %U at byte %d", r, i))
			break
		}
	}
	if IsPlaceholder(v) {
		rules = append(rules, fmt.Sprintf("%q is a factory placeholder: an update aimed at it would reach other makers' machines", strings.TrimSpace(v)))
	}
	return rules
}

// invisible reports control characters (Cc), format characters such as
// U+200B and U+FEFF (Cf), line and paragraph separators (Zl, Zp), and every
// space other than U+0020 (Zs: U+00A0, U+3000, ...), which look like a space
// but do not compare equal to one.
func invisible(r rune) bool {
	if r == ' ' {
		return false
	}
	return r == utf8.RuneError || !unicode.IsPrint(r) ||
		unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs, unicode.Zl, unicode.Zp, unicode.Zs)
}

// Placeholders are the factory default strings firmware ships with when the
// maker did not fill in SMBIOS. They are compared case-insensitively after
// trimming.
var Placeholders = []string{
	"To be filled by O.E.M.",
	"To Be Filled By O.E.M.",
	"Default string",
	"System Product Name",
	"System manufacturer",
	"System Version",
	"System Serial Number",
	"System SKU",
	"SKU",
	"Not Applicable",
	"Not Specified",
	"Not Available",
	"N/A",
	"NA",
	"None",
	"Unknown",
	"Undefined",
	"0123456789",
	"123456789",
	"Type1ProductConfigId",
	"Type1Family",
	"OEM",
	"O.E.M.",
	"OEM Chassis Manufacturer",
	"Chassis Manufacturer",
	"Chassis Version",
	"Base Board Product Name",
	"Base Board Manufacturer",
	"Base Board Version",
	"Board Product Name",
	"Board Vendor",
	"x.x",
	"X.X",
	"Invalid",
	"Empty",
	"Product Name",
	"Manufacturer",
	"Family",
	"Default",
	"Not Defined",
	"Not Present",
	"INVALID",
	"*",
	"-",
	".",
	"0",
	"00000000",
	"FFFFFFFF",
}

// IsPlaceholder reports whether v is a factory placeholder.
func IsPlaceholder(v string) bool {
	t := strings.TrimSpace(v)
	for _, p := range Placeholders {
		if strings.EqualFold(t, p) {
			return true
		}
	}
	return false
}

func (p *Product) checkCHIDs(l *problem.List, raw []string) {
	for i, s := range raw {
		at := p.pos("chids", fmt.Sprint(i))
		field := fmt.Sprintf("chids[%d]", i)
		c, err := smbios.ParseCHID(s)
		if err != nil {
			p.add(l, field, at, "%q is not a GUID (want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", s)
			continue
		}
		if c.IsZero() {
			p.add(l, field, at, "the all-zero GUID targets nothing")
			continue
		}
		if slices.Contains(p.ExtraCHIDs, c) {
			p.add(l, field, at, "%s is listed twice", c)
			continue
		}
		p.ExtraCHIDs = append(p.ExtraCHIDs, c)
	}
}

var ringRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,31}$`)

func (p *Product) checkRings(l *problem.List) {
	at, present := yamlpos.Find(p.doc, "rings")
	if present && len(p.Rings) == 0 {
		p.add(l, "rings", at, "must list at least one ring (or be left out for %s)", strings.Join(DefaultRings, ", "))
		return
	}
	seen := map[string]bool{}
	for i, r := range p.Rings {
		at := p.pos("rings", fmt.Sprint(i))
		field := fmt.Sprintf("rings[%d]", i)
		switch {
		case !ringRE.MatchString(r):
			p.add(l, field, at, "ring name %q must be 1-32 letters and digits, starting with a letter (e.g. %s)", r, strings.Join(DefaultRings, ", "))
		case seen[strings.ToLower(r)]:
			p.add(l, field, at, "ring %q is listed twice", r)
		}
		seen[strings.ToLower(r)] = true
	}
}

// Option configures ValidateFiles.
type Option func(*options) error

type options struct {
	golden string
	logger *slog.Logger
}

// WithGoldenDump makes ValidateFiles check every product against the SMBIOS
// of a golden device, given as a `dmidecode --dump-bin` file: its six
// targeting fields must equal the product's, so a build configured
// differently from the registered product is caught before anything ships.
// Default: no golden device.
func WithGoldenDump(path string) Option {
	return func(o *options) error {
		if path == "" {
			return fmt.Errorf("golden dump path is empty")
		}
		o.golden = path
		return nil
	}
}

// WithLogger sets where ValidateFiles logs. Default: discard.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("logger is nil")
		}
		o.logger = l
		return nil
	}
}

// ValidateFiles loads every product file, checks the products against each
// other (two products targeted by the same CHID collide; names must be
// unique) and, with WithGoldenDump, against a golden device. Every problem in
// every file comes back in one problem.List; the products that loaded are
// returned either way.
func ValidateFiles(paths []string, opts ...Option) ([]*Product, error) {
	o := options{logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	var list problem.List
	var products []*Product
	for _, path := range paths {
		p, err := Load(path)
		if err != nil {
			ps := problem.As(err)
			switch {
			case ps != nil:
			case errors.Is(err, fs.ErrNotExist):
				ps = problem.List{{File: path, Rule: "file does not exist", Err: err}}
			default:
				ps = problem.List{{File: path, Rule: err.Error(), Err: err}}
			}
			list = append(list, ps...)
			continue
		}
		o.logger.Debug("product loaded", "file", path, "name", p.Name)
		products = append(products, p)
	}
	checkCollisions(&list, products)
	if o.golden != "" {
		checkGolden(&list, products, o.golden)
	}
	return products, list.Err()
}

func checkCollisions(l *problem.List, products []*Product) {
	byCHID := map[smbios.CHID]*Product{}
	byName := map[string]*Product{}
	for _, p := range products {
		if first, ok := byName[p.Name]; ok {
			p.add(l, "name", p.pos("name"), "product %q is also defined in %s", p.Name, first.File)
		} else {
			byName[p.Name] = p
		}
		tid, _ := p.TargetingID()
		for _, c := range p.Targets() {
			first, ok := byCHID[c]
			if !ok {
				byCHID[c] = p
				continue
			}
			field, at := "smbios", p.pos("smbios")
			what := fmt.Sprintf("targeting CHID %s (%s)", c, tid.Name)
			if !isTargeting(p, c) {
				idx := slices.Index(p.ExtraCHIDs, c)
				field, at = fmt.Sprintf("chids[%d]", idx), p.pos("chids", fmt.Sprint(idx))
				what = fmt.Sprintf("extra CHID %s", c)
			}
			p.add(l, field, at, "collision: %s is also targeted by product %q (%s); an update for one would reach the other", what, first.Name, first.File)
		}
	}
}

func isTargeting(p *Product, c smbios.CHID) bool {
	h, ok := p.TargetingID()
	return ok && h.GUID == c
}

func checkGolden(l *problem.List, products []*Product, path string) {
	info, err := smbios.ReadDump(context.Background(), path)
	if err != nil {
		l.Addf(path, 0, 0, "", "golden device: %v", err)
		return
	}
	if !info.Version.AtLeast(2, 4) {
		l.Addf(path, 0, 0, "", "golden device has SMBIOS %s; the Device Update Center requires 2.4 or later (Family and SKU appeared in 2.4)", info.Version)
	}
	for _, p := range products {
		for _, k := range smbiosKeys {
			want := smbios.Trim(k.get(&p.SMBIOS))
			got := smbios.Trim(k.get(&info.Fields))
			if want == got {
				continue
			}
			at, _ := yamlpos.Find(p.doc, "smbios", k.key)
			shown := fmt.Sprintf("%q", got)
			if got == "" {
				shown = "no value"
			}
			p.add(l, "smbios."+k.key, at, "golden device %s has %s, product has %q", path, shown, want)
		}
	}
}
