//go:build !windows

package agent

import "github.com/devupdate/devupdate/manifest/update"

// osBuild: outside Windows the OS is in the configured base inventory.
func osBuild() (update.Version, bool, error) { return update.Version{}, false, nil }
