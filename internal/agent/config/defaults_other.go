//go:build !windows

package config

import "github.com/devupdate/devupdate/manifest/update"

// defaultHandlers: Linux has no installer the agent could assume; every
// kind needs a configured command.
func defaultHandlers() map[update.Kind]Handler { return map[update.Kind]Handler{} }

// defaultRebootCodes: none; configure reboot_exit_codes per handler.
func defaultRebootCodes() []int { return nil }

// DefaultPath is where the configuration is installed.
func DefaultPath() string { return "/etc/devupdate-agent/config.json" }

// DefaultStateDir is the state directory of a device without one set.
func DefaultStateDir() string { return "/var/lib/devupdate-agent" }
