//go:build unix

package command

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/racestress/racestress/result"
)

// iterTest is a package whose one test counts its runs in a process and
// misbehaves, as $MODE says, on given ones: every iteration is the same
// test, so what happens in iteration n is known.
const iterTest = `package bug

import (
	"os"
	"testing"
	"time"
)

var n int

func TestIter(t *testing.T) {
	n++
	switch os.Getenv("MODE") {
	case "fail":
		if n%3 == 2 {
			t.Errorf("iteration %d fails", n)
		}
	case "panic":
		if n == 3 {
			panic("boom in iteration 3")
		}
	case "deadlock":
		if n == 2 {
			select {}
		}
	case "sleep":
		if n == 2 {
			time.Sleep(time.Hour)
		}
	case "race":
		if n == 2 {
			race()
		}
	}
}

var x int

// race writes x from two goroutines with nothing ordering the writes: the
// race detector reports it whatever the timing.
func race() {
	done := make(chan bool)
	go func() { x = 1; done <- true }()
	x = 2
	<-done
}
`

// buildTest builds iterTest's test binary with go test -c and flags.
func buildTest(t *testing.T, flags ...string) string {
	t.Helper()
	gotool := goTool(t)
	dir := writeModule(t, map[string]string{"bug.go": "package bug\n", "bug_test.go": iterTest})
	bin := filepath.Join(dir, "bug.test")
	cmd := exec.Command(gotool, append(append([]string{"test", "-c", "-o", bin}, flags...), ".")...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		if strings.Contains(string(out), "-race requires cgo") || strings.Contains(string(out), "C compiler") {
			t.Skip("no race detector here:", string(out))
		}
		t.Fatalf("go test -c: %v\n%s", err, out)
	}
	return bin
}

// iterations runs a batch of count iterations of bin in mode and returns
// every iteration's result, then whether the process ended.
func iterations(t *testing.T, bin, mode string, count int, timeout time.Duration) ([]Result, *Batch) {
	t.Helper()
	c := Command{Path: bin, Args: []string{"-test.v=test2json", "-test.run=^TestIter$"}, Env: []string{"MODE=" + mode},
		Timeout: timeout, LogDir: t.TempDir()}
	b, err := c.StartBatch(count, 1, 100, 7)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	var rs []Result
	for i := 0; i < count; i++ {
		r, ok := b.Next(context.Background(), 100+i)
		if !ok {
			break
		}
		rs = append(rs, r)
	}
	return rs, b
}

func outcomes(rs []Result) []result.Outcome {
	var out []result.Outcome
	for _, r := range rs {
		out = append(out, r.Outcome)
	}
	return out
}

func TestBatchClassifiesEveryIteration(t *testing.T) {
	bin := buildTest(t)
	// The watchdog races nothing here: every iteration ends at once, or
	// the runtime ends it (a panic, a deadlock).
	const watchdog = 10 * time.Minute
	t.Run("failures are the iterations', and the process goes on", func(t *testing.T) {
		rs, b := iterations(t, bin, "fail", 6, watchdog)
		want := []result.Outcome{result.OK, result.Fail, result.OK, result.OK, result.Fail, result.OK}
		equal(t, want, outcomes(rs), "outcomes")
		if len(rs) == 6 {
			equal(t, "TestIter", rs[1].Test, "failing test")
			equal(t, "fail: TestIter: bug_test.go:N: iteration N fails", rs[1].Signature, "signature")
			check(t, rs[1].Log != "", "a failed iteration's log is kept")
			check(t, rs[0].Log == "", "a passing one's is not")
			check(t, rs[1].Wall >= 0 && rs[1].Wall < time.Minute, "an iteration's time is the test's own")
		}
		r, ok := b.Next(context.Background(), 200)
		check(t, !ok && b.Ended(), "no seventh iteration")
		equal(t, 1, r.ExitCode, "the process ended as go test does after a failure")
		equal(t, 6, b.Taken(), "taken")
	})
	t.Run("a panic ends its iteration and the process", func(t *testing.T) {
		rs, b := iterations(t, bin, "panic", 5, watchdog)
		equal(t, []result.Outcome{result.OK, result.OK, result.Panic}, outcomes(rs), "outcomes")
		if len(rs) == 3 {
			check(t, strings.HasPrefix(rs[2].Message, "panic: boom in iteration 3"), rs[2].Message)
			equal(t, 2, rs[2].ExitCode, "the process's exit is the panicking iteration's")
		}
		check(t, b.Ended(), "ended")
	})
	t.Run("a deadlock is that iteration's hang", func(t *testing.T) {
		rs, _ := iterations(t, bin, "deadlock", 4, watchdog)
		equal(t, []result.Outcome{result.OK, result.Hang}, outcomes(rs), "outcomes")
		if len(rs) == 2 {
			equal(t, "TestIter", rs[1].Test, "the test left running")
			check(t, !rs[1].TimedOut, "the runtime saw it, not the watchdog")
		}
	})
	t.Run("cancelling interrupts the batch", func(t *testing.T) {
		c := Command{Path: bin, Args: []string{"-test.v=test2json", "-test.run=^TestIter$"}, Env: []string{"MODE=sleep"}, Timeout: watchdog}
		b, err := c.StartBatch(3, 1, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if r, _ := b.Next(context.Background(), 0); r.Outcome != result.OK {
			t.Fatalf("first iteration: %+v", r)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r, _ := b.Next(ctx, 1)
		check(t, r.Interrupted && r.Outcome == result.Error, "interrupted: never a pass, never a detection")
	})
}

func TestBatchWatchdogIsPerIteration(t *testing.T) {
	bin := buildTest(t)
	// The watchdog is armed for the second iteration once the first has
	// been read: the process has started, and the second iteration sleeps
	// for an hour right away. 20 s is far longer than what it races (the
	// start of a sleep in a running process), even with the machine busy.
	rs, _ := iterations(t, bin, "sleep", 3, 20*time.Second)
	equal(t, []result.Outcome{result.OK, result.Hang}, outcomes(rs), "outcomes")
	if len(rs) == 2 {
		check(t, rs[1].TimedOut, "the watchdog fired")
		equal(t, "TestIter", rs[1].Test, "the test left running")
		check(t, rs[1].Dump != "", "its goroutine dump is kept")
	}
}

func TestBatchRaceIsItsIterations(t *testing.T) {
	bin := buildTest(t, "-race")
	rs, _ := iterations(t, bin, "race", 2, 10*time.Minute)
	equal(t, []result.Outcome{result.OK, result.DataRace}, outcomes(rs), "outcomes")
	if len(rs) == 2 {
		equal(t, "TestIter", rs[1].Test, "test")
		check(t, strings.HasPrefix(rs[1].Signature, "data-race: example.com/bug.race"), rs[1].Signature)
	}
}

func TestBatchThatFailsBeforeItsFirstTest(t *testing.T) {
	bin := buildTest(t)
	c := Command{Path: bin, Args: []string{"-test.v=test2json", "-test.nosuchflag"}, Timeout: 10 * time.Minute}
	b, err := c.StartBatch(3, 1, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r, ok := b.Next(context.Background(), 0)
	check(t, ok, "the failure is an iteration's, not lost")
	equal(t, result.Fail, r.Outcome, "outcome")
	check(t, strings.Contains(r.Message, "exit status 2"), r.Message)
	_, ok = b.Next(context.Background(), 1)
	check(t, !ok, "and the batch is over")
}
