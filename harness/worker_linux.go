package harness

import "syscall"

// workerSysProcAttr puts a worker in a process group of its own, so that
// the watchdog can kill it with whatever it started, and has the kernel
// send it SIGKILL when its parent dies (see startWorker for the thread the
// parent-death signal is tied to).
func workerSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
