package smbios

import (
	"os"
	"testing"
)

func BenchmarkDecodeDump(b *testing.B) {
	data, err := os.ReadFile("../examples/golden-device/thinkpad-t490.bin")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := DecodeDump(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHardwareIDs(b *testing.B) {
	f := chidVectors[0].fields
	for b.Loop() {
		if len(f.HardwareIDs()) != NumHardwareIDs {
			b.Fatal("missing IDs")
		}
	}
}
