package handler

import "syscall"

// setParentDeathSignal: on Linux the handler dies with the agent, so an
// agent killed mid-install leaves no installer running on its own; the
// next run checks and retries.
func setParentDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
