//go:build !windows

package service

import (
	"context"
	"errors"
)

// IsService is false outside Windows: systemd and the like run the agent
// as a plain process and stop it with SIGTERM.
func IsService() (bool, error) { return false, nil }

// Run is only for Windows.
func Run(string, func(context.Context) error) error {
	return errors.New("not a Windows service")
}
