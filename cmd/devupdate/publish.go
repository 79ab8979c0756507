package main

import (
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
)

func newPublishCmd(g *globalOptions) *cobra.Command {
	var storeURL, cdnBase string
	c := &cobra.Command{
		Use:   "publish CAB... --store URL",
		Short: "Publish cabinets as immutable content-addressed blobs (blobs/sha256/<hex>)",
		Long: `Publish cabinets to a store as immutable, content-addressed blobs served
with "Cache-Control: public, max-age=31536000, immutable". Publishing the same
content again transfers nothing and reports uploaded: false. A published blob
is never overwritten; an interrupted publish leaves nothing visible.

Store URLs: a directory path or file:///path, mem://, azblob://ACCOUNT/CONTAINER
(credentials from AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY,
AZURE_STORAGE_SAS_TOKEN or azidentity; endpoint from ?endpoint= or
AZURE_STORAGE_BLOB_ENDPOINT).`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if storeURL == "" {
				return usageErrorf("--store is required")
			}
			var opts []cdn.Option
			if cdnBase != "" {
				opts = append(opts, cdn.WithBaseURL(cdnBase))
			}
			if bar := newProgressBar(cmd.ErrOrStderr()); bar != nil {
				opts = append(opts, cdn.WithProgress(bar.update))
				defer bar.finish()
			}
			s, closeStore, err := stores.Open(cmd.Context(), storeURL)
			if err != nil {
				return storeErr(err)
			}
			defer closeStore()
			results, err := cdn.PublishFiles(cmd.Context(), s, args, opts...)
			if errors.Is(err, cdn.ErrInvalidURL) {
				return storeErr(err)
			}
			if results == nil {
				results = []cdn.Result{}
			}
			if g.json() {
				if jerr := writeJSON(cmd.OutOrStdout(), results); jerr != nil {
					return jerr
				}
			} else {
				for _, r := range results {
					state := "exists  "
					if r.Uploaded {
						state = "uploaded"
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s %s sha256:%s %d %s\n", state, r.Path, r.SHA256, r.Size, r.URL)
				}
			}
			return err
		},
	}
	c.Flags().StringVar(&storeURL, "store", "", "store URL: a directory, file://, mem:// or azblob://ACCOUNT/CONTAINER")
	c.Flags().StringVar(&cdnBase, "cdn-base", "", "public base URL of the CDN, used for the reported URLs")
	return c
}

// storeErr makes a malformed store or CDN URL a usage error.
func storeErr(err error) error {
	if errors.Is(err, cdn.ErrInvalidURL) {
		return &usageError{err}
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
