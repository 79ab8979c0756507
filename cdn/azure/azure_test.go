package azure_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

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
	// A well-formed but wrong key: Azurite refuses the signature with 403,
	// once, when the store is opened, not once per blob later; the refusal
	// is permanent, so the retry wrapper would not retry it either.
	wrong := "AAAA" + azurite.Key[4:]
	_, err := azure.Open(ctx, azurite.Account, "auth", azure.Credentials{AccountKey: wrong}, azure.WithEndpoint(srv.Endpoint))
	var se *cdn.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("error %v is not a *cdn.StatusError", err)
	}
	if se.Status != 403 || se.Code != "AuthorizationFailure" && se.Code != "AuthenticationFailed" {
		t.Errorf("status %d code %q, want 403 with an authentication code", se.Status, se.Code)
	}
	if cdn.IsTransient(err) {
		t.Errorf("authentication failure is transient")
	}
	// A container that does not exist is one clear error at Open.
	if _, err := azure.Open(ctx, azurite.Account, "nosuchcontainer", azure.Credentials{AccountKey: azurite.Key}, azure.WithEndpoint(srv.Endpoint)); !errors.Is(err, cdn.ErrNotFound) {
		t.Errorf("Open of a missing container: %v, want cdn.ErrNotFound", err)
	}
}

// TestKilledUploadLeavesNothing kills a process in the middle of a block
// upload to Azurite: its staged blocks are never committed, so nothing is
// visible, and a re-run succeeds.
func TestKilledUploadLeavesNothing(t *testing.T) {
	env := map[string]string{"CDNTEST_AZ_ENDPOINT": os.Getenv("CDNTEST_AZ_ENDPOINT")}
	if env["CDNTEST_AZ_ENDPOINT"] == "" { // parent: the child reuses its Azurite
		env["CDNTEST_AZ_ENDPOINT"] = azurite.StartT(t).Endpoint
	}
	cdntest.KillMidUpload(t, "TestKilledUploadLeavesNothing", env, func(getenv func(string) string) (cdn.Store, error) {
		return azure.Open(context.Background(), azurite.Account, "killed", azure.Credentials{AccountKey: azurite.Key},
			azure.WithEndpoint(getenv("CDNTEST_AZ_ENDPOINT")), azure.WithCreateContainer(),
			azure.WithBlockSize(1<<20), azure.WithConcurrency(2))
	}, func(t *testing.T, key string) {
		// The child had staged blocks: they exist only as uncommitted ones.
		cred, err := container.NewSharedKeyCredential(azurite.Account, azurite.Key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := container.NewClientWithSharedKeyCredential(env["CDNTEST_AZ_ENDPOINT"]+"/killed", cred, nil)
		if err != nil {
			t.Fatal(err)
		}
		bl, err := c.NewBlockBlobClient(key).GetBlockList(t.Context(), blockblob.BlockListTypeAll, nil)
		if err != nil {
			t.Fatalf("block list: %v", err)
		}
		if len(bl.UncommittedBlocks) == 0 || len(bl.CommittedBlocks) != 0 {
			t.Fatalf("after the kill: %d uncommitted, %d committed blocks; want some uncommitted only",
				len(bl.UncommittedBlocks), len(bl.CommittedBlocks))
		}
	})
}
