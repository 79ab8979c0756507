package config

import (
	"os"
	"path/filepath"

	"github.com/devupdate/devupdate/manifest/update"
)

// defaultHandlers are Windows' own installers: pnputil for drivers, the
// App Installer (Add-AppxPackage) for apps, the servicing stack (DISM) for
// the vendor packages of an OS update. PowerShell reads the package path
// from the environment, never from quoted text. An ocp has no default.
func defaultHandlers() map[update.Kind]Handler {
	sys := filepath.Join(os.Getenv("SystemRoot"), "System32")
	h := func(argv ...string) Handler {
		return Handler{Command: argv, Timeout: DefaultHandlerTimeout, RebootExitCodes: defaultRebootCodes()}
	}
	return map[update.Kind]Handler{
		update.KindDriver: h(filepath.Join(sys, "pnputil.exe"), "/add-driver", "{inf}", "/install"),
		update.KindApp: h(filepath.Join(sys, "WindowsPowerShell", "v1.0", "powershell.exe"), "-NoProfile", "-NonInteractive",
			"-Command", "Add-AppxPackage -Path $env:DEVUPDATE_PACKAGE -ForceUpdateFromAnyVersion"),
		update.KindOS: h(filepath.Join(sys, "Dism.exe"), "/Online", "/Add-Package", "/PackagePath:{dir}", "/NoRestart", "/Quiet"),
	}
}

// defaultRebootCodes: ERROR_SUCCESS_REBOOT_REQUIRED (3010) and
// ERROR_SUCCESS_REBOOT_INITIATED (1641).
func defaultRebootCodes() []int { return []int{3010, 1641} }

// DefaultPath is where the configuration is installed:
// %ProgramData%\devupdate-agent\config.json.
func DefaultPath() string {
	return filepath.Join(programData(), "devupdate-agent", "config.json")
}

// DefaultStateDir is %ProgramData%\devupdate-agent\state.
func DefaultStateDir() string { return filepath.Join(programData(), "devupdate-agent", "state") }

func programData() string {
	if p := os.Getenv("ProgramData"); p != "" {
		return p
	}
	return `C:\ProgramData`
}
