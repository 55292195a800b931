package command

import "syscall"

// sysProcAttr puts the child in a process group of its own and has the
// kernel kill it when its parent dies. (Pdeathsig fires when the thread that
// started the child exits; the Go runtime does not end its threads while the
// process runs unless a goroutine exits locked to one.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// maxRSSBytes converts getrusage's ru_maxrss (KiB on Linux) to bytes.
func maxRSSBytes(ru *syscall.Rusage) int64 { return ru.Maxrss * 1024 }
