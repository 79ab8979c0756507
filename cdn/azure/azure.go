// Package azure is the cdn.Store for Azure Blob Storage (block blobs in one
// container), through the azblob SDK. Azurite stands in for Azure in tests.
//
// Uploads are streamed in parallel blocks (StageBlock, then one
// CommitBlockList): memory stays bounded at block size × concurrency, and the
// blob is invisible until the commit, so an interrupted upload leaves nothing
// at the key. Conditional writes are If-None-Match: * (create) and If-Match
// (replace); the service's refusals are classified by error code with
// bloberror.HasCode (BlobAlreadyExists, ConditionNotMet, BlobNotFound), never
// by message text, and reported as *cdn.StatusError with status and code.
package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/devupdate/devupdate/cdn"
)

// Credentials select how to authenticate, in this order of precedence: a
// connection string (which also names the endpoint), an account key, a SAS
// token, and otherwise azidentity's default credential chain (managed
// identity, workload identity, Azure CLI, ...).
type Credentials struct {
	ConnectionString string
	AccountKey       string
	SASToken         string
}

// Environment variables read by CredentialsFromEnv and EndpointFromEnv.
const (
	EnvConnectionString = "AZURE_STORAGE_CONNECTION_STRING"
	EnvAccountKey       = "AZURE_STORAGE_KEY"
	EnvSASToken         = "AZURE_STORAGE_SAS_TOKEN"
	EnvBlobEndpoint     = "AZURE_STORAGE_BLOB_ENDPOINT"
)

// CredentialsFromEnv reads the credentials from the environment (getenv is
// usually os.Getenv). Secrets never come from command-line arguments.
func CredentialsFromEnv(getenv func(string) string) Credentials {
	return Credentials{
		ConnectionString: getenv(EnvConnectionString),
		AccountKey:       getenv(EnvAccountKey),
		SASToken:         strings.TrimPrefix(getenv(EnvSASToken), "?"),
	}
}

type options struct {
	endpoint        string
	blockSize       int64
	concurrency     int
	createContainer bool
	logger          *slog.Logger
}

// Option configures Open.
type Option func(*options) error

// WithEndpoint sets the blob service endpoint (default
// https://ACCOUNT.blob.core.windows.net/; for Azurite
// http://127.0.0.1:PORT/devstoreaccount1). Conflicts with a connection string.
func WithEndpoint(endpoint string) Option {
	return func(o *options) error {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			return fmt.Errorf("%w: endpoint %q must be an http(s) URL without a query", cdn.ErrInvalidURL, endpoint)
		}
		o.endpoint = strings.TrimSuffix(endpoint, "/")
		return nil
	}
}

// WithBlockSize sets the size of each staged block (default 8 MiB; 1 MiB to
// 4000 MiB). Memory used by an upload is about block size × concurrency.
func WithBlockSize(n int64) Option {
	return func(o *options) error {
		if n < 1<<20 || n > blockblob.MaxStageBlockBytes {
			return fmt.Errorf("block size %d outside 1 MiB..%d", n, int64(blockblob.MaxStageBlockBytes))
		}
		o.blockSize = n
		return nil
	}
}

// WithConcurrency sets how many blocks are uploaded at once (default 4).
func WithConcurrency(n int) Option {
	return func(o *options) error {
		if n < 1 || n > 64 {
			return fmt.Errorf("concurrency %d outside 1..64", n)
		}
		o.concurrency = n
		return nil
	}
}

// WithCreateContainer creates the container if it does not exist (default:
// it must exist).
func WithCreateContainer() Option {
	return func(o *options) error { o.createContainer = true; return nil }
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error { o.logger = l; return nil }
}

// Store is a cdn.Store on one Azure Blob Storage container.
type Store struct {
	c    *container.Client
	name string
	o    options
}

var _ cdn.Store = (*Store)(nil)

// Open returns the store for container name in account, authenticated by
// creds.
func Open(ctx context.Context, account, name string, creds Credentials, opts ...Option) (*Store, error) {
	o := options{blockSize: 8 << 20, concurrency: 4, logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if err := ValidateContainerName(name); err != nil {
		return nil, err
	}
	copts := &container.ClientOptions{ClientOptions: azcore.ClientOptions{
		// Retries of whole operations are cdn.WithRetry's job; the SDK
		// retries a failed block or request a few times, quickly.
		Retry:     policy.RetryOptions{MaxRetries: 3, RetryDelay: 200 * time.Millisecond, MaxRetryDelay: 2 * time.Second},
		Telemetry: policy.TelemetryOptions{Disabled: true},
	}}
	endpoint := o.endpoint
	if endpoint == "" {
		endpoint = "https://" + account + ".blob.core.windows.net"
	}
	containerURL := endpoint + "/" + name
	var (
		c   *container.Client
		err error
	)
	switch {
	case creds.ConnectionString != "":
		if o.endpoint != "" {
			return nil, fmt.Errorf("%w: a connection string names its own endpoint; do not also set one", cdn.ErrInvalidURL)
		}
		c, err = container.NewClientFromConnectionString(creds.ConnectionString, name, copts)
	case creds.AccountKey != "":
		var cred *container.SharedKeyCredential
		if cred, err = container.NewSharedKeyCredential(account, creds.AccountKey); err == nil {
			c, err = container.NewClientWithSharedKeyCredential(containerURL, cred, copts)
		}
	case creds.SASToken != "":
		c, err = container.NewClientWithNoCredential(containerURL+"?"+creds.SASToken, copts)
	default:
		var cred *azidentity.DefaultAzureCredential
		if cred, err = defaultIdentity(ctx, endpoint); err == nil {
			c, err = container.NewClient(containerURL, cred, copts)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("azure store %s/%s: %w", account, name, err)
	}
	s := &Store{c: c, name: name, o: o}
	if o.createContainer {
		_, err := c.Create(ctx, nil)
		if err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
			return nil, s.mapErr("create container", name, err)
		}
		return s, nil
	}
	// One request now, so that a missing container or refused credentials
	// fail once, here, and not once per blob. A HEAD of a blob needs only
	// blob-level rights (a container SAS), unlike the container's own
	// properties; the service says which is missing.
	_, err = c.NewBlobClient(probeBlob).GetProperties(ctx, nil)
	switch {
	case err == nil, bloberror.HasCode(err, bloberror.BlobNotFound):
	case bloberror.HasCode(err, bloberror.ContainerNotFound):
		return nil, fmt.Errorf("%w: container %q does not exist in account %q", cdn.ErrNotFound, name, account)
	default:
		var re *azcore.ResponseError
		if errors.As(err, &re) && re.StatusCode == http.StatusNotFound && re.ErrorCode == "" {
			break // a HEAD without an error code: the blob is missing
		}
		return nil, s.mapErr("open container", name, err)
	}
	return s, nil
}

// probeBlob is the blob Open asks for to check the container and the
// credentials; it is never written.
const probeBlob = "devupdate-open-probe"

// ErrNoCredentials: no credentials were given and azidentity's default
// chain found none either. The message lists the variables to set.
var ErrNoCredentials = errors.New("no Azure credentials")

var noCredentials = fmt.Sprintf("set %s, %s or %s", EnvConnectionString, EnvAccountKey, EnvSASToken)

// defaultIdentity returns azidentity's default credential chain (managed
// identity, workload identity, Azure CLI, ...) after checking, once, that it
// yields a token: a missing login is then one short ErrNoCredentials and not
// the SDK's report of every source it tried, once per blob. An http://
// endpoint (Azurite) is never sent a token: that is ErrNoCredentials at once.
func defaultIdentity(ctx context.Context, endpoint string) (*azidentity.DefaultAzureCredential, error) {
	if strings.HasPrefix(endpoint, "http://") {
		return nil, fmt.Errorf("%w for the http:// endpoint %s: %s (tokens are only sent over https)", ErrNoCredentials, endpoint, noCredentials)
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err == nil {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		_, err = cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://storage.azure.com/.default"}})
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s, or sign in for Azure's default credential chain (managed identity, workload identity, az login)", ErrNoCredentials, noCredentials)
	}
	return cred, nil
}

// URL returns the blob's URL (without any SAS token).
func (s *Store) URL(key string) string {
	u, err := url.Parse(s.c.URL())
	if err != nil {
		return ""
	}
	u.RawQuery = ""
	return strings.TrimSuffix(u.String(), "/") + "/" + key
}

// mapErr turns an SDK error into a *cdn.StatusError classified by the
// service's error code.
func (s *Store) mapErr(op, key string, err error) error {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return fmt.Errorf("%s %s: %w", op, key, err)
	}
	se := &cdn.StatusError{Op: op, Key: key, Status: re.StatusCode, Code: re.ErrorCode, Cause: err}
	switch {
	case bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound, bloberror.ResourceNotFound):
		se.Err = cdn.ErrNotFound
	case bloberror.HasCode(err, bloberror.BlobAlreadyExists):
		se.Err = cdn.ErrExists
	case bloberror.HasCode(err, bloberror.ConditionNotMet):
		se.Err = cdn.ErrPreconditionFailed
	case bloberror.HasCode(err, bloberror.InvalidRange):
		se.Err = cdn.ErrInvalidRange
	case re.ErrorCode == "" && re.StatusCode == http.StatusNotFound:
		// HEAD responses carry no body; a 404 without a code is a missing blob.
		se.Err = cdn.ErrNotFound
	}
	return se
}

func props(ct, cc *string, meta map[string]*string) cdn.Props {
	p := cdn.Props{ContentType: deref(ct), CacheControl: deref(cc)}
	if len(meta) > 0 {
		p.Metadata = make(map[string]string, len(meta))
		for k, v := range meta {
			// Azure keeps metadata names case-insensitively; ours are lower case.
			p.Metadata[strings.ToLower(k)] = deref(v)
		}
	}
	return p
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func etag(e *azcore.ETag) string {
	if e == nil {
		return ""
	}
	return string(*e)
}

func check(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return cdn.ValidateKey(key)
}

// Stat implements cdn.Store.
func (s *Store) Stat(ctx context.Context, key string) (cdn.Info, error) {
	if err := check(ctx, key); err != nil {
		return cdn.Info{}, err
	}
	r, err := s.c.NewBlobClient(key).GetProperties(ctx, nil)
	if err != nil {
		return cdn.Info{}, s.mapErr("stat", key, err)
	}
	return cdn.Info{
		Key: key, Size: deref(r.ContentLength), ETag: etag(r.ETag), Modified: deref(r.LastModified),
		Props: props(r.ContentType, r.CacheControl, r.Metadata),
	}, nil
}

// Get implements cdn.Store.
func (s *Store) Get(ctx context.Context, key string, rg cdn.Range) (io.ReadCloser, cdn.Info, error) {
	if err := check(ctx, key); err != nil {
		return nil, cdn.Info{}, err
	}
	if rg.Offset < 0 {
		return nil, cdn.Info{}, &cdn.StatusError{Op: "get", Key: key, Status: 416, Err: cdn.ErrInvalidRange}
	}
	opts := &blob.DownloadStreamOptions{}
	if rg.Offset > 0 || rg.Length > 0 {
		opts.Range = blob.HTTPRange{Offset: rg.Offset, Count: max(rg.Length, 0)}
	}
	r, err := s.c.NewBlobClient(key).DownloadStream(ctx, opts)
	if err != nil {
		return nil, cdn.Info{}, s.mapErr("get", key, err)
	}
	size := deref(r.ContentLength)
	if cr := deref(r.ContentRange); cr != "" {
		// "bytes FIRST-LAST/TOTAL"
		if i := strings.LastIndexByte(cr, '/'); i >= 0 {
			if n, err := strconv.ParseInt(cr[i+1:], 10, 64); err == nil {
				size = n
			}
		}
	}
	if rg.Offset > 0 && rg.Offset >= size {
		// Azure answers 416; Azurite may send the whole blob instead.
		r.Body.Close()
		return nil, cdn.Info{}, &cdn.StatusError{Op: "get", Key: key, Status: 416, Code: "InvalidRange", Err: cdn.ErrInvalidRange}
	}
	info := cdn.Info{
		Key: key, Size: size, ETag: etag(r.ETag), Modified: deref(r.LastModified),
		Props: props(r.ContentType, r.CacheControl, r.Metadata),
	}
	// The retry reader resumes a cut download where it stopped, pinned to
	// this ETag so it never mixes two versions.
	body := r.NewRetryReader(ctx, &blob.RetryReaderOptions{MaxRetries: 3})
	return body, info, nil
}

// countingReader counts the bytes an upload consumed.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (s *Store) upload(ctx context.Context, op, key string, body io.Reader, p cdn.Props, cond *blob.ModifiedAccessConditions) (cdn.Info, error) {
	if err := check(ctx, key); err != nil {
		return cdn.Info{}, err
	}
	meta := make(map[string]*string, len(p.Metadata))
	for k, v := range p.Metadata {
		meta[k] = to.Ptr(v)
	}
	headers := &blob.HTTPHeaders{}
	if p.ContentType != "" {
		headers.BlobContentType = to.Ptr(p.ContentType)
	}
	if p.CacheControl != "" {
		headers.BlobCacheControl = to.Ptr(p.CacheControl)
	}
	cr := &countingReader{r: body}
	r, err := s.c.NewBlockBlobClient(key).UploadStream(ctx, cr, &blockblob.UploadStreamOptions{
		BlockSize:        s.o.blockSize,
		Concurrency:      s.o.concurrency,
		HTTPHeaders:      headers,
		Metadata:         meta,
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: cond},
	})
	if err != nil {
		return cdn.Info{}, err
	}
	return cdn.Info{Key: key, Size: cr.n, ETag: etag(r.ETag), Modified: deref(r.LastModified), Props: p}, nil
}

// Create implements cdn.Store with If-None-Match: * on the commit.
func (s *Store) Create(ctx context.Context, key string, body io.Reader, p cdn.Props) (cdn.Info, error) {
	info, err := s.upload(ctx, "create", key, body, p, &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)})
	if err == nil {
		return info, nil
	}
	switch {
	case bloberror.HasCode(err, bloberror.BlobAlreadyExists, bloberror.ConditionNotMet):
		se := s.mapErr("create", key, err).(*cdn.StatusError)
		se.Err = cdn.ErrExists
		return cdn.Info{}, se
	case bloberror.HasCode(err, bloberror.InvalidBlockList):
		// A concurrent creator's commit discards our uncommitted blocks;
		// if the blob now exists we lost the race.
		if _, serr := s.Stat(ctx, key); serr == nil {
			se := s.mapErr("create", key, err).(*cdn.StatusError)
			se.Err = cdn.ErrExists
			return cdn.Info{}, se
		}
	}
	return cdn.Info{}, s.mapErr("create", key, err)
}

// Replace implements cdn.Store with If-Match on the commit.
func (s *Store) Replace(ctx context.Context, key string, body io.Reader, p cdn.Props, ifMatch string) (cdn.Info, error) {
	if ifMatch == "" {
		return cdn.Info{}, fmt.Errorf("replace %s: empty ETag", key)
	}
	info, err := s.upload(ctx, "replace", key, body, p, &blob.ModifiedAccessConditions{IfMatch: to.Ptr(azcore.ETag(ifMatch))})
	if err == nil {
		return info, nil
	}
	if bloberror.HasCode(err, bloberror.ConditionNotMet, bloberror.BlobNotFound, bloberror.InvalidBlockList) {
		se := s.mapErr("replace", key, err).(*cdn.StatusError)
		se.Err = cdn.ErrPreconditionFailed
		return cdn.Info{}, se
	}
	return cdn.Info{}, s.mapErr("replace", key, err)
}

// Copy implements cdn.Store with a server-side copy (Copy Blob) under
// If-None-Match: * on the destination: the bytes stay inside the account.
// Copies inside one account complete at once; a copy still pending is
// polled until it succeeds or fails.
func (s *Store) Copy(ctx context.Context, src, dst string) (cdn.Info, error) {
	if err := check(ctx, src); err != nil {
		return cdn.Info{}, err
	}
	if err := check(ctx, dst); err != nil {
		return cdn.Info{}, err
	}
	srcInfo, err := s.Stat(ctx, src)
	if err != nil {
		return cdn.Info{}, err
	}
	bc := s.c.NewBlobClient(dst)
	r, err := bc.StartCopyFromURL(ctx, s.c.NewBlobClient(src).URL(), &blob.StartCopyFromURLOptions{
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}},
		SourceModifiedAccessConditions: &blob.SourceModifiedAccessConditions{
			SourceIfMatch: to.Ptr(azcore.ETag(srcInfo.ETag)),
		},
	})
	if err != nil {
		se := s.mapErr("copy", dst, err)
		if bloberror.HasCode(err, bloberror.BlobAlreadyExists, bloberror.ConditionNotMet) {
			se.(*cdn.StatusError).Err = cdn.ErrExists
		}
		return cdn.Info{}, se
	}
	status := deref(r.CopyStatus)
	for delay := 50 * time.Millisecond; status == blob.CopyStatusTypePending; delay = min(2*delay, 2*time.Second) {
		select {
		case <-ctx.Done():
			return cdn.Info{}, ctx.Err()
		case <-time.After(delay):
		}
		p, err := bc.GetProperties(ctx, nil)
		if err != nil {
			return cdn.Info{}, s.mapErr("copy", dst, err)
		}
		status = deref(p.CopyStatus)
	}
	if status != blob.CopyStatusTypeSuccess {
		return cdn.Info{}, &cdn.StatusError{Op: "copy", Key: dst, Code: "CopyFailed", Cause: fmt.Errorf("copy status %q", status)}
	}
	return s.Stat(ctx, dst)
}

// List implements cdn.Store.
func (s *Store) List(ctx context.Context, prefix string, fn func(cdn.Info) error) error {
	if err := cdn.ValidatePrefix(prefix); err != nil {
		return err
	}
	opts := &container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Metadata: true}}
	if prefix != "" {
		opts.Prefix = to.Ptr(prefix)
	}
	pager := s.c.NewListBlobsFlatPager(opts)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return s.mapErr("list", prefix, err)
		}
		for _, b := range page.Segment.BlobItems {
			name := deref(b.Name)
			if cdn.ValidateKey(name) != nil || b.Properties == nil {
				continue
			}
			bp := b.Properties
			info := cdn.Info{
				Key: name, Size: deref(bp.ContentLength), ETag: etag(bp.ETag), Modified: deref(bp.LastModified),
				Props: props(bp.ContentType, bp.CacheControl, b.Metadata),
			}
			if err := fn(info); err != nil {
				return err
			}
		}
	}
	return nil
}

// ValidateContainerName checks Azure's container naming rule: 3 to 63
// lower-case letters, digits and single hyphens, starting and ending with a
// letter or digit.
func ValidateContainerName(name string) error {
	bad := len(name) < 3 || len(name) > 63 || name[0] == '-' || name[len(name)-1] == '-' || strings.Contains(name, "--")
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("%w: container name %q: 3-63 lower-case letters, digits and single hyphens", cdn.ErrInvalidURL, name)
	}
	return nil
}
