package smbios

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// chidVector is one machine's published fields and the CHIDs an independent
// implementation (or Windows itself) computed for it. A zero want entry is
// an ID the source says is not generated; IDs absent from want are not
// checked.
type chidVector struct {
	name   string
	source string
	fields Fields
	want   map[int]string
}

var chidVectors = []chidVector{
	{
		// fwupd's self test over its fake DMI tables of a ThinkPad T440s:
		// fwupd/fwupd libfwupdplugin/fu-context-test.c, fu_context_hwids_dmi_func,
		// commit b3ce81d193a98acea92aa1657ad7fe512e490944. fwupd reverse-engineered
		// ComputerHardwareIds.exe and checks its output against it.
		name:   "fwupd ThinkPad T440s",
		source: "https://github.com/fwupd/fwupd/blob/b3ce81d193a98acea92aa1657ad7fe512e490944/libfwupdplugin/fu-context-test.c",
		fields: Fields{
			Manufacturer: "LENOVO", Family: "ThinkPad T440s", ProductName: "20ARS19C0C",
			SKU: "LENOVO_MT_20AR_BU_Think_FM_ThinkPad T440s", BIOSVendor: "LENOVO",
			BIOSVersion: "GJET75WW (2.25 )", BIOSMajorRelease: U8(0x02), BIOSMinorRelease: U8(0x19),
			EnclosureType: U8(10), BaseboardManufacturer: "LENOVO", BaseboardProduct: "20ARS19C0C",
		},
		want: map[int]string{
			0:  "147efce9-f201-5fc8-ab0c-c859751c3440",
			1:  "b7cceb67-774c-537e-bf8b-22c6107e9a74",
			2:  "f5ff077f-3eeb-5bae-be1c-e98ffe8ce5f8",
			3:  "3faec92a-3ae3-5744-be88-495e90a7d541",
			4:  "660ccba8-1b78-5a33-80e6-9fb8354ee873",
			5:  "8dc9b7c5-f5d5-5850-9ab3-bd6f0549d814",
			6:  "178cd22d-ad9f-562d-ae0a-34009822cdbe",
			7:  "da1da9b6-62f5-5f22-8aaa-14db7eeda2a4",
			8:  "059eb22d-6dc7-59af-abd3-94bbe017f67c",
			9:  "0cf8618d-9eff-537c-9f35-46861406eb9c",
			10: "f4275c1f-6130-5191-845c-3426247eb6a1",
			11: "db73af4c-4612-50f7-b8a7-787cf4871847",
			12: "e093d715-70f7-51f4-b6c8-b4a7e31def85",
			13: "f8e1de5f-b68c-5f52-9d1a-f1ba52f1f773",
			14: "6de5d951-d755-576b-bd09-c5cf66b27234",
		},
	},
	{
		// systemd's CHID test: an MSI MS-7D70 board, expected values taken from
		// `fwupdtool hwids` on the real machine and quoted in the test.
		// systemd/systemd src/test/test-chid.c, commit
		// 1563404159cd78e054d7a9c2ce7300852710d0eb. The BIOS fields come from
		// the quoted fwupdtool output (BiosMajorRelease 5, BiosMinorRelease 32
		// printed in decimal, hashed as hex "05"/"20").
		name:   "systemd MSI MS-7D70",
		source: "https://github.com/systemd/systemd/blob/1563404159cd78e054d7a9c2ce7300852710d0eb/src/test/test-chid.c",
		fields: Fields{
			Manufacturer: "Micro-Star International Co., Ltd.", Family: "To be filled by O.E.M.",
			ProductName: "MS-7D70", SKU: "To be filled by O.E.M.",
			BIOSVendor: "American Megatrends International, LLC.", BIOSVersion: "1.E5",
			BIOSMajorRelease: U8(5), BIOSMinorRelease: U8(32), EnclosureType: U8(3),
			BaseboardManufacturer: "Micro-Star International Co., Ltd.",
			BaseboardProduct:      "MPG X670E CARBON WIFI (MS-7D70)",
		},
		want: map[int]string{
			0:  "f59668ca-22bc-52a0-b6b5-1f6ce81b08e0",
			1:  "f735f7a0-40da-5bfe-8ac2-0090532ee6d0",
			2:  "25880e68-e005-5ca7-88b6-650de596604f",
			3:  "01e09b32-de05-56ca-b9d1-9486ad5f381d",
			4:  "cad87a11-1813-507b-9aab-9a5f457b649c",
			5:  "377c823d-60d1-55b0-9678-76cd2af9d086",
			6:  "28ac9cf2-5bde-59f7-aebe-4b3d008090fe",
			7:  "e821e0e2-e11a-5e94-bf5d-ffe53c5e5048",
			8:  "1c092f1d-dc7b-564f-8a3d-128d7292fab8",
			9:  "c12c1f4a-332d-5d72-aa36-7a3d413b479a",
			10: "28ac9cf2-5bde-59f7-aebe-4b3d008090fe",
			11: "e821e0e2-e11a-5e94-bf5d-ffe53c5e5048",
			12: "bdd76d3e-147f-58a9-a0b2-42136454ed07",
			13: "b2e58e8b-fb10-5cd0-8fb0-5bd931f1871a",
			14: "50af5797-a2f2-58b1-9a1a-453bcbb2e025",
		},
	},
	{
		// Real ComputerHardwareIds.exe output (a Windows SDK build without the
		// baseboard IDs) pasted in the question "Get Hardware IDs like
		// Microsoft does", https://mcmap.net/q/1919229/-get-hardware-ids-like-microsoft-does
		// (a mirror of the Stack Overflow question). The machine has no
		// baseboard values in the output, so IDs 3, 6, 8, 10 and 13 are not
		// checked here. "Enclosure Type: 03" is hashed as "3".
		name:   "ComputerHardwareIds.exe AMI desktop",
		source: "https://mcmap.net/q/1919229/-get-hardware-ids-like-microsoft-does",
		fields: Fields{
			Manufacturer: "To be filled by O.E.M.", Family: "To be filled by O.E.M.",
			ProductName: "To be filled by O.E.M.", SKU: "SKU",
			BIOSVendor: "American Megatrends Inc.", BIOSVersion: "1201",
			BIOSMajorRelease: U8(4), BIOSMinorRelease: U8(6), EnclosureType: U8(3),
		},
		want: map[int]string{
			0:  "a8670b03-1d98-5e95-ad4e-c64211eac9df",
			1:  "01c6b2a2-a2b2-58e4-906d-4677639f1a42",
			2:  "dc5af3fe-c2de-539d-aafd-5061a1634723",
			4:  "d78b474d-dee0-5412-bc9d-e9f7d7783df2",
			5:  "7ccbb6f1-9641-5f84-b00d-51ff218a4066",
			7:  "5a127cba-be28-5d3b-84f0-0e450d266d97",
			9:  "6525c6e5-28e9-5f9c-abe4-20fd82504002",
			11: "6525c6e5-28e9-5f9c-abe4-20fd82504002",
			12: "482f3f58-6045-593a-9be4-611717ce4770",
			14: "11b4a036-3b64-5421-a372-22c07df10a4d",
		},
	},
}

func TestHardwareIDVectors(t *testing.T) {
	for _, v := range chidVectors {
		t.Run(v.name, func(t *testing.T) {
			got := map[int]string{}
			for _, h := range v.fields.HardwareIDs() {
				got[h.ID] = h.GUID.String()
				if h.Name != "HardwareID-"+itoa(h.ID) {
					t.Errorf("name %q for id %d", h.Name, h.ID)
				}
				if diff := cmp.Diff(HardwareIDFields(h.ID), h.Fields); diff != "" {
					t.Errorf("fields of %d (-want +got):\n%s", h.ID, diff)
				}
			}
			for id, want := range v.want {
				if got[id] != want {
					t.Errorf("HardwareID-%d = %q, want %q (source %s)", id, got[id], want, v.source)
				}
			}
		})
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// The hashed text of HardwareID-0 quoted in SPEC.md from fwupd's T440s.
func TestNewCHIDHashedText(t *testing.T) {
	got := NewCHID("LENOVO", "ThinkPad T440s", "20ARS19C0C", "LENOVO_MT_20AR_BU_Think_FM_ThinkPad T440s",
		"LENOVO", "GJET75WW (2.25 )", "02", "19").String()
	if want := "147efce9-f201-5fc8-ab0c-c859751c3440"; got != want {
		t.Errorf("NewCHID = %s, want %s", got, want)
	}
}

func TestHardwareIDsOmitAbsentFields(t *testing.T) {
	f := Fields{Manufacturer: "Contoso", ProductName: "Toaster", BaseboardProduct: "TB-01", EnclosureType: U8(3)}
	var ids []int
	for _, h := range f.HardwareIDs() {
		ids = append(ids, h.ID)
	}
	// 9 (Manufacturer+ProductName), 12 (+EnclosureType), 14 (Manufacturer);
	// 8 and 13 need BaseboardManufacturer too.
	if diff := cmp.Diff([]int{9, 12, 14}, ids); diff != "" {
		t.Errorf("IDs (-want +got):\n%s", diff)
	}
	if got := (Fields{}).HardwareIDs(); len(got) != 0 {
		t.Errorf("empty fields gave %v", got)
	}
}

func TestTrimming(t *testing.T) {
	a := Fields{Manufacturer: "  Contoso \t\r\n"}
	b := Fields{Manufacturer: "Contoso"}
	if a.HardwareIDs()[0].GUID != b.HardwareIDs()[0].GUID {
		t.Errorf("leading spaces and trailing whitespace are not trimmed")
	}
	c := Fields{Manufacturer: "\tContoso"} // only spaces are trimmed at the front
	if c.HardwareIDs()[0].GUID == b.HardwareIDs()[0].GUID {
		t.Errorf("a leading tab was trimmed")
	}
	if got := (Fields{Manufacturer: "   "}).HardwareIDs(); len(got) != 0 {
		t.Errorf("an all-space value counts as present: %v", got)
	}
}

func TestValueFormatting(t *testing.T) {
	f := Fields{BIOSMajorRelease: U8(2), BIOSMinorRelease: U8(0xAB), EnclosureType: U8(0x8A)}
	for _, tt := range []struct{ field, want string }{
		{FieldBIOSMajorRelease, "02"},
		{FieldBIOSMinorRelease, "ab"},
		{FieldEnclosureType, "8a"}, // chassis-lock bit kept, as Windows/fwupd do
	} {
		if got, ok := f.Value(tt.field); !ok || got != tt.want {
			t.Errorf("Value(%s) = %q, %v; want %q", tt.field, got, ok, tt.want)
		}
	}
}

func TestParseCHID(t *testing.T) {
	want := CHID{0x14, 0x7e, 0xfc, 0xe9, 0xf2, 0x01, 0x5f, 0xc8, 0xab, 0x0c, 0xc8, 0x59, 0x75, 0x1c, 0x34, 0x40}
	for _, s := range []string{
		"147efce9-f201-5fc8-ab0c-c859751c3440",
		"{147EFCE9-F201-5FC8-AB0C-C859751C3440}",
		"{147efce9-F201-5fc8-ab0c-c859751c3440}",
	} {
		got, err := ParseCHID(s)
		if err != nil || got != want {
			t.Errorf("ParseCHID(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "{}", "147efce9f2015fc8ab0cc859751c3440", "{147efce9-f201-5fc8-ab0c-c859751c3440",
		"147efce9-f201-5fc8-ab0c-c859751c344g", "147efce9+f201-5fc8-ab0c-c859751c3440"} {
		if _, err := ParseCHID(s); !errors.Is(err, ErrBadCHID) {
			t.Errorf("ParseCHID(%q) error = %v, want ErrBadCHID", s, err)
		}
	}
}

func TestCHIDText(t *testing.T) {
	c := NewCHID("Contoso")
	b, err := json.Marshal(struct{ G CHID }{c})
	if err != nil {
		t.Fatal(err)
	}
	var back struct{ G CHID }
	if err := json.Unmarshal(b, &back); err != nil || back.G != c {
		t.Errorf("round trip %s: %v, %v", b, back.G, err)
	}
	if err := json.Unmarshal([]byte(`{"G":"nope"}`), &back); !errors.Is(err, ErrBadCHID) {
		t.Errorf("bad text: %v", err)
	}
}
