//go:build unix && !linux

package command

import (
	"runtime"
	"syscall"
)

// sysProcAttr puts the child in a process group of its own. Outside Linux
// there is no parent-death signal: a child outlives a killed parent.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// maxRSSBytes converts getrusage's ru_maxrss (bytes on Darwin, KiB on the
// BSDs) to bytes.
func maxRSSBytes(ru *syscall.Rusage) int64 {
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss)
	}
	return int64(ru.Maxrss) * 1024
}
