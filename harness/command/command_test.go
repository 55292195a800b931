package command

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/racestress/racestress/result"
)

// long is a watchdog limit no passing trial comes near; it only turns a
// broken test into a failure instead of a hang.
const long = 2 * time.Minute

// TestClassify runs one trial of each kind of ending and checks its outcome.
// Every ending is deterministic: none depends on timing.
func TestClassify(t *testing.T) {
	cases := []struct {
		name    string
		cmd     Command
		outcome result.Outcome
		check   func(t *testing.T, r Result)
	}{
		{"exit 0", sh("echo fine"), result.OK, func(t *testing.T, r Result) {
			if r.ExitCode != 0 || r.Signature != "" || r.Log != "" {
				t.Errorf("exit 0: %+v", r)
			}
		}},
		{"exit 3", sh("echo 'step two: cannot open the thing' >&2; exit 3"), result.Fail, func(t *testing.T, r Result) {
			if r.ExitCode != 3 || !strings.Contains(r.Message, "cannot open the thing") {
				t.Errorf("exit 3: %+v", r)
			}
		}},
		{"killed by a signal", sh("kill -SEGV $$"), result.Crash, func(t *testing.T, r Result) {
			if r.Signal != syscall.SIGSEGV.String() || r.ExitCode != -1 {
				t.Errorf("signal: %+v", r)
			}
		}},
		{"fail-on with exit 0", func() Command {
			c := sh("echo 'all good'; echo 'LEAK: 3 goroutines'")
			c.FailOn = regexp.MustCompile(`LEAK`)
			return c
		}(), result.Fail, func(t *testing.T, r Result) {
			if r.ExitCode != 0 || !strings.Contains(r.Message, "LEAK: 3 goroutines") || r.Signature != "fail: fail-on: LEAK: N goroutines" {
				t.Errorf("fail-on: %+v", r)
			}
		}},
		{"fail-on not matching", func() Command {
			c := sh("echo 'all good'")
			c.FailOn = regexp.MustCompile(`LEAK`)
			return c
		}(), result.OK, nil},
		{"ignored failure", func() Command {
			c := sh("echo 'flaky network'; exit 1")
			c.Ignore = regexp.MustCompile(`flaky`)
			return c
		}(), result.OK, func(t *testing.T, r Result) {
			if !r.Ignored || r.ExitCode != 1 || r.Signature != "fail: exit 1: flaky network" || r.Log == "" {
				t.Errorf("ignore: %+v", r)
			}
		}},
		{"ignore not matching", func() Command {
			c := sh("echo 'real bug'; exit 1")
			c.Ignore = regexp.MustCompile(`flaky`)
			return c
		}(), result.Fail, func(t *testing.T, r Result) {
			if r.Ignored {
				t.Errorf("ignored: %+v", r)
			}
		}},
		{"cannot start", Command{Path: "/nonexistent/racestress-no-such-program"}, result.Error, func(t *testing.T, r Result) {
			if !strings.Contains(r.Message, "cannot start") {
				t.Errorf("cannot start: %+v", r)
			}
		}},
		{"unrecovered panic", helperCommand(t, "panic"), result.Panic, func(t *testing.T, r Result) {
			if r.ExitCode != 2 || !strings.HasPrefix(r.Message, "panic: boom: seed 7") {
				t.Errorf("panic: %+v", r)
			}
			if want := "panic: boom: seed N at 0x? @ github.com/racestress/racestress/harness/command.panicky < github.com/racestress/racestress/harness/command.helper < github.com/racestress/racestress/harness/command.TestMain"; r.Signature != want {
				t.Errorf("signature\n got %s\nwant %s", r.Signature, want)
			}
		}},
		{"runtime fatal error", helperCommand(t, "unlock"), result.Fatal, func(t *testing.T, r Result) {
			if r.Message != "fatal error: sync: unlock of unlocked mutex" {
				t.Errorf("fatal: %+v", r)
			}
			if !strings.Contains(r.Signature, "@ github.com/racestress/racestress/harness/command.unlock < ") {
				t.Errorf("signature %s", r.Signature)
			}
		}},
		{"deadlock", helperCommand(t, "deadlock"), result.Hang, func(t *testing.T, r Result) {
			if r.TimedOut || r.Dump == "" {
				t.Errorf("deadlock: %+v", r)
			}
			if !strings.HasPrefix(r.Signature, "hang: deadlock | ") || !strings.Contains(r.Signature, ": github.com/racestress/racestress/harness/command.relock") {
				t.Errorf("signature %s", r.Signature)
			}
		}},
		// The two watchdog cases depend on the child being ready for SIGQUIT
		// (the Go runtime's handler installed and main running, sh's trap
		// set) when the watchdog fires, 0.5 s after the start. A child
		// writes readyMarker once it is; a trial whose output lacks it is
		// run again with the watchdog doubled: on a busy machine (four busy
		// loops on 2 cores, the tests at nice 10) a race-enabled helper
		// took over 1 s to start. The child blocks for ever: the watchdog
		// races nothing but its start.
		{"watchdog, Go program", func() Command {
			c := helperCommand(t, "sleep")
			// The helper dumps and exits by itself; on a busy machine
			// that took over 2 s, the default grace.
			c.Timeout, c.Grace = 500*time.Millisecond, long
			return c
		}(), result.Hang, func(t *testing.T, r Result) {
			if !r.TimedOut || r.Dump == "" {
				t.Fatalf("watchdog: %+v", r)
			}
			dump, err := os.ReadFile(r.Dump)
			if err != nil || !strings.HasPrefix(string(dump), "SIGQUIT: quit") {
				t.Errorf("dump %v: %.200q", err, dump)
			}
			if !strings.Contains(r.Signature, "hang: watchdog | ") || !strings.Contains(r.Signature, "sleep: github.com/racestress/racestress/harness/command.sleepForever") {
				t.Errorf("signature %s", r.Signature)
			}
		}},
		{"watchdog, SIGQUIT ignored", func() Command {
			c := sh(`trap "" QUIT; echo "` + readyMarker + `"; sleep 1000`)
			c.Timeout, c.Grace = 500*time.Millisecond, 100*time.Millisecond
			return c
		}(), result.Hang, func(t *testing.T, r Result) {
			if !r.TimedOut || r.Signal != syscall.SIGKILL.String() || r.Dump != "" {
				t.Errorf("watchdog: %+v", r)
			}
			if r.Signature != "hang: watchdog | no goroutine dump" {
				t.Errorf("signature %s", r.Signature)
			}
		}},
		{"over the memory limit, in a grandchild", func() Command {
			// sh is the group's leader and small: only the group's sum
			// sees the helper's 256 MiB.
			c := helperCommand(t, "alloc")
			c.Path, c.Args = "sh", []string{"-c", `"$0"; exit 0`, c.Path}
			c.MemoryLimit = 16 << 20
			return c
		}(), result.Crash, func(t *testing.T, r Result) {
			if !r.OverMemory || r.PeakRSS <= 32<<20 || r.Signature != "crash: memory limit exceeded" {
				t.Errorf("memory: %+v", r)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "deadlock" && raceEnabled {
				// The runtime's deadlock detector is off in programs with
				// cgo, and so under -race: only the watchdog sees it.
				t.Skip("no deadlock detection under -race")
			}
			t.Parallel()
			c := tc.cmd
			c.LogDir = t.TempDir()
			if c.Timeout == 0 {
				c.Timeout = long
			}
			c.Env = append(c.Env, "GOMAXPROCS=2")
			r := c.Run(context.Background(), 1, 7)
			// A case with a watchdog of its own is run again, with the
			// watchdog doubled, while its child was signalled before it
			// was ready. The loop ends once the watchdog is longer than
			// the child's start.
			for try := 1; tc.cmd.Timeout > 0 && !wasReady(t, r); try++ {
				c.Timeout *= 2
				t.Logf("try %d: the watchdog came before the child was ready: %+v; again with %v", try, r, c.Timeout)
				r = c.Run(context.Background(), 1, 7)
			}
			if r.Outcome != tc.outcome {
				out, _ := os.ReadFile(r.Log)
				t.Fatalf("outcome %s, want %s: %+v\n%s", r.Outcome, tc.outcome, r, out)
			}
			if r.Outcome != result.OK && !r.Ignored && r.Outcome != result.Error && r.Log == "" {
				t.Errorf("no log for a failure: %+v", r)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

// readyMarker is the line a child of a watchdog test writes once it is
// ready for SIGQUIT.
const readyMarker = "helper: ready for the watchdog"

// wasReady reports whether the trial's child wrote readyMarker.
func wasReady(t *testing.T, r Result) bool {
	t.Helper()
	if r.Log == "" {
		return false
	}
	b, err := os.ReadFile(r.Log)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), readyMarker+"\n")
}

func TestEnvironment(t *testing.T) {
	c := sh(`echo "trial=$RACESTRESS_TRIAL seed=$RACESTRESS_SEED mem=$GOMEMLIMIT tb=$GOTRACEBACK race=$GORACE x=$X pwd=$(pwd)"`)
	c.Dir = t.TempDir()
	c.Env = []string{"X=y", "RACESTRESS_TRIAL=overridden"}
	c.MemoryLimit = 1 << 30
	c.LogDir, c.LogAll = t.TempDir(), true
	r := c.Run(context.Background(), 12, -3)
	if r.Outcome != result.OK {
		t.Fatalf("%+v", r)
	}
	dir, _ := filepath.EvalSymlinks(c.Dir)
	tb, race := "all", "atexit_sleep_ms=0" // unless this process's environment says otherwise
	if v, ok := os.LookupEnv("GOTRACEBACK"); ok {
		tb = v
	}
	if v := strings.TrimSpace(os.Getenv("GORACE")); v != "" {
		race += " " + v // one GORACE, the default's options first
	}
	want := "trial=12 seed=-3 mem=1073741824 tb=" + tb + " race=" + race + " x=y pwd=" + dir + "\n"
	if got := readLog(t, r); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestGORACEKeepsTheDefaultAndSaysWhetherRacesRepeat(t *testing.T) {
	t.Setenv("GORACE", "history_size=3")
	c := sh(`echo "race=$GORACE"`)
	c.LogDir, c.LogAll = t.TempDir(), true
	for _, tc := range []struct {
		env     []string
		want    string
		repeats bool
	}{
		{nil, "atexit_sleep_ms=0 history_size=3", false},
		{[]string{"GORACE=halt_on_error=1"}, "atexit_sleep_ms=0 history_size=3 halt_on_error=1", false},
		{[]string{"GORACE=suppress_equal_stacks=0"}, "atexit_sleep_ms=0 history_size=3 suppress_equal_stacks=0", false},
		{[]string{"GORACE=suppress_equal_stacks=0 suppress_equal_addresses=false"}, "atexit_sleep_ms=0 history_size=3 suppress_equal_stacks=0 suppress_equal_addresses=false", true},
		// A later option wins, as the race runtime reads them.
		{[]string{"GORACE=suppress_equal_stacks=0 suppress_equal_addresses=0", "GORACE=suppress_equal_stacks=1"},
			"atexit_sleep_ms=0 history_size=3 suppress_equal_stacks=0 suppress_equal_addresses=0 suppress_equal_stacks=1", false},
		{[]string{"GORACE=", "X=y"}, "atexit_sleep_ms=0 history_size=3", false},
	} {
		c.Env = tc.env
		r := c.Run(context.Background(), 0, 0)
		if got := readLog(t, r); got != "race="+tc.want+"\n" {
			t.Errorf("Env %q: the child's %q, want GORACE=%q", tc.env, got, tc.want)
		}
		if got := c.RepeatsRaces(); got != tc.repeats {
			t.Errorf("Env %q: RepeatsRaces() = %v, want %v", tc.env, got, tc.repeats)
		}
	}
}

// TestLogNames checks that trials never overwrite each other's logs.
func TestLogNames(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "created")
	c := sh(`echo "seed $RACESTRESS_SEED"; exit 1`)
	c.LogDir = dir
	var names []string
	for seed := range int64(3) {
		r := c.Run(context.Background(), 5, seed)
		names = append(names, filepath.Base(r.Log))
		if got := readLog(t, r); got != "seed "+strconv.FormatInt(seed, 10)+"\n" {
			t.Errorf("log %s holds %q", r.Log, got)
		}
	}
	if got := strings.Join(names, " "); got != "trial-5.log trial-5.1.log trial-5.2.log" {
		t.Errorf("log names %s", got)
	}
	r := sh("true").Run(context.Background(), 6, 0)
	if r.Log != "" || r.Dump != "" {
		t.Errorf("a passing trial kept files: %+v", r)
	}
}

// TestOutputCut checks that a long output keeps its head and its tail and
// says what was cut.
func TestOutputCut(t *testing.T) {
	c := sh("seq 1 100000; exit 1")
	c.Keep = 1000
	c.LogDir = t.TempDir()
	r := c.Run(context.Background(), 0, 0)
	log := readLog(t, r)
	var all strings.Builder
	for i := 1; i <= 100000; i++ {
		all.WriteString(strconv.Itoa(i) + "\n")
	}
	s := all.String()
	want := s[:1000] + "\n[racestress: " + strconv.Itoa(len(s)-2000) + " bytes of output cut here; kept the first and the last 1000]\n" + s[len(s)-1000:]
	if log != want {
		t.Errorf("log is %d bytes, want %d: head %q tail %q", len(log), len(want), log[:min(60, len(log))], log[max(0, len(log)-60):])
	}
	if r.Message != "fail: exit status 1: 100000" {
		t.Errorf("message %q", r.Message)
	}
}

// TestGroupCleanup checks that processes a trial leaves behind are killed
// when it exits, so that their open output does not stall Run.
func TestGroupCleanup(t *testing.T) {
	c := sh("sleep 1000 & echo $!")
	c.Timeout = long
	c.LogDir, c.LogAll = t.TempDir(), true
	r := c.Run(context.Background(), 0, 0)
	if r.Outcome != result.OK {
		t.Fatalf("%+v", r)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(readLog(t, r)))
	if err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
}

// TestEscapedOutput checks that a process that left the trial's group while
// holding its output delays Run by Grace at most.
func TestEscapedOutput(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid:", err)
	}
	// The trial waits until its background process has left the group
	// (and written its PID), then exits.
	pidfile := filepath.Join(t.TempDir(), "pid")
	c := sh(`setsid sh -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec sleep 1000' "$0" &
while [ ! -s "$0" ]; do sleep 0.01; done`)
	c.Args = append(c.Args, pidfile)
	c.Timeout, c.Grace = long, 100*time.Millisecond
	r := c.Run(context.Background(), 0, 0)
	pid := readPID(t, pidfile)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Errorf("the escaped sleep (pid %d) is gone already: %v", pid, err)
	}
	waitGone(t, pid)
	if r.Outcome != result.OK {
		t.Fatalf("%+v", r)
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pidfile := filepath.Join(t.TempDir(), "pid")
	c := sh(`echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec sleep 1000`)
	c.Args = append(c.Args, pidfile)
	c.Timeout = long
	done := make(chan Result)
	go func() { done <- c.Run(ctx, 0, 0) }()
	pid := readPID(t, pidfile)
	cancel()
	r := <-done
	if !r.Interrupted || r.Outcome != result.Error || r.Passed() || r.Signal != syscall.SIGKILL.String() {
		t.Errorf("%+v", r)
	}
	waitGone(t, pid)
	if r := c.Run(ctx, 1, 0); !r.Interrupted || r.ExitCode != -1 {
		t.Errorf("after cancel: %+v", r)
	}
}

// readPID waits for a process to write its PID to file and returns it.
func readPID(t *testing.T, file string) int {
	t.Helper()
	for {
		b, err := os.ReadFile(file)
		if err == nil {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestParentDeath checks that a trial dies with the process that runs it.
func TestParentDeath(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Pdeathsig is Linux's")
	}
	pidfile := filepath.Join(t.TempDir(), "pid")
	parent := helperCommand(t, "parent")
	cmd := exec.Command(parent.Path)
	cmd.Env = append(os.Environ(), helperEnv+"=parent", "PIDFILE="+pidfile)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := readPID(t, pidfile)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitGone(t, pid)
}
