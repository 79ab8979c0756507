package catalog

import (
	"fmt"
	"regexp"

	"github.com/devupdate/devupdate/smbios"
)

// The store layout, relative to the store's root (and so to the CDN's base
// URL). Every ring and product shares one targets base: with consistent
// snapshots a target file is named by its SHA-256, so one cabinet is stored
// once however many rings and products offer it.
const (
	// RingsDir holds one directory per ring.
	RingsDir = "rings"
	// TargetsDir is the targets base every device's TUF client is
	// configured with: TargetsDir/<sha256>.<name>_<version>.cab.
	TargetsDir = "targets"
)

var ringRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,31}$`)

// ValidRing reports whether ring is a valid ring name: an ASCII letter then
// up to 31 letters or digits (the product file's rule).
func ValidRing(ring string) bool { return ringRE.MatchString(ring) }

// RingDir is the directory of a ring: rings/<ring>.
func RingDir(ring string) string { return RingsDir + "/" + ring }

// MetadataDir is the TUF metadata base of the ring's repository for the
// product targeted by chid: rings/<ring>/<chid>. A device configures its TUF
// client with it (N.root.json, timestamp.json, V.snapshot.json and
// V.targets.json live there).
func MetadataDir(ring string, chid smbios.CHID) string {
	return RingDir(ring) + "/" + chid.String()
}

// TargetPath is the TUF target path of an update: <name>_<version>.cab,
// the cabinet's file name.
func TargetPath(name string, v Version) string { return name + "_" + v.String() + ".cab" }

// TargetKey is where a TUF client with consistent snapshots (go-tuf's
// default PrefixTargetsWithHash) fetches a target: targets/<sha256>.<path>.
func TargetKey(sha256Hex, targetPath string) string {
	return fmt.Sprintf("%s/%s.%s", TargetsDir, sha256Hex, targetPath)
}
