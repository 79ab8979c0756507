package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/internal/agent/config"
	"github.com/devupdate/devupdate/internal/agent/fetch"
	"github.com/devupdate/devupdate/internal/agent/handler"
	"github.com/devupdate/devupdate/internal/agent/report"
	"github.com/devupdate/devupdate/internal/agent/state"
	"github.com/devupdate/devupdate/internal/agent/tufrepo"
	"github.com/devupdate/devupdate/internal/iox"
	"github.com/devupdate/devupdate/manifest/update"
	"github.com/devupdate/devupdate/signer/authenticode"
)

type options struct {
	http       *http.Client
	now        func() time.Time
	logger     *slog.Logger
	store      state.Store
	cache      tufrepo.Cache
	memo       *tufrepo.Memo
	device     *Device
	installers map[update.Kind]handler.Installer
	fetchOpts  []fetch.Option
	userAgent  string
	sleep      func(context.Context, time.Duration) error
}

// Option configures New.
type Option func(*options) error

// WithHTTPClient sets the HTTP client of every request (default: one with
// the default transport).
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("nil HTTP client")
		}
		o.http = c
		return nil
	}
}

// WithClock sets the device's clock, which metadata expiry is checked
// against (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("nil clock")
		}
		o.now = now
		return nil
	}
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithStateStore sets where the installed-state record is kept (default:
// state.File in the state directory).
func WithStateStore(s state.Store) Option {
	return func(o *options) error { o.store = s; return nil }
}

// WithMetadataCache sets the TUF metadata cache (default: a directory per
// ring and product under the state directory, tuf/<ring>/<chid>). A
// cache holds one repository: give each device its own.
func WithMetadataCache(c tufrepo.Cache) Option {
	return func(o *options) error { o.cache = c; return nil }
}

// WithMemo shares verified metadata states between refreshes (default:
// one per Agent). A simulator gives all its devices one.
func WithMemo(m *tufrepo.Memo) Option {
	return func(o *options) error { o.memo = m; return nil }
}

// WithDevice gives the device instead of reading SMBIOS and identity
// (default: ReadDevice at New).
func WithDevice(d *Device) Option {
	return func(o *options) error { o.device = d; return nil }
}

// WithInstaller installs kind with inst instead of the configured handler.
func WithInstaller(kind update.Kind, inst handler.Installer) Option {
	return func(o *options) error {
		if o.installers == nil {
			o.installers = map[update.Kind]handler.Installer{}
		}
		o.installers[kind] = inst
		return nil
	}
}

// WithFetchOptions passes options to the HTTP fetcher (retries, backoff,
// timeouts; default: fetch's, with the configured request timeout).
func WithFetchOptions(opts ...fetch.Option) Option {
	return func(o *options) error { o.fetchOpts = append(o.fetchOpts, opts...); return nil }
}

// WithUserAgent sets the User-Agent of every request (default
// "devupdate-agent").
func WithUserAgent(ua string) Option {
	return func(o *options) error { o.userAgent = ua; return nil }
}

// Agent is one device's agent.
type Agent struct {
	cfg        *config.Config
	o          options
	dev        *Device
	fetch      *fetch.Client
	store      state.Store
	memo       *tufrepo.Memo
	policy     authenticode.Policy
	installers map[update.Kind]handler.Installer
	outbox     *report.Outbox
	// fileState: the record is state.File, so the state directory is
	// locked while the record changes.
	fileState bool
	// roots are the shipped ring roots read so far.
	roots map[string][]byte
}

// New returns the agent of the device cfg describes. It reads the device
// (unless WithDevice) but touches no network.
func New(ctx context.Context, cfg *config.Config, opts ...Option) (*Agent, error) {
	o := options{http: &http.Client{}, now: time.Now, logger: slog.New(slog.DiscardHandler), userAgent: "devupdate-agent", sleep: iox.Sleep}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	policy, err := cfg.Policy()
	if err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, o: o, policy: policy, memo: o.memo, store: o.store, dev: o.device}
	if a.memo == nil {
		a.memo = &tufrepo.Memo{}
	}
	if a.store == nil {
		a.store = state.File{Dir: cfg.StateDir}
		a.fileState = true
	}
	if a.dev == nil {
		if a.dev, err = ReadDevice(ctx, cfg); err != nil {
			return nil, err
		}
	}
	fopts := append([]fetch.Option{fetch.WithHTTPClient(o.http), fetch.WithLogger(o.logger), fetch.WithUserAgent(o.userAgent),
		fetch.WithRequestTimeout(cfg.RequestTimeout), fetch.WithStallTimeout(cfg.RequestTimeout)}, o.fetchOpts...)
	if a.fetch, err = fetch.New(cfg.BaseURLs(), fopts...); err != nil {
		return nil, err
	}
	a.installers = map[update.Kind]handler.Installer{}
	for k, h := range cfg.Handlers {
		a.installers[k] = handler.Command{Handler: h}
	}
	for k, inst := range o.installers {
		a.installers[k] = inst
	}
	a.outbox = &report.Outbox{Dir: filepath.Join(cfg.StateDir, "reports"), URL: cfg.ReportURL, Client: o.http, Logger: o.logger}
	return a, nil
}

// Device is the device the agent runs for.
func (a *Agent) Device() *Device { return a.dev }

// Config is the agent's configuration.
func (a *Agent) Config() *config.Config { return a.cfg }

func (a *Agent) now() time.Time { return a.o.now().UTC() }

// lock takes the state directory's lock for a run that changes the record
// (file state only: a simulator's memory store is its own).
func (a *Agent) lock() (func(), error) {
	if !a.fileState {
		return func() {}, nil
	}
	unlock, err := state.Lock(a.cfg.StateDir)
	if errors.Is(err, state.ErrLocked) {
		return nil, fmt.Errorf("%s: %w", a.cfg.StateDir, ErrBusy)
	}
	return unlock, err
}

// repo is the device's repository in its ring.
func (a *Agent) repo(ctx context.Context) (*tufrepo.Repo, error) {
	root, ok := a.roots[a.cfg.Ring]
	if !ok {
		var err error
		if root, err = a.cfg.RingRoot(ctx, a.cfg.Ring); err != nil {
			return nil, err
		}
		if a.roots == nil {
			a.roots = map[string][]byte{}
		}
		a.roots[a.cfg.Ring] = root
	}
	dir := catalog.MetadataDir(a.cfg.Ring, a.dev.Product)
	cache := a.o.cache
	if cache == nil {
		cache = tufrepo.Dir(filepath.Join(a.cfg.StateDir, "tuf", a.cfg.Ring, a.dev.Product.String()))
	}
	ring, product := a.cfg.Ring, a.dev.Product
	// Every product repository of a ring is signed by the ring's keys:
	// the targets must name this one.
	check := func(t *metadata.Metadata[metadata.TargetsType]) error {
		return catalog.CheckRepository(dir+"/targets.json", t, ring, product)
	}
	return &tufrepo.Repo{Root: root, Dir: dir, Fetcher: a.fetch, Cache: cache, Now: a.o.now, Memo: a.memo, Logger: a.o.logger, Check: check}, nil
}
