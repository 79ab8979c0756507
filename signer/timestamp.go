package signer

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/sassoftware/relic/v8/lib/pkcs7"
	"github.com/sassoftware/relic/v8/lib/pkcs9"
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
	msg, httpReq, err := pkcs9.NewRequest(c.url, req.Hash, d.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("%w: building request: %v", ErrTimestamp, err)
	}
	resp, err := c.client.Do(httpReq.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTimestamp, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTimestampResponse+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: reading %s: %v", ErrTimestamp, c.url, err)
	case len(body) > maxTimestampResponse:
		return nil, fmt.Errorf("%w: %s answered more than %d bytes", ErrTimestamp, c.url, maxTimestampResponse)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: %s: HTTP %s", ErrTimestamp, c.url, resp.Status)
	}
	token, err := msg.ParseResponse(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrTimestamp, c.url, err)
	}
	return token, nil
}
