// Package authenticode verifies Authenticode signatures of cabinets: the
// one verifier devupdate has, used by `devupdate verify`, by the signer
// after every signature it makes, and by the device agent. It owns the
// cabinet's Authenticode digest, the DER PKCS #7 / CMS SignedData and its
// SpcIndirectDataContent, the signer's signature, RFC 3161 timestamps (and
// legacy PKCS #9 counter-signatures) against timestamp roots, the
// certificate policy an EV code-signing certificate must meet (Policy,
// CheckCertificate: signing applies the same rules), the required signer
// subjects, and what a cabinet holds (ReadContents: update.json, and the
// OS vendor packages inside an os-kind cabinet).
//
// A cabinet is read in two streaming passes, one per core: its own digest
// over its bytes, and one decompression of its folders during which every
// vendor package's SHA-256 and Authenticode digest are computed as its
// bytes come out. The cost is the same whatever the number of packages,
// and no package is held whole.
//
// It is on the device side: it imports no signing code, no relic, no
// PKCS #11 and no YAML (internal/archtest checks that), so it builds for
// every platform the agent runs on. Signing is package signer's (relic),
// as sigstore-go keeps pkg/verify apart from pkg/sign.
//
// The ASN.1 is read with golang.org/x/crypto/cryptobyte, strictly (DER
// only, every length checked against the bytes present, nothing allocated
// from a claimed size), for one narrow profile: a ContentInfo holding a
// SignedData with exactly one SignerInfo named by issuer and serial
// number, signed attributes carrying contentType and messageDigest, SHA-256
// (SHA-384/512 for signer and timestamp digests), RSA PKCS #1 v1.5 or
// ECDSA. Every input is bounded before it is parsed: the header area, the
// signature (MaxSignatureSize), update.json, each vendor package. Every
// refusal wraps a sentinel (errors.Is) and most are typed errors naming the
// file, structure or rule (errors.As).
package authenticode
