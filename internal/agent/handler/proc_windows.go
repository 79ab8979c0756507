package handler

import "os/exec"

// setProcessGroup: Windows handlers (pnputil, DISM, PowerShell) are killed
// directly on timeout.
func setProcessGroup(*exec.Cmd) {}
