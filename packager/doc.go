// Package packager writes and reads Microsoft Cabinet files ([MS-CAB]) with
// MSZIP compression ([MS-MCI]), the container in which device updates are
// signed, stored, flighted and installed.
//
// The writer is deterministic (entries sorted by name, one fixed time and
// fixed attributes, no host-dependent data), compresses the 32 KiB MSZIP
// blocks on every core while streaming from the input files with bounded
// memory, reserves the header space that Authenticode cabinet signing fills,
// and checks every format limit before writing: it never truncates or wraps
// a count or a size.
//
// The reader lives in package packager/cabinet (the device side reads and
// extracts cabinets without linking this writer's deflate encoder, planner
// and repair); packager re-exports it under its old names (Open, OpenFile,
// Cabinet, ...) and writes with its layout constants.
//
// The package knows nothing of update manifests: the caller decides which
// files go into a cabinet and what they are named.
//
// [MS-CAB]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-cab/
// [MS-MCI]: https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-mci/
package packager
