// Package flight owns flighting: the rings of a store as signed TUF 1.0
// repositories, and every change a release engineer makes to them (add,
// promote, staged rollout, pause, resume, halt), with the audit trail, the
// expiry refresh and key rotation.
//
// A ring is one TUF repository per registered product, keyed by the
// product's targeting CHID (catalog.MetadataDir), all with the ring's own
// keys: every product repository of a ring carries the same root, so a
// device ships one root.json per ring it may be moved to, and another
// ring's (or another product's) metadata is refused by any TUF client.
// With consistent snapshots every metadata file is written once under a
// versioned name; only timestamp.json is replaced, by compare-and-swap on
// its ETag. A device's scan with nothing new costs the next-root 404 and one
// timestamp.json; a change to another product costs it nothing; a change to
// its own product costs timestamp, snapshot (one entry) and its targets.
//
// Every change is a read-modify-write: read the committed state (verified
// against the ring's root), validate the transition, write the new targets
// and snapshot (conditional creates), then swap the timestamp. A lost swap
// re-reads and re-validates, so concurrent release engineers both succeed,
// one after the other, or the later one is refused with the reason.
//
// Cabinets are uploaded once (cdn.Publish, blobs/sha256/<hex>) and copied
// inside the store to catalog.TargetKey, where a TUF client fetches them.
//
// The device side of the format (entries, layout, rollout, decisions) is
// package flight/catalog, which a device links without this package.
package flight

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/smbios/product"
)

type options struct {
	logger      *slog.Logger
	now         func() time.Time
	keys        *Keyring
	attempts    int
	concurrency int
}

// Option configures New.
type Option func(*options) error

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithKeys sets the keyring changes are signed with (default: none; read-only
// operations such as Status and History need no keys).
func WithKeys(k *Keyring) Option {
	return func(o *options) error { o.keys = k; return nil }
}

// WithClock sets the clock (default time.Now), for tests of soak and expiry.
func WithClock(now func() time.Time) Option {
	return func(o *options) error { o.now = now; return nil }
}

// WithAttempts sets how many times a change is re-read and re-tried after
// losing a race to a concurrent writer (default 64).
func WithAttempts(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("attempts %d < 1", n)
		}
		o.attempts = n
		return nil
	}
}

// WithConcurrency sets how many product repositories Status, History,
// Refresh, key rotation and product registration read or write at once
// (default 16). Each repository is a few small requests, so on a remote
// store the time of these operations is mostly round trips.
func WithConcurrency(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("concurrency %d < 1", n)
		}
		o.concurrency = n
		return nil
	}
}

// Flight manages the rings of one store.
type Flight struct {
	s    cdn.Store
	keys *Keyring
	o    options
}

// New returns the flight manager of store s.
func New(s cdn.Store, opts ...Option) (*Flight, error) {
	o := options{logger: slog.New(slog.DiscardHandler), now: time.Now, attempts: 64, concurrency: 16}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	return &Flight{s: s, keys: o.keys, o: o}, nil
}

// now is the time written into metadata: UTC, whole seconds (TUF's
// expiry format has no fractions).
func (f *Flight) now() time.Time { return f.o.now().UTC().Truncate(time.Second) }

// Who is the actor and reason of a change.
type Who struct {
	Actor  string
	Reason string
}

func (w Who) check() error {
	if strings.TrimSpace(w.Reason) == "" {
		return ErrNoReason
	}
	if strings.TrimSpace(w.Actor) == "" {
		return fmt.Errorf("%w: no actor", ErrConfig)
	}
	return nil
}

// InitRequest is what Init sets up.
type InitRequest struct {
	// Rings in promotion order (default: product.DefaultRings with
	// DefaultExpiry and no soak).
	Rings []RingConfig
	// Products to register.
	Products []*product.Product
	// Settings asked for rings by name: applied to a ring Init creates; a
	// ring that exists with other settings is refused (ErrConfig), since
	// Init never changes a ring (SetRing does).
	Settings map[string]RingSettings
}

// InitResult names what a device image ships for each ring.
type InitResult struct {
	Rings []RingRoot `json:"rings"`
}

// RingRoot is a ring's current root metadata.
type RingRoot struct {
	Ring    string `json:"ring"`
	Version int64  `json:"version"`
	// Root is the root.json a device image ships for this ring.
	Root []byte `json:"-"`
}

// DefaultRings returns the default ring configuration.
func DefaultRings() []RingConfig {
	var out []RingConfig
	for _, r := range product.DefaultRings {
		out = append(out, RingConfig{Name: r, Expiry: DefaultExpiry})
	}
	return out
}

// Init creates the rings' root metadata (signed by each ring's root keys),
// the registry, and the repositories of the products given. It is
// idempotent: re-running it keeps the rings that exist (their roots are
// never rewritten) and completes anything a crash left unfinished.
func (f *Flight) Init(ctx context.Context, req InitRequest) (*InitResult, error) {
	rings := slices.Clone(req.Rings)
	if len(rings) == 0 {
		rings = DefaultRings()
	}
	seen := map[string]bool{}
	for i := range rings {
		r := &rings[i]
		if !catalog.ValidRing(r.Name) || seen[r.Name] {
			return nil, fmt.Errorf("%w: ring name %q invalid or repeated", ErrConfig, r.Name)
		}
		seen[r.Name] = true
		if r.Expiry == (Expiry{}) {
			r.Expiry = DefaultExpiry
		}
		if err := r.Expiry.validate(); err != nil {
			return nil, fmt.Errorf("ring %s: %w", r.Name, err)
		}
	}
	for name := range req.Settings {
		if !seen[name] {
			return nil, fmt.Errorf("%w: settings for ring %q, which is not one of the rings", ErrConfig, name)
		}
	}
	for i := range rings {
		var err error
		if rings[i], err = req.Settings[rings[i].Name].apply(rings[i]); err != nil {
			return nil, fmt.Errorf("ring %s: %w", rings[i].Name, err)
		}
	}
	if f.keys == nil {
		return nil, fmt.Errorf("%w: no keys given (--keys FILE)", ErrKey)
	}
	// Refuse other settings for an existing ring before anything is written;
	// checked again under the registry's compare-and-swap.
	existing, _, err := readRegistry(ctx, f.s)
	if err != nil && !errors.Is(err, ErrNotInitialised) {
		return nil, err
	}
	if err == nil {
		if err := checkSettings(existing, req.Settings); err != nil {
			return nil, err
		}
	}
	res := &InitResult{}
	for _, r := range rings {
		key := versioned(ringRootDir(r.Name), 1, "root")
		if _, err := f.s.Stat(ctx, key); errors.Is(err, cdn.ErrNotFound) {
			rootSigners, err := f.keys.Signers(ctx, r.Name, "root", false)
			if err != nil {
				return nil, err
			}
			data, _, err := f.newRoot(ctx, r.Name, 1, f.now().Add(r.Expiry.of("root")), rootSigners, nil)
			if err != nil {
				return nil, err
			}
			if _, err := f.s.Create(ctx, key, bytesReader(data), jsonProps); err != nil && !errors.Is(err, cdn.ErrExists) {
				return nil, err
			}
		} else if err != nil {
			return nil, err
		}
	}
	reg, err := f.updateRegistry(ctx, func(reg *Registry) error {
		if err := checkSettings(reg, req.Settings); err != nil {
			return err
		}
		for _, r := range rings {
			if _, err := reg.Ring(r.Name); err != nil {
				reg.Rings = append(reg.Rings, r)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, err := f.AddProducts(ctx, req.Products); err != nil {
		return nil, err
	}
	for _, r := range reg.Rings {
		rr, err := f.RingRoot(ctx, r.Name)
		if err != nil {
			return nil, err
		}
		res.Rings = append(res.Rings, *rr)
	}
	return res, nil
}

// checkSettings refuses settings asked for a ring reg holds with others.
func checkSettings(reg *Registry, settings map[string]RingSettings) error {
	for _, cfg := range reg.Rings {
		s, ok := settings[cfg.Name]
		if !ok {
			continue
		}
		asked, err := s.apply(cfg)
		if err != nil {
			return fmt.Errorf("ring %s: %w", cfg.Name, err)
		}
		if diff := cfg.differences(asked); len(diff) > 0 {
			return fmt.Errorf("%w: ring %s exists with %s; init never changes a ring: change it with flight rings set",
				ErrConfig, cfg.Name, strings.Join(diff, ", "))
		}
	}
	return nil
}

// SetRing changes a ring's settings (soak, expiry per role) and records
// who did it and why. An expiry applies from the next time the role is
// signed (a refresh re-signs what falls due); a soak applies to the next
// promotion out of the ring. The settings live in the registry, which is
// not signed: they guard the release process, not devices.
func (f *Flight) SetRing(ctx context.Context, ring string, s RingSettings, who Who) (*RingConfig, error) {
	if err := who.check(); err != nil {
		return nil, err
	}
	if s.Soak == nil && len(s.Expiry) == 0 {
		return nil, fmt.Errorf("%w: no setting to change", ErrConfig)
	}
	var out RingConfig
	_, err := f.updateRegistry(ctx, func(reg *Registry) error {
		if len(reg.Rings) == 0 {
			return ErrNotInitialised
		}
		cfg, err := reg.Ring(ring)
		if err != nil {
			return err
		}
		next, err := s.apply(*cfg)
		if err != nil {
			return fmt.Errorf("ring %s: %w", ring, err)
		}
		next.Changed = &SettingsChange{Actor: who.Actor, Time: f.now(), Reason: who.Reason}
		*cfg, out = next, next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// RingRoot returns the ring's newest root metadata, as a device image
// ships it.
func (f *Flight) RingRoot(ctx context.Context, ring string) (*RingRoot, error) {
	root, err := f.ringRoot(ctx, ring)
	if err != nil {
		return nil, err
	}
	data, _, err := getBounded(ctx, f.s, versioned(ringRootDir(ring), root.Signed.Version, "root"), maxRoot)
	if err != nil {
		return nil, err
	}
	return &RingRoot{Ring: ring, Version: root.Signed.Version, Root: data}, nil
}

// updateRegistry applies fn to the registry by compare-and-swap, creating
// it when absent.
func (f *Flight) updateRegistry(ctx context.Context, fn func(*Registry) error) (*Registry, error) {
	for range f.o.attempts {
		reg, etag, err := readRegistry(ctx, f.s)
		if errors.Is(err, ErrNotInitialised) {
			reg, etag = &Registry{}, ""
		} else if err != nil {
			return nil, err
		}
		if err := fn(reg); err != nil {
			return nil, err
		}
		body, err := encodeJSON(reg)
		if err != nil {
			return nil, err
		}
		_, err = cdn.PutPointer(ctx, f.s, registryKey, body, etag, cdn.WithMaxAge(time.Minute))
		if errors.Is(err, cdn.ErrExists) || errors.Is(err, cdn.ErrPreconditionFailed) {
			continue
		}
		return reg, err
	}
	return nil, fmt.Errorf("registry: %w", ErrConflict)
}

// AddProducts registers products (validated product files) and creates
// their repositories in each of their rings. A product's ring list must
// name initialised rings. Two products may not share a targeting CHID.
// Re-registering a product with the same definition is a no-op.
func (f *Flight) AddProducts(ctx context.Context, products []*product.Product) ([]ProductInfo, error) {
	var infos []ProductInfo
	for _, p := range products {
		h, ok := p.TargetingID()
		if !ok {
			return nil, fmt.Errorf("%s: %w: no targeting CHID", p.File, ErrConfig)
		}
		infos = append(infos, ProductInfo{Name: p.Name, CHID: h.GUID, Targets: p.Targets(), Rings: p.Rings})
	}
	if len(infos) == 0 {
		return nil, nil
	}
	reg, err := f.updateRegistry(ctx, func(reg *Registry) error {
		for _, pi := range infos {
			for _, r := range pi.Rings {
				if _, err := reg.Ring(r); err != nil {
					return fmt.Errorf("product %s: %w", pi.Name, err)
				}
			}
			i := slices.IndexFunc(reg.Products, func(q ProductInfo) bool { return q.CHID == pi.CHID })
			switch {
			case i < 0:
				reg.Products = append(reg.Products, pi)
			case reg.Products[i].Name != pi.Name:
				return fmt.Errorf("%w: products %s and %s are both targeted by %s", ErrConfig, reg.Products[i].Name, pi.Name, pi.CHID)
			default:
				reg.Products[i] = pi
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	type repo struct {
		p    ProductInfo
		ring string
	}
	var repos []repo
	keys := map[string]*signers{}
	for _, pi := range infos {
		for _, ring := range pi.Rings {
			repos = append(repos, repo{pi, ring})
			if keys[ring] == nil {
				if keys[ring], err = f.ringSigners(ctx, ring, true); err != nil {
					return nil, err
				}
			}
		}
	}
	err = each(ctx, f.o.concurrency, len(repos), func(ctx context.Context, i int) error {
		r := repos[i]
		cfg, _ := reg.Ring(r.ring)
		if err := f.createRepo(ctx, r.ring, cfg, r.p.CHID, keys[r.ring]); err != nil {
			return fmt.Errorf("product %s in %s: %w", r.p.Name, r.ring, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return infos, nil
}

// Registry returns the store's registry.
func (f *Flight) Registry(ctx context.Context) (*Registry, error) {
	reg, _, err := readRegistry(ctx, f.s)
	return reg, err
}
