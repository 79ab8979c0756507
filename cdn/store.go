// Package cdn owns publishing update content to blob storage behind a CDN:
// the Store interface every storage backend implements, the errors they
// share, a retry wrapper, and the publishing rules themselves (Publish for
// immutable content-addressed blobs, PutPointer for the few small mutable
// pointers that flight catalogs need).
//
// The backends are sibling packages, each implementing Store: cdn/local (a
// directory, the embedded default), cdn/memory (for fast tests) and cdn/azure
// (Azure Blob Storage). cdn/stores opens one from a store URL and cdn/origin
// serves a store over HTTP as the origin of a CDN. cdn/cdntest is the one
// conformance suite every backend passes.
//
// This package does not know how cabinets are built or signed, nor what a
// flight catalog contains; it stores bytes under keys and never overwrites
// published content.
package cdn

import (
	"context"
	"io"
	"time"
)

// Store is a blob store with conditional writes. Keys are slash-separated
// relative paths (see ValidateKey). Every method honours ctx; a write whose
// ctx is cancelled or whose body fails leaves nothing visible at the key.
type Store interface {
	// Stat returns the blob's size, ETag and properties, or an error
	// wrapping ErrNotFound.
	Stat(ctx context.Context, key string) (Info, error)

	// Get streams the bytes of r (the whole blob for the zero Range). The
	// caller closes the reader. A missing blob is ErrNotFound; a range
	// starting at or past the end is ErrInvalidRange.
	Get(ctx context.Context, key string, r Range) (io.ReadCloser, Info, error)

	// Create writes a new blob from body, only if no blob exists at key:
	// when one does (or another writer wins a race), it returns an error
	// wrapping ErrExists and the existing blob is untouched.
	Create(ctx context.Context, key string, body io.Reader, p Props) (Info, error)

	// Replace overwrites the blob at key only if its current ETag is
	// ifMatch; otherwise (including when the blob is missing) it returns an
	// error wrapping ErrPreconditionFailed. ifMatch must not be empty.
	Replace(ctx context.Context, key string, body io.Reader, p Props, ifMatch string) (Info, error)

	// Copy creates dst with the bytes and properties of src, inside the
	// store (a hard link, a shared buffer, a server-side copy: the bytes do
	// not pass through the caller), only if no blob exists at dst: when one
	// does (or another writer wins a race) it returns an error wrapping
	// ErrExists and dst is untouched. A missing src is ErrNotFound. Like
	// Create, a failed copy leaves nothing visible at dst.
	Copy(ctx context.Context, src, dst string) (Info, error)

	// List calls fn for every blob whose key starts with prefix, in
	// lexical key order, stopping at fn's first error.
	List(ctx context.Context, prefix string, fn func(Info) error) error
}

// Props are the properties stored with a blob and served with it.
type Props struct {
	ContentType  string // served as Content-Type; empty means application/octet-stream
	CacheControl string // served as Cache-Control; empty means none
	// Metadata holds small string values (lower-case ASCII letter and digit
	// names) stored beside the blob, such as its sha256.
	Metadata map[string]string
}

// Info describes a stored blob.
type Info struct {
	Key      string
	Size     int64
	ETag     string // opaque; changes whenever the content is replaced
	Modified time.Time
	Props    Props
}

// Range selects bytes [Offset, Offset+Length) of a blob. Length <= 0 means
// up to the end; the zero Range is the whole blob.
type Range struct {
	Offset int64
	Length int64
}

// URLer is implemented by stores that can name a blob by URL (a file:// path
// or the blob's https:// address); Publish reports it when no CDN base is set.
type URLer interface {
	URL(key string) string
}
