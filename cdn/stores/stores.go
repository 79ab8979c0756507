// Package stores opens a cdn.Store from a store URL, the form the CLI and
// configuration use:
//
//	/srv/updates, ./store, file:///srv/updates   a local directory (cdn/local)
//	mem://                                       a fresh in-memory store (cdn/memory)
//	azblob://ACCOUNT/CONTAINER                   Azure Blob Storage (cdn/azure)
//
// Azure credentials come only from the environment
// (AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN,
// else azidentity's default chain), never from the URL, so no secret lands in
// a command line or a log. The endpoint may be overridden (for Azurite) by the
// query parameter endpoint= or AZURE_STORAGE_BLOB_ENDPOINT, and
// create-container=true creates a missing container. Remote stores are
// wrapped in cdn.WithRetry.
package stores

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/azure"
	"github.com/devupdate/devupdate/cdn/local"
	"github.com/devupdate/devupdate/cdn/memory"
)

type options struct {
	getenv    func(string) string
	logger    *slog.Logger
	azureOpts []azure.Option
	durable   bool
	existing  bool
}

// Durable refuses mem://, a store that keeps nothing once the process
// ends (default: allowed, for tests). Publishing to it would report
// success for content no one can ever fetch.
func Durable() Option {
	return func(o *options) error { o.durable = true; return nil }
}

// Existing refuses to create the store: a local directory must exist
// (default: created). Implies Durable: a fresh memory store is empty.
func Existing() Option {
	return func(o *options) error { o.existing, o.durable = true, true; return nil }
}

// Option configures Open.
type Option func(*options) error

// WithGetenv sets how environment variables are read (default os.Getenv).
func WithGetenv(f func(string) string) Option {
	return func(o *options) error { o.getenv = f; return nil }
}

// WithLogger sets the logger handed to the store (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error { o.logger = l; return nil }
}

// WithAzureOptions passes options to azure.Open (default none).
func WithAzureOptions(opts ...azure.Option) Option {
	return func(o *options) error { o.azureOpts = append(o.azureOpts, opts...); return nil }
}

// Open returns the store named by rawURL and a function that releases it.
func Open(ctx context.Context, rawURL string, opts ...Option) (cdn.Store, func() error, error) {
	o := options{getenv: os.Getenv, logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, nil, err
		}
	}
	noop := func() error { return nil }
	if rawURL == "" {
		return nil, nil, fmt.Errorf("%w: empty", cdn.ErrInvalidURL)
	}
	if !strings.Contains(rawURL, "://") {
		return openLocal(rawURL, o)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", cdn.ErrInvalidURL, err)
	}
	switch u.Scheme {
	case "mem":
		if o.durable {
			return nil, nil, fmt.Errorf("%w %q: a memory store keeps nothing after this command; give a directory or azblob://ACCOUNT/CONTAINER", cdn.ErrInvalidURL, rawURL)
		}
		return memory.New(), noop, nil
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, nil, fmt.Errorf("%w %q: a file URL names no host (file:///path)", cdn.ErrInvalidURL, rawURL)
		}
		if u.RawQuery != "" {
			return nil, nil, fmt.Errorf("%w %q: a file URL takes no parameters", cdn.ErrInvalidURL, rawURL)
		}
		return openLocal(u.Path, o)
	case "azblob":
		s, err := openAzure(ctx, u, o)
		if err != nil {
			return nil, nil, err
		}
		return s, noop, nil
	}
	return nil, nil, fmt.Errorf("%w %q: unknown scheme %q (want a path, file://, mem:// or azblob://)", cdn.ErrInvalidURL, rawURL, u.Scheme)
}

func openLocal(dir string, o options) (cdn.Store, func() error, error) {
	opts := []local.Option{local.WithLogger(o.logger)}
	if o.existing {
		opts = append(opts, local.MustExist())
	}
	s, err := local.New(dir, opts...)
	if err != nil {
		return nil, nil, err
	}
	return s, s.Close, nil
}

func openAzure(ctx context.Context, u *url.URL, o options) (cdn.Store, error) {
	account := u.Host
	name := strings.Trim(u.Path, "/")
	if account == "" || name == "" || strings.Contains(name, "/") || u.User != nil {
		return nil, fmt.Errorf("%w %q: want azblob://ACCOUNT/CONTAINER", cdn.ErrInvalidURL, u.Redacted())
	}
	opts := append([]azure.Option{azure.WithLogger(o.logger)}, o.azureOpts...)
	endpoint := o.getenv(azure.EnvBlobEndpoint)
	for k, v := range u.Query() {
		switch k {
		case "endpoint":
			endpoint = v[0]
		case "create-container":
			if v[0] == "true" {
				opts = append(opts, azure.WithCreateContainer())
			}
		default:
			// In particular a SAS (sig=...) is refused: secrets come from the environment.
			return nil, fmt.Errorf("%w: azblob URL parameter %q not allowed (only endpoint, create-container; credentials come from %s, %s or %s)",
				cdn.ErrInvalidURL, k, azure.EnvConnectionString, azure.EnvAccountKey, azure.EnvSASToken)
		}
	}
	if endpoint != "" {
		opts = append(opts, azure.WithEndpoint(endpoint))
	}
	s, err := azure.Open(ctx, account, name, azure.CredentialsFromEnv(o.getenv), opts...)
	if errors.Is(err, cdn.ErrNotFound) {
		return nil, fmt.Errorf("%w: create it, or add ?create-container=true to the store URL", err)
	}
	if err != nil {
		return nil, err
	}
	return cdn.WithRetry(s, cdn.RetryLogger(o.logger))
}

var _ io.Closer = (*local.Store)(nil)
