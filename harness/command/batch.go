//go:build unix

package command

import (
	"bufio"
	"context"
	"strconv"
	"time"

	"github.com/racestress/racestress/child"
	"github.com/racestress/racestress/result"
)

// A Batch is a Go test binary running many iterations in one warm process
// (-test.count), read one iteration at a time: racestress gotest's batched
// trials. Each iteration is classified as a trial of its own from its part
// of the output (see Splitter), with the watchdog armed per iteration.
//
// A batch is meant to be closed after any iteration that can taint the
// ones after it in the same process: a data race (the race detector
// reports each race once per process), a panic, a fatal error, a hang.
type Batch struct {
	c     Command
	ch    *child.Child
	lines chan []byte // the process's output, a line at a time; closed at its end
	split Splitter
	ready []Iteration // iterations the splitter returned, not yet taken
	ended bool        // the output ended: the process is gone
	exit  child.Exit
	start time.Time // when the iteration being read began (the last one's end)
	taken int       // iterations taken
}

// StartBatch starts c as a batch of count iterations of per top-level
// tests each (0: unknown, learnt from the output). c's Args must run the
// test binary with -test.v=test2json; StartBatch adds -test.count=count
// (and -test.timeout=0: the watchdog is per iteration, c.Timeout). The
// batch's environment names trial, the first iteration's trial, and seed.
func (c Command) StartBatch(count, per, trial int, seed int64) (*Batch, error) {
	args := append(append([]string(nil), c.Args...), "-test.count="+strconv.Itoa(count), "-test.timeout=0")
	ch, pr, err := c.start(args, trial, seed)
	if err != nil {
		return nil, err
	}
	b := &Batch{c: c, ch: ch, lines: make(chan []byte, 64), split: Splitter{Per: per}, start: time.Now()}
	go func() {
		defer close(b.lines)
		defer pr.Close()
		r := bufio.NewReaderSize(pr, 64<<10)
		for {
			line, err := r.ReadBytes('\n')
			if len(line) > 0 {
				b.lines <- line
			}
			if err != nil { // io.EOF, or the pipe closed
				return
			}
		}
	}()
	return b, nil
}

// Pid returns the batch's process id.
func (b *Batch) Pid() int { return b.ch.Pid() }

// Taken returns how many iterations Next has returned.
func (b *Batch) Taken() int { return b.taken }

// Ended reports whether the process is gone: Next returns no more
// iterations than those it already read.
func (b *Batch) Ended() bool { return b.ended && len(b.ready) == 0 }

// Next returns the next iteration as a trial: its outcome, message,
// signature and test as Run classifies a whole run's, its time as the
// test binary reported it (or, for an iteration cut off, the wall time
// since the previous one ended), and its log when it failed. ok is false
// when the process ended without another iteration; its Result then says
// how the process ended. A binary that failed before its first test gives
// that failure as an iteration (ok true), so that it is not lost.
// trial names the iteration's log. A cancelled ctx interrupts the process
// and returns a Result with Interrupted set.
func (b *Batch) Next(ctx context.Context, trial int) (r Result, ok bool) {
	b.ch.Arm(b.c.Timeout)
	defer b.ch.Disarm()
	for len(b.ready) == 0 && !b.ended {
		select {
		case line, open := <-b.lines:
			if !open {
				b.exit = b.ch.Exit()
				b.ended = true
				b.ready = append(b.ready, b.split.Close()...)
				continue
			}
			b.ready = append(b.ready, b.split.Feed(line)...)
		case <-ctx.Done():
			b.ch.Interrupt()
			b.exit = b.ch.Exit()
			return Result{ExitCode: -1, Outcome: result.Error, Message: "error: interrupted", Interrupted: true}, true
		}
	}
	now := time.Now()
	if len(b.ready) == 0 {
		// The process ended with no iteration left. After its iterations
		// that is its end, not another; before its first, it failed (a
		// flag it refused, TestMain, an init) or ran no test.
		r = b.processResult(b.split.Outside(), now)
		if b.taken > 0 || r.Outcome == result.OK {
			return r, false
		}
		b.taken++
		b.c.keepLogs(&r, trial, b.split.Outside(), classifyText(b.split.Outside()))
		return r, true
	}
	it := b.ready[0]
	b.ready = b.ready[1:]
	b.taken++
	last := b.ended && len(b.ready) == 0
	switch {
	case last && !it.Complete, last && b.exit.Stopping():
		// Cut off by the process's end, or the supervisor stopped it
		// during this iteration: the process's exit is the iteration's.
		r = b.processResult(it.Output, now)
	default:
		r = Result{ExitCode: 0, Wall: it.Elapsed}
		if len(it.Failed) > 0 {
			r.ExitCode = 1
		}
		if last && b.exit.Code != 0 && len(it.Failed) > 0 {
			// The process died right after this iteration's failure (a
			// panic's trace follows the --- FAIL line): its exit is the
			// iteration's.
			r.ExitCode, r.Signal = b.exit.Code, b.exit.Signal
		}
		classify(&r, it.Output, b.c.FailOn, b.c.Ignore, b.c.Timeout)
	}
	if r.Wall <= 0 {
		r.Wall = now.Sub(b.start)
	}
	b.start = now
	b.c.keepLogs(&r, trial, it.Output, classifyText(it.Output))
	return r, true
}

// processResult classifies output as the process's last words, with how
// the process ended.
func (b *Batch) processResult(output []byte, now time.Time) Result {
	e := b.exit
	r := Result{ExitCode: e.Code, Signal: e.Signal, Wall: now.Sub(b.start), PeakRSS: e.PeakRSS,
		UserCPU: e.UserCPU, SysCPU: e.SysCPU, TimedOut: e.TimedOut, OverMemory: e.OverMemory, Interrupted: e.Interrupted}
	classify(&r, output, b.c.FailOn, b.c.Ignore, b.c.Timeout)
	return r
}

// Close ends the batch: the process is killed if it still runs, and
// reaped. It returns how the process ended.
func (b *Batch) Close() child.Exit {
	b.ch.Interrupt()
	e := b.ch.Exit()
	for range b.lines { // let the reader finish
	}
	return e
}

// classifyText returns output as text, as classify reads it (for the
// dump kept beside a log).
func classifyText(output []byte) string {
	text, _ := plainText(output)
	return text
}
