package manifest

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkLoad loads a manifest whose glob resolves 2,000 payload files of
// 16 KiB in 40 directories: glob walk, path checks, collision map and
// hashing, reported per byte of payload.
func BenchmarkLoad(b *testing.B) {
	files := map[string]string{"product.yaml": productYAML}
	body := strings.Repeat("0123456789abcdef", 1024)
	for i := range 2000 {
		files[fmt.Sprintf("payload/d%02d/f%04d.bin", i%40, i)] = body
	}
	files["update.yaml"] = "name: Contoso.Toaster.Big\nkind: ocp\nversion: 1.0.0.1\nproducts: [product.yaml]\nfiles: [{source: 'payload/**/*.bin', dest: big/}]\n"
	dir := fixture(b, files)
	b.SetBytes(int64(2000 * len(body)))
	for b.Loop() {
		u, err := Load(context.Background(), filepath.Join(dir, "update.yaml"))
		if err != nil || len(u.Files) != 2000 {
			b.Fatalf("Load: %v", err)
		}
	}
}
