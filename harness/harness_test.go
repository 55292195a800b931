package harness_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// fakeWorkerEnv makes the test binary act as a worker that ends in the
// named way; see fakeWorker.
const fakeWorkerEnv = "RACESTRESS_FAKE_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(fakeWorkerEnv) == "pool" {
		os.Exit(fakePoolWorker())
	}
	if mode := os.Getenv(fakeWorkerEnv); mode != "" {
		os.Exit(fakeWorker(mode))
	}
	os.Exit(m.Run())
}

// fakeWorker ends a worker process in each way a real one can. Where the
// real cause is timing-dependent (a concurrent map write, a race report) it
// prints exactly what the Go runtime or race detector prints and exits with
// their status, so the classification is tested deterministically.
func fakeWorker(mode string) int {
	out := os.NewFile(3, "result")
	switch mode {
	case "ok":
		if err := harness.Worker(context.Background(), os.Stdin, out, harness.InProcess{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "fatal":
		fmt.Fprint(os.Stderr, "fatal error: concurrent map iteration and map write\n\ngoroutine 7 [running]:\ninternal/runtime/maps.fatal(...)\n")
		return 2
	case "panic":
		go func() { panic("boom in a cleanup") }()
		select {}
	case "race":
		fmt.Fprint(os.Stderr, "==================\nWARNING: DATA RACE\nWrite at 0x00c000012345 by goroutine 8:\n  main.racy()\n")
		return 66
	case "deadlock":
		fmt.Fprintln(os.Stderr, readyMarker)
		select {} // the runtime's deadlock detector ends this, or the watchdog
	case "hang":
		fmt.Fprintln(os.Stderr, readyMarker)
		time.Sleep(time.Hour) // a pending timer hides it from the deadlock detector
	case "sigkill":
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	case "oom":
		var keep [][]byte
		for range 64 {
			b := make([]byte, 8<<20)
			for i := range b {
				b[i] = 1
			}
			keep = append(keep, b)
			time.Sleep(5 * time.Millisecond)
		}
		fmt.Println(len(keep))
		time.Sleep(time.Hour)
	case "garbage":
		fmt.Fprintln(out, "this is not JSON")
		return 0
	case "half":
		b, _ := json.Marshal(result.Record{Trial: 0, Scenario: "bpo24484", Registry: "fixed", Role: result.Clean, Outcome: result.OK})
		out.Write(b[:len(b)/2])
		return 0
	case "exit1":
		fmt.Fprintln(os.Stderr, "worker: something went wrong")
		return 1
	case "sigint-ignored":
		signal.Ignore(syscall.SIGINT)
		time.Sleep(time.Hour)
	case "spec":
		// Show the spec line the executor sent, and fail.
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		fmt.Fprint(os.Stderr, line)
		return 1
	}
	return 99
}

// Watchdogs of the tests. A test of something else than the watchdog gets
// one that cannot fire first (noWatchdog): on a busy machine a worker that
// allocates, runs a trial or only starts can take seconds. A test of the
// watchdog's effect gets a child that blocks for ever, so the watchdog
// races nothing but the child's start, and a process worker's start is
// excluded by executeReady; a pool's worker is ready when its trial begins.
const (
	noWatchdog   = 10 * time.Minute
	hangWatchdog = 2 * time.Second
)

// readyMarker is the line a fake worker that blocks for ever writes to
// stderr once it is ready for the watchdog: the Go runtime handles SIGQUIT
// (before, SIGQUIT kills the process without a dump) and the mode has set
// up what it tests.
const readyMarker = "fake worker: ready"

// executeReady runs s in a worker of p that blocks for ever until the
// watchdog ends it, and returns the record of a run whose worker was ready
// when the watchdog fired. On a busy machine the start of a process alone
// can take seconds (with four busy loops on 2 cores and the tests at nice
// 10, over 3 s were seen): a watchdog that came first is doubled and the
// trial run again. Log files are needed to see the marker.
func executeReady(t *testing.T, p harness.Processes, s harness.Spec) result.Record {
	t.Helper()
	require.NotEmpty(t, p.LogDir)
	for d := hangWatchdog; ; d *= 2 {
		p.Timeout = watchdog(d)
		rec, ok := p.Execute(context.Background(), s)
		require.True(t, ok)
		require.NotNil(t, rec.Process)
		if rec.Process.Log != "" {
			b, err := os.ReadFile(result.LogPath(filepath.Join(p.LogBase, "results.jsonl"), rec.Process.Log))
			require.NoError(t, err)
			if strings.Contains(string(b), readyMarker) {
				return rec
			}
		}
		t.Logf("the watchdog (%v) fired before the worker was ready: %s; again with %v", d, rec.FirstError, 2*d)
	}
}

// watchdog returns a Processes.Timeout of d.
func watchdog(d time.Duration) func(result.Knobs) time.Duration {
	return func(result.Knobs) time.Duration { return d }
}

// dumpGrace is the fake workers' grace after the watchdog's SIGQUIT: a Go
// worker writes its goroutine dump and exits by itself, which on a busy
// machine took over 2 s; the grace must not cut it short.
const dumpGrace = time.Minute

// fakeProcess returns a Processes whose worker ends in mode, with a watchdog
// that cannot fire first.
func fakeProcess(t *testing.T, mode string) harness.Processes {
	return harness.Processes{
		Path: os.Args[0], Env: []string{fakeWorkerEnv + "=" + mode},
		LogDir: t.TempDir(), Grace: dumpGrace,
		Timeout: watchdog(noWatchdog),
	}
}

func spec() harness.Spec {
	k := scenarios.DefaultKnobs()
	k.Seconds = 0.1
	return harness.Spec{Trial: 3, Scenario: "finalize-order", Registry: "fixed", Role: result.Clean, Seed: 42, Knobs: k}
}

func TestProcessClassifiesEveryWayAWorkerEnds(t *testing.T) {
	cases := []struct {
		mode    string
		outcome result.Outcome
		text    string
		dump    bool
	}{
		{"ok", result.OK, "", false},
		{"fatal", result.Fatal, "fatal: concurrent map iteration and map write", false},
		{"panic", result.Panic, "panic (not recovered): boom in a cleanup", false},
		{"race", result.DataRace, "WARNING: DATA RACE", false},
		{"deadlock", result.Hang, "hang", true},
		{"hang", result.Hang, "hang", true},
		{"sigkill", result.Crash, "killed by killed", false},
		{"garbage", result.Error, "malformed result", false},
		{"half", result.Error, "not one whole line", false},
		{"exit1", result.Error, "worker exited 1", false},
	}
	for _, c := range cases {
		t.Run("a worker that ends with "+c.mode+" is classified "+string(c.outcome), func(t *testing.T) {
			t.Parallel()
			p := fakeProcess(t, c.mode)
			var rec result.Record
			if c.outcome == result.Hang {
				// The worker blocks for ever: the watchdog (or the
				// runtime's deadlock detector) ends it.
				rec = executeReady(t, p, spec())
			} else {
				var ok bool
				rec, ok = p.Execute(context.Background(), spec())
				require.True(t, ok)
			}
			assert.Equal(t, c.outcome, rec.Outcome, rec.FirstError)
			assert.Contains(t, rec.FirstError, c.text)
			assert.Equal(t, 3, rec.Trial, "the record keeps its trial number")
			assert.Equal(t, int64(42), rec.Seed)
			require.NotNil(t, rec.Process)
			assert.Positive(t, rec.Process.WallNanos)
			switch c.outcome {
			case result.OK:
			case result.Error:
				assert.False(t, rec.Detected, "a harness error is never a detection")
				assert.False(t, rec.Signature)
				assert.True(t, rec.Invalid(), "and never a pass")
			default:
				assert.True(t, rec.Detected, "a failure is never a pass")
				assert.Equal(t, result.Forbidden, rec.Grade)
			}
			assert.Equal(t, result.Clean, rec.Role, "the role is the spec's")
			if c.dump {
				require.NotEmpty(t, rec.Process.Dump, "a hang keeps its goroutine dump")
				b, err := os.ReadFile(rec.Process.Dump)
				require.NoError(t, err)
				assert.Contains(t, string(b), "goroutine ")
			}
		})
	}
	t.Run("a worker over its memory limit is classified crash", func(t *testing.T) {
		t.Parallel()
		p := fakeProcess(t, "oom")
		p.MemoryLimit = 32 << 20
		rec, ok := p.Execute(context.Background(), spec())
		require.True(t, ok)
		assert.Equal(t, result.Crash, rec.Outcome)
		assert.Contains(t, rec.FirstError, "memory limit")
		assert.True(t, rec.Process.OverMemory)
	})
	t.Run("a worker killed over a memory limit below what any trial needs is a harness error", func(t *testing.T) {
		t.Parallel()
		p := fakeProcess(t, "oom")
		p.MemoryLimit = 16 << 20
		rec, ok := p.Execute(context.Background(), spec())
		require.True(t, ok)
		assert.Equal(t, result.Error, rec.Outcome)
		assert.Contains(t, rec.FirstError, "harness limit")
		assert.False(t, rec.Detected)
	})
	t.Run("a watchdog shorter than the trial is a harness error, not a hang of the subject", func(t *testing.T) {
		t.Parallel()
		p := fakeProcess(t, "hang") // blocks for ever
		p.Timeout = watchdog(300 * time.Millisecond)
		s := spec()
		s.Knobs.Seconds = 4
		rec, ok := p.Execute(context.Background(), s)
		require.True(t, ok)
		assert.Equal(t, result.Error, rec.Outcome)
		assert.Contains(t, rec.FirstError, "the watchdog limit 300ms is shorter than the trial")
		assert.False(t, rec.Detected)
	})
	t.Run("a signature outcome is marked as such, another failure is not", func(t *testing.T) {
		t.Parallel()
		s := spec()
		s.Role, s.Signature = result.Control, []result.Outcome{result.Fatal}
		rec, _ := fakeProcess(t, "fatal").Execute(context.Background(), s)
		assert.True(t, rec.Signature)
		assert.True(t, rec.Hit())
		rec, _ = fakeProcess(t, "race").Execute(context.Background(), s)
		assert.True(t, rec.Detected)
		assert.False(t, rec.Signature, "a data race is not this control's signature")
		assert.False(t, rec.Hit())
	})
	t.Run("a worker that cannot start is classified error", func(t *testing.T) {
		p := fakeProcess(t, "ok")
		p.Path = filepath.Join(t.TempDir(), "no-such-binary")
		rec, ok := p.Execute(context.Background(), spec())
		require.True(t, ok)
		assert.Equal(t, result.Error, rec.Outcome)
		assert.Contains(t, rec.FirstError, "could not start")
	})
	t.Run("an interrupted trial is not recorded and its child is stopped", func(t *testing.T) {
		p := fakeProcess(t, "sigint-ignored")
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, ok := p.Execute(ctx, spec())
		assert.False(t, ok)
	})
}

// TestExecutorsTellTheTrialItsWatchdog checks that the process and pool
// executors send each trial the watchdog they arm for it.
func TestExecutorsTellTheTrialItsWatchdog(t *testing.T) {
	want := fmt.Sprintf(`"watchdog_ns":%d`, int64(noWatchdog))
	for name, ex := range map[string]harness.Executor{
		"process": fakeProcess(t, "spec"),
		"pool":    &harness.Pool{Process: fakeProcess(t, "spec")},
	} {
		t.Run(name, func(t *testing.T) {
			rec := execute(t, ex, spec())
			if p, ok := ex.(*harness.Pool); ok {
				require.NoError(t, p.Close())
			}
			assert.Equal(t, result.Error, rec.Outcome, rec.FirstError)
			require.NotEmpty(t, rec.Process.Log)
			b, err := os.ReadFile(rec.Process.Log)
			require.NoError(t, err)
			assert.Contains(t, string(b), want)
		})
	}
}

func TestRunRecordsEveryTrialInOrder(t *testing.T) {
	k := scenarios.DefaultKnobs()
	k.Seconds = 0.05
	fixed, _ := scenarios.FinalizeOrder.Subject("fixed")
	unfixed, _ := scenarios.FinalizeOrder.Subject("unfixed")
	var streamed []int
	cfg := harness.Config{
		Scenario: scenarios.FinalizeOrder, Subjects: []scenarios.Subject{unfixed, fixed},
		Runs: 3, Seed: 100, Knobs: k, Parallel: 2,
		OnRecord: func(r result.Record) error { streamed = append(streamed, r.Trial); return nil },
	}
	recs, err := harness.Run(context.Background(), cfg)
	require.NoError(t, err)
	require.Len(t, recs, 6)
	assert.ElementsMatch(t, []int{0, 1, 2, 3, 4, 5}, streamed)
	for i, r := range recs {
		assert.Equal(t, i, r.Trial)
		assert.Equal(t, int64(100+i/2), r.Seed, "round i uses seed+i")
		assert.Equal(t, []string{"unfixed", "fixed"}[i%2], r.Registry, "registries alternate")
		assert.Equal(t, result.OK, r.Outcome, r.FirstError)
	}
}

func TestRunStopsWhenTheSinkFails(t *testing.T) {
	fixed, _ := scenarios.FinalizeOrder.Subject("fixed")
	cfg := harness.Config{
		Scenario: scenarios.FinalizeOrder, Subjects: []scenarios.Subject{fixed}, Runs: 5, Knobs: scenarios.DefaultKnobs(),
		OnRecord: func(result.Record) error { return fmt.Errorf("disk full") },
	}
	recs, err := harness.Run(context.Background(), cfg)
	assert.ErrorContains(t, err, "disk full")
	assert.Len(t, recs, 1)
}

func TestRunRejectsAnEmptyConfig(t *testing.T) {
	_, err := harness.Run(context.Background(), harness.Config{})
	assert.ErrorIs(t, err, harness.ErrNoTrials)
}

func TestGradeUsesTheScenarioDeclaration(t *testing.T) {
	unfixed := harness.Spec{Role: result.Control, Signature: []result.Outcome{result.ChangedSize}}
	rec := harness.Grade(scenarios.ThreadSafety, unfixed, result.Record{}, scenarios.Observation{
		Outcome: result.ChangedSize, TTFF: 5 * time.Millisecond, Failures: map[result.Outcome]int{result.ChangedSize: 1},
	})
	assert.Equal(t, result.Forbidden, rec.Grade)
	assert.True(t, rec.Detected)
	assert.True(t, rec.Signature, "the changed-size panic is unfixed's signature")
	assert.Equal(t, result.Control, rec.Role)
	assert.Equal(t, 5*time.Millisecond, rec.TTFF())

	rec = harness.Grade(scenarios.ThreadSafety, unfixed, result.Record{}, scenarios.Observation{
		Outcome: result.Panic, TTFF: time.Millisecond, Failures: map[result.Outcome]int{result.Panic: 1},
	})
	assert.True(t, rec.Detected, "a nil dereference is a failure")
	assert.False(t, rec.Signature, "but not a detection of the changed-size bug")

	rec = harness.Grade(scenarios.ThreadSafety, unfixed, result.Record{}, scenarios.Observation{
		Outcome: result.Error, TTFF: time.Millisecond, Failures: map[result.Outcome]int{result.Error: 1},
	})
	assert.False(t, rec.Detected, "a harness error is never a detection")
	assert.Zero(t, rec.TTFFNanos)

	rec = harness.Grade(scenarios.ThreadSafety, unfixed, result.Record{}, scenarios.Observation{TTFF: time.Second})
	assert.Equal(t, result.OK, rec.Outcome)
	assert.Equal(t, result.Acceptable, rec.Grade)
	assert.False(t, rec.Detected)
	assert.Zero(t, rec.TTFFNanos, "no failure, no time to it")
}

func TestHarnessFaultsAreNeverDetections(t *testing.T) {
	// racestress --registry unfixed --timeout 1ms --runs 1 --seconds 0.3
	// used to exit 0 with "PASS: detected": every trial was a watchdog hang.
	p := fakeProcess(t, "ok")
	p.Timeout = watchdog(time.Millisecond) // fires long before the 0.3 s trial can end
	k := scenarios.DefaultKnobs()
	k.Seconds = 0.3
	unfixed, err := scenarios.ThreadSafety.Subject("unfixed")
	require.NoError(t, err)
	fixed, err := scenarios.ThreadSafety.Subject("fixed")
	require.NoError(t, err)
	recs, err := harness.Run(context.Background(), harness.Config{
		Scenario: scenarios.ThreadSafety, Subjects: []scenarios.Subject{unfixed, fixed}, Runs: 2, Knobs: k, Executor: p,
	})
	require.NoError(t, err)
	for _, r := range recs {
		assert.Equal(t, result.Error, r.Outcome, r.FirstError)
		assert.False(t, r.Hit())
	}
	sum := report.Summarize(recs)
	sum.Policy = result.VerdictPolicy{MinPower: 0.5, RequireControl: true}
	v := sum.Verdict()
	assert.Equal(t, report.Invalid, v.Status)
	assert.Equal(t, 4, v.Status.ExitCode())
	assert.Contains(t, v.Line, "INVALID: unfixed: 2 of 2 trials ended in error")
	assert.Contains(t, v.Line, "watchdog limit 1ms is shorter than the trial")
	assert.NotContains(t, v.Line, "PASS")
}
