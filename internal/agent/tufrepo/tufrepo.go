// Package tufrepo keeps a device's trust in one TUF repository (a ring's
// repository for the device's product): it refreshes the repository's
// metadata from the CDN through go-tuf's trustedmetadata, the state machine
// go-tuf's own updater is built on, which applies every check of the TUF
// client workflow (spec 5.3-5.6: root rotation, signatures and thresholds,
// version rollback, expiry, lengths and hashes, the order of the roles).
//
// Why not go-tuf's updater itself (v2.4.2): it keeps its trusted state
// only in files (LocalMetadataDir; with DisableLocalCache it keeps nothing,
// so rollback protection across scans is lost and every scan downloads
// every role), it renames without syncing, and a corrupt local file (a
// power cut) makes Refresh fail instead of being refetched. A device needs
// crash-safe files, a fleet simulator needs 100,000 devices' state in
// memory, and both need an injected clock and HTTP client. So the workflow
// steps of updater.Refresh are followed here, one for one, over a Cache
// interface (files written with sync and rename, or memory), and the
// updater is the oracle in this package's tests: both refuse the same
// attacks with the same go-tuf error types.
//
// A scan with nothing new costs the probe for the next root (a 404) and
// one timestamp.json. When that timestamp is byte for byte the one already
// trusted, the verified state of the last scan is reused (a Memo, which
// may be shared by many simulated devices): go-tuf would discard the equal
// version and keep the trusted state, so only the expiry checks remain,
// and they are made against the current time.
package tufrepo

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"

	"github.com/devupdate/devupdate/internal/agent/fetch"
)

// Size limits of the documents, go-tuf's defaults (config.New).
const (
	MaxRoot      = 512000
	MaxTimestamp = 16384
	MaxSnapshot  = 2000000
	MaxTargets   = 5000000
	// MaxRootRotations bounds the roots walked in one refresh.
	MaxRootRotations = 256
)

// The roles a Cache keeps, by name.
const (
	Root      = metadata.ROOT
	Timestamp = metadata.TIMESTAMP
	Snapshot  = metadata.SNAPSHOT
	Targets   = metadata.TARGETS
)

// limits are the Cache's read bounds per role.
var limits = map[string]int64{Root: MaxRoot, Timestamp: MaxTimestamp, Snapshot: MaxSnapshot, Targets: MaxTargets}

// Cache keeps the trusted metadata of one repository between refreshes.
// Get returns fs.ErrNotExist for a role it does not hold. What it returns
// is treated as untrusted: it is verified again, and a role that fails is
// fetched anew (a corrupt cache is rebuilt, never a reason to stop).
type Cache interface {
	Get(role string) ([]byte, error)
	Put(role string, data []byte) error
	Delete(role string) error
}

// Fetcher gets a document of the repository, at most limit bytes; a
// missing one wraps fetch.ErrNotFound. *fetch.Client is one.
type Fetcher interface {
	Get(ctx context.Context, path string, limit int64) ([]byte, error)
}

// Repo is one repository: its shipped root, where it is served, where its
// trusted metadata is kept.
type Repo struct {
	// Root is the root.json shipped with the device image: the trust
	// anchor when the cache holds no (valid) newer root.
	Root []byte
	// Dir is the repository's metadata path under the base URLs
	// (catalog.MetadataDir: rings/<ring>/<chid>).
	Dir     string
	Fetcher Fetcher
	Cache   Cache
	// Now is the device's clock (default time.Now).
	Now func() time.Time
	// Memo, when set, remembers verified states (see the package comment).
	Memo   *Memo
	Logger *slog.Logger
	// Check, when set, is a last check of the trusted targets metadata
	// (catalog.CheckRepository: the ring and product it names). What it
	// refuses is never kept: the cache keeps its last accepted state, so
	// metadata of another repository cannot lock the device out with
	// its higher versions.
	Check func(*metadata.Metadata[metadata.TargetsType]) error

	// Rebuilt is set by Refresh when it found the cache corrupt (a power
	// cut, a damaged disk) and fetched what it could not trust again.
	Rebuilt bool
}

// Trusted is a repository's verified state.
type Trusted struct {
	RootVersion, TimestampVersion, SnapshotVersion, TargetsVersion int64
	// Targets are the top-level targets by path.
	Targets map[string]*metadata.TargetFiles
	// Expires is when each role expires, by role.
	Expires map[string]time.Time

	once  sync.Once
	extra any
}

// Derived returns what compute makes of t, computed once per verified
// state (a Trusted shared through a Memo is shared by every device that
// reads the same repository state).
func (t *Trusted) Derived(compute func(*Trusted) any) any {
	t.once.Do(func() { t.extra = compute(t) })
	return t.extra
}

// checkExpiry is go-tuf's expiry check of each role, at now.
func (t *Trusted) checkExpiry(now time.Time) error {
	for _, role := range []string{Root, Timestamp, Snapshot, Targets} {
		if exp := t.Expires[role]; !now.Before(exp) {
			return &metadata.ErrExpiredMetadata{Msg: fmt.Sprintf("%s.json is expired (%s)", role, exp.UTC().Format(time.RFC3339))}
		}
	}
	return nil
}

func (r *Repo) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Repo) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (r *Repo) path(name string) string { return r.Dir + "/" + name }

// cached returns the cache's bytes for role, nil when absent or
// unreadable (an unreadable entry is dropped: it will be fetched again).
func (r *Repo) cached(role string) []byte {
	data, err := r.Cache.Get(role)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			r.logger().Warn("TUF cache entry unreadable; fetching it again", "role", role, "error", err)
			_ = r.Cache.Delete(role)
		}
		return nil
	}
	if int64(len(data)) > limits[role] {
		_ = r.Cache.Delete(role)
		return nil
	}
	return data
}

// Refresh brings the repository's trusted metadata up to date and returns
// the verified state. Refusals are go-tuf's error types: a rollback is a
// *metadata.ErrBadVersionNumber, an expired role (a freeze) a
// *metadata.ErrExpiredMetadata, metadata signed by other keys (another
// ring's) a *metadata.ErrUnsignedMetadata, a document not matching its
// signed length or hash a *metadata.ErrLengthOrHashMismatch; fetching
// errors are fetch's.
func (r *Repo) Refresh(ctx context.Context) (*Trusted, error) {
	r.Rebuilt = false
	now := r.now()
	c := map[string][]byte{}
	for _, role := range []string{Root, Timestamp, Snapshot, Targets} {
		c[role] = r.cached(role)
	}
	var key [sha256.Size]byte
	var memo *Trusted
	if r.Memo != nil && c[Root] != nil && c[Timestamp] != nil && c[Snapshot] != nil && c[Targets] != nil {
		key = r.memoKey(c)
		memo = r.Memo.get(key)
	}
	if memo != nil {
		// Nothing new unless a root or a timestamp says otherwise.
		next, err := r.fetchRoot(ctx, memo.RootVersion+1)
		if err != nil {
			return nil, err
		}
		if next == nil {
			ts, err := r.Fetcher.Get(ctx, r.path("timestamp.json"), MaxTimestamp)
			if err != nil {
				return nil, err
			}
			if string(ts) == string(c[Timestamp]) {
				if err := memo.checkExpiry(now); err != nil {
					return nil, err
				}
				return memo, nil
			}
			return r.refresh(ctx, now, c, probe{version: memo.RootVersion + 1}, ts)
		}
		return r.refresh(ctx, now, c, probe{version: memo.RootVersion + 1, next: next}, nil)
	}
	return r.refresh(ctx, now, c, probe{}, nil)
}

// probe is the answer to a root's request already made: root version
// (0: none made), next its document (nil for a 404).
type probe struct {
	version int64
	next    []byte
}

// fetchRoot fetches root version v, nil when there is none (404).
func (r *Repo) fetchRoot(ctx context.Context, v int64) ([]byte, error) {
	data, err := r.Fetcher.Get(ctx, r.path(strconv.FormatInt(v, 10)+".root.json"), MaxRoot)
	if errors.Is(err, fetch.ErrNotFound) {
		return nil, nil
	}
	return data, err
}

// refresh is updater.Refresh's workflow (root, timestamp, snapshot,
// targets) over the cache c; p and remoteTS are what was already fetched
// (remoteTS nil when nothing).
func (r *Repo) refresh(ctx context.Context, now time.Time, c map[string][]byte, p probe, remoteTS []byte) (*Trusted, error) {
	res := &Trusted{}
	trusted, err := r.trustRoot(c)
	if err != nil {
		return nil, err
	}
	trusted.RefTime = now
	final := map[string][]byte{Root: c[Root]}
	if final[Root] == nil {
		// As the updater does, keep the shipped root in the cache, so the
		// next refresh finds all four roles there.
		if err := r.Cache.Put(Root, r.Root); err != nil {
			return nil, err
		}
		final[Root] = r.Root
	}

	// 5.3 root: walk N+1, N+2, ... until a 404.
	first := trusted.Root.Signed.Version + 1
	for v := first; v < first+MaxRootRotations; v++ {
		var data []byte
		if v == p.version {
			data = p.next
		} else if data, err = r.fetchRoot(ctx, v); err != nil {
			return nil, err
		}
		if data == nil {
			break
		}
		if _, err := trusted.UpdateRoot(data); err != nil {
			return nil, err
		}
		if err := r.Cache.Put(Root, data); err != nil {
			return nil, err
		}
		final[Root] = data
	}

	// 5.4 timestamp: the cached one for rollback protection, then the
	// remote one.
	if local := c[Timestamp]; local != nil {
		_ = r.loadLocal(Timestamp, func() error { _, err := trusted.UpdateTimestamp(local); return err })
	}
	if remoteTS == nil {
		if remoteTS, err = r.Fetcher.Get(ctx, r.path("timestamp.json"), MaxTimestamp); err != nil {
			return nil, err
		}
	}
	// The new timestamp, snapshot and targets are kept once Check has
	// accepted the targets.
	var keep []string
	final[Timestamp] = c[Timestamp]
	if _, err := trusted.UpdateTimestamp(remoteTS); err != nil {
		var equal *metadata.ErrEqualVersionNumber
		if !errors.As(err, &equal) {
			return nil, err
		}
	} else {
		final[Timestamp] = remoteTS
		keep = append(keep, Timestamp)
	}

	// 5.5 snapshot: the cached one if it is still the one named.
	final[Snapshot] = c[Snapshot]
	if local := c[Snapshot]; local == nil || r.loadLocal(Snapshot, func() error { _, err := trusted.UpdateSnapshot(local, true); return err }) != nil {
		meta := trusted.Timestamp.Signed.Meta["snapshot.json"]
		if meta == nil {
			return nil, &metadata.ErrRepository{Msg: "timestamp names no snapshot.json"}
		}
		data, err := r.fetchVersioned(ctx, trusted, Snapshot, meta, MaxSnapshot)
		if err != nil {
			return nil, err
		}
		if _, err := trusted.UpdateSnapshot(data, false); err != nil {
			return nil, err
		}
		final[Snapshot] = data
		keep = append(keep, Snapshot)
	}

	// 5.6 targets (top level only: rings have no delegations).
	final[Targets] = c[Targets]
	if local := c[Targets]; local == nil || r.loadLocal(Targets, func() error {
		_, err := trusted.UpdateDelegatedTargets(local, Targets, Root)
		return err
	}) != nil {
		meta := trusted.Snapshot.Signed.Meta["targets.json"]
		if meta == nil {
			return nil, &metadata.ErrRepository{Msg: "snapshot names no targets.json"}
		}
		data, err := r.fetchVersioned(ctx, trusted, Targets, meta, MaxTargets)
		if err != nil {
			return nil, err
		}
		if _, err := trusted.UpdateDelegatedTargets(data, Targets, Root); err != nil {
			return nil, err
		}
		final[Targets] = data
		keep = append(keep, Targets)
	}

	t := trusted.Targets[Targets]
	if r.Check != nil {
		if err := r.Check(t); err != nil {
			return nil, err
		}
	}
	for _, role := range keep {
		if err := r.Cache.Put(role, final[role]); err != nil {
			return nil, err
		}
	}
	res.RootVersion = trusted.Root.Signed.Version
	res.TimestampVersion = trusted.Timestamp.Signed.Version
	res.SnapshotVersion = trusted.Snapshot.Signed.Version
	res.TargetsVersion = t.Signed.Version
	res.Targets = map[string]*metadata.TargetFiles{}
	for p, tf := range t.Signed.Targets {
		tf.Path = p
		res.Targets[p] = tf
	}
	res.Expires = map[string]time.Time{
		Root: trusted.Root.Signed.Expires, Timestamp: trusted.Timestamp.Signed.Expires,
		Snapshot: trusted.Snapshot.Signed.Expires, Targets: t.Signed.Expires,
	}
	if r.Memo != nil {
		r.Memo.put(r.memoKey(final), res)
	}
	return res, nil
}

// trustRoot starts go-tuf's trusted set from the cached root, or from the
// shipped one when the cache holds none, a corrupt one, or an older one
// than the image ships (a device image updated with a rotated root).
func (r *Repo) trustRoot(c map[string][]byte) (*trustedmetadata.TrustedMetadata, error) {
	shipped, err := trustedmetadata.New(r.Root)
	if err != nil {
		return nil, fmt.Errorf("the shipped root.json: %w", err)
	}
	if c[Root] == nil || string(c[Root]) == string(r.Root) {
		// No root cached, or the shipped one (no rotation since the
		// image was made): verified once, not twice.
		return shipped, nil
	}
	cached, err := trustedmetadata.New(c[Root])
	if err != nil || cached.Root.Signed.Version < shipped.Root.Signed.Version {
		if err != nil {
			r.logger().Warn("cached root.json is corrupt; starting again from the shipped root", "error", err)
		}
		for _, role := range []string{Root, Timestamp, Snapshot, Targets} {
			_ = r.Cache.Delete(role)
			c[role] = nil
		}
		r.Rebuilt = err != nil
		return shipped, nil
	}
	return cached, nil
}

// loadLocal runs load (a go-tuf update with cached bytes) and returns its
// error; a cached document that does not even parse is dropped from the
// cache (the updater would stop there; a device must go on).
func (r *Repo) loadLocal(role string, load func() error) error {
	err := load()
	if err != nil && !isRepoErr(err) {
		r.logger().Warn("cached TUF metadata is corrupt; fetching it again", "role", role, "error", err)
		_ = r.Cache.Delete(role)
		r.Rebuilt = true
	}
	return err
}

// isRepoErr reports a go-tuf verification outcome (the document parsed
// but is not, or no longer, trusted), as opposed to one that is not
// metadata at all.
func isRepoErr(err error) bool {
	return errors.Is(err, &metadata.ErrRepository{})
}

// fetchVersioned fetches V.<role>.json (consistent snapshots) or
// <role>.json, bounded by the signed length when the meta gives one.
func (r *Repo) fetchVersioned(ctx context.Context, trusted *trustedmetadata.TrustedMetadata, role string, meta *metadata.MetaFiles, max int64) ([]byte, error) {
	name := role + ".json"
	if trusted.Root.Signed.ConsistentSnapshot {
		name = strconv.FormatInt(meta.Version, 10) + "." + name
	}
	limit := max
	if meta.Length > 0 {
		limit = min(meta.Length, max)
	}
	return r.Fetcher.Get(ctx, r.path(name), limit)
}

// memoKey identifies a repository state by where it is read and its
// four documents: a state verified (and checked) as one repository is
// never reused for another.
func (r *Repo) memoKey(c map[string][]byte) [sha256.Size]byte {
	h := sha256.New()
	d := sha256.Sum256([]byte(r.Dir))
	h.Write(d[:])
	for _, role := range []string{Root, Timestamp, Snapshot, Targets} {
		d := sha256.Sum256(c[role])
		h.Write(d[:])
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// Memo remembers verified repository states by the digest of their four
// documents; it is safe for concurrent use, and bounded.
type Memo struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]*Trusted
}

// memoMax bounds a Memo: past it, it starts over.
const memoMax = 1024

func (m *Memo) get(k [sha256.Size]byte) *Trusted {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.m[k]
}

func (m *Memo) put(k [sha256.Size]byte, t *Trusted) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil || len(m.m) >= memoMax {
		m.m = map[[sha256.Size]byte]*Trusted{}
	}
	if _, ok := m.m[k]; !ok {
		m.m[k] = t
	}
}
