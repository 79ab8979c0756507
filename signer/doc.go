// Package signer owns Authenticode signing of cabinets: loading keys from
// files (PEM/PKCS#8, PKCS#12), the RFC 3161 timestamp client, and the
// streaming sign-then-verify pipeline that writes a signed cabinet
// atomically. Verification, and the certificate policy both sides apply,
// are package signer/authenticode's (the device side imports it without
// relic); signer forwards its Verify, VerifyReaderAt, Policy and Result.
//
// Every cabinet is signed by the key it is given (the OEM's), os-kind
// updates included: the OS vendor's signed .cab packages inside an os-kind
// cabinet are verified against Policy.OSVendorRoots (Policy.VendorPolicy)
// before it is signed and whenever it is verified, and never modified. A
// signature is never replaced: signing a signed cabinet is refused.
//
// It does not own the cabinet format (package packager writes and reads
// cabinets; authenticode parses the header area Authenticode covers, and
// reads update.json and vendor packages through packager/cabinet, bounded,
// with update.ParseJSON checking update.json) and it
// does not own hardware tokens: PKCS#11 keys come from package
// signer/pkcs11, which needs cgo, so that this package and everything that
// only verifies builds with CGO_ENABLED=0.
//
// Signing is github.com/sassoftware/relic/v8 (lib/authenticode,
// lib/cabfile, lib/pkcs7, lib/pkcs9). Signing hashes the input once while
// copying it to a temporary file beside the output, fills the signature
// reserve, appends the signature, verifies the result against the caller's
// policy (authenticode.VerifyBlob), and only then renames it into place:
// memory stays flat whatever the cabinet's size, and a failed or
// interrupted run never leaves a half-written output.
package signer
