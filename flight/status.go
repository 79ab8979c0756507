package flight

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/smbios"
)

// RingStatus is what a ring holds and how its metadata stands.
type RingStatus struct {
	Ring string `json:"ring"`
	// MetadataBase is the metadata path of each product's repository,
	// relative to the store's root, with {chid} standing for the product's
	// targeting CHID; TargetsBase is the targets path. A device's TUF
	// client is configured with both.
	MetadataBase string   `json:"metadata_base"`
	TargetsBase  string   `json:"targets_base"`
	Soak         Duration `json:"soak"`
	// SettingsChanged is the last change of the ring's settings (flight
	// rings set), if any.
	SettingsChanged *SettingsChange `json:"settings_changed,omitempty"`
	RootVersion     int64           `json:"root_version"`
	Expires         []RoleExpiry    `json:"expires"`
	Updates         []UpdateStatus  `json:"updates"`
	Products        []ProductStatus `json:"products"`
}

// RoleExpiry is the earliest expiry of a role across the ring's
// repositories, and whether it falls inside the role's warning window.
type RoleExpiry struct {
	Role    string    `json:"role"`
	Expires time.Time `json:"expires"`
	// WarnWithin is the role's warning window (see WarnWithin).
	WarnWithin Duration `json:"warn_within"`
	Warning    bool     `json:"warning"`
}

// WarnWithin is, per role, how long before its expiry Status flags a role's
// metadata. A role it does not name gets the default: a quarter of the
// role's lifetime in the ring (Expiry). flight refresh re-signs timestamp
// and snapshot once half their lifetime has passed, so a ring refreshed at
// least every quarter lifetime (6 hours for a one-day timestamp) is never
// flagged, while one whose refresh job stopped is, a quarter of the
// lifetime before devices start refusing it. Targets and root (offline
// keys) are flagged a quarter of their lifetime ahead too.
type WarnWithin map[string]time.Duration

// DefaultWarnFraction is the share of a role's lifetime that is its
// default warning window.
const DefaultWarnFraction = 0.25

// Validate checks that w names only TUF roles and no negative windows.
func (w WarnWithin) Validate() error {
	for role, d := range w {
		if !slices.Contains(Roles, role) {
			return fmt.Errorf("%w: warning window for %q: the role must be root, targets, snapshot or timestamp", ErrConfig, role)
		}
		if d < 0 {
			return fmt.Errorf("%w: warning window for %s is negative", ErrConfig, role)
		}
	}
	return nil
}

// window is the warning window of role in a ring whose expiry is e.
func (w WarnWithin) window(role string, e Expiry) time.Duration {
	if d, ok := w[role]; ok {
		return d
	}
	return time.Duration(float64(e.of(role)) * DefaultWarnFraction)
}

// ProductStatus is one product's repository in a ring.
type ProductStatus struct {
	Name           string      `json:"name"`
	CHID           smbios.CHID `json:"chid"`
	MetadataDir    string      `json:"metadata_dir"`
	TargetsVersion int64       `json:"targets_version"`
}

// UpdateStatus is one update in a ring.
type UpdateStatus struct {
	Name      string         `json:"name"`
	Version   string         `json:"version"`
	Kind      string         `json:"kind"`
	State     catalog.State  `json:"state"`
	Percent   int            `json:"percent"`
	Downgrade bool           `json:"downgrade,omitempty"`
	Since     time.Time      `json:"since"`
	Change    catalog.Change `json:"last_change"`
	SHA256    string         `json:"sha256"`
	Length    int64          `json:"length"`
	Products  []string       `json:"products"`
	Mixed     bool           `json:"mixed,omitempty"` // products disagree (a change was interrupted: re-run it)
	entry     *catalog.Entry `json:"-"`
}

// Status reports every ring (or only ring, when not empty). A role whose
// earliest expiry falls within its warning window (warn, else the default)
// is flagged.
func (f *Flight) Status(ctx context.Context, ring string, warn WarnWithin) ([]RingStatus, error) {
	if err := warn.Validate(); err != nil {
		return nil, err
	}
	reg, _, err := readRegistry(ctx, f.s)
	if err != nil {
		return nil, err
	}
	var out []RingStatus
	for _, cfg := range reg.Rings {
		if ring != "" && cfg.Name != ring {
			continue
		}
		rs, err := f.ringStatus(ctx, reg, &cfg, warn)
		if err != nil {
			return nil, err
		}
		out = append(out, *rs)
	}
	if ring != "" && len(out) == 0 {
		_, err := reg.Ring(ring)
		return nil, err
	}
	return out, nil
}

func (f *Flight) ringStatus(ctx context.Context, reg *Registry, cfg *RingConfig, warn WarnWithin) (*RingStatus, error) {
	root, err := f.ringRoot(ctx, cfg.Name)
	if err != nil {
		return nil, err
	}
	rs := &RingStatus{
		Ring: cfg.Name, MetadataBase: catalog.RingDir(cfg.Name) + "/{chid}", TargetsBase: catalog.TargetsDir,
		Soak: cfg.Soak, SettingsChanged: cfg.Changed, RootVersion: root.Signed.Version,
		Expires: []RoleExpiry{}, Updates: []UpdateStatus{}, Products: []ProductStatus{},
	}
	earliest := map[string]time.Time{metadata.ROOT: root.Signed.Expires}
	min := func(role string, t time.Time) {
		if e, ok := earliest[role]; !ok || t.Before(e) {
			earliest[role] = t
		}
	}
	byPath := map[string]*UpdateStatus{}
	products := reg.productsIn(cfg.Name)
	states := make([]*repoState, len(products))
	err = each(ctx, f.o.concurrency, len(products), func(ctx context.Context, i int) error {
		st, err := f.readRepo(ctx, cfg.Name, products[i].CHID, root)
		if err != nil {
			return fmt.Errorf("%s in %s: %w", products[i].Name, cfg.Name, err)
		}
		states[i] = st
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, p := range products {
		st := states[i]
		min(metadata.TIMESTAMP, st.ts.Signed.Expires)
		min(metadata.SNAPSHOT, st.snap.Signed.Expires)
		min(metadata.TARGETS, st.targets.Signed.Expires)
		rs.Products = append(rs.Products, ProductStatus{Name: p.Name, CHID: p.CHID, MetadataDir: st.dir, TargetsVersion: st.targets.Signed.Version})
		entries, err := entriesOf(versioned(st.dir, st.targets.Signed.Version, "targets"), st.targets)
		if err != nil {
			return nil, err
		}
		for path, e := range entries {
			tf := st.targets.Signed.Targets[path]
			u, ok := byPath[path]
			if !ok {
				u = &UpdateStatus{
					Name: e.Name, Version: e.Version.String(), Kind: e.Kind, State: e.Rollout.State, Percent: e.Rollout.Percent,
					Downgrade: e.Downgrade, Since: e.Since, Change: e.Change, Length: tf.Length,
					SHA256: hex.EncodeToString(tf.Hashes["sha256"]), entry: e,
				}
				byPath[path] = u
			} else if u.State != e.Rollout.State || u.Percent != e.Rollout.Percent {
				u.Mixed = true
			}
			if e.Change.Time.After(u.Change.Time) {
				u.Change = e.Change
			}
			u.Products = append(u.Products, p.Name)
		}
	}
	for _, role := range Roles {
		if t, ok := earliest[role]; ok {
			w := warn.window(role, cfg.Expiry)
			rs.Expires = append(rs.Expires, RoleExpiry{Role: role, Expires: t, WarnWithin: Duration(w), Warning: t.Sub(f.o.now()) < w})
		}
	}
	for _, u := range byPath {
		rs.Updates = append(rs.Updates, *u)
	}
	slices.SortFunc(rs.Updates, func(a, b UpdateStatus) int {
		if c := cmpString(a.Name, b.Name); c != 0 {
			return c
		}
		return a.entry.Version.Compare(b.entry.Version)
	})
	return rs, nil
}

// Event is one entry of the audit trail: a change to an update in a ring,
// as recorded in a signed targets version of a product's repository.
//
// A key rotation is an event of the ring as a whole (ActionRotate, from the
// signed root version it wrote): it names RootVersion, and no product,
// update or state.
type Event struct {
	Ring           string         `json:"ring"`
	Product        string         `json:"product,omitempty"`
	TargetsVersion int64          `json:"targets_version,omitempty"`
	RootVersion    int64          `json:"root_version,omitempty"`
	Name           string         `json:"name,omitempty"`
	Version        string         `json:"version,omitempty"`
	Change         catalog.Change `json:"change"`
	State          catalog.State  `json:"state,omitempty"`
	Percent        int            `json:"percent,omitempty"`
}

// History returns the audit trail of every ring (or ring), optionally of
// one update name, oldest first. It walks each product repository's
// committed targets versions back from the current one (each names the
// version it was derived from), verifying every one against the ring's
// root: the trail cannot be rewritten without the ring's targets key.
func (f *Flight) History(ctx context.Context, ring, name string) ([]Event, error) {
	reg, _, err := readRegistry(ctx, f.s)
	if err != nil {
		return nil, err
	}
	if ring != "" {
		if _, err := reg.Ring(ring); err != nil {
			return nil, err
		}
	}
	// With a name, only the repositories of products it ever targeted.
	var targeted []ProductInfo
	if name != "" {
		versions, err := ledgerVersions(ctx, f.s, name)
		if err != nil {
			return nil, err
		}
		for _, v := range versions {
			targeted = append(targeted, reg.targeted(v.Targets)...)
		}
	}
	var events []Event
	for _, cfg := range reg.Rings {
		if ring != "" && cfg.Name != ring {
			continue
		}
		root, err := f.ringRoot(ctx, cfg.Name)
		if err != nil {
			return nil, err
		}
		if name == "" {
			rotations, err := f.rootHistory(ctx, cfg.Name, root.Signed.Version)
			if err != nil {
				return nil, err
			}
			events = append(events, rotations...)
		}
		var products []ProductInfo
		for _, p := range reg.productsIn(cfg.Name) {
			if name == "" || slices.ContainsFunc(targeted, func(q ProductInfo) bool { return q.CHID == p.CHID }) {
				products = append(products, p) // else the update never targeted this product
			}
		}
		perProduct := make([][]Event, len(products))
		err = each(ctx, f.o.concurrency, len(products), func(ctx context.Context, i int) error {
			var err error
			perProduct[i], err = f.repoHistory(ctx, cfg.Name, products[i], root, name)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, evs := range perProduct {
			events = append(events, evs...)
		}
	}
	// Oldest first; within one second, in ring order (an update enters a
	// ring before the next), then in the order the versions were signed.
	ringIndex := func(r string) int { return slices.IndexFunc(reg.Rings, func(c RingConfig) bool { return c.Name == r }) }
	slices.SortStableFunc(events, func(a, b Event) int {
		if c := a.Change.Time.Compare(b.Change.Time); c != 0 {
			return c
		}
		if c := ringIndex(a.Ring) - ringIndex(b.Ring); c != 0 {
			return c
		}
		if c := cmpString(a.Product, b.Product); c != 0 {
			return c
		}
		return int(a.TargetsVersion - b.TargetsVersion)
	})
	return events, nil
}

func (f *Flight) repoHistory(ctx context.Context, ring string, p ProductInfo, root *metadata.Metadata[metadata.RootType], name string) ([]Event, error) {
	st, err := f.readRepo(ctx, ring, p.CHID, root)
	if err != nil {
		return nil, err
	}
	var chain []*metadata.Metadata[metadata.TargetsType]
	cur := st.targets
	for {
		chain = append(chain, cur)
		prev, ok := cur.Signed.UnrecognizedFields[previousField].(float64)
		if !ok || prev < 1 || int64(prev) >= cur.Signed.Version {
			break
		}
		key := versioned(st.dir, int64(prev), "targets")
		data, _, err := getBounded(ctx, f.s, key, maxTargets)
		if errors.Is(err, cdn.ErrNotFound) {
			return nil, fmt.Errorf("%s: %w: the audit trail names a missing version", key, ErrCorrupt)
		}
		if err != nil {
			return nil, err
		}
		md, err := metadata.Targets().FromBytes(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %w", key, ErrCorrupt, err)
		}
		if err := verifyHistoric(ctx, f, ring, root, key, md); err != nil {
			return nil, err
		}
		if err := catalog.CheckRepository(key, md, ring, p.CHID); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		cur = md
	}
	type last struct {
		change  catalog.Change
		rollout catalog.Rollout
	}
	var events []Event
	seen := map[string]last{}
	for i := len(chain) - 1; i >= 0; i-- {
		md := chain[i]
		entries, err := entriesOf(versioned(st.dir, md.Signed.Version, "targets"), md)
		if err != nil {
			return nil, err
		}
		for path, e := range entries {
			if name != "" && e.Name != name {
				continue
			}
			now := last{e.Change, e.Rollout}
			if old, ok := seen[path]; ok && old.change.Time.Equal(now.change.Time) && old.change.Action == now.change.Action &&
				old.change.Actor == now.change.Actor && old.change.Reason == now.change.Reason && old.change.From == now.change.From &&
				old.rollout == now.rollout {
				continue // unchanged since the previous version
			}
			seen[path] = now
			events = append(events, Event{Ring: ring, Product: p.Name, TargetsVersion: md.Signed.Version, Name: e.Name,
				Version: e.Version.String(), Change: e.Change, State: e.Rollout.State, Percent: e.Rollout.Percent})
		}
	}
	return events, nil
}

// rootHistory returns the key rotations of ring: every root version after
// the first that records its change, each verified as a device walking the
// chain verifies it (signed by a threshold of the version before and of its
// own keys).
func (f *Flight) rootHistory(ctx context.Context, ring string, latest int64) ([]Event, error) {
	var events []Event
	var prev *metadata.Metadata[metadata.RootType]
	for v := int64(1); v <= latest; v++ {
		key := versioned(ringRootDir(ring), v, "root")
		data, _, err := getBounded(ctx, f.s, key, maxRoot)
		if err != nil {
			return nil, err
		}
		md, err := metadata.Root().FromBytes(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %v", key, ErrCorrupt, err)
		}
		if prev != nil {
			if err := verifyRole(prev, metadata.ROOT, key, md); err != nil {
				return nil, err
			}
		}
		if err := verifyRole(md, metadata.ROOT, key, md); err != nil {
			return nil, err
		}
		prev = md
		raw, ok := md.Signed.UnrecognizedFields[changeField]
		if !ok {
			continue
		}
		c, err := parseRotation(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %s: %v", key, ErrCorrupt, changeField, err)
		}
		events = append(events, Event{Ring: ring, RootVersion: v, Change: c})
	}
	return events, nil
}

// parseRotation reads a root version's change field (as go-tuf decoded it):
// a key rotation with an actor, a time and a reason.
func parseRotation(raw any) (catalog.Change, error) {
	var c catalog.Change
	b, err := json.Marshal(raw)
	if err != nil {
		return c, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, err
	}
	if c.Action != ActionRotate || c.Time.IsZero() || strings.TrimSpace(c.Actor) == "" || strings.TrimSpace(c.Reason) == "" || c.From != "" {
		return c, errors.New("not a key rotation with its actor, time and reason")
	}
	return c, nil
}

// verifyHistoric checks an old targets version against the ring's roots:
// the newest, or an older one when the targets key was rotated since.
func verifyHistoric(ctx context.Context, f *Flight, ring string, root *metadata.Metadata[metadata.RootType], key string, md *metadata.Metadata[metadata.TargetsType]) error {
	if root.VerifyDelegate(metadata.TARGETS, md) == nil {
		return nil
	}
	for v := root.Signed.Version - 1; v >= 1; v-- {
		data, _, err := getBounded(ctx, f.s, versioned(ringRootDir(ring), v, "root"), maxRoot)
		if err != nil {
			return err
		}
		old, err := metadata.Root().FromBytes(data)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		if old.VerifyDelegate(metadata.TARGETS, md) == nil {
			return nil
		}
	}
	return fmt.Errorf("%s: %w: signed by no targets key the ring ever had", key, ErrCorrupt)
}
