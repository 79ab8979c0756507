package packager_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/devupdate/devupdate/packager"
)

func text(name, s string) packager.File {
	return packager.File{Name: name, Size: int64(len(s)), Open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(s)), nil
	}}
}

// Write a cabinet, then read one file back, as the signer reads update.json.
func ExampleWrite() {
	var cab bytes.Buffer
	res, err := packager.Write(context.Background(), &cab, []packager.File{
		text("update.json", `{"name":"Contoso.Toaster.Settings"}`),
		text("settings/toaster.reg", "Windows Registry Editor Version 5.00\n"),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Files, "files,", res.Folders, "folder")

	c, err := packager.Open(context.Background(), bytes.NewReader(cab.Bytes()), int64(cab.Len()))
	if err != nil {
		panic(err)
	}
	for _, e := range c.Files() {
		fmt.Println(e.Name, e.Size, e.Modified.Format("2006-01-02"))
	}
	rc, err := c.Open("update.json")
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(rc)
	fmt.Println(string(b))
	// Output:
	// 2 files, 1 folder
	// settings/toaster.reg 37 1980-01-01
	// update.json 35 1980-01-01
	// {"name":"Contoso.Toaster.Settings"}
}
