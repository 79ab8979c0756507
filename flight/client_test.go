package flight_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/memory"
	"github.com/devupdate/devupdate/flight"
	"github.com/devupdate/devupdate/flight/catalog"
)

// overwrite replaces a stored blob, as an attacker with write access to the
// store (or a lying CDN) would.
func (e *env) overwrite(key string, data []byte) {
	e.t.Helper()
	info, err := e.s.Stat(e.t.Context(), key)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.s.Replace(e.t.Context(), key, bytes.NewReader(data), info.Props, info.ETag); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) read(key string) []byte {
	e.t.Helper()
	rc, _, err := e.s.Get(e.t.Context(), key, cdn.Range{})
	if err != nil {
		e.t.Fatal(err)
	}
	defer rc.Close()
	var b bytes.Buffer
	b.ReadFrom(rc)
	return b.Bytes()
}

// signTimestamp signs a timestamp naming snapshot version snap with ring's
// timestamp keys, as an attacker holding (only) that online key could.
func (e *env) signTimestamp(ring string, version, snap int64, expires time.Time) []byte {
	e.t.Helper()
	ts := metadata.Timestamp(expires)
	ts.Signed.Version = version
	ts.Signed.Meta["snapshot.json"] = metadata.MetaFile(snap)
	ss, err := e.keys.Signers(e.t.Context(), ring, "timestamp", false)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, s := range ss {
		if _, err := ts.Sign(s); err != nil {
			e.t.Fatal(err)
		}
	}
	data, err := ts.ToBytes(false)
	if err != nil {
		e.t.Fatal(err)
	}
	return data
}

func wantTUFError[T error](t *testing.T, what string, err error) {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Errorf("%s: error = %v (%T), want %T", what, err, err, target)
	}
}

// TestClientRefuses has go-tuf's own client refuse each attack on a ring,
// each with its own error.
func TestClientRefuses(t *testing.T) {
	e := newEnv(t, memory.New())
	ctx := t.Context()
	p1 := chidOf(e.products[0])
	dir := catalog.MetadataDir("Preview", p1)
	if _, err := e.f.Add(ctx, "Preview", []*flight.Candidate{e.cand("A.B", "1.0.0.1", p1)}, flight.AddOptions{}, who); err != nil {
		t.Fatal(err)
	}
	oldTS := e.read(dir + "/timestamp.json")
	if _, err := e.f.Add(ctx, "Preview", []*flight.Candidate{e.cand("A.B", "1.0.0.2", p1)}, flight.AddOptions{}, who); err != nil {
		t.Fatal(err)
	}
	curTS := e.read(dir + "/timestamp.json")
	var cur metadata.Metadata[metadata.TimestampType]
	if _, err := cur.FromBytes(curTS); err != nil {
		t.Fatal(err)
	}
	dev := e.device("Preview", p1, nil)
	if got := e.entries(dev); len(got) != 2 {
		t.Fatalf("device sees %d entries, want 2", len(got))
	}

	t.Run("replayed older timestamp (rollback)", func(t *testing.T) {
		e.overwrite(dir+"/timestamp.json", oldTS)
		defer e.overwrite(dir+"/timestamp.json", curTS)
		wantTUFError[*metadata.ErrBadVersionNumber](t, "refresh", dev.refresh())
	})
	t.Run("replayed older snapshot (rollback)", func(t *testing.T) {
		// Even the timestamp key's holder cannot point devices back at an
		// older snapshot.
		snap := cur.Signed.Meta["snapshot.json"].Version
		e.overwrite(dir+"/timestamp.json", e.signTimestamp("Preview", cur.Signed.Version+1, snap-1, time.Now().Add(time.Hour)))
		defer e.overwrite(dir+"/timestamp.json", curTS)
		wantTUFError[*metadata.ErrBadVersionNumber](t, "refresh", dev.refresh())
	})
	t.Run("expired timestamp (freeze)", func(t *testing.T) {
		d := e.device("Preview", p1, nil)
		up, err := newUpdater(d)
		if err != nil {
			t.Fatal(err)
		}
		up.UnsafeSetRefTime(time.Now().Add(25 * time.Hour)) // the device's clock, a day after the last refresh
		wantTUFError[*metadata.ErrExpiredMetadata](t, "refresh", up.Refresh())
	})
	t.Run("timestamp signed by another ring's key", func(t *testing.T) {
		e.overwrite(dir+"/timestamp.json", e.signTimestamp("EarlyAdopter", cur.Signed.Version+1, cur.Signed.Meta["snapshot.json"].Version, time.Now().Add(time.Hour)))
		defer e.overwrite(dir+"/timestamp.json", curTS)
		wantTUFError[*metadata.ErrUnsignedMetadata](t, "refresh", e.device("Preview", p1, nil).refresh())
	})
	t.Run("snapshot from another ring (mix-and-match)", func(t *testing.T) {
		snapKey := dir + "/" + itoa(cur.Signed.Meta["snapshot.json"].Version) + ".snapshot.json"
		mine := e.read(snapKey)
		eaDir := catalog.MetadataDir("EarlyAdopter", p1)
		e.overwrite(snapKey, e.read(eaDir+"/1.snapshot.json"))
		defer e.overwrite(snapKey, mine)
		wantTUFError[*metadata.ErrUnsignedMetadata](t, "refresh", e.device("Preview", p1, nil).refresh())
	})
	t.Run("swapped cabinet", func(t *testing.T) {
		d := e.device("Preview", p1, nil)
		if err := d.refresh(); err != nil {
			t.Fatal(err)
		}
		tf, err := d.up.GetTargetInfo("A.B_1.0.0.2.cab")
		if err != nil {
			t.Fatal(err)
		}
		key := catalog.TargetKey(tf.Hashes["sha256"].String(), tf.Path)
		orig := e.read(key)
		swapped := bytes.Clone(orig)
		swapped[10] ^= 0xff
		e.overwrite(key, swapped)
		defer e.overwrite(key, orig)
		_, _, err = d.up.DownloadTarget(tf, filepath.Join(t.TempDir(), "x"), "")
		wantTUFError[*metadata.ErrLengthOrHashMismatch](t, "download", err)
	})
	t.Run("oversized timestamp", func(t *testing.T) {
		e.overwrite(dir+"/timestamp.json", append(bytes.Clone(curTS), bytes.Repeat([]byte(" "), 20000)...))
		defer e.overwrite(dir+"/timestamp.json", curTS)
		wantTUFError[*metadata.ErrDownloadLengthMismatch](t, "refresh", e.device("Preview", p1, nil).refresh())
	})
	t.Run("another product's metadata", func(t *testing.T) {
		// One ring's keys sign every product repository of the ring, so
		// TUF alone takes another product's metadata whose versions are
		// higher; the repository each targets version names under the
		// signature tells them apart.
		p2 := chidOf(e.products[1])
		for i := range 4 {
			if _, err := e.f.Add(ctx, "Preview", []*flight.Candidate{e.cand("B.B", "1.0.0."+itoa(int64(i+1)), p2)}, flight.AddOptions{}, who); err != nil {
				t.Fatal(err)
			}
		}
		otherDir := catalog.MetadataDir("Preview", p2)
		otherTS := e.read(otherDir + "/timestamp.json")
		var ots metadata.Metadata[metadata.TimestampType]
		if _, err := ots.FromBytes(otherTS); err != nil {
			t.Fatal(err)
		}
		if ots.Signed.Version <= cur.Signed.Version {
			t.Fatalf("the other product's timestamp v%d is not above v%d", ots.Signed.Version, cur.Signed.Version)
		}
		snapName := itoa(ots.Signed.Meta["snapshot.json"].Version) + ".snapshot.json"
		var osnap metadata.Metadata[metadata.SnapshotType]
		if _, err := osnap.FromBytes(e.read(otherDir + "/" + snapName)); err != nil {
			t.Fatal(err)
		}
		targetsName := itoa(osnap.Signed.Meta["targets.json"].Version) + ".targets.json"
		for _, name := range []string{snapName, targetsName} {
			if _, err := e.s.Create(ctx, dir+"/"+name, bytes.NewReader(e.read(otherDir+"/"+name)), cdn.Props{ContentType: "application/json"}); err != nil {
				t.Fatal(err)
			}
		}
		e.overwrite(dir+"/timestamp.json", otherTS)
		defer e.overwrite(dir+"/timestamp.json", curTS)
		d := e.device("Preview", p1, nil)
		if err := d.refresh(); err != nil {
			t.Fatalf("go-tuf refused the other product's metadata (%v): the check below is not reached", err)
		}
		trusted := d.up.GetTrustedMetadataSet().Targets[metadata.TARGETS]
		err := catalog.CheckRepository("targets.json", trusted, "Preview", p1)
		var re *catalog.RepositoryError
		if !errors.As(err, &re) || re.Got != (catalog.Repository{Ring: "Preview", Product: p2}) {
			t.Errorf("device check: error = %v, want *RepositoryError naming Preview/%s", err, p2)
		}
		// The publishing side reads its store with the same rule.
		if _, err := e.f.Status(ctx, "Preview", nil); !errors.Is(err, flight.ErrCorrupt) || !errors.Is(err, catalog.ErrWrongRepository) {
			t.Errorf("status over the swapped repository: error = %v, want ErrCorrupt and ErrWrongRepository", err)
		}
	})
}

func itoa(v int64) string { return string(appendInt(nil, v)) }

func appendInt(b []byte, v int64) []byte {
	if v >= 10 {
		b = appendInt(b, v/10)
	}
	return append(b, byte('0'+v%10))
}
