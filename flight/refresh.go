package flight

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/devupdate/devupdate/flight/catalog"
)

// RefreshResult reports what Refresh re-signed and what it could not.
type RefreshResult struct {
	Resigned []Resigned `json:"resigned"`
	// Expiring are roles needing an offline key (targets, root) that
	// expire within the warning window.
	Expiring []Expiring `json:"expiring"`
}

// Resigned is one repository whose metadata was re-signed.
type Resigned struct {
	Ring    string   `json:"ring"`
	Product string   `json:"product"`
	Roles   []string `json:"roles"`
}

// Expiring is a role Refresh cannot re-sign that expires soon.
type Expiring struct {
	Ring    string    `json:"ring"`
	Product string    `json:"product,omitempty"`
	Role    string    `json:"role"`
	Expires time.Time `json:"expires"`
}

// RefreshOptions are the settings of Refresh.
type RefreshOptions struct {
	// WarnWithin: targets and root metadata (offline keys) expiring
	// within it are reported and fail the refresh with ErrExpiring
	// (default 0: none).
	WarnWithin time.Duration
	// ResignWithin: timestamps and snapshots expiring within it are
	// re-signed (default 0: those past half their lifetime). A longer
	// window makes the ring last longer without a refresh, e.g. before the
	// refresh job is stopped for maintenance.
	ResignWithin time.Duration
	// Targets re-signs, with each ring's targets keys, the targets
	// metadata expiring within WarnWithin (a new version, the same
	// entries) instead of failing. The targets keys are offline keys: a
	// release engineer runs this where they are, not the scheduled job.
	// Root metadata is renewed by RotateKeys.
	Targets bool
}

// Refresh re-signs, with the online keys only, the timestamp (and the
// snapshot) of every repository whose expiry is less than half its lifetime
// (or o.ResignWithin) away, and reports targets and root metadata expiring
// within o.WarnWithin. It is idempotent: a second run right after changes
// nothing. It reads each repository's timestamp and snapshot only (the
// snapshot carries its targets' expiry), up to WithConcurrency repositories
// at once; a repository that fails does not keep the others from being
// refreshed, and every failure is returned. The error wraps ErrExpiring
// when something it did not sign expires within o.WarnWithin.
func (f *Flight) Refresh(ctx context.Context, o RefreshOptions) (*RefreshResult, error) {
	if o.WarnWithin < 0 || o.ResignWithin < 0 {
		return nil, fmt.Errorf("%w: negative refresh window", ErrConfig)
	}
	reg, _, err := readRegistry(ctx, f.s)
	if err != nil {
		return nil, err
	}
	res := &RefreshResult{Resigned: []Resigned{}, Expiring: []Expiring{}}
	now := f.now()
	var (
		repos []*refreshing
		errs  []error
	)
	for i := range reg.Rings {
		cfg := &reg.Rings[i]
		root, err := f.ringRoot(ctx, cfg.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("ring %s: %w", cfg.Name, err))
			continue
		}
		if root.Signed.Expires.Sub(now) < o.WarnWithin {
			res.Expiring = append(res.Expiring, Expiring{Ring: cfg.Name, Role: metadata.ROOT, Expires: root.Signed.Expires})
		}
		for _, p := range reg.productsIn(cfg.Name) {
			repos = append(repos, &refreshing{cfg: cfg, root: root, p: p, o: o, now: now})
		}
	}
	// Read every repository; note what expires and what is due.
	errs = append(errs, each(ctx, f.o.concurrency, len(repos), func(ctx context.Context, i int) error {
		return repos[i].read(ctx, f)
	}))
	// The keys of each ring with something due, opened once.
	keys := map[string]*signers{}
	var due []*refreshing
	for _, r := range repos {
		if r.expiring != nil {
			res.Expiring = append(res.Expiring, *r.expiring)
		}
		if r.st == nil || r.due == nil {
			continue
		}
		sg, ok := keys[r.cfg.Name]
		if !ok {
			if sg, err = f.ringSigners(ctx, r.cfg.Name, o.Targets); err != nil {
				errs = append(errs, fmt.Errorf("ring %s: %w", r.cfg.Name, err))
			}
			keys[r.cfg.Name] = sg
		}
		if sg != nil {
			r.sg = sg
			due = append(due, r)
		}
	}
	errs = append(errs, each(ctx, f.o.concurrency, len(due), func(ctx context.Context, i int) error {
		return due[i].resign(ctx, f)
	}))
	for _, r := range due {
		if r.resigned != nil {
			res.Resigned = append(res.Resigned, *r.resigned)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return res, err
	}
	if len(res.Expiring) > 0 {
		return res, fmt.Errorf("%w: %d role(s) expire within %v; re-sign them with the targets or root key", ErrExpiring, len(res.Expiring), o.WarnWithin)
	}
	return res, nil
}

// refreshing is one repository going through Refresh.
type refreshing struct {
	cfg  *RingConfig
	root *metadata.Metadata[metadata.RootType]
	p    ProductInfo
	o    RefreshOptions
	now  time.Time
	st   *repoState
	// due are the roles to re-sign (nil: none).
	due      []string
	expiring *Expiring
	sg       *signers
	resigned *Resigned
}

// read reads the repository's online metadata and decides what is due.
func (r *refreshing) read(ctx context.Context, f *Flight) error {
	st, err := f.readOnline(ctx, r.cfg.Name, r.p.CHID, r.root)
	if err != nil {
		return fmt.Errorf("%s in %s: %w", r.p.Name, r.cfg.Name, err)
	}
	targetsExpire, ok := st.targetsExpires()
	if !ok {
		// A snapshot written before it carried its targets' expiry.
		if err := f.readTargets(ctx, st); err != nil {
			return fmt.Errorf("%s in %s: %w", r.p.Name, r.cfg.Name, err)
		}
		targetsExpire = st.targets.Signed.Expires
	}
	r.st, r.due, r.expiring = st, nil, nil
	isDue := func(role string, exp time.Time) bool {
		within := r.o.ResignWithin
		if within == 0 {
			within = r.cfg.Expiry.of(role) / 2
		}
		return exp.Sub(r.now) < within
	}
	switch {
	case targetsExpire.Sub(r.now) < r.o.WarnWithin && r.o.Targets:
		r.due = []string{metadata.TIMESTAMP, metadata.SNAPSHOT, metadata.TARGETS}
	case targetsExpire.Sub(r.now) < r.o.WarnWithin:
		r.expiring = &Expiring{Ring: r.cfg.Name, Product: r.p.Name, Role: metadata.TARGETS, Expires: targetsExpire}
		fallthrough
	default:
		switch {
		case isDue(metadata.SNAPSHOT, st.snap.Signed.Expires):
			r.due = []string{metadata.TIMESTAMP, metadata.SNAPSHOT}
		case isDue(metadata.TIMESTAMP, st.ts.Signed.Expires):
			r.due = []string{metadata.TIMESTAMP}
		}
	}
	return nil
}

// resign re-signs what read found due; after losing the timestamp race to
// a change (which re-signs everything) it reads again and re-decides.
func (r *refreshing) resign(ctx context.Context, f *Flight) error {
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := r.read(ctx, f); err != nil {
				return err
			}
		}
		var err error
		switch {
		case r.due == nil:
			return nil
		case slices.Contains(r.due, metadata.TARGETS):
			err = f.renewTargets(ctx, r.st, r.cfg, r.sg)
		case slices.Contains(r.due, metadata.SNAPSHOT):
			err = f.commit(ctx, r.st, r.cfg, nil, r.sg)
		default:
			err = f.swapTimestamp(ctx, r.st, r.cfg, r.st.snap.Signed.Version, r.sg.timestamp)
		}
		if errors.Is(err, errLostRace) && attempt < f.o.attempts {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s in %s: %w", r.p.Name, r.cfg.Name, err)
		}
		r.resigned = &Resigned{Ring: r.cfg.Name, Product: r.p.Name, Roles: r.due}
		return nil
	}
}

// renewTargets commits a new targets version with the same entries and a
// new expiry, signed with sg's targets keys (st's targets are read first
// when they were not).
func (f *Flight) renewTargets(ctx context.Context, st *repoState, cfg *RingConfig, sg *signers) error {
	if st.targets == nil {
		if err := f.readTargets(ctx, st); err != nil {
			return err
		}
	}
	nt, err := metadata.Targets().FromBytes(st.targetsRaw)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return f.commit(ctx, st, cfg, nt, sg)
}

// RotateKeys gives ring the keys its keyring now names, in a new root
// version signed by the new root keys and by the retired ones (so devices
// trusting the old root walk to it), copied into every product repository;
// then every repository's targets, snapshot and timestamp are re-signed
// with the new keys. Re-running it after a crash completes the rotation.
func (f *Flight) RotateKeys(ctx context.Context, ring string, who Who) (*RingRoot, error) {
	ch, err := f.begin(ctx, ring, who, false)
	if err != nil {
		return nil, err
	}
	reg, cfg := ch.reg, ch.cfg
	old, err := f.ringRoot(ctx, ring)
	if err != nil {
		return nil, err
	}
	signWith, err := f.keys.Signers(ctx, ring, metadata.ROOT, true)
	if err != nil {
		return nil, err
	}
	now := f.now()
	change := &catalog.Change{Action: ActionRotate, Actor: who.Actor, Time: now, Reason: who.Reason}
	data, next, err := f.newRoot(ctx, ring, old.Signed.Version+1, now.Add(cfg.Expiry.of(metadata.ROOT)), signWith, change)
	if err != nil {
		return nil, err
	}
	if err := old.VerifyDelegate(metadata.ROOT, next); err != nil {
		return nil, fmt.Errorf("%w: the new root is not signed by a threshold of the current root keys (list them as retired): %v", ErrKey, err)
	}
	if err := next.VerifyDelegate(metadata.ROOT, next); err != nil {
		return nil, fmt.Errorf("%w: the new root is not signed by a threshold of its own keys: %v", ErrKey, err)
	}
	if _, err := f.s.Create(ctx, versioned(ringRootDir(ring), next.Signed.Version, "root"), bytesReader(data), jsonProps); err != nil {
		return nil, err
	}
	if err := f.resignRing(ctx, reg, cfg, old); err != nil {
		return nil, err
	}
	return f.RingRoot(ctx, ring)
}

// resignRing copies the ring's roots into every product repository and
// re-signs each repository's metadata with the keys of the newest root.
// Metadata still signed by the previous root's keys is read with that root.
func (f *Flight) resignRing(ctx context.Context, reg *Registry, cfg *RingConfig, previous *metadata.Metadata[metadata.RootType]) error {
	root, err := f.ringRoot(ctx, cfg.Name)
	if err != nil {
		return err
	}
	sg, err := f.ringSigners(ctx, cfg.Name, true)
	if err != nil {
		return err
	}
	products := reg.productsIn(cfg.Name)
	return each(ctx, f.o.concurrency, len(products), func(ctx context.Context, i int) error {
		p := products[i]
		if err := f.createRepo(ctx, cfg.Name, cfg, p.CHID, sg); err != nil {
			return fmt.Errorf("%s in %s: %w", p.Name, cfg.Name, err)
		}
		for attempt := 0; ; attempt++ {
			if _, err := f.readRepo(ctx, cfg.Name, p.CHID, root); err == nil {
				return nil // verifies under the new root: nothing to re-sign
			} else if !errors.Is(err, ErrCorrupt) {
				return fmt.Errorf("%s in %s: %w", p.Name, cfg.Name, err)
			}
			st, err := f.readRepo(ctx, cfg.Name, p.CHID, previous)
			if err != nil {
				return fmt.Errorf("%s in %s: %w", p.Name, cfg.Name, err)
			}
			err = f.renewTargets(ctx, st, cfg, sg)
			if errors.Is(err, errLostRace) && attempt < f.o.attempts {
				continue
			}
			if err != nil {
				return fmt.Errorf("%s in %s: %w", p.Name, cfg.Name, err)
			}
			return nil
		}
	})
}
