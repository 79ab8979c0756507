package flight

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/manifest/update"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/smbios"
)

// Candidate is a verified, published cabinet ready to be added to a ring.
type Candidate struct {
	File   string
	Update *update.Update
	SHA256 string
	Length int64
}

// Prepare checks a cabinet for Add: it is published in the store (published
// now if it was not), its Authenticode signature verifies under policy, it
// carries a valid update.json, and the published bytes are the bytes that
// verified.
func (f *Flight) Prepare(ctx context.Context, path string, policy signer.Policy) (*Candidate, error) {
	pub, err := cdn.Publish(ctx, f.s, path)
	if err != nil {
		return nil, err
	}
	res, err := signer.Verify(ctx, path, policy)
	if err != nil {
		return nil, err
	}
	if res.Update == nil {
		return nil, fmt.Errorf("%s: %w: the cabinet carries no update.json", path, signer.ErrInvalidUpdateJSON)
	}
	again, err := cdn.Publish(ctx, f.s, path)
	if err != nil {
		return nil, err
	}
	if again.SHA256 != pub.SHA256 {
		return nil, fmt.Errorf("%s: %w: the file changed while it was checked", path, cdn.ErrDigestMismatch)
	}
	return &Candidate{File: path, Update: res.Update, SHA256: pub.SHA256, Length: pub.Size}, nil
}

// target is one entry of a repository being changed.
type target struct {
	entry  *catalog.Entry
	length int64
	sha256 string
	dirty  bool
}

// mutation changes the targets of one repository; it returns whether
// anything changed. It is called again, on fresh state, after a lost race.
type mutation func(ctx context.Context, st *repoState, targets map[string]*target) (bool, error)

// apply runs mut on the repository of product chid in ring and commits the
// result, re-reading and re-validating after every lost race.
func (f *Flight) apply(ctx context.Context, ring string, cfg *RingConfig, chid smbios.CHID, sg *signers, mut mutation) (bool, error) {
	root, err := f.ringRoot(ctx, ring)
	if err != nil {
		return false, err
	}
	for attempt := range f.o.attempts {
		st, err := f.readRepo(ctx, ring, chid, root)
		if err != nil {
			return false, err
		}
		nt, err := metadata.Targets().FromBytes(st.targetsRaw)
		if err != nil {
			return false, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		file := versioned(st.dir, nt.Signed.Version, "targets")
		entries, err := entriesOf(file, nt)
		if err != nil {
			return false, err
		}
		targets := map[string]*target{}
		for p, e := range entries {
			tf := nt.Signed.Targets[p]
			targets[p] = &target{entry: e, length: tf.Length, sha256: hex.EncodeToString(tf.Hashes["sha256"])}
		}
		changed, err := mut(ctx, st, targets)
		if err != nil || !changed {
			return false, err
		}
		for p, t := range targets {
			if !t.dirty {
				continue
			}
			custom, err := t.entry.Encode(p)
			if err != nil {
				return false, err
			}
			sum, err := hex.DecodeString(t.sha256)
			if err != nil || len(sum) != 32 {
				return false, fmt.Errorf("%s: bad sha256 %q", p, t.sha256)
			}
			raw := json.RawMessage(custom)
			nt.Signed.Targets[p] = &metadata.TargetFiles{Length: t.length, Hashes: metadata.Hashes{"sha256": sum}, Custom: &raw}
		}
		err = f.commit(ctx, st, cfg, nt, sg)
		if !errors.Is(err, errLostRace) {
			return err == nil, err
		}
		f.o.logger.DebugContext(ctx, "lost the timestamp race; re-reading", "ring", ring, "product", chid, "attempt", attempt)
		backoff := time.Duration(rand.N(10*(attempt+1))) * time.Millisecond
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(backoff):
		}
	}
	return false, fmt.Errorf("%s/%s: %w", ring, chid, ErrConflict)
}

// change is what every change starts from: the registry, the ring's
// configuration and the keys that sign it.
type change struct {
	reg *Registry
	cfg *RingConfig
	sg  *signers
}

// begin checks who and reads what a change to ring needs.
func (f *Flight) begin(ctx context.Context, ring string, who Who, withTargets bool) (*change, error) {
	if err := who.check(); err != nil {
		return nil, err
	}
	reg, _, err := readRegistry(ctx, f.s)
	if err != nil {
		return nil, err
	}
	cfg, err := reg.Ring(ring)
	if err != nil {
		return nil, err
	}
	c := &change{reg: reg, cfg: cfg}
	if withTargets {
		if c.sg, err = f.ringSigners(ctx, ring, true); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Result reports one change: which repositories it changed. The lists are
// empty, not nil, in every result a change returns; a zero Result (a change never
// reached) leaves them out of its JSON.
type Result struct {
	Ring    string   `json:"ring,omitempty"`
	Name    string   `json:"name,omitempty"`
	Version string   `json:"version,omitempty"`
	Action  string   `json:"action,omitempty"`
	Changed []string `json:"changed,omitzero"`   // product names whose repository got a new version
	Already []string `json:"unchanged,omitzero"` // product names already in the requested state
}

func newResult(ring, name string, v catalog.Version, action catalog.Action) *Result {
	return &Result{Ring: ring, Name: name, Version: v.String(), Action: string(action), Changed: []string{}, Already: []string{}}
}

// AddOptions are the settings of Add.
type AddOptions struct {
	// Rollout is the percentage of devices reached (default 100).
	Rollout int
	// AllowDowngrade adds an update lower than one added before, marked as
	// a downgrade (the only way a device installs a lower version).
	AllowDowngrade bool
}

func checkPercent(p int) error {
	if p < 1 || p > 100 {
		return fmt.Errorf("%w: rollout percentage %d outside 1-100", ErrTransition, p)
	}
	return nil
}

// Add puts verified cabinets into ring, the first ring of every product
// they target, in one change per product repository. Each must target registered products, and its version must
// be higher than every version of its name ever added to any ring (unless
// AllowDowngrade), never reusing a version with other bytes. Re-adding the
// same cabinet changes nothing.
func (f *Flight) Add(ctx context.Context, ring string, cands []*Candidate, o AddOptions, who Who) ([]Result, error) {
	if o.Rollout == 0 {
		o.Rollout = 100
	}
	if err := checkPercent(o.Rollout); err != nil {
		return nil, err
	}
	ch, err := f.begin(ctx, ring, who, true)
	if err != nil {
		return nil, err
	}
	reg, cfg, sg := ch.reg, ch.cfg, ch.sg
	// pending is one cabinet to add to one product's repository.
	type pending struct {
		result int
		path   string
		entry  *catalog.Entry
		c      *Candidate
	}
	var (
		results   []Result
		order     []ProductInfo
		byProduct = map[smbios.CHID][]pending{}
	)
	for _, c := range cands {
		u := c.Update
		ce := func(err error) error {
			return &ChangeError{Ring: ring, Name: u.Name, Version: u.Version.String(), Err: err}
		}
		products := reg.targeted(u.Targets)
		var inRing []ProductInfo
		for _, p := range products {
			if !slices.Contains(p.Rings, ring) {
				continue
			}
			if p.Rings[0] != ring {
				return results, ce(fmt.Errorf("%w: %s enters %s first, then is promoted", ErrTransition, p.Name, p.Rings[0]))
			}
			inRing = append(inRing, p)
		}
		if len(inRing) == 0 {
			return results, ce(fmt.Errorf("%w in ring %s targeted by %s (registered: %d products)", ErrUnknownProduct, ring, c.File, len(reg.Products)))
		}
		now := f.now()
		v := u.Version
		if err := record(ctx, f.s, u.Name, LedgerVersion{
			Version: v, SHA256: c.SHA256, Length: c.Length, Downgrade: o.AllowDowngrade,
			Kind: string(u.Kind), Targets: u.Targets, Added: now, Actor: who.Actor,
		}); err != nil {
			return results, ce(err)
		}
		path := catalog.TargetPath(u.Name, v)
		if err := f.linkTarget(ctx, c.SHA256, c.Length, path); err != nil {
			return results, ce(err)
		}
		entry := &catalog.Entry{
			Kind: string(u.Kind), Name: u.Name, Version: v, Targets: sortCHIDs(u.Targets),
			Rollout: catalog.Rollout{State: catalog.Active, Percent: o.Rollout}, Downgrade: o.AllowDowngrade, Since: now,
			Change: catalog.Change{Action: catalog.ActionAdd, Actor: who.Actor, Time: now, Reason: who.Reason},
		}
		for _, r := range u.Requires {
			entry.Requires = append(entry.Requires, catalog.Requirement{Name: r.Name, MinVersion: r.MinVersion})
		}
		slices.SortFunc(entry.Requires, func(a, b catalog.Requirement) int { return cmpString(a.Name, b.Name) })
		if err := entry.Validate(c.File, path); err != nil {
			return results, ce(err)
		}
		results = append(results, *newResult(ring, u.Name, v, catalog.ActionAdd))
		for _, p := range inRing {
			if _, ok := byProduct[p.CHID]; !ok {
				order = append(order, p)
			}
			byProduct[p.CHID] = append(byProduct[p.CHID], pending{result: len(results) - 1, path: path, entry: entry, c: c})
		}
	}
	// One change per product repository, whatever the number of cabinets.
	for _, p := range order {
		adds := byProduct[p.CHID]
		changedPaths := map[string]bool{}
		_, err := f.apply(ctx, ring, cfg, p.CHID, sg, func(_ context.Context, _ *repoState, ts map[string]*target) (bool, error) {
			clear(changedPaths)
			for _, a := range adds {
				if t, ok := ts[a.path]; ok {
					if t.sha256 != a.c.SHA256 || t.length != a.c.Length {
						return false, &ChangeError{Ring: ring, Name: a.entry.Name, Version: a.entry.Version.String(),
							Err: fmt.Errorf("%w: %s holds other bytes (sha256 %s)", ErrDuplicateVersion, a.path, t.sha256)}
					}
					continue // added before: nothing to do
				}
				ts[a.path] = &target{entry: a.entry, length: a.c.Length, sha256: a.c.SHA256, dirty: true}
				changedPaths[a.path] = true
			}
			return len(changedPaths) > 0, nil
		})
		if err != nil {
			return results, err
		}
		for _, a := range adds {
			results[a.result].note(p.Name, changedPaths[a.path])
		}
	}
	return results, nil
}

func (r *Result) note(product string, changed bool) {
	if changed {
		r.Changed = append(r.Changed, product)
	} else {
		r.Already = append(r.Already, product)
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sortCHIDs(cs []smbios.CHID) []smbios.CHID {
	out := slices.Clone(cs)
	slices.SortFunc(out, func(a, b smbios.CHID) int { return cmpString(a.String(), b.String()) })
	return slices.Compact(out)
}

// linkTarget makes the published blob available at the path a TUF client
// fetches it from, by a copy inside the store (once; later calls find it).
func (f *Flight) linkTarget(ctx context.Context, sum string, length int64, path string) error {
	key := catalog.TargetKey(sum, path)
	info, err := f.s.Copy(ctx, cdn.BlobKey(sum), key)
	switch {
	case errors.Is(err, cdn.ErrNotFound):
		return fmt.Errorf("%w: %s", ErrNotPublished, cdn.BlobKey(sum))
	case errors.Is(err, cdn.ErrExists):
		if info, err = f.s.Stat(ctx, key); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	if info.Size != length || info.Props.Metadata[cdn.MetaSHA256] != sum {
		return fmt.Errorf("%w: %s holds %d bytes recorded as sha256 %q", cdn.ErrDigestMismatch, key, info.Size, info.Props.Metadata[cdn.MetaSHA256])
	}
	return nil
}

// lookup finds what the ledger recorded for name and version: the products
// it targets in the registry.
func (f *Flight) lookup(ctx context.Context, reg *Registry, name string, v catalog.Version) (*LedgerVersion, error) {
	versions, err := ledgerVersions(ctx, f.s, name)
	if err != nil {
		return nil, err
	}
	for i := range versions {
		if versions[i].Version == v {
			return &versions[i], nil
		}
	}
	return nil, fmt.Errorf("%w: %s %s was never added", ErrNotInRing, name, v)
}

// Promote moves an update from the ring before to (in each product's ring
// order) into to: the same target (the same blob, the same sha256), active
// at rollout percent (default 100). It is refused when the update is not in
// the previous ring, is halted or paused there, or has not soaked there for
// the previous ring's soak time (unless skipSoakUnsafe).
func (f *Flight) Promote(ctx context.Context, name string, v catalog.Version, to string, rollout int, skipSoakUnsafe bool, who Who) (*Result, error) {
	if rollout == 0 {
		rollout = 100
	}
	ce := func(err error) error { return &ChangeError{Ring: to, Name: name, Version: v.String(), Err: err} }
	res := newResult(to, name, v, catalog.ActionPromote)
	if err := checkPercent(rollout); err != nil {
		return res, ce(err)
	}
	ch, err := f.begin(ctx, to, who, true)
	if err != nil {
		return res, err
	}
	reg, cfg, sg := ch.reg, ch.cfg, ch.sg
	lv, err := f.lookup(ctx, reg, name, v)
	if err != nil {
		return res, ce(err)
	}
	path := catalog.TargetPath(name, v)
	for _, p := range reg.targeted(lv.Targets) {
		i := slices.Index(p.Rings, to)
		if i < 0 {
			continue
		}
		if i == 0 {
			return res, ce(fmt.Errorf("%w: %s is the first ring of %s; add to it instead", ErrTransition, to, p.Name))
		}
		from := p.Rings[i-1]
		fromCfg, err := reg.Ring(from)
		if err != nil {
			return res, ce(err)
		}
		changed, err := f.apply(ctx, to, cfg, p.CHID, sg, func(ctx context.Context, _ *repoState, ts map[string]*target) (bool, error) {
			// The previous ring is read again on every attempt: a change
			// there (a halt) is seen before this promotion commits.
			src, err := f.entry(ctx, from, p.CHID, path)
			if err != nil {
				return false, err
			}
			switch {
			case src == nil:
				return false, fmt.Errorf("%w: not in %s", ErrNotInRing, from)
			case src.entry.Rollout.State == catalog.Halted:
				return false, fmt.Errorf("%w in %s", ErrHalted, from)
			case src.entry.Rollout.State == catalog.Paused:
				return false, fmt.Errorf("%w: paused in %s; resume it first", ErrTransition, from)
			}
			if soaked := f.now().Sub(src.entry.Since); soaked < time.Duration(fromCfg.Soak) && !skipSoakUnsafe {
				return false, fmt.Errorf("%w: in %s for %v of %v", ErrSoak, from, soaked.Round(time.Second), time.Duration(fromCfg.Soak))
			}
			if t, ok := ts[path]; ok {
				if t.entry.Rollout.State == catalog.Halted {
					return false, fmt.Errorf("%w in %s", ErrHalted, to)
				}
				return false, nil // promoted before
			}
			now := f.now()
			e := *src.entry
			e.Rollout = catalog.Rollout{State: catalog.Active, Percent: rollout}
			e.Since = now
			e.Change = catalog.Change{Action: catalog.ActionPromote, Actor: who.Actor, Time: now, Reason: who.Reason, From: from}
			ts[path] = &target{entry: &e, length: src.length, sha256: src.sha256, dirty: true}
			return true, nil
		})
		if err != nil {
			return res, ce(err)
		}
		res.note(p.Name, changed)
	}
	if len(res.Changed)+len(res.Already) == 0 {
		return res, ce(fmt.Errorf("%w: no product of %s %s uses ring %s", ErrUnknownProduct, name, v, to))
	}
	return res, nil
}

// entry reads one target of a repository (nil when absent).
func (f *Flight) entry(ctx context.Context, ring string, chid smbios.CHID, path string) (*target, error) {
	root, err := f.ringRoot(ctx, ring)
	if err != nil {
		return nil, err
	}
	st, err := f.readRepo(ctx, ring, chid, root)
	if err != nil {
		return nil, err
	}
	tf, ok := st.targets.Signed.Targets[path]
	if !ok {
		return nil, nil
	}
	tf.Path = path
	e, err := catalog.FromTarget(versioned(st.dir, st.targets.Signed.Version, "targets"), tf)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return &target{entry: e, length: tf.Length, sha256: hex.EncodeToString(tf.Hashes["sha256"])}, nil
}

// SetState changes an update's rollout inside a ring: ActionRollout sets the
// percentage (1-100; a paused update stays paused with the new one),
// ActionPause withholds it, ActionResume restores it, ActionHalt pulls it for
// good. A halted update refuses every further change; asking for the state
// it is already in changes nothing.
func (f *Flight) SetState(ctx context.Context, ring, name string, v catalog.Version, action catalog.Action, percent int, who Who) (*Result, error) {
	ce := func(err error) error { return &ChangeError{Ring: ring, Name: name, Version: v.String(), Err: err} }
	res := newResult(ring, name, v, action)
	switch action {
	case catalog.ActionRollout:
		if err := checkPercent(percent); err != nil {
			return res, ce(err)
		}
	case catalog.ActionPause, catalog.ActionResume, catalog.ActionHalt:
	default:
		return res, ce(fmt.Errorf("%w: %q is not a state change", ErrTransition, action))
	}
	ch, err := f.begin(ctx, ring, who, true)
	if err != nil {
		return res, err
	}
	reg, cfg, sg := ch.reg, ch.cfg, ch.sg
	lv, err := f.lookup(ctx, reg, name, v)
	if err != nil {
		return res, ce(err)
	}
	path := catalog.TargetPath(name, v)
	for _, p := range reg.targeted(lv.Targets) {
		if !slices.Contains(p.Rings, ring) {
			continue
		}
		present := true
		changed, err := f.apply(ctx, ring, cfg, p.CHID, sg, func(_ context.Context, _ *repoState, ts map[string]*target) (bool, error) {
			t, ok := ts[path]
			if !ok {
				present = false
				return false, nil
			}
			r := t.entry.Rollout
			if r.State == catalog.Halted {
				if action == catalog.ActionHalt {
					return false, nil
				}
				return false, fmt.Errorf("%w: halted updates stay halted (roll forward with a higher version)", ErrHalted)
			}
			switch action {
			case catalog.ActionRollout:
				r.Percent = percent
			case catalog.ActionPause:
				r.State = catalog.Paused
			case catalog.ActionResume:
				r.State = catalog.Active
			case catalog.ActionHalt:
				r.State = catalog.Halted
			}
			if r == t.entry.Rollout {
				return false, nil
			}
			now := f.now()
			e := *t.entry
			e.Rollout = r
			e.Change = catalog.Change{Action: action, Actor: who.Actor, Time: now, Reason: who.Reason}
			t.entry, t.dirty = &e, true
			return true, nil
		})
		if err != nil {
			return res, ce(err)
		}
		if present {
			res.note(p.Name, changed)
		}
	}
	if len(res.Changed)+len(res.Already) == 0 {
		return res, ce(fmt.Errorf("%w", ErrNotInRing))
	}
	return res, nil
}
