//go:build unix

// Package command runs one trial of an arbitrary command (a test binary, a
// `go test` invocation, any program) as a child process and classifies how
// it ended: exit status, signal, watchdog, memory limit, and what its output
// says (a race-detector report, a Go runtime fatal error, an unrecovered
// panic, a failing test).
//
// Each trial runs under the child supervisor (package child), in a process
// group of its own, so that the watchdog, a cancellation and the clean-up
// after it exits reach every process it started. It sees RACESTRESS_TRIAL and RACESTRESS_SEED in its environment,
// and, on Linux, dies with its parent.
//
// Failures of the same kind get the same Signature, so that a run of many
// trials can count distinct bugs rather than failing trials.
package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/racestress/racestress/child"
	"github.com/racestress/racestress/result"
)

// Environment variables every trial sees.
const (
	TrialEnv = "RACESTRESS_TRIAL" // the trial's number
	SeedEnv  = "RACESTRESS_SEED"  // the trial's seed, a decimal int64
)

// DefaultGrace is how long a trial has between the watchdog's SIGQUIT and
// SIGKILL when Command.Grace is zero.
const DefaultGrace = child.DefaultGrace

// Command is a command to run as trials. Its zero values mean: no watchdog,
// no memory limit, no logs.
type Command struct {
	// Path is the program; without a slash it is looked up in PATH. Args
	// are its arguments, not including the program.
	Path string
	Args []string
	// Env is added to this process's environment for the child (a later
	// entry wins). Before this process's environment comes the default
	// GOTRACEBACK=all (a panic shows every goroutine), which it or Env may
	// override. After it comes GOMEMLIMIT when MemoryLimit is set, then
	// Env, then TrialEnv and SeedEnv. GORACE is the exception: the child
	// gets one GORACE, the options atexit_sleep_ms=0 (a program built with
	// -race otherwise sleeps 1 s before it exits), then this process's
	// GORACE, then Env's, a later option winning (as the race runtime
	// reads them), so that a GORACE of the user's keeps the default.
	Env []string
	// Dir is the child's working directory; empty means this process's.
	Dir string

	// Timeout, when positive, is the watchdog: a trial still running after
	// it gets SIGQUIT, sent to its whole process group (a Go program then
	// writes every goroutine's stack and exits; `go test` ignores SIGQUIT
	// and its test binary dumps), and SIGKILL Grace later (DefaultGrace
	// when zero). Without it a hanging trial runs for ever; note that the
	// runtime's deadlock detector is off in programs built with cgo or
	// -race, so only the watchdog sees their deadlocks.
	Timeout, Grace time.Duration

	// MemoryLimit, when positive, is a limit in bytes: the child gets it as
	// GOMEMLIMIT, and a trial whose process group's resident set grows past
	// twice the limit is killed (outcome crash, Result.OverMemory).
	MemoryLimit int64

	// Keep is how many bytes of output (standard output and standard error
	// interleaved) are kept from each end; DefaultKeep when zero. What lies
	// between is dropped and the log says how much.
	Keep int

	// LogDir, when set, receives each failed trial's output as
	// trial-N.log (trial-N.1.log and so on if that exists: two runs never
	// overwrite each other's files, but give each run its own LogDir), and,
	// when a hanging trial wrote a goroutine dump, the dump as trial-N.dump.
	// The directory is created if needed. LogAll keeps the output of
	// trials that passed too.
	LogDir string
	LogAll bool

	// FailOn, when set, fails a trial whose output it matches even though
	// the command exited 0 (outcome fail).
	FailOn *regexp.Regexp
	// Ignore, when set, makes a failed trial whose output it matches count
	// as passed (outcome ok, Result.Ignored), as stress's -ignore does. It
	// does not apply to outcome error, nor to a trial killed over its memory
	// limit.
	Ignore *regexp.Regexp
}

// Result is how one trial ended.
type Result struct {
	// Outcome is the trial's class: ok, fail, panic, data-race, fatal,
	// crash, hang or error.
	Outcome result.Outcome
	// Message says what happened in one line, for people.
	Message string
	// Signature groups failures of the same kind (see Signature); empty
	// when the trial passed.
	Signature string
	// Test is the failing test's name, when the output is go test's or
	// test2json's and names one (the innermost failing subtest; for a
	// hang, the test left running).
	Test string

	ExitCode int           // the exit status; -1 when killed by a signal or never started
	Signal   string        // the signal that killed the process, as syscall.Signal.String says it
	Wall     time.Duration // from the start to the leader's exit
	PeakRSS  int64         // the largest resident set seen, in bytes: the process's own peak (getrusage), or its group's sampled sum when MemoryLimit is set, whichever is larger
	UserCPU  time.Duration // CPU time in user mode, the leader's and what it waited for
	SysCPU   time.Duration // CPU time in kernel mode, likewise

	TimedOut    bool // the watchdog fired
	OverMemory  bool // killed for growing past twice MemoryLimit
	Interrupted bool // ctx was cancelled before the trial ended: the result says nothing about the command
	Ignored     bool // the trial failed but Ignore matched its output

	Log  string // the file holding the trial's output, if one was written
	Dump string // the file holding its goroutine dump, if it wrote one
}

// Passed reports whether the trial counts as passed: outcome ok, including
// an ignored failure.
func (r Result) Passed() bool { return r.Outcome == result.OK }

// Run runs one trial of c: trial is its number, seed its seed, both handed
// to the child in its environment. Cancelling ctx kills the trial's process
// group at once and returns a result with Interrupted set. Run waits for the
// leader process, then kills whatever else is left in its group; output
// still held open by a process that left the group is waited for at most
// Grace.
//
// The trial's outcome follows the first rule that matches:
//
//	cannot start, or interrupted          error
//	over the memory limit                 crash (OverMemory)
//	the watchdog fired                    hang (TimedOut)
//	exit status 0                         ok; fail if FailOn matches
//	go test's "[build failed]"            error
//	"fatal error: all goroutines are asleep", or go test's
//	  "panic: test timed out after"       hang
//	"WARNING: DATA RACE", or exit 66      data-race
//	"fatal error: ..."                    fatal (crash if out of memory)
//	"panic: ..." and a running goroutine  panic
//	killed by a signal                    crash
//	any other exit status                 fail
//
// after which Ignore may turn a failure into ok (Ignored). The output is
// read as text, test2json's events decoded, and a failing test named in Test
// (for a hang, the test left running).
func (c Command) Run(ctx context.Context, trial int, seed int64) Result {
	r := Result{ExitCode: -1}
	if err := ctx.Err(); err != nil {
		r.Outcome, r.Interrupted, r.Message = result.Error, true, "error: interrupted before the start"
		return r
	}
	grace := c.grace()
	ch, pr, err := c.start(c.Args, trial, seed)
	if err != nil {
		return startError(r, err)
	}
	out := newCapture(c.Keep)
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(out, pr)
		close(copied)
	}()
	ch.Arm(c.Timeout)
	exit := ch.Wait(ctx)
	// The supervisor killed what the leader left in its group; the output
	// ends when the last process holding the pipe does, one that left the
	// group included, which is waited for at most Grace.
	drain := time.NewTimer(grace)
	select {
	case <-copied:
	case <-drain.C:
		pr.Close()
		<-copied
	}
	drain.Stop()
	pr.Close()

	r.ExitCode, r.Signal, r.Wall, r.PeakRSS = exit.Code, exit.Signal, exit.Wall, exit.PeakRSS
	r.UserCPU, r.SysCPU = exit.UserCPU, exit.SysCPU
	r.TimedOut, r.OverMemory, r.Interrupted = exit.TimedOut, exit.OverMemory, exit.Interrupted

	output := out.Bytes()
	text := classify(&r, output, c.FailOn, c.Ignore, c.Timeout)
	c.keepLogs(&r, trial, output, text)
	return r
}

// grace is c.Grace, or DefaultGrace when zero or less.
func (c Command) grace() time.Duration {
	if c.Grace <= 0 {
		return DefaultGrace
	}
	return c.Grace
}

// start starts c's program with args under the supervisor, its output
// (standard output and error) on the returned pipe. The child writes
// straight into the pipe: waiting for it does not wait for the output to
// be copied, which a grandchild could hold open for ever.
func (c Command) start(args []string, trial int, seed int64) (*child.Child, *os.File, error) {
	cmd := exec.Command(c.Path, args...)
	cmd.Dir = c.Dir
	cmd.Env = c.environ(trial, seed)
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	ch, err := child.Start(cmd, child.Options{Grace: c.grace(), MemoryLimit: c.MemoryLimit})
	pw.Close()
	if err != nil {
		pr.Close()
		return nil, nil, err
	}
	return ch, pr, nil
}

// environ returns the child's environment.
func (c Command) environ(trial int, seed int64) []string {
	parent := os.Environ()
	env := make([]string, 0, len(parent)+len(c.Env)+5)
	env = append(env, "GOTRACEBACK=all")
	env = append(env, notRace(parent)...)
	if c.MemoryLimit > 0 {
		env = append(env, "GOMEMLIMIT="+strconv.FormatInt(c.MemoryLimit, 10))
	}
	env = append(env, notRace(c.Env)...)
	return append(env,
		"GORACE="+c.raceOptions(parent),
		TrialEnv+"="+strconv.Itoa(trial),
		SeedEnv+"="+strconv.FormatInt(seed, 10))
}

// notRace returns env without its GORACE entries.
func notRace(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(e string) bool { return strings.HasPrefix(e, "GORACE=") })
}

// raceOptions returns the child's GORACE: the default, then the options of
// parent (this process's environment), then Env's.
func (c Command) raceOptions(parent []string) string {
	opts := []string{"atexit_sleep_ms=0"}
	for _, env := range [][]string{parent, c.Env} {
		for _, e := range env {
			if v, ok := strings.CutPrefix(e, "GORACE="); ok && strings.TrimSpace(v) != "" {
				opts = append(opts, strings.TrimSpace(v))
			}
		}
	}
	return strings.Join(opts, " ")
}

// RepeatRaces is a GORACE that makes a race-enabled program report a race
// every time it happens, rather than once per process: both of the race
// runtime's suppressions off (RepeatsRaces).
const RepeatRaces = "suppress_equal_stacks=0 suppress_equal_addresses=0"

// RepeatsRaces reports whether the child's race detector, if it has one,
// reports a race every time it happens rather than once per process: its
// GORACE turns off both of the race runtime's suppressions of a report
// like an earlier one, suppress_equal_stacks and suppress_equal_addresses
// (each on by default). Only then can a process that reported a race go
// on to show whether the next iteration races too.
func (c Command) RepeatsRaces() bool {
	opts := map[string]string{}
	for _, f := range strings.Fields(c.raceOptions(os.Environ())) {
		if k, v, ok := strings.Cut(f, "="); ok {
			opts[k] = v
		}
	}
	off := func(name string) bool {
		switch strings.ToLower(opts[name]) {
		case "0", "false", "no":
			return true
		}
		return false
	}
	return off("suppress_equal_stacks") && off("suppress_equal_addresses")
}

func startError(r Result, err error) Result {
	r.Outcome = result.Error
	r.Message = "error: cannot start: " + err.Error()
	r.Signature = "error: cannot start: " + normalize(err.Error())
	return r
}

// keepLogs writes the trial's output, and its goroutine dump if it wrote
// one, to c.LogDir. The dump is cut from text, the output as plain text
// (test2json's events decoded).
func (c Command) keepLogs(r *Result, trial int, output []byte, text string) {
	if c.LogDir == "" || r.Interrupted || (r.Outcome == result.OK && !r.Ignored && !c.LogAll) {
		return
	}
	if err := os.MkdirAll(c.LogDir, 0o755); err != nil {
		r.Message += "; log not kept: " + err.Error()
		return
	}
	name, err := writeNew(c.LogDir, fmt.Sprintf("trial-%d", trial), ".log", output)
	if err != nil {
		r.Message += "; log not kept: " + err.Error()
		return
	}
	r.Log = name
	if i := dumpStart(text); i >= 0 && (r.TimedOut || isHang(text)) {
		if name, err := writeNew(c.LogDir, fmt.Sprintf("trial-%d", trial), ".dump", []byte(text[i:])); err == nil {
			r.Dump = name
		}
	}
}

// writeNew writes b to a new file dir/base+ext, or dir/base.K+ext for the
// first K that names no file yet.
func writeNew(dir, base, ext string, b []byte) (string, error) {
	for k := 0; ; k++ {
		name := filepath.Join(dir, base+ext)
		if k > 0 {
			name = filepath.Join(dir, base+"."+strconv.Itoa(k)+ext)
		}
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, err = f.Write(b)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return name, err
	}
}
