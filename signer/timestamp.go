package signer

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/sassoftware/relic/v8/lib/pkcs7"
	"github.com/sassoftware/relic/v8/lib/pkcs9"

	"github.com/devupdate/devupdate/internal/redact"
)

// maxTimestampResponse bounds what is read from a timestamp authority.
const maxTimestampResponse = 1 << 20

// rfc3161Client asks one RFC 3161 timestamp authority over HTTP. Unlike
// relic's tsclient it reads the answer through a size bound and registers
// no global metrics.
type rfc3161Client struct {
	url    string
	client *http.Client
}

func (c rfc3161Client) Timestamp(ctx context.Context, req *pkcs9.Request) (*pkcs7.ContentInfoSignedData, error) {
	d := req.Hash.New()
	d.Write(req.EncryptedDigest)
	shown := redact.URL(c.url) // a TSA's URL may carry an API key
	msg, httpReq, err := pkcs9.NewRequest(c.url, req.Hash, d.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("%w: building request for %s: %w", ErrTimestamp, shown, redact.Error(err))
	}
	resp, err := c.client.Do(httpReq.WithContext(ctx))
	if err != nil && ctx.Err() != nil {
		// Interrupted, not a failing authority.
		return nil, fmt.Errorf("asking %s for a timestamp: %w", shown, ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTimestamp, redact.Error(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTimestampResponse+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: reading %s: %w", ErrTimestamp, shown, redact.Error(err))
	case len(body) > maxTimestampResponse:
		return nil, fmt.Errorf("%w: %s answered more than %d bytes", ErrTimestamp, shown, maxTimestampResponse)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: %s: HTTP %s", ErrTimestamp, shown, resp.Status)
	}
	token, err := msg.ParseResponse(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrTimestamp, shown, err)
	}
	return token, nil
}
