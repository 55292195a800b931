//go:build unix

// Package child supervises one child process: racestress's process trials,
// its pool workers and the commands of racestress exec and gotest all run
// under it.
//
// A child starts in a process group of its own and, on Linux, with SIGKILL
// as its parent-death signal, so that a harness killed by SIGKILL takes its
// children with it. Everything the supervisor does to a child it does to
// the child's whole group:
//
//   - the watchdog, armed per use (a pool worker lives across many trials):
//     when it fires, the group gets SIGQUIT, on which a Go program writes
//     every goroutine's stack and exits, and SIGKILL after a grace;
//   - the memory limit: the group's resident set is read every MemoryPoll
//     and the group is killed once it passes twice the limit;
//   - Interrupt (a cancelled trial) kills the group and is remembered;
//   - when the child exits, what it left behind in its group is killed.
//
// Its Exit says how the child ended: exit status, signal, CPU times and
// peak resident set, read the same way on Linux and Darwin.
package child

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// DefaultGrace is how long a child has between the watchdog's SIGQUIT and
// SIGKILL when Options.Grace is zero or less.
const DefaultGrace = 2 * time.Second

// MemoryPoll is how often the resident set of a child with a memory limit
// is read. Every memberScan-th poll also looks for new members of its
// process group; the others read only the members already known.
const MemoryPoll = 20 * time.Millisecond

// memberScan is how many polls pass between two scans for the members of
// a child's group: a scan reads every process's /proc entry (about 3 ms
// for 90 processes on a loaded 2-core machine), a poll only the members'.
const memberScan = 25

// Options are the supervisor's limits for a child.
type Options struct {
	// Grace is the time between the watchdog's SIGQUIT and its SIGKILL;
	// DefaultGrace when zero or less.
	Grace time.Duration
	// MemoryLimit, when positive, kills the child's group once its
	// resident set passes twice this many bytes (Exit.OverMemory). It is
	// enforced where /proc shows resident sets (Linux); elsewhere only
	// the peak is reported.
	MemoryLimit int64
	// BeforeWait, when set, is called before the child is reaped: a
	// caller that must read the child's pipes to their end before it sees
	// the exit does so here. On Linux it is called once the child has
	// exited and what it left in its group was killed; elsewhere, where
	// an exit cannot be awaited without reaping, as soon as it started.
	BeforeWait func()

	// after starts a timer (time.AfterFunc when nil); tests inject their
	// own to fire the watchdog and the grace deterministically.
	after func(time.Duration, func()) timer
}

// timer is what Child needs of a *time.Timer.
type timer interface{ Stop() bool }

// Exit is how a child ended.
type Exit struct {
	// Code is the exit status; -1 when a signal killed the child or it
	// could not be waited for.
	Code int
	// Signal is the signal that killed the child, as syscall.Signal's
	// String says it ("" when it exited).
	Signal string
	// Err is the error of waiting for the child when it left no status.
	Err error
	// Wall is the time from the start to the child's exit.
	Wall time.Duration
	// UserCPU and SysCPU are the CPU time the child (and the children it
	// waited for) spent in user and kernel mode.
	UserCPU, SysCPU time.Duration
	// PeakRSS is the largest resident set seen, in bytes: the child's own
	// peak (getrusage), or its group's largest sampled sum when a memory
	// limit was polled, whichever is larger.
	PeakRSS int64
	State
}

// State is what the supervisor has done to a child.
type State struct {
	TimedOut    bool // the watchdog fired
	OverMemory  bool // the group passed twice the memory limit and was killed
	Interrupted bool // Interrupt was called before the child exited
}

// Stopping reports whether the supervisor has begun to stop the child.
func (s State) Stopping() bool { return s.TimedOut || s.OverMemory || s.Interrupted }

// Child is a running child process under supervision.
type Child struct {
	cmd   *exec.Cmd
	pid   int
	opts  Options
	start time.Time
	done  chan struct{}

	mu      sync.Mutex
	state   State
	gen     int   // counts the watchdog's armings: a stale timer does nothing
	dog     timer // the armed watchdog, nil when none
	grace   timer // the kill after the watchdog's SIGQUIT
	exited  bool  // the child has exited: the group may be signalled until it is reaped
	reaped  bool  // the child was reaped: its group id may name another group
	sampled int64 // the largest resident set the memory poll saw
	exit    Exit
}

// Start starts cmd under supervision. cmd is set up by the caller (its
// command, environment, directory and files) except for SysProcAttr, which
// Start sets; the caller must not call its Wait.
//
// On Linux the parent-death signal is sent when the thread that forked the
// child exits, not only the process. The Go runtime ends a thread when a
// goroutine exits while locked to it, which any code in the process may do.
// So the start and the wait run on one goroutine locked to its thread from
// before the fork until the child has been reaped: it costs one thread per
// running child, blocked in wait.
func Start(cmd *exec.Cmd, opts Options) (*Child, error) {
	if opts.Grace <= 0 {
		opts.Grace = DefaultGrace
	}
	if opts.after == nil {
		opts.after = func(d time.Duration, f func()) timer { return time.AfterFunc(d, f) }
	}
	cmd.SysProcAttr = sysProcAttr()
	c := &Child{cmd: cmd, opts: opts, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread() // the child is reaped: the thread may serve others
		c.start = time.Now()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		c.pid = cmd.Process.Pid
		started <- nil
		c.wait()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	if opts.MemoryLimit > 0 && pollsMemory {
		go c.pollMemory()
	}
	return c, nil
}

// wait waits for the child's exit, kills what it left in its group, and
// reaps it.
func (c *Child) wait() {
	// Where the exit can be awaited without reaping, the child's pid, and
	// so its group's id, stays reserved while the group is killed.
	early := waitExited(c.pid) == nil
	end := time.Now()
	if early {
		c.mu.Lock()
		c.exited = true
		c.stopTimersLocked()
		c.mu.Unlock()
		signalGroup(c.pid, syscall.SIGKILL)
	}
	if c.opts.BeforeWait != nil {
		c.opts.BeforeWait()
	}
	err := c.cmd.Wait()
	c.mu.Lock()
	c.reaped = true
	if !early {
		end = time.Now()
		c.exited = true
		c.stopTimersLocked()
		// The group's id could name another group now, in principle; not
		// before the process ids wrap around.
		signalGroup(c.pid, syscall.SIGKILL)
	}
	c.exit = exitOf(c.cmd.ProcessState, err)
	c.exit.Wall = end.Sub(c.start)
	c.exit.PeakRSS = max(c.exit.PeakRSS, c.sampled)
	c.exit.State = c.state
	c.mu.Unlock()
	close(c.done)
}

// exitOf reads how a reaped child ended.
func exitOf(st *os.ProcessState, err error) Exit {
	e := Exit{Code: -1}
	if st == nil {
		e.Err = err
		if e.Err == nil {
			e.Err = errors.New("no exit status")
		}
		return e
	}
	e.Code = st.ExitCode()
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		e.Signal = ws.Signal().String()
	}
	e.UserCPU, e.SysCPU = st.UserTime(), st.SystemTime()
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		e.PeakRSS = maxRSSBytes(runtime.GOOS, int64(ru.Maxrss))
	}
	return e
}

// maxRSSBytes converts getrusage's ru_maxrss on goos to bytes: Darwin
// (and iOS) count it in bytes, Linux and the BSDs in KiB.
func maxRSSBytes(goos string, maxrss int64) int64 {
	switch goos {
	case "darwin", "ios":
		return maxrss
	}
	return maxrss * 1024
}

// Pid returns the child's process id, which is also its group's id.
func (c *Child) Pid() int { return c.pid }

// Done is closed once the child has exited and been reaped.
func (c *Child) Done() <-chan struct{} { return c.done }

// Exit returns how the child ended. It blocks until Done is closed.
func (c *Child) Exit() Exit {
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.exit
}

// Wait returns how the child ended. If ctx is cancelled first it calls
// Interrupt, and waits for the child's end all the same.
func (c *Child) Wait(ctx context.Context) Exit {
	select {
	case <-c.done:
	case <-ctx.Done():
		c.Interrupt()
	}
	return c.Exit()
}

// State returns what the supervisor has done to the child so far.
func (c *Child) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Arm arms the watchdog: if the child still runs after d, its group gets
// SIGQUIT and, Grace later, SIGKILL. It replaces a watchdog armed before;
// d of zero or less disarms it. A child whose watchdog has fired is being
// stopped: arming it again does nothing.
func (c *Child) Arm(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.disarmLocked()
	if d <= 0 || c.exited || c.state.TimedOut {
		return
	}
	gen := c.gen
	c.dog = c.opts.after(d, func() { c.expire(gen) })
}

// Disarm stops the watchdog armed by Arm, if it has not fired. Once
// Disarm has returned, the watchdog of that arming cannot fire: State's
// TimedOut says whether it did.
func (c *Child) Disarm() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.disarmLocked()
}

func (c *Child) disarmLocked() {
	c.gen++
	if c.dog != nil {
		c.dog.Stop()
		c.dog = nil
	}
}

// expire is the watchdog of arming gen firing: SIGQUIT to the group now,
// SIGKILL after the grace.
func (c *Child) expire(gen int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen || c.exited {
		return
	}
	c.dog = nil
	c.state.TimedOut = true
	c.signalLocked(syscall.SIGQUIT)
	c.grace = c.opts.after(c.opts.Grace, c.Kill)
}

// Interrupt kills the child's group for a cancelled use, and remembers it
// (State.Interrupted) unless the child had exited already.
func (c *Child) Interrupt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.exited {
		c.state.Interrupted = true
	}
	c.killLocked()
}

// Kill kills the child and its group, unless the child was reaped.
func (c *Child) Kill() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.killLocked()
}

func (c *Child) killLocked() {
	if c.reaped {
		return
	}
	// The child first, through its pidfd where Go has one, then its
	// group, whose id stays the child's while the child (a zombie until
	// reaped) or anything in its group lives.
	_ = c.cmd.Process.Kill()
	signalGroup(c.pid, syscall.SIGKILL)
}

// signalLocked sends sig to the child's group, unless the child was
// reaped.
func (c *Child) signalLocked(sig syscall.Signal) {
	if !c.reaped {
		signalGroup(c.pid, sig)
	}
}

func (c *Child) stopTimersLocked() {
	c.disarmLocked()
	if c.grace != nil {
		c.grace.Stop()
		c.grace = nil
	}
}

// signalGroup sends sig to every process in the group pgid; errors (the
// group is gone) are ignored.
func signalGroup(pgid int, sig syscall.Signal) {
	if pgid > 0 {
		_ = syscall.Kill(-pgid, sig)
	}
}

// pollMemory reads the group's resident set every MemoryPoll until the
// child exits, and kills the group once it passes twice the limit.
func (c *Child) pollMemory() {
	t := time.NewTicker(MemoryPoll)
	defer t.Stop()
	var members []int
	for i := 0; ; i++ {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		c.mu.Lock()
		exited := c.exited
		c.mu.Unlock()
		if exited {
			return
		}
		if i%memberScan == 0 {
			members = groupMembers(c.pid)
		}
		var rss int64
		members, rss = groupRSS(c.pid, members)
		c.mu.Lock()
		c.sampled = max(c.sampled, rss)
		if rss > 2*c.opts.MemoryLimit && !c.state.OverMemory && !c.exited {
			c.state.OverMemory = true
			c.killLocked()
		}
		c.mu.Unlock()
	}
}

// Memory returns the child's own resident set and its peak since the last
// ResetPeak (or its start), in bytes; zeros where it cannot read them.
func (c *Child) Memory() (rss, peak int64) { return memoryOf(c.pid) }

// ResetPeak resets the kernel's record of the child's peak resident set,
// so that Memory reads the peak of what followed (Linux); elsewhere it
// does nothing.
func (c *Child) ResetPeak() { resetPeak(c.pid) }
