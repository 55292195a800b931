//go:build !linux

package harness

import "syscall"

// poolSysProcAttr: outside Linux a pool worker whose parent dies exits at
// the end of its input, between trials.
func poolSysProcAttr() *syscall.SysProcAttr { return nil }
