package build_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/devupdate/devupdate/manifest"
	"github.com/devupdate/devupdate/manifest/build"
	"github.com/devupdate/devupdate/packager"
)

// Cabinet writes the cabinet of a loaded update: its payload and the
// canonical update.json, under <name>_<version>.cab.
func ExampleCabinet() {
	ctx := context.Background()
	u, err := manifest.Load(ctx, "../../examples/contoso-toaster/updates/driver/update.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "cabs")
	defer os.RemoveAll(dir)
	res, err := build.Cabinet(ctx, u, dir, build.WithModTime(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(filepath.Base(res.Path))
	cab, err := packager.OpenFile(context.Background(), res.Path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cab.Close()
	for _, e := range cab.Files() {
		fmt.Println(e.Name, e.Size, e.Modified.Format(time.DateOnly))
	}
	// Output:
	// Contoso.Toaster.Driver_1.0.0.2.cab
	// driver/toaster.cat 70 2026-11-01
	// driver/toaster.inf 1172 2026-11-01
	// driver/toaster.sys 110 2026-11-01
	// update.json 943 2026-11-01
}
