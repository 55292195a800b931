package harness

import (
	"os/exec"
	"syscall"
	"time"

	"github.com/racestress/racestress/result"
)

// guard is the watchdog of a child, shared by Process.watch and
// Pool.watchPool: at the timeout it sends SIGQUIT (a Go child dumps every
// goroutine), Grace later it kills the child's process group; past twice
// the memory limit it kills it at once; on cancellation it kills it and
// remembers that the trial was interrupted. Its channels are selected on
// by the caller, next to the child's own.
type guard struct {
	cmd   *exec.Cmd
	pid   int
	limit int64
	grace time.Duration
	proc  *result.Process

	timer *time.Timer
	ticks *time.Ticker
	// expired, memTick and killAt are the channels to select on; memTick
	// and killAt are nil until they can fire.
	expired     <-chan time.Time
	memTick     <-chan time.Time
	killAt      <-chan time.Time
	interrupted bool
}

// newGuard starts the watchdog of cmd (process pid). A grace of zero or
// less is 2 s; a limit of zero polls no memory.
func newGuard(cmd *exec.Cmd, pid int, timeout, grace time.Duration, limit int64, proc *result.Process) *guard {
	if grace <= 0 {
		grace = 2 * time.Second
	}
	g := &guard{cmd: cmd, pid: pid, limit: limit, grace: grace, proc: proc, timer: time.NewTimer(timeout)}
	g.expired = g.timer.C
	if limit > 0 {
		g.ticks = time.NewTicker(20 * time.Millisecond)
		g.memTick = g.ticks.C
	}
	return g
}

// stop releases the guard's timers.
func (g *guard) stop() {
	g.timer.Stop()
	if g.ticks != nil {
		g.ticks.Stop()
	}
}

// interrupt kills the child once, for a cancelled trial.
func (g *guard) interrupt() {
	if !g.interrupted {
		g.interrupted = true
		killGroup(g.cmd)
	}
}

// expire is the watchdog firing: SIGQUIT now, the kill after the grace.
func (g *guard) expire() {
	g.proc.TimedOut = true
	_ = g.cmd.Process.Signal(syscall.SIGQUIT)
	g.killAt = time.After(g.grace)
}

// kill ends the child's process group after the grace.
func (g *guard) kill() { killGroup(g.cmd) }

// checkMemory kills a child whose resident set passed twice the limit.
func (g *guard) checkMemory() {
	if rss := residentBytes(g.pid); rss > 2*g.limit && !g.proc.OverMemory {
		g.proc.OverMemory = true
		killGroup(g.cmd)
	}
}
