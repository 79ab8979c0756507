package azure_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/azure"
	"github.com/devupdate/devupdate/cdn/cdntest"
	"github.com/devupdate/devupdate/internal/azurite"
)

// TestConformance runs the shared suite against a real Azurite, one fresh
// container per subtest. Small blocks make the suite's 12-21 MiB blobs go up
// as many staged blocks, the path large cabinets take.
func TestConformance(t *testing.T) {
	srv := azurite.StartT(t)
	var n atomic.Int64
	cdntest.Run(t, func(t *testing.T) cdn.Store {
		s, err := azure.Open(t.Context(), azurite.Account, fmt.Sprintf("conf-%d", n.Add(1)),
			azure.Credentials{AccountKey: azurite.Key},
			azure.WithEndpoint(srv.Endpoint), azure.WithCreateContainer(),
			azure.WithBlockSize(1<<20), azure.WithConcurrency(4))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestCredentials(t *testing.T) {
	srv := azurite.StartT(t)
	ctx := t.Context()
	// Create the container with the key, then reach it by connection string.
	if _, err := azure.Open(ctx, azurite.Account, "creds", azure.Credentials{AccountKey: azurite.Key},
		azure.WithEndpoint(srv.Endpoint), azure.WithCreateContainer()); err != nil {
		t.Fatal(err)
	}
	s, err := azure.Open(ctx, azurite.Account, "creds", azure.Credentials{ConnectionString: srv.ConnectionString()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "k", bytes.NewReader([]byte("x")), cdn.Props{}); err != nil {
		t.Fatalf("Create through connection string: %v", err)
	}
}

func TestPermanentErrorsFailFast(t *testing.T) {
	srv := azurite.StartT(t)
	ctx := t.Context()
	if _, err := azure.Open(ctx, azurite.Account, "auth", azure.Credentials{AccountKey: azurite.Key},
		azure.WithEndpoint(srv.Endpoint), azure.WithCreateContainer()); err != nil {
		t.Fatal(err)
	}
	// A well-formed but wrong key: Azurite refuses the signature with 403.
	wrong := "AAAA" + azurite.Key[4:]
	s, err := azure.Open(ctx, azurite.Account, "auth", azure.Credentials{AccountKey: wrong}, azure.WithEndpoint(srv.Endpoint))
	if err != nil {
		t.Fatal(err)
	}
	var calls int
	counting := &countingStore{Store: s, calls: &calls}
	rs, err := cdn.WithRetry(counting)
	if err != nil {
		t.Fatal(err)
	}
	_, err = rs.Create(ctx, "k", bytes.NewReader([]byte("x")), cdn.Props{})
	var se *cdn.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("error %v is not a *cdn.StatusError", err)
	}
	if se.Status != 403 || se.Code != "AuthorizationFailure" && se.Code != "AuthenticationFailed" {
		t.Errorf("status %d code %q, want 403 with an authentication code", se.Status, se.Code)
	}
	if cdn.IsTransient(err) || calls != 1 {
		t.Errorf("authentication failure tried %d times (transient=%v), want once", calls, cdn.IsTransient(err))
	}
}

type countingStore struct {
	cdn.Store
	calls *int
}

func (c *countingStore) Create(ctx context.Context, key string, body io.Reader, p cdn.Props) (cdn.Info, error) {
	*c.calls++
	return c.Store.Create(ctx, key, body, p)
}
