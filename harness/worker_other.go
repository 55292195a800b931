//go:build unix && !linux

package harness

import "syscall"

// workerSysProcAttr puts a worker in a process group of its own, so that
// the watchdog can kill it with whatever it started. Outside Linux there is
// no parent-death signal: a worker outlives a harness killed by SIGKILL
// until its trial ends.
func workerSysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
