// Package cabinet reads Microsoft Cabinet files ([MS-CAB]) with MSZIP
// compression ([MS-MCI]): it lists, tests (CFDATA checksums and
// decompression), walks (every file in data order, each folder
// decompressed once) and extracts cabinets written by any tool, signed or not,
// treating them as untrusted: every structure is bounds-checked, names
// that could escape the extraction directory are refused, and the bytes
// decompressed are capped.
//
// It is the device side of package packager, which writes cabinets with
// this package's layout: a device reads and extracts cabinets without
// linking the writer's deflate encoder, planner or repair code
// (internal/archtest checks that). It knows nothing of update manifests
// or signatures beyond the header reserve they occupy.
//
// [MS-CAB]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-cab/
// [MS-MCI]: https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-mci/
package cabinet
