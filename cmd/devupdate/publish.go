package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/stores"
	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/signer"
)

// publishResult is one cabinet in `publish`.
type publishResult struct {
	cli.Item
	SHA256   string `json:"sha256,omitempty"`
	Size     int64  `json:"size,omitempty"`
	URL      string `json:"url,omitempty"`
	Uploaded bool   `json:"uploaded"`
}

func newPublishCmd(o *cli.Output) *cobra.Command {
	var (
		storeURL, cdnBase string
		roots             rootFlags
		allowUnsigned     bool
	)
	c := &cobra.Command{
		Use:   "publish CAB... --store URL",
		Short: "Publish cabinets as immutable content-addressed blobs (blobs/sha256/<hex>)",
		Long: `Publish cabinets to a store as immutable, content-addressed blobs served
with "Cache-Control: public, max-age=31536000, immutable". Publishing the same
content again transfers nothing and reports uploaded: false. A published blob
is never overwritten; an interrupted publish leaves nothing visible.

Only what devices would accept is published: a structurally valid cabinet
(a valid update.json, if it carries one) with an intact Authenticode
signature (its digest is the cabinet's). With --roots, the signature must
pass the full policy as devices apply it: chain to --roots, EV, and for
os-kind cabinets the vendor packages against --os-vendor-roots.
--insecure-allow-unsigned publishes unsigned cabinets too (for tests; devices
refuse them).

Store URLs: a directory path or file:///path, azblob://ACCOUNT/CONTAINER
(credentials from AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY,
AZURE_STORAGE_SAS_TOKEN or azidentity; endpoint from ?endpoint= or
AZURE_STORAGE_BLOB_ENDPOINT; ?create-container=true creates a missing
container).`,
		Args: cli.Args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if storeURL == "" {
				return cli.Missing("--store", "the store URL: a directory, file:///PATH or azblob://ACCOUNT/CONTAINER")
			}
			check, err := publishCheck(cmd.Context(), &roots, allowUnsigned)
			if err != nil {
				return err
			}
			opts := []cdn.Option{cdn.WithCheck(check)}
			if cdnBase != "" {
				if err := cdn.CheckBaseURL(cdnBase); err != nil {
					return &cli.UsageError{Err: fmt.Errorf("--cdn-base: %w", err)}
				}
				opts = append(opts, cdn.WithBaseURL(cdnBase))
			}
			s, closeStore, err := stores.Open(cmd.Context(), storeURL, stores.Durable())
			if err != nil {
				return storeErr(err)
			}
			defer closeStore()
			if bar := newProgressBar(cmd.ErrOrStderr()); bar != nil {
				opts = append(opts, cdn.WithProgress(bar.update))
				defer bar.finish()
			}
			results, _ := cdn.PublishFiles(cmd.Context(), s, args, opts...)
			items := make([]*publishResult, len(results))
			for i, r := range results {
				items[i] = &publishResult{Item: cli.Item{File: r.Path, Err: r.Err}, SHA256: r.SHA256, Size: r.Size, URL: r.URL, Uploaded: r.Uploaded}
			}
			return cli.Batch(o, items, nil, func(w io.Writer, r *publishResult) error {
				state := "exists  "
				if r.Uploaded {
					state = "uploaded"
				}
				_, err := fmt.Fprintf(w, "%s %s (%d bytes, sha256 %s) %s\n", state, r.File, r.Size, r.SHA256, r.URL)
				return err
			})
		},
	}
	c.Flags().StringVar(&storeURL, "store", "", "store `URL`: a directory, file:// or azblob://ACCOUNT/CONTAINER")
	c.Flags().StringVar(&cdnBase, "cdn-base", "", "public base `URL` of the CDN, used for the reported URLs")
	roots.register(c.Flags(), "PEM `FILE` of the roots devices trust: apply the full signature policy (EV required)")
	c.Flags().BoolVar(&allowUnsigned, "insecure-allow-unsigned", false, "INSECURE: publish unsigned cabinets too (devices refuse them)")
	return c
}

// publishCheck is what publish asks of every cabinet before storing it:
// signer.CheckPublishable, with the full policy when --roots is given.
func publishCheck(ctx context.Context, roots *rootFlags, allowUnsigned bool) (cdn.Check, error) {
	if roots.roots == "" && (roots.osRoots != "" || roots.tsRoots != "") {
		return nil, cli.Usagef("--os-vendor-roots and --timestamp-roots refine --roots: give --roots too")
	}
	var policy *signer.Policy
	if roots.roots != "" {
		p, err := roots.policy(ctx)
		if err != nil {
			return nil, err
		}
		p.RequireEV = true
		policy = &p
	}
	return func(ctx context.Context, path string, r io.ReaderAt, size int64) error {
		err := hint(signer.CheckPublishable(ctx, path, r, size, policy, allowUnsigned))
		if errors.Is(err, signer.ErrNotSigned) {
			err = fmt.Errorf("%w: sign it first (devupdate sign), or give --insecure-allow-unsigned for a test store", err)
		}
		return err
	}, nil
}

// storeErr makes a malformed store URL a usage error naming --store.
func storeErr(err error) error {
	if errors.Is(err, cdn.ErrInvalidURL) {
		return &cli.UsageError{Err: fmt.Errorf("--store: %w", err)}
	}
	return err
}

// progressBar draws one line per file on a terminal; it is nil (quiet)
// when stderr is not a terminal. Small enough not to need a library.
type progressBar struct {
	w     io.Writer
	mu    sync.Mutex
	path  string
	last  time.Time
	start time.Time
	drawn bool
}

func newProgressBar(w io.Writer) *progressBar {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return &progressBar{w: w}
}

func (p *progressBar) update(path string, done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if path != p.path {
		if p.drawn {
			fmt.Fprintln(p.w)
		}
		p.path, p.start, p.last = path, now, time.Time{}
	}
	if done < total && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	const width = 30
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	n := int(frac * width)
	rate := float64(done) / max(now.Sub(p.start).Seconds(), 1e-3) / 1e6
	fmt.Fprintf(p.w, "\r%s [%s%s] %3.0f%% %.1f MB/s", path, strings.Repeat("=", n), strings.Repeat(" ", width-n), frac*100, rate)
	p.drawn = true
}

func (p *progressBar) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
