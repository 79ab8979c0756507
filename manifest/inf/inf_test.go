package inf

import (
	"bytes"
	"errors"
	"path"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/devupdate/devupdate/internal/problem"
	"github.com/google/go-cmp/cmp"
)

const toasterINF = `; toaster.inf - Contoso Toaster 3000 heating element driver
[Version]
Signature   = "$WINDOWS NT$"
Class       = System
ClassGuid   = {4d36e97d-e325-11ce-bfc1-08002be10318}
Provider    = %ManufacturerName%
CatalogFile = toaster.cat
DriverVer   = 11/01/2026,1.0.0.2
PnpLockdown = 1

[SourceDisksNames]
1 = %DiskName%,,,""

[SourceDisksFiles]
toaster.sys = 1,,

[SourceDisksFiles.arm64]
toastfw.bin = 1,firmware

[DestinationDirectories]
DefaultDestDir = 13

[Manufacturer]
%ManufacturerName% = Standard,NTarm64

[Standard.NTarm64]
%Toaster.DeviceDesc% = Toaster_Device, ACPI\CTSO0001

[Toaster_Device.NT]
CopyFiles = Toaster_CopyFiles, \
            @toaster.sys

[Toaster_CopyFiles]
toaster.sys
toastfw.bin ; firmware blob

[Strings]
ManufacturerName   = "Contoso"
DiskName           = "Contoso Toaster Installation Disk"
Toaster.DeviceDesc = "Contoso Toaster 3000 ""heating element"""
`

func TestParseToaster(t *testing.T) {
	want := &File{
		Catalogs: []Ref{{Path: "toaster.cat", Line: 7, Col: 15, Field: "[Version] CatalogFile"}},
		Files: []Ref{
			{Path: "toaster.sys", Line: 15, Col: 1, Field: "[SourceDisksFiles]"},
			{Path: "firmware/toastfw.bin", Line: 18, Col: 1, Field: "[SourceDisksFiles.arm64]"},
		},
	}
	for _, enc := range []struct {
		name string
		data []byte
	}{
		{"utf-8", []byte(toasterINF)},
		{"utf-8 bom crlf", append([]byte{0xEF, 0xBB, 0xBF}, strings.ReplaceAll(toasterINF, "\n", "\r\n")...)},
		{"utf-16le bom", utf16le(strings.ReplaceAll(toasterINF, "\n", "\r\n"))},
	} {
		t.Run(enc.name, func(t *testing.T) {
			got, err := Parse("toaster.inf", enc.data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func utf16le(s string) []byte {
	b := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func TestParseForms(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // paths of All()
	}{
		{"decorated catalogs", "[Version]\nSignature=$Chicago$\nCatalogFile.NTamd64=a.cat\nCATALOGFILE.ntarm64 = B.CAT\n", []string{"a.cat", "B.CAT"}},
		{"catalog from strings", "[Version]\nSignature=$Chicago$\nCatalogFile=%Cat%\n[Strings]\ncat=\"x.cat\"\n", []string{"x.cat"}},
		{"disk path and subdir", "[Version]\nSignature=$Chicago$\nCatalogFile=a.cat\n[SourceDisksNames.amd64]\n3=Disk,,,\\drivers\\x64\n[SourceDisksFiles.amd64]\nd.sys=3,sub\n", []string{"a.cat", "drivers/x64/sub/d.sys"}},
		{"copyfiles at-file only", "[Version]\nSignature=$Chicago$\nCatalogFile=a.cat\n[Install]\nCopyFiles=@d.sys\n", []string{"a.cat", "d.sys"}},
		{"copyfiles rename uses source", "[Version]\nSignature=$Chicago$\nCatalogFile=a.cat\n[Install]\ncopyfiles=Files\n[files]\nnew.sys,old.sys,,0x4\n", []string{"a.cat", "old.sys"}},
		{"repeated section merges", "[Version]\nSignature=$Chicago$\n[SourceDisksFiles]\na.sys=1\n[version]\nCatalogFile=a.cat\n", []string{"a.cat", "a.sys"}},
		{"duplicate file once", "[Version]\nSignature=$Chicago$\nCatalogFile=a.cat\n[SourceDisksFiles]\nA.sys=1\n[I]\nCopyFiles=@a.SYS\n", []string{"a.cat", "A.sys"}},
		{"semicolon inside quotes", "[Version]\nSignature=\"$Chicago$\"\nCatalogFile=\"a;b.cat\" ; real comment\n", []string{"a;b.cat"}},
		{"percent escape", "[Version]\nSignature=$Chicago$\nCatalogFile=100%%.cat\n", []string{"100%.cat"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("t.inf", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range f.All() {
				got = append(got, r.Path)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("paths (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseANSI(t *testing.T) {
	src := []byte("[Version]\nSignature=$Chicago$\nProvider=Soci\xe9t\xe9\nCatalogFile=caf\xe9.cat\n")
	f, err := Parse("t.inf", src)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Catalogs[0].Path; got != "café.cat" {
		t.Errorf("catalog = %q, want café.cat", got)
	}
}

func TestParseProblems(t *testing.T) {
	const hdr = "[Version]\nSignature=$Chicago$\nCatalogFile=a.cat\n"
	tests := []struct {
		name string
		data []byte
		want problem.List
	}{
		{"no version", []byte("[Strings]\n"), problem.List{{File: "t.inf", Field: "[Version]", Rule: "section is missing"}}},
		{"no signature", []byte("[Version]\nCatalogFile=a.cat\n"), problem.List{{File: "t.inf", Line: 1, Col: 1, Field: "[Version]", Rule: "Signature is missing"}}},
		{"no catalog", []byte("\n[Version]\nSignature=$Chicago$\n"), problem.List{{File: "t.inf", Line: 2, Col: 1, Field: "[Version]", Rule: "no CatalogFile: a driver package must name its signed catalog"}}},
		{"catalog with path", []byte("[Version]\nSignature=$Chicago$\nCatalogFile=x\\a.cat\n"), problem.List{
			{File: "t.inf", Line: 3, Col: 13, Field: "[Version] CatalogFile", Rule: `catalog "x\\a.cat" must be a file name without a path`},
			{File: "t.inf", Line: 1, Col: 1, Field: "[Version]", Rule: "no CatalogFile: a driver package must name its signed catalog"},
		}},
		{"catalog extension", []byte("[Version]\nSignature=$Chicago$\nCatalogFile.NT=a.sys\nCatalogFile=a.cat\n"), problem.List{{File: "t.inf", Line: 3, Col: 16, Field: "[Version] CatalogFile.NT", Rule: `catalog "a.sys" must have the .cat extension`}}},
		{"undefined string", []byte(hdr + "[SourceDisksFiles]\n%Drv%=1\n"), problem.List{{File: "t.inf", Line: 5, Col: 1, Field: "[SourceDisksFiles]", Rule: "string %Drv% is not defined in [Strings]"}}},
		{"unmatched percent", []byte(hdr + "[SourceDisksFiles]\n%Drv=1\n"), problem.List{{File: "t.inf", Line: 5, Col: 1, Field: "[SourceDisksFiles]", Rule: `"%Drv" has an unmatched %`}}},
		{"unclosed quote", []byte(hdr + "[Strings]\nA=\"open\n"), problem.List{{File: "t.inf", Line: 5, Col: 1, Rule: "quoted string is not closed"}}},
		{"unclosed header", []byte(hdr + "[Strings\n"), problem.List{{File: "t.inf", Line: 4, Col: 1, Rule: `section header "[Strings" has no closing ]`}}},
		{"empty header", []byte(hdr + "[ ]\n"), problem.List{{File: "t.inf", Line: 4, Col: 1, Rule: "section header has an empty name"}}},
		{"outside section", []byte("Signature=x\n" + hdr), problem.List{{File: "t.inf", Line: 1, Col: 1, Rule: "line is outside any [section]"}}},
		{"missing copy section", []byte(hdr + "[I]\nCopyFiles = Gone\n"), problem.List{{File: "t.inf", Line: 5, Col: 13, Field: "[I] CopyFiles", Rule: "names section [Gone], which does not exist"}}},
		{"dotdot subdir", []byte(hdr + "[SourceDisksFiles]\nd.sys=1,..\\..\\win\n"), problem.List{{File: "t.inf", Line: 5, Col: 1, Field: "[SourceDisksFiles]", Rule: `path "../../win" leaves the driver package (..)`}}},
		{"unc subdir", []byte(hdr + "[SourceDisksFiles]\nd.sys=1,\\\\srv\\x\n"), problem.List{{File: "t.inf", Line: 5, Col: 1, Field: "[SourceDisksFiles]", Rule: `path "//srv/x" is absolute; INF paths are relative to the INF's directory`}}},
		{"absolute subdir", []byte(hdr + "[SourceDisksFiles]\nd.sys=1,C:\\win\n"), problem.List{{File: "t.inf", Line: 5, Col: 1, Field: "[SourceDisksFiles]", Rule: `path "C:/win" is absolute; INF paths are relative to the INF's directory`}}},
		{"source with path", []byte(hdr + "[SourceDisksFiles]\nsub\\d.sys=1\n"), problem.List{{File: "t.inf", Line: 5, Col: 1, Field: "[SourceDisksFiles]", Rule: `source file "sub\\d.sys" must be a file name without a path`}}},
		{"copied with path", []byte(hdr + "[I]\nCopyFiles=@..\\d.sys\n"), problem.List{{File: "t.inf", Line: 5, Col: 11, Field: "[I] CopyFiles", Rule: `copied file "..\\d.sys" must be a file name without a path`}}},
		{"odd utf-16", []byte{0xFF, 0xFE, '[', 0, 'V'}, problem.List{{File: "t.inf", Rule: "UTF-16LE INF file has an odd number of bytes"}}},
		{"utf-16 be", []byte{0xFE, 0xFF, 0, '['}, problem.List{{File: "t.inf", Rule: "INF file is UTF-16 big-endian; Windows reads only UTF-16LE, UTF-8 or ANSI INF files"}}},
		{"utf-16 without bom", []byte("\n[\x00V\x00"), problem.List{{File: "t.inf", Line: 2, Rule: "INF file contains NUL bytes: a UTF-16 INF file needs its byte-order mark"}}},
		{"too large", bytes.Repeat([]byte(";"), MaxSize+1), problem.List{{File: "t.inf", Rule: "INF file is larger than the 8388608-byte limit"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.inf", tt.data)
			if !errors.Is(err, problem.ErrInvalid) {
				t.Fatalf("err = %v, want problem.ErrInvalid", err)
			}
			var got problem.List
			if !errors.As(err, &got) {
				t.Fatalf("err %T is not a problem.List", err)
			}
			want := append(problem.List(nil), tt.want...)
			want.Sort()
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzINF(f *testing.F) {
	f.Add([]byte(toasterINF))
	f.Add(utf16le(toasterINF))
	f.Add([]byte("[Version]\nSignature=$Chicago$\nCatalogFile=%a%\n[Strings]\na=\"x\"\"y.cat\"\n[I]\nCopyFiles=S,@f\\\n,T\n[S]\nd,s\n"))
	f.Add([]byte{0xFF, 0xFE, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("f.inf", data)
		if err != nil {
			var l problem.List
			if !errors.As(err, &l) || len(l) == 0 {
				t.Fatalf("error is not a non-empty problem.List: %v", err)
			}
			for _, p := range l {
				if p.File != "f.inf" || p.Rule == "" {
					t.Fatalf("problem without file or rule: %+v", p)
				}
			}
		}
		if file == nil {
			return
		}
		for _, r := range file.All() {
			if r.Path == "" || path.IsAbs(r.Path) || path.Clean(r.Path) != r.Path || strings.HasPrefix(r.Path, "../") || r.Path == ".." {
				t.Fatalf("unsafe reference %q", r.Path)
			}
			if r.Line < 1 {
				t.Fatalf("reference %q without a line", r.Path)
			}
		}
	})
}
