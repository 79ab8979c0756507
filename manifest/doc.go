// Package manifest reads and checks update manifests (update.yaml) and
// resolves them into an Update: the package name, kind, version, targets
// (the CHIDs of the products it is for, plus explicit ones), requirements
// and the exact list of payload files with their place in the cabinet,
// size and SHA-256. An Update has one canonical JSON encoding (update.json)
// that is embedded in the cabinet and read back, bounded, by the signer and
// the device side (ParseUpdateJSON).
//
// The package owns the update.yaml rules and per-kind checks: a driver's
// .inf and every catalog and file it names, an app's package, an OS
// update's build and its vendor-signed .cab packages (VendorSigned: the
// signer verifies them against the OS vendor's roots and never signs them
// again; the OEM signs the outer cabinet as for every kind). It
// does not write cabinets (see manifest/build and packager), compute CHIDs
// (smbios) or decide what is already published (flight).
package manifest
