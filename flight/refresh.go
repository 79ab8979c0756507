package flight

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// RefreshResult reports what Refresh re-signed and what it could not.
type RefreshResult struct {
	Resigned []Resigned `json:"resigned"`
	// Expiring are roles needing an offline key (targets, root) that
	// expire within the warning window.
	Expiring []Expiring `json:"expiring"`
}

// Resigned is one repository whose online metadata was re-signed.
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

// Refresh re-signs, with the online keys only, the timestamp (and the
// snapshot) of every repository whose expiry is less than half its lifetime
// away, and reports targets and root metadata expiring within warn. It is
// idempotent: a second run right after changes nothing. The error wraps
// ErrExpiring when something it cannot sign expires within warn.
func (f *Flight) Refresh(ctx context.Context, warn time.Duration) (*RefreshResult, error) {
	reg, _, err := readRegistry(ctx, f.s)
	if err != nil {
		return nil, err
	}
	res := &RefreshResult{Resigned: []Resigned{}, Expiring: []Expiring{}}
	now := f.now()
	due := func(exp time.Time, life time.Duration) bool { return exp.Sub(now) < life/2 }
	for _, cfg := range reg.Rings {
		root, err := f.ringRoot(ctx, cfg.Name)
		if err != nil {
			return nil, err
		}
		if root.Signed.Expires.Sub(now) < warn {
			res.Expiring = append(res.Expiring, Expiring{Ring: cfg.Name, Role: metadata.ROOT, Expires: root.Signed.Expires})
		}
		var sg *signers
		for _, p := range reg.productsIn(cfg.Name) {
			for attempt := 0; ; attempt++ {
				st, err := f.readRepo(ctx, cfg.Name, p.CHID, root)
				if err != nil {
					return nil, err
				}
				if attempt == 0 && st.targets.Signed.Expires.Sub(now) < warn {
					res.Expiring = append(res.Expiring, Expiring{Ring: cfg.Name, Product: p.Name, Role: metadata.TARGETS, Expires: st.targets.Signed.Expires})
				}
				snapDue := due(st.snap.Signed.Expires, cfg.Expiry.of(metadata.SNAPSHOT))
				if !snapDue && !due(st.ts.Signed.Expires, cfg.Expiry.of(metadata.TIMESTAMP)) {
					break
				}
				if sg == nil {
					if sg, err = f.ringSigners(ctx, cfg.Name, false); err != nil {
						return nil, err
					}
				}
				roles := []string{metadata.TIMESTAMP}
				if snapDue {
					roles = append(roles, metadata.SNAPSHOT)
					err = f.commit(ctx, st, &cfg, nil, sg)
				} else {
					err = f.swapTimestamp(ctx, st, &cfg, st.snap.Signed.Version, sg.timestamp)
				}
				if errors.Is(err, errLostRace) && attempt < f.o.attempts {
					continue // a change re-signed it meanwhile: look again
				}
				if err != nil {
					return nil, fmt.Errorf("%s in %s: %w", p.Name, cfg.Name, err)
				}
				res.Resigned = append(res.Resigned, Resigned{Ring: cfg.Name, Product: p.Name, Roles: roles})
				break
			}
		}
	}
	if len(res.Expiring) > 0 {
		return res, fmt.Errorf("%w: %d role(s) expire within %v; re-sign them with the targets or root key", ErrExpiring, len(res.Expiring), warn)
	}
	return res, nil
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
	data, next, err := f.newRoot(ctx, ring, old.Signed.Version+1, f.now().Add(cfg.Expiry.of(metadata.ROOT)), signWith)
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
			nt, err := metadata.Targets().FromBytes(st.targetsRaw)
			if err != nil {
				return fmt.Errorf("%s in %s: %w: %v", p.Name, cfg.Name, ErrCorrupt, err)
			}
			err = f.commit(ctx, st, cfg, nt, sg)
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
