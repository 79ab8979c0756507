package flight

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/smbios"
)

// Store keys of the publishing side's own records (devices never read them).
const (
	registryKey = "flight/registry.json"
	ledgerDir   = "flight/updates"
)

// Size limits of the documents flight reads back from the store.
const (
	maxRegistry = 16 << 20
	maxLedger   = 4 << 20
)

// Duration is a time.Duration written as Go duration text ("24h", "0s").
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("negative duration %s", b)
	}
	*d = Duration(v)
	return nil
}

// Expiry is how long each role's metadata stays valid after it is signed.
type Expiry struct {
	Root      Duration `json:"root"`
	Targets   Duration `json:"targets"`
	Snapshot  Duration `json:"snapshot"`
	Timestamp Duration `json:"timestamp"`
}

// DefaultExpiry: timestamp a day (a scheduled refresh re-signs it), snapshot
// a week, targets 90 days, root a year.
var DefaultExpiry = Expiry{
	Root:      Duration(365 * 24 * time.Hour),
	Targets:   Duration(90 * 24 * time.Hour),
	Snapshot:  Duration(7 * 24 * time.Hour),
	Timestamp: Duration(24 * time.Hour),
}

func (e Expiry) of(role string) time.Duration {
	switch role {
	case "root":
		return time.Duration(e.Root)
	case "targets":
		return time.Duration(e.Targets)
	case "snapshot":
		return time.Duration(e.Snapshot)
	}
	return time.Duration(e.Timestamp)
}

func (e Expiry) validate() error {
	for _, role := range Roles {
		if e.of(role) < time.Minute {
			return fmt.Errorf("%w: %s expiry %v is under a minute", ErrConfig, role, e.of(role))
		}
	}
	if e.Timestamp > e.Snapshot {
		return fmt.Errorf("%w: timestamp expiry %v is longer than snapshot expiry %v", ErrConfig, time.Duration(e.Timestamp), time.Duration(e.Snapshot))
	}
	if e.Snapshot > e.Targets && e.Snapshot > e.Root {
		return fmt.Errorf("%w: snapshot expiry %v is longer than both targets and root expiry", ErrConfig, time.Duration(e.Snapshot))
	}
	return nil
}

// set changes one role's expiry.
func (e *Expiry) set(role string, d Duration) error {
	switch role {
	case "root":
		e.Root = d
	case "targets":
		e.Targets = d
	case "snapshot":
		e.Snapshot = d
	case "timestamp":
		e.Timestamp = d
	default:
		return fmt.Errorf("%w: no role %q (roles: root, targets, snapshot, timestamp)", ErrConfig, role)
	}
	return nil
}

// RingConfig is one ring's settings.
type RingConfig struct {
	Name string `json:"name"`
	// Soak is how long an update must have been in this ring before it
	// may be promoted out of it (default 0).
	Soak   Duration `json:"soak"`
	Expiry Expiry   `json:"expiry"`
	// Changed is who last changed the settings after the ring was
	// created, when and why (nil if never).
	Changed *SettingsChange `json:"changed,omitempty"`
}

// SettingsChange records a change of a ring's settings.
type SettingsChange struct {
	Actor  string    `json:"actor"`
	Time   time.Time `json:"time"`
	Reason string    `json:"reason"`
}

// RingSettings are settings asked for a ring; a nil Soak and an absent role
// leave what the ring has (or the default, for a new ring).
type RingSettings struct {
	Soak   *Duration
	Expiry map[string]Duration
}

// apply returns c with the settings applied.
func (s RingSettings) apply(c RingConfig) (RingConfig, error) {
	if s.Soak != nil {
		c.Soak = *s.Soak
	}
	for role, d := range s.Expiry {
		if err := c.Expiry.set(role, d); err != nil {
			return c, err
		}
	}
	return c, c.Expiry.validate()
}

// differences names the settings in which c and d differ.
func (c RingConfig) differences(d RingConfig) []string {
	var out []string
	if c.Soak != d.Soak {
		out = append(out, fmt.Sprintf("soak %v (asked %v)", time.Duration(c.Soak), time.Duration(d.Soak)))
	}
	for _, role := range Roles {
		if a, b := c.Expiry.of(role), d.Expiry.of(role); a != b {
			out = append(out, fmt.Sprintf("%s expiry %v (asked %v)", role, a, b))
		}
	}
	return out
}

// ProductInfo is a registered product: its name, the targeting CHID that
// keys its repositories, every CHID it is targeted by, and its rings in
// promotion order.
type ProductInfo struct {
	Name    string        `json:"name"`
	CHID    smbios.CHID   `json:"chid"`
	Targets []smbios.CHID `json:"targets"`
	Rings   []string      `json:"rings"`
}

// Registry is the store's flight configuration: the rings in order and the
// registered products. It lives at flight/registry.json and is replaced by
// compare-and-swap.
type Registry struct {
	Rings    []RingConfig  `json:"rings"`
	Products []ProductInfo `json:"products"`
}

// Ring returns the configuration of a ring.
func (r *Registry) Ring(name string) (*RingConfig, error) {
	for i := range r.Rings {
		if r.Rings[i].Name == name {
			return &r.Rings[i], nil
		}
	}
	return nil, fmt.Errorf("%w: %q (rings: %s)", ErrUnknownRing, name, r.ringNames())
}

func (r *Registry) ringNames() []string {
	var out []string
	for _, c := range r.Rings {
		out = append(out, c.Name)
	}
	return out
}

// productsIn returns the products that use ring.
func (r *Registry) productsIn(ring string) []ProductInfo {
	var out []ProductInfo
	for _, p := range r.Products {
		if slices.Contains(p.Rings, ring) {
			out = append(out, p)
		}
	}
	return out
}

// targeted returns the registered products an update aimed at targets
// reaches: those one of whose CHIDs it names.
func (r *Registry) targeted(targets []smbios.CHID) []ProductInfo {
	var out []ProductInfo
	for _, p := range r.Products {
		if slices.ContainsFunc(p.Targets, func(c smbios.CHID) bool { return slices.Contains(targets, c) }) {
			out = append(out, p)
		}
	}
	return out
}

// getJSON reads the JSON document at key, at most limit bytes, into v and
// returns its Info (for compare-and-swap).
func getJSON(ctx context.Context, s cdn.Store, key string, limit int64, v any) (cdn.Info, error) {
	data, info, err := getBounded(ctx, s, key, limit)
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return info, fmt.Errorf("%s: %w: %w", key, ErrCorrupt, err)
	}
	return info, nil
}

// getBounded reads a whole blob that must not exceed limit bytes.
func getBounded(ctx context.Context, s cdn.Store, key string, limit int64) ([]byte, cdn.Info, error) {
	rc, info, err := s.Get(ctx, key, cdn.Range{})
	if err != nil {
		return nil, info, err
	}
	defer rc.Close()
	if info.Size > limit {
		return nil, info, fmt.Errorf("%s: %w: %d bytes, over the %d-byte limit", key, ErrCorrupt, info.Size, limit)
	}
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, info, fmt.Errorf("reading %s: %w", key, err)
	}
	if int64(len(data)) > limit {
		return nil, info, fmt.Errorf("%s: %w: over the %d-byte limit", key, ErrCorrupt, limit)
	}
	return data, info, nil
}

func encodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// readRegistry returns the store's registry and its ETag; ErrNotInitialised
// when flight init has not run.
func readRegistry(ctx context.Context, s cdn.Store) (*Registry, string, error) {
	var reg Registry
	info, err := getJSON(ctx, s, registryKey, maxRegistry, &reg)
	if errors.Is(err, cdn.ErrNotFound) {
		return nil, "", ErrNotInitialised
	}
	if err != nil {
		return nil, "", err
	}
	if err := reg.validate(); err != nil {
		return nil, "", fmt.Errorf("%s: %w: %w", registryKey, ErrCorrupt, err)
	}
	return &reg, info.ETag, nil
}

// validate checks what a registry read back from the store must satisfy.
func (r *Registry) validate() error {
	seen := map[string]bool{}
	for _, c := range r.Rings {
		if !catalog.ValidRing(c.Name) || seen[c.Name] {
			return fmt.Errorf("ring %q invalid or repeated", c.Name)
		}
		seen[c.Name] = true
		if err := c.Expiry.validate(); err != nil {
			return fmt.Errorf("ring %s: %w", c.Name, err)
		}
	}
	chids := map[smbios.CHID]bool{}
	for _, p := range r.Products {
		if p.CHID.IsZero() || chids[p.CHID] || len(p.Rings) == 0 || !slices.Contains(p.Targets, p.CHID) {
			return fmt.Errorf("product %q: CHID missing, repeated or not among its targets, or no rings", p.Name)
		}
		chids[p.CHID] = true
		for _, ring := range p.Rings {
			if !seen[ring] {
				return fmt.Errorf("product %q: unknown ring %q", p.Name, ring)
			}
		}
	}
	return nil
}

// LedgerVersion is one version of an update ever added to any ring.
type LedgerVersion struct {
	Version   catalog.Version `json:"version"`
	SHA256    string          `json:"sha256"`
	Length    int64           `json:"length"`
	Downgrade bool            `json:"downgrade,omitempty"`
	Kind      string          `json:"kind"`
	Targets   []smbios.CHID   `json:"targets"`
	Added     time.Time       `json:"added"`
	Actor     string          `json:"actor"`
}

// ledger records every version of one update name ever added, so that a
// version is never reused with other bytes and never lower than one before
// it (unless explicitly a downgrade). flight/updates/<name>.json, replaced by
// compare-and-swap.
type ledger struct {
	Name     string          `json:"name"`
	Versions []LedgerVersion `json:"versions"`
}

func ledgerKey(name string) string { return ledgerDir + "/" + name + ".json" }

// record enters a version in the name's ledger: idempotent for the same
// bytes, refused for other bytes under a used version (ErrDuplicateVersion)
// and for a version not above every earlier one unless downgrade
// (ErrVersionNotHigher).
func record(ctx context.Context, s cdn.Store, name string, lv LedgerVersion) error {
	key := ledgerKey(name)
	for {
		var l ledger
		info, err := getJSON(ctx, s, key, maxLedger, &l)
		etag := info.ETag
		switch {
		case errors.Is(err, cdn.ErrNotFound):
			l, etag = ledger{Name: name}, ""
		case err != nil:
			return err
		}
		var highest *LedgerVersion
		for i, v := range l.Versions {
			if v.Version == lv.Version {
				if v.SHA256 != lv.SHA256 || v.Length != lv.Length {
					return fmt.Errorf("%w: %s %s was added with sha256 %s; this cabinet is %s: build a higher version",
						ErrDuplicateVersion, name, lv.Version, v.SHA256, lv.SHA256)
				}
				return nil
			}
			if highest == nil || v.Version.Compare(highest.Version) > 0 {
				highest = &l.Versions[i]
			}
		}
		if highest != nil && lv.Version.Compare(highest.Version) < 0 && !lv.Downgrade {
			return fmt.Errorf("%w: %s %s is not higher than %s, added before (roll forward with a higher version, or --allow-downgrade)",
				ErrVersionNotHigher, name, lv.Version, highest.Version)
		}
		l.Versions = append(l.Versions, lv)
		body, err := encodeJSON(l)
		if err != nil {
			return err
		}
		_, err = cdn.PutPointer(ctx, s, key, body, etag, cdn.WithMaxAge(time.Minute))
		if errors.Is(err, cdn.ErrExists) || errors.Is(err, cdn.ErrPreconditionFailed) {
			continue // another writer recorded a version first: check again
		}
		return err
	}
}

// ledgerVersions returns what the ledger holds for name (nil if nothing).
func ledgerVersions(ctx context.Context, s cdn.Store, name string) ([]LedgerVersion, error) {
	var l ledger
	_, err := getJSON(ctx, s, ledgerKey(name), maxLedger, &l)
	if errors.Is(err, cdn.ErrNotFound) {
		return nil, nil
	}
	return l.Versions, err
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
