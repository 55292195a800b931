package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/racestress/racestress/child"
	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// WorkerArg is the hidden first argument that puts the racestress binary in
// worker mode: it reads one Spec as JSON on stdin, runs the trial in-process
// and writes its record as one JSON line to file descriptor 3.
const WorkerArg = "__racestress_worker"

// Processes runs each trial in a child process of its own: the worker command, normally
// the racestress binary itself re-executed with WorkerArg. The worker finds
// scenarios and registries by name, so the racestress binary knows only the
// built-in ones; to isolate trials of your own registry, build a binary
// whose main calls Worker with it (or use InProcess).
type Processes struct {
	// Path and Args are the worker command (Args excludes Path).
	Path string
	Args []string
	// Env is added to the child's environment.
	Env []string
	// Isolation names the mode in records: "process" or "race".
	Isolation string
	// Timeout returns the watchdog limit for a trial: when it passes, the
	// child's process group gets SIGQUIT (so the Go runtime dumps every
	// goroutine), then SIGKILL after Grace. Defaults: DefaultTimeout and
	// child.DefaultGrace. The child's Spec carries the limit (WatchdogNs).
	Timeout func(result.Knobs) time.Duration
	Grace   time.Duration
	// MemoryLimit, when positive, is passed to the child as GOMEMLIMIT and
	// enforced: a child whose process group's resident set grows past 2×
	// the limit is killed and its trial classified as a crash (out of
	// memory).
	MemoryLimit int64
	// LogDir receives trial-N.stderr and trial-N.dump files; none are kept
	// when empty. Use a folder of the run's own (CreateLogDir).
	LogDir string
	// LogBase, when set, is the folder the log paths in records are
	// relative to: the results file's (see LogPath).
	LogBase string
}

// MaxTimeout caps every watchdog limit the harness computes: a trial's
// length times two does not overflow a time.Duration into a negative limit
// that fires at once.
const MaxTimeout = 7 * 24 * time.Hour

// DefaultTimeout is the default watchdog limit: twice the trial's length
// plus 5 s, at most MaxTimeout.
func DefaultTimeout(k result.Knobs) time.Duration { return capSeconds(2*max(k.Seconds, 0) + 5) }

// capSeconds converts s seconds to a Duration, at most MaxTimeout (also for
// NaN and +Inf).
func capSeconds(s float64) time.Duration {
	if !(s < MaxTimeout.Seconds()) {
		return MaxTimeout
	}
	return time.Duration(s * float64(time.Second))
}

// Execute implements Executor.
func (p Processes) Execute(ctx context.Context, spec Spec) (result.Record, bool) {
	rec := newRecord(spec, time.Now())
	proc := &result.Process{Isolation: p.Isolation, ExitCode: -1}
	if proc.Isolation == "" {
		proc.Isolation = "process"
	}
	rec.Process = proc
	sc, err := scenarios.Lookup(spec.Scenario)
	if err != nil {
		return errorRecord(rec, err.Error()), true
	}
	timeout := p.timeout(spec.Knobs)
	spec.WatchdogNs = int64(timeout)
	run, err := p.start(spec)
	if err != nil {
		return errorRecord(rec, "worker could not start: "+err.Error()), true
	}
	run.child.Arm(timeout)
	exit := run.child.Wait(ctx)
	if exit.Interrupted {
		return rec, false
	}
	fillExit(proc, exit)
	proc.WallNanos = int64(exit.Wall)
	stderr := run.stderr.Bytes()
	p.keepLogs(spec.Trial, stderr, proc)
	rec = classify(sc, spec, rec, run.result, stderr, proc)
	if msg := p.harnessLimit(spec.Knobs, timeout, proc); msg != "" && rec.Outcome != result.OK {
		// The harness's own limit ended the trial: what it shows says
		// nothing about the subject.
		rec = errorRecord(rec, msg+" (the trial ended "+string(rec.Outcome)+")")
	}
	return rec, true
}

// fillExit records how a worker ended.
func fillExit(proc *result.Process, e child.Exit) {
	proc.ExitCode, proc.Signal, proc.PeakRSS = e.Code, e.Signal, e.PeakRSS
	if e.Err != nil {
		proc.Signal = e.Err.Error()
	}
	proc.TimedOut, proc.OverMemory = e.TimedOut, e.OverMemory
}

func (p Processes) timeout(k result.Knobs) time.Duration {
	if p.Timeout != nil {
		return p.Timeout(k)
	}
	return DefaultTimeout(k)
}

// MinTimeoutSlack is how much longer than a trial's stress phase the
// watchdog must allow (start-up, teardown's drain) before a hang is the
// subject's: a watchdog firing earlier is the harness's own limit.
const MinTimeoutSlack = time.Second

// MinMemoryLimit is the smallest memory limit under which a trial can run
// at all (a fresh worker's heap, stacks and runtime); a child killed over a
// lower limit shows the harness's limit, not the subject's appetite.
const MinMemoryLimit = 32 << 20

// MinTimeout returns the shortest watchdog limit under which a hang is
// credited to the subject: the trial's length plus MinTimeoutSlack.
// It is at most MaxTimeout.
func MinTimeout(k result.Knobs) time.Duration {
	return capSeconds(max(k.Seconds, 0) + MinTimeoutSlack.Seconds())
}

// harnessLimit names the harness limit that ended the trial, if one did.
func (p Processes) harnessLimit(k result.Knobs, timeout time.Duration, proc *result.Process) string {
	switch {
	case proc.TimedOut && timeout < MinTimeout(k):
		return fmt.Sprintf("the watchdog limit %v is shorter than the trial (%v plus %v): a harness limit, not a hang of the subject", timeout, k.Duration(), MinTimeoutSlack)
	case proc.OverMemory && p.MemoryLimit < MinMemoryLimit:
		return fmt.Sprintf("the memory limit %d bytes is below the %d MiB a trial needs: a harness limit, not the subject's", p.MemoryLimit, MinMemoryLimit>>20)
	}
	return ""
}

// running is a one-trial worker.
type running struct {
	child  *child.Child
	stderr *bytes.Buffer
	result []byte     // what the worker wrote on its result pipe
	read   chan error // receives the result pipe's end
}

// environ returns a worker's environment.
func (p Processes) environ() []string {
	env := append(os.Environ(), "GOTRACEBACK=all")
	if p.MemoryLimit > 0 {
		env = append(env, "GOMEMLIMIT="+strconv.FormatInt(p.MemoryLimit, 10))
	}
	return append(env, p.Env...)
}

// start starts a one-trial worker and hands it spec.
func (p Processes) start(spec Spec) (*running, error) {
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = p.environ()
	r := &running{stderr: &bytes.Buffer{}, read: make(chan error, 1)}
	cmd.Stderr = r.stderr
	cmd.Stdout = r.stderr
	rpipe, wpipe, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.ExtraFiles = []*os.File{wpipe}
	specIn, err := cmd.StdinPipe()
	if err != nil {
		rpipe.Close()
		wpipe.Close()
		return nil, err
	}
	// The result is complete before the exit is seen.
	r.child, err = child.Start(cmd, child.Options{Grace: p.Grace, MemoryLimit: p.MemoryLimit, BeforeWait: func() { <-r.read }})
	wpipe.Close()
	if err != nil {
		rpipe.Close()
		return nil, err
	}
	go func() {
		b, err := io.ReadAll(rpipe)
		r.result = b
		rpipe.Close()
		r.read <- err
	}()
	go func() {
		enc := json.NewEncoder(specIn)
		_ = enc.Encode(spec) // a child that dies first is classified by how it died
		specIn.Close()
	}()
	return r, nil
}

func (p Processes) keepLogs(trial int, stderr []byte, proc *result.Process) {
	if p.LogDir == "" || len(stderr) == 0 || os.MkdirAll(p.LogDir, 0o755) != nil {
		return
	}
	name := filepath.Join(p.LogDir, fmt.Sprintf("trial-%d.stderr", trial))
	if os.WriteFile(name, stderr, 0o644) == nil {
		proc.Log = p.recordPath(name)
	}
	if i := goroutineDump(stderr); i >= 0 {
		dump := filepath.Join(p.LogDir, fmt.Sprintf("trial-%d.dump", trial))
		if os.WriteFile(dump, stderr[i:], 0o644) == nil {
			proc.Dump = p.recordPath(dump)
		}
	}
}

// recordPath is name as a record stores it: relative to LogBase when set,
// so that a results file and its logs can move together.
func (p Processes) recordPath(name string) string {
	if p.LogBase == "" {
		return name
	}
	base, err1 := filepath.Abs(p.LogBase)
	abs, err2 := filepath.Abs(name)
	if err1 != nil || err2 != nil {
		return name
	}
	if rel, err := filepath.Rel(base, abs); err == nil {
		return rel
	}
	return name
}

// goroutineDump returns where a goroutine dump starts in stderr, or -1.
func goroutineDump(stderr []byte) int {
	for _, marker := range []string{"SIGQUIT: quit", "fatal error: all goroutines are asleep"} {
		if i := bytes.Index(stderr, []byte(marker)); i >= 0 {
			return i
		}
	}
	return -1
}

var (
	fatalLine = regexp.MustCompile(`(?m)^fatal error: (.*)$`)
	panicLine = regexp.MustCompile(`(?m)^panic: (.*)$`)
)

// raceExitCode is the race detector's exit status.
const raceExitCode = 66

// classify turns how a worker ended into a graded record. A worker that
// wrote a whole, valid record and exited 0 is believed; everything else is
// classified from its exit status and stderr, and a result it cannot trust
// is an error, never a pass.
func classify(sc *scenarios.Scenario, spec Spec, rec result.Record, out, stderr []byte, proc *result.Process) result.Record {
	fail := func(o result.Outcome, msg string) result.Record {
		rec = gradeOutcome(sc, spec, rec, o)
		rec.Failures = map[result.Outcome]int{o: 1}
		rec.FirstError = msg
		if rec.Detected {
			rec.TTFFNanos = proc.WallNanos
		}
		return rec
	}
	text := string(stderr)
	switch {
	case strings.Contains(text, "fatal error: all goroutines are asleep"):
		return fail(result.Hang, fmt.Sprintf("hang: deadlock: all goroutines are asleep (runtime detector, at %v)%s", time.Duration(proc.WallNanos).Round(time.Millisecond), dumpNote(proc)))
	case proc.TimedOut:
		return fail(result.Hang, fmt.Sprintf("hang: no result after %v (watchdog)%s", time.Duration(proc.WallNanos).Round(time.Millisecond), dumpNote(proc)))
	case proc.OverMemory:
		return fail(result.Crash, "crash: memory limit exceeded; killed")
	case strings.Contains(text, "WARNING: DATA RACE") || proc.ExitCode == raceExitCode:
		return fail(result.DataRace, "data-race: "+firstLines(text[max(0, strings.Index(text, "WARNING: DATA RACE")):], 3))
	case fatalLine.MatchString(text):
		msg := fatalLine.FindStringSubmatch(text)[1]
		if strings.Contains(msg, "out of memory") {
			return fail(result.Crash, "crash: fatal error: "+msg)
		}
		return fail(result.Fatal, "fatal: "+msg)
	case proc.Signal != "":
		return fail(result.Crash, "crash: killed by "+proc.Signal)
	case panicLine.MatchString(text) && proc.ExitCode != 0:
		msg := panicLine.FindStringSubmatch(text)[1]
		o := result.Panic
		if strings.Contains(msg, finalizer.ErrChangedDuringIteration.Error()) {
			o = result.ChangedSize
		}
		rec.Stack = firstLines(text[strings.Index(text, "panic: "):], 12)
		return fail(o, string(o)+" (not recovered): "+msg)
	}
	got, err := decodeRecord(out)
	switch {
	case err != nil:
		return fail(result.Error, fmt.Sprintf("error: worker exited %d with %s", proc.ExitCode, err))
	case proc.ExitCode != 0:
		return fail(result.Error, fmt.Sprintf("error: worker exited %d after writing its result", proc.ExitCode))
	}
	if got.Trial != spec.Trial || got.Registry != spec.Registry || got.Scenario != spec.Scenario {
		return fail(result.Error, fmt.Sprintf("error: the worker answered for trial %d %s/%s, not the one it was given", got.Trial, got.Scenario, got.Registry))
	}
	got.Process = proc
	got.Start = rec.Start
	got.RunID, got.Cell = rec.RunID, rec.Cell
	// The role and the grade are the run's, not the worker's to decide.
	return gradeOutcome(sc, spec, got, got.Outcome)
}

// dumpNote says where the goroutine dump is, if one was kept.
func dumpNote(proc *result.Process) string {
	if proc.Dump == "" {
		return "; no goroutine dump was written"
	}
	return "; goroutine dump kept in " + proc.Dump
}

func decodeRecord(out []byte) (result.Record, error) {
	var rec result.Record
	if len(out) == 0 {
		return rec, errors.New("no result")
	}
	if out[len(out)-1] != '\n' || bytes.Count(out, []byte{'\n'}) != 1 {
		return rec, fmt.Errorf("a malformed result (%d bytes, not one whole line)", len(out))
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return rec, fmt.Errorf("a malformed result: %v", err)
	}
	if err := rec.Validate(); err != nil {
		return rec, fmt.Errorf("an invalid result: %v", err)
	}
	return rec, nil
}

func firstLines(s string, n int) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	var lines []string
	for sc.Scan() && len(lines) < n {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, " | ")
}

// Worker is the worker mode's main: it reads one Spec from in, runs the
// trial with exec (in this process) and writes its graded record as one JSON
// line to out. Its error means the trial could not be run.
func Worker(ctx context.Context, in io.Reader, out io.Writer, exec InProcess) error {
	warmStart()
	var spec Spec
	dec := json.NewDecoder(in)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return fmt.Errorf("worker: reading the trial spec: %w", err)
	}
	rec, ok := exec.Execute(ctx, spec)
	if !ok {
		return errors.New("worker: interrupted")
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	_, err = out.Write(append(b, '\n'))
	return err
}
