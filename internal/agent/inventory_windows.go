package agent

import (
	"golang.org/x/sys/windows/registry"

	"github.com/devupdate/devupdate/manifest/update"
)

// osBuild reads the OS build a.b.c.d from the registry
// (HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion: major and minor
// version numbers, build number, update build revision), the base
// inventory a `requires:` on the OS is checked against.
func osBuild() (update.Version, bool, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Windows NT\CurrentVersion`, registry.QUERY_VALUE)
	if err != nil {
		return update.Version{}, false, err
	}
	defer k.Close()
	major, _, err := k.GetIntegerValue("CurrentMajorVersionNumber")
	if err != nil {
		return update.Version{}, false, err
	}
	minor, _, err := k.GetIntegerValue("CurrentMinorVersionNumber")
	if err != nil {
		return update.Version{}, false, err
	}
	build, _, err := k.GetStringValue("CurrentBuildNumber")
	if err != nil {
		return update.Version{}, false, err
	}
	ubr, _, err := k.GetIntegerValue("UBR")
	if err != nil {
		return update.Version{}, false, err
	}
	v, err := parseOSBuild(major, minor, build, ubr)
	return v, err == nil, err
}
