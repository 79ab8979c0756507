//go:build unix && !linux

package handler

import "syscall"

func setParentDeathSignal(*syscall.SysProcAttr) {}
