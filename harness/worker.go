package harness

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

// startWorker starts cmd as a worker: in a process group of its own and,
// on Linux, with SIGKILL as its parent-death signal, so that a harness
// killed by SIGKILL takes its running workers with it instead of leaving
// them to run their trials out, reparented to PID 1. Once cmd has started
// it calls beforeWait, then cmd.Wait, and sends Wait's error on the channel
// it returns.
//
// Linux delivers the parent-death signal when the *thread* that forked the
// child exits, not only the process. The Go runtime ends a thread only when
// a goroutine exits while locked to it, but any code in the harness may do
// that (a LockOSThread without its Unlock). So the start and the wait run
// on one goroutine locked to its OS thread from before the fork until the
// worker has been reaped: the thread that forked the worker cannot exit
// while the worker runs, whatever else the process does. It costs one
// thread per running worker, blocked in wait4.
func startWorker(cmd *exec.Cmd, beforeWait func()) (<-chan error, error) {
	cmd.SysProcAttr = workerSysProcAttr()
	started := make(chan error, 1)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread() // the worker is reaped: the thread may serve others
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		if beforeWait != nil {
			beforeWait()
		}
		done <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return done, nil
}

// killGroup kills a worker started by startWorker and its process group.
// The worker is killed first, through its pidfd where Go has one, which
// cannot reach another process once it was reaped; then, unless it had
// been reaped already, its group, whose id stays the worker's while the
// worker (now a zombie until reaped) or anything it started lives.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	if err := cmd.Process.Kill(); errors.Is(err, os.ErrProcessDone) {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
