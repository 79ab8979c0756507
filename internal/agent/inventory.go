package agent

import (
	"fmt"

	"github.com/devupdate/devupdate/manifest/update"
)

// parseOSBuild makes the OS build a.b.c.d from the registry's values under
// HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion: the major and minor
// version numbers (DWORDs), the build number (a string) and the update
// build revision (UBR, a DWORD).
func parseOSBuild(major, minor uint64, build string, ubr uint64) (update.Version, error) {
	v, err := update.ParseVersion(fmt.Sprintf("%d.%d.%s.%d", major, minor, build, ubr))
	if err != nil {
		return update.Version{}, fmt.Errorf("OS build from the registry: %w", err)
	}
	return v, nil
}
