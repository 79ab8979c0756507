package manifest_test

import (
	"context"
	"fmt"

	"github.com/devupdate/devupdate/manifest"
)

// Load checks update.yaml, resolves its payload and targets; the Update it
// returns is what goes into the cabinet as update.json.
func ExampleLoad() {
	u, err := manifest.Load(context.Background(), "../examples/contoso-toaster/updates/driver/update.yaml")
	if err != nil {
		fmt.Println(err) // every problem, one FILE:LINE:COL: FIELD: RULE per line
		return
	}
	fmt.Println(u.CabinetName(), u.Kind, "inf:", u.INF)
	for _, c := range u.Targets {
		fmt.Println("target", c)
	}
	for _, r := range u.Requires {
		fmt.Println("requires", r.Name, ">=", r.MinVersion)
	}
	for _, f := range u.Files {
		fmt.Println(f.Path, f.Size)
	}
	// Output:
	// Contoso.Toaster.Driver_1.0.0.2.cab driver inf: driver/toaster.inf
	// target 4162eff5-3114-538e-86e0-e7617be93c9a
	// requires Windows.IoT.Core >= 10.0.17763.615
	// driver/toaster.cat 70
	// driver/toaster.inf 1172
	// driver/toaster.sys 110
}

func ExampleVersion_Compare() {
	a, _ := manifest.ParseVersion("10.0.17763.615")
	b, _ := manifest.ParseVersion("10.0.17763.1000")
	fmt.Println(a.Compare(b), b.Compare(a), a.Compare(a))
	// Output: -1 1 0
}
