// Package agent is the device agent: what `devupdate-agent` runs and what
// a fleet simulator drives, device by device. From the device's SMBIOS it
// computes its CHIDs and its product's targeting CHID, refreshes its
// ring's TUF repository for that product (agent/tufrepo), decides for
// every update offered there whether it applies and why not
// (catalog.Decide, in dependency order), and installs what applies: a
// resumable, bounded, hashed download into the state directory
// (agent/fetch), Authenticode verification with EV, the OEM's roots and
// subjects (signer/authenticode, which also verifies an OS update's vendor
// packages), a check that the signed cabinet is the update the metadata
// names, safe extraction (packager/cabinet), and the handler of its kind
// (agent/handler). The installed-state record (agent/state) is written
// before and after every step that matters, crash-safely, so a power cut
// anywhere leaves a record that is consistent and an install that is
// finished on the next run without running a handler twice when an
// "is it installed?" check is configured. Each attempt is reported
// (agent/report).
//
// Everything a caller may want to replace is an option: the HTTP client,
// the clock, the state store, the TUF cache and a memo of verified
// metadata (memory for a simulator of many devices), the device itself,
// the installers. The package never prints; it logs through an injected
// *slog.Logger. It links none of the publishing side (internal/archtest).
package agent
