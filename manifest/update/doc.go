// Package update owns the signed update manifest, update.json: the Update
// it describes (name, kind, version, targets, requirements, files), the
// rules every update obeys (Validate), its one canonical encoding
// (EncodeJSON) and its bounded, strict parser (ParseJSON). The rules are
// written once here and used by whoever writes an update (manifest.Load,
// from update.yaml) and whoever reads one (the signer, flight, the device
// agent), so the two sides cannot drift apart.
//
// It is on the device side: it imports no YAML parser, no cabinet writer,
// no .inf reader and no product files (internal/archtest checks that). It
// does not read update.yaml (package manifest), write cabinets
// (manifest/build) or decide what a device installs.
package update
