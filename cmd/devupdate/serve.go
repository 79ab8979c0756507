package main

import (
	"fmt"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cdn/origin"
	"github.com/devupdate/devupdate/cdn/stores"
)

func newServeCmd(g *globalOptions) *cobra.Command {
	var (
		storeURL, addr           string
		tsMaxAge, notFoundMaxAge time.Duration
	)
	c := &cobra.Command{
		Use:   "serve --store URL [--addr 127.0.0.1:PORT]",
		Short: "Serve a store over HTTP as the origin behind a CDN",
		Long: `Serve a store's blobs (GET/HEAD /blobs/sha256/<hex> and the catalogs) with
Range, ETag, If-None-Match and the stored Cache-Control, until interrupted.
Put a caching CDN in front of it (see examples/cdn/nginx.conf).`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if storeURL == "" {
				return usageErrorf("--store is required")
			}
			s, closeStore, err := stores.Open(cmd.Context(), storeURL)
			if err != nil {
				return storeErr(err)
			}
			defer closeStore()
			ready := func(a net.Addr) {
				if g.json() {
					_ = writeJSON(cmd.OutOrStdout(), map[string]string{"url": "http://" + a.String()})
					return
				}
				fmt.Fprintf(cmd.OutOrStdout(), "serving %s on http://%s\n", storeURL, a)
			}
			return origin.ListenAndServe(cmd.Context(), addr, s, origin.WithReady(ready),
				origin.WithTimestampMaxAge(tsMaxAge), origin.WithNotFoundMaxAge(notFoundMaxAge))
		},
	}
	c.Flags().StringVar(&storeURL, "store", "", "store URL: a directory, file://, mem:// or azblob://ACCOUNT/CONTAINER")
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8000", "listen address")
	c.Flags().DurationVar(&tsMaxAge, "timestamp-max-age", 60*time.Second, "Cache-Control max-age of the rings' timestamp.json")
	c.Flags().DurationVar(&notFoundMaxAge, "not-found-max-age", 10*time.Second, "Cache-Control max-age of 404s (such as a device's probe for the next root); 0 for no-store")
	return c
}
