package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cdn/origin"
	"github.com/devupdate/devupdate/cdn/stores"
	"github.com/devupdate/devupdate/cmd/internal/cli"
)

// serveReport is what `serve` prints once it listens.
type serveReport struct {
	cli.Status
	Store string `json:"store"`
	URL   string `json:"url"`
}

func newServeCmd(o *cli.Output) *cobra.Command {
	var (
		storeURL, addr           string
		tsMaxAge, notFoundMaxAge time.Duration
	)
	c := &cobra.Command{
		Use:   "serve --store URL [--addr 127.0.0.1:PORT]",
		Short: "Serve a store over HTTP as the origin behind a CDN",
		Long: `Serve a store's blobs (GET/HEAD /blobs/sha256/<hex> and the catalogs) with
Range, ETag, If-None-Match and the stored Cache-Control, until interrupted.
Put a caching CDN in front of it (see examples/cdn/nginx.conf). The store must
exist: a local directory is not created.`,
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if storeURL == "" {
				return cli.Missing("--store", "the store URL: a directory, file:///PATH or azblob://ACCOUNT/CONTAINER")
			}
			s, closeStore, err := stores.Open(cmd.Context(), storeURL, stores.Existing())
			if err != nil {
				return storeErr(err)
			}
			defer closeStore()
			ready := func(a net.Addr) {
				_ = cli.Single(o, &serveReport{Store: storeURL, URL: "http://" + a.String()}, nil, func(w io.Writer, r *serveReport) error {
					_, err := fmt.Fprintf(w, "serving %s on %s\n", r.Store, r.URL)
					return err
				})
			}
			err = origin.ListenAndServe(cmd.Context(), addr, s, origin.WithReady(ready),
				origin.WithTimestampMaxAge(tsMaxAge), origin.WithNotFoundMaxAge(notFoundMaxAge))
			if oe := (*net.OpError)(nil); errors.As(err, &oe) && oe.Op == "listen" {
				return fmt.Errorf("--addr %s: %w", addr, err)
			}
			return err
		},
	}
	c.Flags().StringVar(&storeURL, "store", "", "store `URL`: a directory, file:// or azblob://ACCOUNT/CONTAINER")
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8000", "listen `ADDRESS`")
	c.Flags().DurationVar(&tsMaxAge, "timestamp-max-age", 60*time.Second, "Cache-Control max-age of the rings' timestamp.json")
	c.Flags().DurationVar(&notFoundMaxAge, "not-found-max-age", 10*time.Second, "Cache-Control max-age of 404s (a device's probe for the next root); 0 for no-store")
	return c
}
