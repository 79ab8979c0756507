package fleetsim

import (
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/manifest/update"
)

// Violation is an update a device installed although the timeline never
// offered it to that device.
type Violation struct {
	Device  string `json:"device"`
	Ring    string `json:"ring"`
	Product int    `json:"product"`
	Name    string `json:"name"`
	Version string `json:"version"`
	// Reason: "product" (the update does not target the device's
	// product), "ring" (not in the device's ring then), "paused",
	// "halted", "rollout" (the device is outside the percentage), or
	// "downgrade" (lower than what the device had).
	Reason     string    `json:"reason"`
	Start, End time.Time `json:"-"`
}

// inRollout is the rollout rule of SPEC.md, written here from the rule and
// not taken from flight/catalog, so that the check does not trust the
// code it checks: a device is in when SHA-256 over the length-prefixed
// strings "devupdate-rollout-v1", its id, the update's name and version,
// read as a big-endian 64-bit number modulo 10,000, is under percent x 100.
func inRollout(id, name, version string, percent int) bool {
	h := sha256.New()
	for _, s := range []string{"devupdate-rollout-v1", id, name, version} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	return binary.BigEndian.Uint64(h.Sum(nil)[:8])%10000 < uint64(percent)*100
}

// install is one handler run the simulation's installer recorded.
type install struct {
	dev           *device
	name, version string
	// had is the version the device had before ("" for none).
	had        string
	start, end time.Time
}

// check returns why in was not allowed, "" when one of the states the
// device may have read offered it.
func (m *model) check(in install) string {
	d := in.dev
	if !m.targeted(in.name, d.product) {
		return "product"
	}
	if in.had != "" {
		h, _ := update.ParseVersion(in.had)
		v, _ := update.ParseVersion(in.version)
		if v.Compare(h) <= 0 {
			return "downgrade"
		}
	}
	reason := "ring"
	for _, s := range m.seen(repoKey{d.ring, d.product}, in.start, in.end) {
		e, ok := s.entries[nv(in.name, in.version)]
		switch {
		case !ok:
			continue
		case e.state == catalog.Halted:
			reason = "halted"
		case e.state == catalog.Paused:
			reason = "paused"
		case !inRollout(d.id, in.name, in.version, e.percent):
			reason = "rollout"
		default:
			return ""
		}
	}
	return reason
}
