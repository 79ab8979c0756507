package flight

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/smbios"
)

// The size limits a device's go-tuf client applies by default; flight reads
// its own metadata back under the same bounds.
const (
	maxRoot      = 512000
	maxTimestamp = 16384
	maxSnapshot  = 2000000
	maxTargets   = 5000000
)

// previousField is the top-level field of targets metadata naming the
// version it was derived from: the committed versions form a chain that the
// audit trail walks, skipping any version a crashed writer left behind.
const previousField = "x-devupdate-previous"

// jsonProps are the properties of an immutable, versioned metadata file.
var jsonProps = cdn.Props{ContentType: "application/json", CacheControl: cdn.ImmutableCacheControl}

// ringRootDir keeps the ring's root versions (N.root.json), copied into
// every product repository of the ring, new ones included.
func ringRootDir(ring string) string { return catalog.RingDir(ring) + "/root" }

func versioned(dir string, v int64, role string) string {
	return fmt.Sprintf("%s/%d.%s.json", dir, v, role)
}

// repoState is one (ring, product) repository as last committed.
type repoState struct {
	ring    string
	chid    smbios.CHID
	dir     string
	root    *metadata.Metadata[metadata.RootType]
	tsETag  string
	ts      *metadata.Metadata[metadata.TimestampType]
	snap    *metadata.Metadata[metadata.SnapshotType]
	targets *metadata.Metadata[metadata.TargetsType]
	// targetsRaw are the stored bytes of targets, for a deep copy.
	targetsRaw []byte
}

// verifyRole checks that md (of role) is signed by root's keys for it.
func verifyRole(root *metadata.Metadata[metadata.RootType], role, key string, md any) error {
	if err := root.VerifyDelegate(role, md); err != nil {
		return fmt.Errorf("%s: %w: %v", key, ErrCorrupt, err)
	}
	return nil
}

// ringRoot returns the ring's newest root and how many versions it has.
func (f *Flight) ringRoot(ctx context.Context, ring string) (*metadata.Metadata[metadata.RootType], error) {
	var latest int64
	err := f.s.List(ctx, ringRootDir(ring)+"/", func(i cdn.Info) error {
		n, ok := rootVersion(path.Base(i.Key))
		if ok && n > latest {
			latest = n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if latest == 0 {
		return nil, fmt.Errorf("%w: ring %s has no root metadata", ErrNotInitialised, ring)
	}
	data, _, err := getBounded(ctx, f.s, versioned(ringRootDir(ring), latest, "root"), maxRoot)
	if err != nil {
		return nil, err
	}
	root, err := metadata.Root().FromBytes(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", ring, ErrCorrupt, err)
	}
	if err := verifyRole(root, metadata.ROOT, versioned(ringRootDir(ring), latest, "root"), root); err != nil {
		return nil, err
	}
	return root, nil
}

func rootVersion(name string) (int64, bool) {
	s, ok := strings.CutSuffix(name, ".root.json")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

// readRepo reads and verifies the committed state of one repository:
// timestamp, the snapshot it names, the targets that snapshot names, each
// bounded and checked against the ring's root.
func (f *Flight) readRepo(ctx context.Context, ring string, chid smbios.CHID, root *metadata.Metadata[metadata.RootType]) (*repoState, error) {
	st, err := f.readOnline(ctx, ring, chid, root)
	if err != nil {
		return nil, err
	}
	if err := f.readTargets(ctx, st); err != nil {
		return nil, err
	}
	return st, nil
}

// readOnline reads and verifies what the online keys sign: the timestamp
// and the snapshot it names (all Refresh needs).
func (f *Flight) readOnline(ctx context.Context, ring string, chid smbios.CHID, root *metadata.Metadata[metadata.RootType]) (*repoState, error) {
	st := &repoState{ring: ring, chid: chid, dir: catalog.MetadataDir(ring, chid), root: root}
	tsKey := st.dir + "/timestamp.json"
	data, info, err := getBounded(ctx, f.s, tsKey, maxTimestamp)
	if err != nil {
		return nil, err
	}
	st.tsETag = info.ETag
	if st.ts, err = metadata.Timestamp().FromBytes(data); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", tsKey, ErrCorrupt, err)
	}
	if err := verifyRole(root, metadata.TIMESTAMP, tsKey, st.ts); err != nil {
		return nil, err
	}
	sm := st.ts.Signed.Meta["snapshot.json"]
	if sm == nil {
		return nil, fmt.Errorf("%s: %w: no snapshot.json entry", tsKey, ErrCorrupt)
	}
	snapKey := versioned(st.dir, sm.Version, "snapshot")
	if data, _, err = getBounded(ctx, f.s, snapKey, maxSnapshot); err != nil {
		return nil, err
	}
	if st.snap, err = metadata.Snapshot().FromBytes(data); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", snapKey, ErrCorrupt, err)
	}
	if err := verifyRole(root, metadata.SNAPSHOT, snapKey, st.snap); err != nil {
		return nil, err
	}
	tm := st.snap.Signed.Meta["targets.json"]
	if tm == nil || st.snap.Signed.Version != sm.Version {
		return nil, fmt.Errorf("%s: %w: version or targets.json entry wrong", snapKey, ErrCorrupt)
	}
	return st, nil
}

// readTargets reads and verifies the targets version st's snapshot names.
func (f *Flight) readTargets(ctx context.Context, st *repoState) error {
	tm := st.snap.Signed.Meta["targets.json"]
	targetsKey := versioned(st.dir, tm.Version, "targets")
	var err error
	if st.targetsRaw, _, err = getBounded(ctx, f.s, targetsKey, maxTargets); err != nil {
		return err
	}
	if st.targets, err = metadata.Targets().FromBytes(st.targetsRaw); err != nil {
		return fmt.Errorf("%s: %w: %v", targetsKey, ErrCorrupt, err)
	}
	if err := verifyRole(st.root, metadata.TARGETS, targetsKey, st.targets); err != nil {
		return err
	}
	if st.targets.Signed.Version != tm.Version {
		return fmt.Errorf("%s: %w: holds version %d", targetsKey, ErrCorrupt, st.targets.Signed.Version)
	}
	if err := catalog.CheckRepository(targetsKey, st.targets, st.ring, st.chid); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return nil
}

// targetsExpiresField is a top-level field of snapshot metadata: the expiry
// (RFC 3339, UTC) of the targets version the snapshot names, under the
// snapshot's signature. Refresh learns from it when the targets (an offline
// key's) must be re-signed without reading them; TUF clients ignore it.
const targetsExpiresField = "x-devupdate-targets-expires"

func setTargetsExpires(snap *metadata.Metadata[metadata.SnapshotType], t time.Time) {
	if snap.Signed.UnrecognizedFields == nil {
		snap.Signed.UnrecognizedFields = map[string]any{}
	}
	snap.Signed.UnrecognizedFields[targetsExpiresField] = t.UTC().Format(time.RFC3339)
}

// targetsExpires is when st's targets expire: from the targets when read,
// else from the snapshot's field (false when it has none).
func (st *repoState) targetsExpires() (time.Time, bool) {
	if st.targets != nil {
		return st.targets.Signed.Expires, true
	}
	return parseTargetsExpires(st.snap.Signed.UnrecognizedFields[targetsExpiresField])
}

// parseTargetsExpires reads the snapshot's targets-expiry field (as go-tuf
// decoded it): an RFC 3339 time in UTC.
func parseTargetsExpires(raw any) (time.Time, bool) {
	s, ok := raw.(string)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || t.Location() != time.UTC {
		return time.Time{}, false
	}
	return t, true
}

// entries decodes every entry of the targets metadata, keyed by target path.
func entriesOf(file string, t *metadata.Metadata[metadata.TargetsType]) (map[string]*catalog.Entry, error) {
	out := map[string]*catalog.Entry{}
	for p, tf := range t.Signed.Targets {
		tf.Path = p
		e, err := catalog.FromTarget(file, tf)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		out[p] = e
	}
	return out, nil
}

// signers are the online and targets keys a change signs with.
type signers struct {
	targets, snapshot, timestamp []signature.Signer
}

func (f *Flight) ringSigners(ctx context.Context, ring string, withTargets bool) (*signers, error) {
	if f.keys == nil {
		return nil, fmt.Errorf("%w: no keys given (--keys FILE)", ErrKey)
	}
	var sg signers
	var err error
	if withTargets {
		if sg.targets, err = f.keys.Signers(ctx, ring, metadata.TARGETS, false); err != nil {
			return nil, err
		}
	}
	if sg.snapshot, err = f.keys.Signers(ctx, ring, metadata.SNAPSHOT, false); err != nil {
		return nil, err
	}
	if sg.timestamp, err = f.keys.Signers(ctx, ring, metadata.TIMESTAMP, false); err != nil {
		return nil, err
	}
	return &sg, nil
}

func sign[T metadata.Roles](md *metadata.Metadata[T], with []signature.Signer) ([]byte, error) {
	md.ClearSignatures()
	for _, s := range with {
		if _, err := md.Sign(s); err != nil {
			return nil, fmt.Errorf("%w: signing: %v", ErrKey, err)
		}
	}
	return md.ToBytes(false)
}

// createVersioned writes a new versioned metadata file at a free version
// from v on: a version left behind by a crashed writer, or taken by a
// concurrent one that has not yet swapped the timestamp, is skipped, by
// steps that double so that however many such versions pile up it takes few
// tries (TUF clients accept gaps; the timestamp swap decides who wins). It
// returns the version written.
func (f *Flight) createVersioned(ctx context.Context, dir, role string, v int64, build func(v int64) ([]byte, error)) (int64, error) {
	step := int64(1)
	for range 24 {
		data, err := build(v)
		if err != nil {
			return 0, err
		}
		_, err = f.s.Create(ctx, versioned(dir, v, role), bytes.NewReader(data), jsonProps)
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, cdn.ErrExists) {
			return 0, err
		}
		v += step
		step *= 2
	}
	return 0, fmt.Errorf("%s/%s: %w", dir, role, ErrConflict)
}

// errLostRace is returned by commit when another writer swapped the
// timestamp first: the caller re-reads and re-validates.
var errLostRace = errors.New("lost the timestamp race")

// commit writes the next state of a repository: the new targets (nil keeps
// the current one), a snapshot naming them, and a timestamp naming that
// snapshot, swapped in by compare-and-swap on the ETag read. Until the swap,
// devices see the old state; after it, the new one.
func (f *Flight) commit(ctx context.Context, st *repoState, cfg *RingConfig, newTargets *metadata.Metadata[metadata.TargetsType], sg *signers) error {
	now := f.now()
	targetsVersion := st.snap.Signed.Meta["targets.json"].Version
	if newTargets != nil {
		if newTargets.Signed.UnrecognizedFields == nil {
			newTargets.Signed.UnrecognizedFields = map[string]any{}
		}
		newTargets.Signed.UnrecognizedFields[previousField] = st.targets.Signed.Version
		if err := catalog.BindRepository(newTargets, st.ring, st.chid); err != nil {
			return err
		}
		newTargets.Signed.Expires = now.Add(cfg.Expiry.of(metadata.TARGETS))
		v, err := f.createVersioned(ctx, st.dir, metadata.TARGETS, st.targets.Signed.Version+1, func(v int64) ([]byte, error) {
			newTargets.Signed.Version = v
			return sign(newTargets, sg.targets)
		})
		if err != nil {
			return err
		}
		targetsVersion = v
	}
	snap := metadata.Snapshot(now.Add(cfg.Expiry.of(metadata.SNAPSHOT)))
	snap.Signed.Meta["targets.json"] = metadata.MetaFile(targetsVersion)
	if newTargets != nil {
		setTargetsExpires(snap, newTargets.Signed.Expires)
	} else if t, ok := st.targetsExpires(); ok {
		setTargetsExpires(snap, t)
	} else {
		return fmt.Errorf("%s: the targets' expiry is unknown (read the targets first)", st.dir)
	}
	snapVersion, err := f.createVersioned(ctx, st.dir, metadata.SNAPSHOT, st.snap.Signed.Version+1, func(v int64) ([]byte, error) {
		snap.Signed.Version = v
		return sign(snap, sg.snapshot)
	})
	if err != nil {
		return err
	}
	return f.swapTimestamp(ctx, st, cfg, snapVersion, sg.timestamp)
}

func (f *Flight) swapTimestamp(ctx context.Context, st *repoState, cfg *RingConfig, snapVersion int64, with []signature.Signer) error {
	ts := metadata.Timestamp(f.now().Add(cfg.Expiry.of(metadata.TIMESTAMP)))
	ts.Signed.Version = st.ts.Signed.Version + 1
	ts.Signed.Meta["snapshot.json"] = metadata.MetaFile(snapVersion)
	body, err := sign(ts, with)
	if err != nil {
		return err
	}
	_, err = cdn.PutPointer(ctx, f.s, st.dir+"/timestamp.json", body, st.tsETag, cdn.WithMaxAge(time.Minute))
	if errors.Is(err, cdn.ErrPreconditionFailed) || errors.Is(err, cdn.ErrExists) {
		return errLostRace
	}
	return err
}

// createRepo makes the repository of a product in a ring: every root
// version of the ring (copied inside the store), empty targets, snapshot
// and timestamp. It is idempotent: parts that exist are kept, so a
// re-run after a crash completes it.
func (f *Flight) createRepo(ctx context.Context, ring string, cfg *RingConfig, chid smbios.CHID, sg *signers) error {
	dir := catalog.MetadataDir(ring, chid)
	err := f.s.List(ctx, ringRootDir(ring)+"/", func(i cdn.Info) error {
		if _, ok := rootVersion(path.Base(i.Key)); !ok {
			return nil
		}
		_, err := f.s.Copy(ctx, i.Key, dir+"/"+path.Base(i.Key))
		if errors.Is(err, cdn.ErrExists) {
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	if _, err := f.s.Stat(ctx, dir+"/timestamp.json"); err == nil {
		return nil
	} else if !errors.Is(err, cdn.ErrNotFound) {
		return err
	}
	now := f.now()
	targets := metadata.Targets(now.Add(cfg.Expiry.of(metadata.TARGETS)))
	if err := catalog.BindRepository(targets, ring, chid); err != nil {
		return err
	}
	tv, err := f.createVersioned(ctx, dir, metadata.TARGETS, 1, func(v int64) ([]byte, error) {
		targets.Signed.Version = v
		return sign(targets, sg.targets)
	})
	if err != nil {
		return err
	}
	snap := metadata.Snapshot(now.Add(cfg.Expiry.of(metadata.SNAPSHOT)))
	snap.Signed.Meta["targets.json"] = metadata.MetaFile(tv)
	setTargetsExpires(snap, targets.Signed.Expires)
	sv, err := f.createVersioned(ctx, dir, metadata.SNAPSHOT, 1, func(v int64) ([]byte, error) {
		snap.Signed.Version = v
		return sign(snap, sg.snapshot)
	})
	if err != nil {
		return err
	}
	ts := metadata.Timestamp(now.Add(cfg.Expiry.of(metadata.TIMESTAMP)))
	ts.Signed.Meta["snapshot.json"] = metadata.MetaFile(sv)
	body, err := sign(ts, sg.timestamp)
	if err != nil {
		return err
	}
	_, err = cdn.PutPointer(ctx, f.s, dir+"/timestamp.json", body, "", cdn.WithMaxAge(time.Minute))
	if errors.Is(err, cdn.ErrExists) {
		return nil // a concurrent init finished it
	}
	return err
}

// changeField is a top-level field of a ring's root versions after the
// first: the change that wrote it (a key rotation: who, when, why), under
// the root signatures, for the audit trail.
const changeField = "x-devupdate-change"

// ActionRotate is the action of a key rotation in the audit trail.
const ActionRotate catalog.Action = "rotate"

// newRoot builds and signs a ring's root: the keys of every role from the
// keyring, their thresholds, and the given version and expiry. signWith are
// the root keys that sign it (the new ones, plus the old ones in a
// rotation); change, when not nil, is recorded in it.
func (f *Flight) newRoot(ctx context.Context, ring string, version int64, expires time.Time, signWith []signature.Signer, change *catalog.Change) ([]byte, *metadata.Metadata[metadata.RootType], error) {
	root := metadata.Root(expires)
	root.Signed.Version = version
	if change != nil {
		root.Signed.UnrecognizedFields = map[string]any{changeField: map[string]any{
			"action": string(change.Action), "actor": change.Actor, "time": change.Time.UTC().Format(time.RFC3339), "reason": change.Reason}}
	}
	for _, role := range Roles {
		rk, err := f.keys.Role(ring, role)
		if err != nil {
			return nil, nil, err
		}
		ss, err := f.keys.Signers(ctx, ring, role, false)
		if err != nil {
			return nil, nil, err
		}
		for _, s := range ss {
			pub, _ := s.PublicKey()
			k, err := metadata.KeyFromPublicKey(pub)
			if err != nil {
				return nil, nil, fmt.Errorf("%w: %v", ErrKey, err)
			}
			if err := root.Signed.AddKey(k, role); err != nil {
				return nil, nil, fmt.Errorf("%w: %v", ErrKey, err)
			}
		}
		slices.Sort(root.Signed.Roles[role].KeyIDs)
		root.Signed.Roles[role].Threshold = rk.Threshold
	}
	data, err := sign(root, signWith)
	return data, root, err
}
