package cdn_test

import (
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/local"
	"github.com/devupdate/devupdate/cdn/memory"
)

// BenchmarkPublish measures a first publish (hash, upload while re-hashing,
// stat) of a 64 MiB file to the local and memory stores, and a re-publish of
// the same file (hash and one stat).
func BenchmarkPublish(b *testing.B) {
	const size = 64 << 20
	p := filepath.Join(b.TempDir(), "big.cab")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.NewChaCha8([32]byte{1}), size); err != nil {
		b.Fatal(err)
	}
	f.Close()
	stores := map[string]func(b *testing.B) cdn.Store{
		"memory": func(*testing.B) cdn.Store { return memory.New() },
		"local": func(b *testing.B) cdn.Store {
			s, err := local.New(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
	}
	for name, newStore := range stores {
		b.Run(name+"/first", func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				b.StopTimer()
				s := newStore(b)
				b.StartTimer()
				if res, err := cdn.Publish(b.Context(), s, p); err != nil || !res.Uploaded {
					b.Fatal(res, err)
				}
			}
		})
		b.Run(name+"/again", func(b *testing.B) {
			s := newStore(b)
			if _, err := cdn.Publish(b.Context(), s, p); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(size)
			for b.Loop() {
				if res, err := cdn.Publish(b.Context(), s, p); err != nil || res.Uploaded {
					b.Fatal(res, err)
				}
			}
		})
	}
}
