package harness

import "syscall"

// poolSysProcAttr has the kernel kill a pool worker when its parent dies,
// so that a worker whose trial hangs does not outlive a killed run (a
// worker whose input ends exits between trials by itself). Pdeathsig fires
// when the thread that started the child exits; the Go runtime does not
// end its threads while the process runs unless a goroutine exits locked
// to one.
func poolSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
