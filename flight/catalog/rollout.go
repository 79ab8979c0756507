package catalog

import (
	"crypto/sha256"
	"encoding/binary"
)

// Buckets is how many rollout buckets there are: a percentage p covers
// buckets [0, p*Buckets/100).
const Buckets = 10000

// Bucket places a device in one of Buckets buckets for one update: a
// stable hash (SHA-256) of the device id, the update's name and its version.
// The same device gets the same bucket at every scan, and different updates
// spread devices differently, so the same devices are not always first.
func Bucket(deviceID, name string, v Version) int {
	h := sha256.New()
	// Length-prefixed, so no two (id, name, version) triples hash the same input.
	for _, s := range []string{"devupdate-rollout-v1", deviceID, name, v.String()} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	return int(binary.BigEndian.Uint64(h.Sum(nil)[:8]) % Buckets)
}

// InRollout reports whether the device is among the percent of devices an
// update reaches. Raising the percentage only adds devices: a device in at
// p is in at every q >= p.
func InRollout(deviceID, name string, v Version, percent int) bool {
	return Bucket(deviceID, name, v) < percent*Buckets/100
}
