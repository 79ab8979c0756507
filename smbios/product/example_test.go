package product_test

import (
	"context"
	"fmt"

	"github.com/devupdate/devupdate/smbios/product"
)

func ExampleLoad() {
	p, err := product.Load(context.Background(), "../../examples/contoso-toaster/product.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	h, _ := p.TargetingID()
	fmt.Println(p.Name, h.Name, p.Targets(), p.Rings)
	// Output: contoso-toaster HardwareID-3 [4162eff5-3114-538e-86e0-e7617be93c9a] [Preview EarlyAdopter GeneralAvailability]
}

func ExampleParse() {
	_, err := product.Parse("toaster.yaml", []byte(`name: toaster
smbios:
  manufacturer: Contoso
  family: Default string
  product_name: Toaster 3000
  sku: "TST-3000 "
  baseboard_product: TB-01
`))
	fmt.Println(err)
	// Output:
	// toaster.yaml:4:11: smbios.family: "Default string" is a factory placeholder: an update aimed at it would reach other makers' machines
	// toaster.yaml:6:8: smbios.sku: has trailing whitespace
}
