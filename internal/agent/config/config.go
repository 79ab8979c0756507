// Package config is the device agent's configuration: the JSON file
// installed with the device image (comments allowed, // to the end of a
// line), the defaults of each platform, and the flags that override it. It
// parses and checks the file, reporting every problem as FILE:LINE:COL:
// FIELD: RULE, and loads what the file names (the OEM's Authenticode
// roots, a ring's shipped TUF root). It does not scan, fetch or install.
package config

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/internal/agent/jsondoc"
	"github.com/devupdate/devupdate/internal/iox"
	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/manifest/update"
	"github.com/devupdate/devupdate/signer/authenticode"
	"github.com/devupdate/devupdate/smbios"
)

// ErrInvalid is wrapped by every problem of a configuration file (with
// problem.ErrInvalid).
var ErrInvalid = errors.New("invalid agent configuration")

// ErrNoRingRoot: the ring has no shipped root.json in the TUF roots
// directory, so the device cannot trust anything of it.
var ErrNoRingRoot = errors.New("no root.json shipped for the ring")

// Limits of what is read.
const (
	// MaxSize bounds the configuration file.
	MaxSize = 1 << 20
	// MaxRootSize bounds a shipped root.json (go-tuf's RootMaxLength).
	MaxRootSize = 512000
	// MaxPEMSize bounds a PEM file of roots.
	MaxPEMSize = 4 << 20
)

// DefaultRing is the ring of a device whose configuration names none.
const DefaultRing = "GeneralAvailability"

// DefaultOSPackage is the package name the OS build is reported under.
const DefaultOSPackage = "Windows.IoT.Core"

// Config is the agent's configuration. Paths are absolute once Load has
// resolved them against the file's directory.
type Config struct {
	// File is the configuration file ("" when built in code).
	File string
	// Server is the base URL of the CDN (where rings/ and targets/ are).
	Server string
	// Mirrors are further base URLs, tried in order when the server
	// cannot be reached.
	Mirrors []string
	// Ring is the device's ring (default GeneralAvailability).
	Ring string
	// TUFRoots is the directory of the shipped <ring>.root.json files
	// (devupdate flight init --out).
	TUFRoots string
	// ProductCHID, when set, overrides the targeting CHID the device
	// computes from its SMBIOS (smbios.Fields.TargetingID).
	ProductCHID *smbios.CHID
	// Authenticode is what a cabinet's signature must satisfy.
	Authenticode Authenticode
	// StateDir holds the installed-state record, the identity, the TUF
	// cache, downloads and reports.
	StateDir string
	// Handlers install each kind; a kind without one is not installed.
	Handlers map[update.Kind]Handler
	// ScanInterval and Jitter pace `run`: a scan every interval plus a
	// random part of the jitter.
	ScanInterval, Jitter time.Duration
	// ReportURL, when set, receives every report by POST.
	ReportURL string
	// Inventory is the base inventory: packages the device has without
	// the agent (on Linux the OS; on Windows the OS build is read from the
	// registry and added under OSPackage).
	Inventory map[string]update.Version
	// OSPackage names the OS in the inventory (default Windows.IoT.Core).
	OSPackage string
	// SMBIOS, when set, is a dump or JSON fields file read instead of the
	// machine's tables.
	SMBIOS string
	// RequestTimeout bounds one metadata request, and how long a download
	// may make no progress.
	RequestTimeout time.Duration
	// MaxExtractBytes caps what one cabinet may decompress to.
	MaxExtractBytes int64
	// MaxAttempts is how many times a failing install of one version is
	// tried before it is left alone until a newer version comes.
	MaxAttempts int

	policy *authenticode.Policy
}

// Authenticode is the signature policy of cabinets: the OEM's EV
// certificate, chaining to Roots, with one of Subjects.
type Authenticode struct {
	// Roots is a PEM file of the roots the OEM's EV chain builds to.
	Roots string
	// Subjects are the accepted signers (a common name or a whole RFC 2253
	// subject); several, so a renewed certificate can be rolled out.
	Subjects []string
	// OSVendorRoots is a PEM file of the OS vendor's roots, for the
	// vendor packages inside os updates (without it os updates are
	// refused).
	OSVendorRoots string
	// TimestampRoots is a PEM file of timestamp authority roots (default:
	// Roots).
	TimestampRoots string
	// OSVendorTimestampRoots is a PEM file of the roots of the timestamp
	// authorities the OS vendor's packages are timestamped by (default: the
	// system roots).
	OSVendorTimestampRoots string
}

// Handler installs one kind of update: Command is run with placeholders
// expanded (see Placeholders), for at most Timeout; its exit status 0 is
// success, and one of RebootExitCodes success pending a reboot. Installed,
// when set, is a command that exits 0 when the update is already installed
// (Azure Device Update's installedCriteria): it is run before Command, so
// an install interrupted after the handler finished is not run twice.
type Handler struct {
	Command         []string
	Installed       []string
	Timeout         time.Duration
	RebootExitCodes []int
}

// Placeholders are the names a handler's arguments may use as {name};
// the handler's environment carries each as DEVUPDATE_<NAME> too, which a
// shell or PowerShell command should prefer to quoting.
var Placeholders = []string{"dir", "cab", "name", "version", "kind", "inf", "package"}

// Defaults of the optional settings.
const (
	DefaultScanInterval   = time.Hour
	DefaultJitter         = 10 * time.Minute
	DefaultRequestTimeout = 30 * time.Second
	DefaultHandlerTimeout = 30 * time.Minute
	DefaultMaxAttempts    = 3
)

// wire is the file's shape.
type wire struct {
	Server       string   `json:"server"`
	Mirrors      []string `json:"mirrors"`
	Ring         string   `json:"ring"`
	TUFRoots     string   `json:"tuf_roots"`
	ProductCHID  string   `json:"product_chid"`
	Authenticode struct {
		Roots          string   `json:"roots"`
		Subjects       []string `json:"subjects"`
		OSVendorRoots  string   `json:"os_vendor_roots"`
		TimestampRoots string   `json:"timestamp_roots"`
		// OSVendorTimestampRoots: see Authenticode.
		OSVendorTimestampRoots string `json:"os_vendor_timestamp_roots"`
	} `json:"authenticode"`
	StateDir        string                 `json:"state_dir"`
	Handlers        map[string]wireHandler `json:"handlers"`
	ScanInterval    string                 `json:"scan_interval"`
	Jitter          string                 `json:"jitter"`
	ReportURL       string                 `json:"report_url"`
	Inventory       map[string]string      `json:"inventory"`
	OSPackage       string                 `json:"os_package"`
	SMBIOS          string                 `json:"smbios"`
	RequestTimeout  string                 `json:"request_timeout"`
	MaxExtractBytes *int64                 `json:"max_extract_bytes"`
	MaxAttempts     *int                   `json:"max_attempts"`
}

type wireHandler struct {
	Command         []string `json:"command"`
	Installed       []string `json:"installed"`
	Timeout         string   `json:"timeout"`
	RebootExitCodes []int    `json:"reboot_exit_codes"`
}

var (
	topKeys     = []string{"server", "mirrors", "ring", "tuf_roots", "product_chid", "authenticode", "state_dir", "handlers", "scan_interval", "jitter", "report_url", "inventory", "os_package", "smbios", "request_timeout", "max_extract_bytes", "max_attempts"}
	authKeys    = []string{"roots", "subjects", "os_vendor_roots", "timestamp_roots", "os_vendor_timestamp_roots"}
	handlerKeys = []string{"command", "installed", "timeout", "reboot_exit_codes"}
)

// known reports whether a path (split by jsondoc.Split) is a place of the
// schema. The names under handlers and inventory are checked as rules, not
// as keys.
func known(segs []string) bool {
	switch {
	case len(segs) == 1 || len(segs) == 2 && segs[1] == "[]":
		return slices.Contains(topKeys, segs[0])
	case segs[0] == "authenticode":
		return slices.Contains(authKeys, segs[1]) && (len(segs) == 2 || len(segs) == 3 && segs[2] == "[]")
	case segs[0] == "handlers":
		return len(segs) == 2 || slices.Contains(handlerKeys, segs[2]) && (len(segs) == 3 || len(segs) == 4 && segs[3] == "[]")
	case segs[0] == "inventory":
		return len(segs) == 2
	}
	return false
}

// Parse reads a configuration file's contents (named file in problems)
// without touching the file system: relative paths stay relative. Every
// problem is returned at once, as a problem.List wrapping ErrInvalid.
func Parse(file string, data []byte) (*Config, error) {
	c, _, err := parse(file, data)
	return c, err
}

// parse is Parse, also returning the document for later problems.
func parse(file string, data []byte) (*Config, *jsondoc.Doc, error) {
	var w wire
	d, err := jsondoc.Parse(file, stripComments(data), MaxSize, ErrInvalid, known, &w)
	if err != nil {
		return nil, nil, err
	}
	c := &Config{
		File: file, Server: w.Server, Mirrors: w.Mirrors, Ring: w.Ring, TUFRoots: w.TUFRoots,
		StateDir: w.StateDir, ReportURL: w.ReportURL, OSPackage: w.OSPackage, SMBIOS: w.SMBIOS,
		Authenticode: Authenticode{Roots: w.Authenticode.Roots, Subjects: w.Authenticode.Subjects,
			OSVendorRoots: w.Authenticode.OSVendorRoots, TimestampRoots: w.Authenticode.TimestampRoots,
			OSVendorTimestampRoots: w.Authenticode.OSVendorTimestampRoots},
		Handlers:        defaultHandlers(),
		ScanInterval:    DefaultScanInterval,
		Jitter:          DefaultJitter,
		RequestTimeout:  DefaultRequestTimeout,
		MaxExtractBytes: 8 << 30,
		MaxAttempts:     DefaultMaxAttempts,
		Inventory:       map[string]update.Version{},
	}
	baseURL := func(field, s string) {
		if err := checkBaseURL(s); err != nil {
			d.Add(field, err)
		}
	}
	if c.Server == "" {
		d.Add("server", errors.New("required: the base URL of the CDN the rings are served from"))
	} else {
		baseURL("server", c.Server)
	}
	for i, m := range c.Mirrors {
		baseURL(fmt.Sprintf("mirrors[%d]", i), m)
	}
	if c.Ring == "" {
		c.Ring = DefaultRing
	} else if !catalog.ValidRing(c.Ring) {
		d.Addf("ring", "%q is not a ring name (a letter, then up to 31 letters or digits)", c.Ring)
	}
	if c.TUFRoots == "" {
		d.Add("tuf_roots", errors.New("required: the directory of the shipped <ring>.root.json files"))
	}
	if w.ProductCHID != "" {
		chid, err := smbios.ParseCHID(w.ProductCHID)
		switch {
		case err != nil:
			d.Add("product_chid", err)
		case chid.IsZero():
			d.Addf("product_chid", "the all-zero CHID targets nothing")
		default:
			c.ProductCHID = &chid
		}
	}
	if c.Authenticode.Roots == "" {
		d.Add("authenticode.roots", errors.New("required: a PEM file of the roots the OEM's EV certificate chains to"))
	}
	if len(c.Authenticode.Subjects) == 0 {
		d.Add("authenticode.subjects", errors.New("required: the OEM's signer subject (a common name or an RFC 2253 subject)"))
	}
	for i, s := range c.Authenticode.Subjects {
		if strings.TrimSpace(s) == "" || strings.ContainsFunc(s, isControl) {
			d.Addf(fmt.Sprintf("authenticode.subjects[%d]", i), "must not be empty or hold control characters")
		}
	}
	for kind, h := range w.Handlers {
		field := jsondoc.Key("handlers", kind)
		k := update.Kind(kind)
		if !k.Valid() {
			d.Addf(field, "%q is not a kind: one of os, driver, app, ocp", kind)
			continue
		}
		hh, ok := parseHandler(d, field, h)
		if !ok {
			continue
		}
		if len(hh.Command) == 0 {
			delete(c.Handlers, k) // "command": [] turns a default off
			continue
		}
		c.Handlers[k] = hh
	}
	dur := func(field, s string, dst *time.Duration, minimum time.Duration) {
		if s == "" {
			return
		}
		v, err := time.ParseDuration(s)
		if err != nil || v < minimum {
			d.Addf(field, "%q must be a duration of at least %s (such as 1h, 10m, 30s)", s, minimum)
			return
		}
		*dst = v
	}
	dur("scan_interval", w.ScanInterval, &c.ScanInterval, time.Minute)
	if w.Jitter == "0" || w.Jitter == "0s" {
		c.Jitter = 0
	} else {
		dur("jitter", w.Jitter, &c.Jitter, time.Second)
	}
	if c.Jitter > c.ScanInterval {
		d.Addf("jitter", "%s is longer than the scan interval %s", c.Jitter, c.ScanInterval)
	}
	dur("request_timeout", w.RequestTimeout, &c.RequestTimeout, time.Second)
	if c.ReportURL != "" {
		if u, err := url.Parse(c.ReportURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			d.Addf("report_url", "%q is not an http(s) URL", c.ReportURL)
		}
	}
	for name, v := range w.Inventory {
		field := jsondoc.Key("inventory", name)
		if err := update.CheckName(name); err != nil {
			d.Addf(field, "%q is not a package name (Owner.Component[.SubComponent])", name)
			continue
		}
		ver, err := update.ParseVersion(v)
		if err != nil {
			d.Add(field, err)
			continue
		}
		c.Inventory[name] = ver
	}
	if c.OSPackage == "" {
		c.OSPackage = DefaultOSPackage
	} else if err := update.CheckName(c.OSPackage); err != nil {
		d.Addf("os_package", "%q is not a package name (Owner.Component[.SubComponent])", c.OSPackage)
	}
	if w.MaxExtractBytes != nil {
		if *w.MaxExtractBytes < 1 {
			d.Addf("max_extract_bytes", "must be at least 1")
		} else {
			c.MaxExtractBytes = *w.MaxExtractBytes
		}
	}
	if w.MaxAttempts != nil {
		if *w.MaxAttempts < 1 || *w.MaxAttempts > 100 {
			d.Addf("max_attempts", "must be 1 to 100")
		} else {
			c.MaxAttempts = *w.MaxAttempts
		}
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir()
	}
	if err := d.Err(); err != nil {
		return nil, nil, err
	}
	return c, d, nil
}

func parseHandler(d *jsondoc.Doc, field string, w wireHandler) (Handler, bool) {
	h := Handler{Command: w.Command, Installed: w.Installed, Timeout: DefaultHandlerTimeout, RebootExitCodes: w.RebootExitCodes}
	ok := true
	for _, c := range []struct {
		name string
		argv []string
	}{{"command", w.Command}, {"installed", w.Installed}} {
		if d.Has(field+"."+c.name) && len(c.argv) > 0 && strings.TrimSpace(c.argv[0]) == "" {
			d.Addf(field+"."+c.name+"[0]", "the program must not be empty")
			ok = false
		}
		for i, a := range c.argv {
			if err := checkPlaceholders(a); err != nil {
				d.Add(fmt.Sprintf("%s.%s[%d]", field, c.name, i), err)
				ok = false
			}
		}
	}
	if len(w.Command) == 0 && len(w.Installed) > 0 {
		d.Addf(field+".installed", "an installed check needs a command to install with")
		ok = false
	}
	if w.Timeout != "" {
		t, err := time.ParseDuration(w.Timeout)
		if err != nil || t < time.Second {
			d.Addf(field+".timeout", "%q must be a duration of at least 1s", w.Timeout)
			ok = false
		}
		h.Timeout = t
	}
	if w.RebootExitCodes == nil {
		h.RebootExitCodes = defaultRebootCodes()
	}
	for i, code := range w.RebootExitCodes {
		if code == 0 {
			d.Addf(fmt.Sprintf("%s.reboot_exit_codes[%d]", field, i), "0 is success without a reboot")
			ok = false
		}
	}
	return h, ok
}

var placeholderRE = regexp.MustCompile(`\{[^{}]*\}`)

// checkPlaceholders refuses an argument naming a placeholder that does not
// exist, so a typo fails at load time, not at install time.
func checkPlaceholders(arg string) error {
	for _, m := range placeholderRE.FindAllString(arg, -1) {
		if name := m[1 : len(m)-1]; !slices.Contains(Placeholders, name) {
			return fmt.Errorf("unknown placeholder %s (known: {%s})", m, strings.Join(Placeholders, "}, {"))
		}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q is not an http(s) base URL", s)
	}
	return nil
}

// stripComments blanks out // comments outside strings, keeping every
// other byte (and so every offset and line) where it was.
func stripComments(data []byte) []byte {
	out := []byte(nil)
	inString, escaped := false, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '/' && i+1 < len(data) && data[i+1] == '/':
			if out == nil {
				out = append([]byte(nil), data...)
			}
			for ; i < len(data) && data[i] != '\n'; i++ {
				out[i] = ' '
			}
		}
	}
	if out == nil {
		return data
	}
	return out
}

// Load reads the configuration file at path (bounded), parses it, resolves
// its relative paths against its directory and loads the Authenticode
// roots it names. Problems with those files are reported at the field
// naming them.
func Load(ctx context.Context, path string) (*Config, error) {
	data, err := iox.ReadFile(ctx, path, MaxSize)
	if errors.Is(err, iox.ErrTooLarge) {
		return nil, problem.List{{File: path, Rule: fmt.Sprintf("larger than the %d-byte limit", MaxSize), Err: ErrInvalid}}
	}
	if err != nil {
		return nil, err
	}
	c, d, err := parse(path, data)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	for _, p := range []*string{&c.TUFRoots, &c.Authenticode.Roots, &c.Authenticode.OSVendorRoots, &c.Authenticode.TimestampRoots, &c.Authenticode.OSVendorTimestampRoots, &c.StateDir, &c.SMBIOS} {
		abs(p)
	}
	if err := c.loadPolicy(ctx, d); err != nil {
		return nil, err
	}
	return c, nil
}

// loadPolicy reads the PEM files of the Authenticode policy; problems are
// added to d at the fields naming the files.
func (c *Config) loadPolicy(ctx context.Context, d *jsondoc.Doc) error {
	p := &authenticode.Policy{RequireSubjects: c.Authenticode.Subjects} // EV: the policy's default
	for _, f := range []struct {
		field, path string
		dst         **x509.CertPool
	}{
		{"authenticode.roots", c.Authenticode.Roots, &p.Roots},
		{"authenticode.os_vendor_roots", c.Authenticode.OSVendorRoots, &p.OSVendorRoots},
		{"authenticode.timestamp_roots", c.Authenticode.TimestampRoots, &p.TimestampRoots},
		{"authenticode.os_vendor_timestamp_roots", c.Authenticode.OSVendorTimestampRoots, &p.OSVendorTimestampRoots},
	} {
		if f.path == "" {
			continue
		}
		pool, err := LoadPEMRoots(ctx, f.path)
		if err != nil {
			d.Add(f.field, err)
			continue
		}
		*f.dst = pool
	}
	if err := d.Err(); err != nil {
		return err
	}
	c.policy = p
	return nil
}

// LoadPEMRoots reads a PEM file of certificates (bounded) into a pool.
func LoadPEMRoots(ctx context.Context, path string) (*x509.CertPool, error) {
	data, err := iox.ReadFile(ctx, path, MaxPEMSize)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", path)
	}
	return pool, nil
}

// Policy is the Authenticode policy every cabinet must satisfy: EV, the
// OEM's roots, one of its subjects (and the OS vendor's roots for the
// packages of an os update). A Config not made by Load has none until
// SetRoots.
func (c *Config) Policy() (authenticode.Policy, error) {
	if c.policy == nil || c.policy.Roots == nil {
		return authenticode.Policy{}, fmt.Errorf("%w: no Authenticode roots loaded", ErrInvalid)
	}
	return *c.policy, nil
}

// SetRoots gives a Config built in code (tests, a fleet simulator) the
// certificate pools its file would name: the OEM's roots, the OS vendor's
// and the timestamp authorities' (nil: none). The policy requires EV and
// the configured subjects, as Load's does.
func (c *Config) SetRoots(roots, osVendorRoots, timestampRoots *x509.CertPool) {
	c.policy = &authenticode.Policy{Roots: roots, OSVendorRoots: osVendorRoots, TimestampRoots: timestampRoots,
		RequireSubjects: c.Authenticode.Subjects}
}

// RingRoot reads the shipped root.json of ring: TUFRoots/<ring>.root.json.
func (c *Config) RingRoot(ctx context.Context, ring string) ([]byte, error) {
	if !catalog.ValidRing(ring) {
		return nil, fmt.Errorf("%w: %q is not a ring name", ErrNoRingRoot, ring)
	}
	p := filepath.Join(c.TUFRoots, ring+".root.json")
	data, err := iox.ReadFile(ctx, p, MaxRootSize)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w %s (devupdate flight init --out writes it)", p, ErrNoRingRoot, ring)
	}
	return data, err
}

// Overrides are the flags that override the file; a zero field keeps the
// file's value.
type Overrides struct {
	Server      string
	Mirrors     []string
	Ring        string
	StateDir    string
	SMBIOS      string
	ProductCHID string
}

// OverrideError is a flag whose value breaks the rule of the setting it
// overrides.
type OverrideError struct {
	Flag, Reason string
}

func (e *OverrideError) Error() string { return e.Flag + ": " + e.Reason }

// Override applies o to c; a bad value is an *OverrideError naming the flag.
func (c *Config) Override(o Overrides) error {
	if o.Server != "" {
		if err := checkBaseURL(o.Server); err != nil {
			return &OverrideError{"--server", err.Error()}
		}
		c.Server = o.Server
	}
	for _, m := range o.Mirrors {
		if err := checkBaseURL(m); err != nil {
			return &OverrideError{"--mirror", err.Error()}
		}
	}
	if o.Mirrors != nil {
		c.Mirrors = o.Mirrors
	}
	if o.Ring != "" {
		if !catalog.ValidRing(o.Ring) {
			return &OverrideError{"--ring", fmt.Sprintf("%q is not a ring name", o.Ring)}
		}
		c.Ring = o.Ring
	}
	if o.StateDir != "" {
		c.StateDir = o.StateDir
	}
	if o.SMBIOS != "" {
		c.SMBIOS = o.SMBIOS
	}
	if o.ProductCHID != "" {
		chid, err := smbios.ParseCHID(o.ProductCHID)
		if err != nil || chid.IsZero() {
			return &OverrideError{"--product-chid", fmt.Sprintf("%q is not a CHID", o.ProductCHID)}
		}
		c.ProductCHID = &chid
	}
	return nil
}

// BaseURLs are the server then the mirrors.
func (c *Config) BaseURLs() []string { return append([]string{c.Server}, c.Mirrors...) }

// MarshalJSON is for status: the settings in the file's shape.
func (c *Config) MarshalJSON() ([]byte, error) {
	type out struct {
		Server   string   `json:"server"`
		Mirrors  []string `json:"mirrors"`
		Ring     string   `json:"ring"`
		StateDir string   `json:"state_dir"`
	}
	return json.Marshal(out{c.Server, append([]string{}, c.Mirrors...), c.Ring, c.StateDir})
}
