package packager

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// DirFiles returns the regular files under dir as Files named by their
// '/'-separated path relative to dir, opened only when written. Anything
// else (symbolic links, devices) is refused rather than followed; dir
// itself may be a symbolic link.
func DirFiles(ctx context.Context, dir string) ([]File, error) {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	var files []File
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: %w: not a regular file (%s)", p, ErrInvalidOption, d.Type())
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files = append(files, File{
			Name: filepath.ToSlash(rel),
			Size: info.Size(),
			Open: func() (io.ReadCloser, error) { return os.Open(p) },
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}
