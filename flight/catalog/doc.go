// Package catalog is the device-safe half of flighting: everything a device
// needs to interpret a ring's signed TUF metadata, and nothing of the
// publishing side.
//
// It owns the custom fields carried by each target entry (Entry: kind, name,
// version, target CHIDs, requirements, rollout state and percentage,
// downgrade flag, when the update entered the ring and the last change), their
// validation and canonical encoding; the rollout bucket function; the store
// layout (where a ring's repository for one product lives, and the shared
// targets base); and Decide, the rules by which a device decides whether an
// entry is offered to it.
//
// A ring is a set of TUF 1.0 repositories, one per product, keyed by the
// product's targeting CHID (smbios.Fields.TargetingID) and signed by the
// ring's own keys. A device is configured with MetadataDir(ring, chid) as its
// TUF metadata base and TargetsDir as its targets base, and reads them with
// any conforming TUF client. Because every product repository of a ring is
// signed by the same keys, each targets version names its repository under
// the signature (RepositoryField, written by BindRepository); after every
// refresh a device calls CheckRepository on the targets its client trusts,
// and refuses another product's or another ring's metadata.
//
// The package imports only go-tuf's metadata types, the standard library and
// smbios; internal/archtest keeps it that way (no YAML, no storage SDKs, no
// HSM code, no signing).
package catalog
