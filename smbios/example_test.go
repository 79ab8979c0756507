package smbios_test

import (
	"fmt"
	"os"

	"github.com/devupdate/devupdate/smbios"
)

// The hardware IDs of fwupd's ThinkPad T440s test machine.
func ExampleFields_HardwareIDs() {
	f := smbios.Fields{
		Manufacturer: "LENOVO", Family: "ThinkPad T440s", ProductName: "20ARS19C0C",
		SKU:                   "LENOVO_MT_20AR_BU_Think_FM_ThinkPad T440s",
		BaseboardManufacturer: "LENOVO", BaseboardProduct: "20ARS19C0C",
		EnclosureType: smbios.U8(10),
	}
	for _, h := range f.HardwareIDs() {
		fmt.Println(h.Name, h.GUID)
	}
	// Output:
	// HardwareID-3 3faec92a-3ae3-5744-be88-495e90a7d541
	// HardwareID-4 660ccba8-1b78-5a33-80e6-9fb8354ee873
	// HardwareID-5 8dc9b7c5-f5d5-5850-9ab3-bd6f0549d814
	// HardwareID-6 178cd22d-ad9f-562d-ae0a-34009822cdbe
	// HardwareID-7 da1da9b6-62f5-5f22-8aaa-14db7eeda2a4
	// HardwareID-8 059eb22d-6dc7-59af-abd3-94bbe017f67c
	// HardwareID-9 0cf8618d-9eff-537c-9f35-46861406eb9c
	// HardwareID-10 f4275c1f-6130-5191-845c-3426247eb6a1
	// HardwareID-11 db73af4c-4612-50f7-b8a7-787cf4871847
	// HardwareID-12 e093d715-70f7-51f4-b6c8-b4a7e31def85
	// HardwareID-13 f8e1de5f-b68c-5f52-9d1a-f1ba52f1f773
	// HardwareID-14 6de5d951-d755-576b-bd09-c5cf66b27234
}

func ExampleParseCHID() {
	c, err := smbios.ParseCHID("{3FAEC92A-3AE3-5744-BE88-495E90A7D541}")
	fmt.Println(c, err)
	// Output: 3faec92a-3ae3-5744-be88-495e90a7d541 <nil>
}

// Decoding a `dmidecode --dump-bin` file and printing it the way
// ComputerHardwareIds.exe does (first lines only).
func ExampleDecodeDump() {
	data, err := os.ReadFile("../examples/golden-device/thinkpad-t490.bin")
	if err != nil {
		fmt.Println(err)
		return
	}
	info, err := smbios.DecodeDump(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("SMBIOS", info.Version)
	fmt.Println(info.Fields.Manufacturer, info.Fields.Family, info.Fields.ProductName)
	h, _ := info.Fields.HardwareID(3)
	fmt.Println(h.Name, h.GUID)
	// Output:
	// SMBIOS 3.1
	// LENOVO ThinkPad T490 20N2CTO1WW
	// HardwareID-3 5becfdbd-9745-55a7-a62d-435a7b85aeca
}
