package harness_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// fakeBarrierEnv names a directory where trials of the fake pool worker's
// "barrier" subject meet.
const fakeBarrierEnv = "RACESTRESS_FAKE_BARRIER"

// fakePoolParentEnv makes the test binary (with RACESTRESS_FAKE_WORKER=pool)
// a process that runs a pool whose trial hangs, for a test to kill.
const fakePoolParentEnv = "RACESTRESS_FAKE_POOL_PARENT"

// fakePoolParent runs one "pidfile-hang" trial in a pool of fake workers.
func fakePoolParent() int {
	os.Unsetenv(fakePoolParentEnv)
	p := &harness.Pool{Process: harness.Processes{Path: os.Args[0]}}
	p.Execute(context.Background(), poolSpec(0, "pidfile-hang"))
	return 0
}

// poolProfileEnv makes the fake pool worker write a CPU profile to its
// value plus "." and its pid.
const poolProfileEnv = "RACESTRESS_POOL_CPUPROFILE"

// fakeTrials counts the trials this fake pool worker process has run: a
// probe reports it, so that tests see which worker ran what.
var fakeTrials int

// leaked holds what the "leak-heap" subject leaves behind.
var leaked []byte

// fakePoolWorker is a pool worker whose subjects, named by the spec's
// registry, end their trial in each way a real one can, inside a trial of
// a long-lived worker; they do what fakeWorker's modes do. The scenario is
// finalize-order, as far as the pool (which grades) can tell.
func fakePoolWorker() int {
	if os.Getenv(fakePoolParentEnv) != "" {
		return fakePoolParent()
	}
	cfg, err := harness.PoolWorkerConfigFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if path := os.Getenv(poolProfileEnv); path != "" {
		f, err := os.Create(fmt.Sprintf("%s.%d", path, os.Getpid()))
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	sc := *scenarios.FinalizeOrder
	sc.Trial = fakeTrial
	var subs []scenarios.Subject
	for _, name := range []string{"ok", "chatty", "probe", "barrier", "fatal", "panic", "race", "deadlock", "hang", "sigkill", "oom",
		"garbage", "half", "exit1", "sigint-ignored", "pidfile-hang",
		"leak-goroutine", "leak-gogc", "leak-procs", "leak-memlimit", "leak-heap", "leak-cleanup"} {
		subs = append(subs, scenarios.Subject{Name: name, Role: result.Clean, New: scenarios.RegistryFunc(nil)})
	}
	out := os.NewFile(3, "result")
	if err := harness.PoolWorker(context.Background(), os.Stdin, out, os.Stderr, harness.InProcess{Scenarios: []*scenarios.Scenario{&sc}, Subjects: subs}, cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func fakeTrial(ctx context.Context, env scenarios.Env) scenarios.Observation {
	fakeTrials++
	ok := scenarios.Observation{Outcome: result.OK}
	// Only the modes that exit at once open fd 3 a second time: the
	// finalizer of a second *os.File would close the worker's.
	out := func() *os.File { return os.NewFile(3, "result") }
	switch env.Subject.Name {
	case "ok":
		fixed, _ := scenarios.FinalizeOrder.Subject("fixed")
		env.Subject = fixed
		return scenarios.FinalizeOrder.Trial(ctx, env)
	case "chatty":
		fmt.Fprintln(os.Stderr, "chatty trial output")
		return ok
	case "probe":
		ok.Warnings = []string{probeState()}
		return ok
	case "barrier":
		return barrier(os.Getenv(fakeBarrierEnv), 2)
	case "fatal":
		fmt.Fprint(os.Stderr, "fatal error: concurrent map iteration and map write\n\ngoroutine 7 [running]:\ninternal/runtime/maps.fatal(...)\n")
		os.Exit(2)
	case "panic":
		go func() { panic("boom in a cleanup") }()
		select {}
	case "race":
		fmt.Fprint(os.Stderr, "==================\nWARNING: DATA RACE\nWrite at 0x00c000012345 by goroutine 8:\n  main.racy()\n")
		os.Exit(66)
	case "deadlock":
		select {} // the runtime's deadlock detector ends this: the worker reads no input during a trial
	case "hang":
		time.Sleep(time.Hour)
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
		fmt.Fprintln(out(), "this is not JSON")
		os.Exit(0)
	case "half":
		b, _ := json.Marshal(result.Record{Trial: 0, Scenario: "bpo24484", Registry: "fixed", Role: result.Clean, Outcome: result.OK})
		out().Write(b[:len(b)/2])
		os.Exit(0)
	case "exit1":
		fmt.Fprintln(os.Stderr, "worker: something went wrong")
		os.Exit(1)
	case "sigint-ignored":
		time.Sleep(time.Hour)
	case "pidfile-hang":
		_ = os.WriteFile(os.Getenv("PIDFILE"), []byte(fmt.Sprint(os.Getpid())), 0o644)
		time.Sleep(time.Hour)
	case "leak-goroutine":
		go func() { select {} }()
		return ok
	case "leak-gogc":
		debug.SetGCPercent(37)
		return ok
	case "leak-procs":
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
		return ok
	case "leak-memlimit":
		debug.SetMemoryLimit(1 << 40)
		return ok
	case "leak-heap":
		leaked = make([]byte, 64<<20)
		return ok
	case "leak-cleanup":
		o := new([64]byte)
		runtime.AddCleanup(o, func(int) { time.Sleep(time.Hour) }, 0)
		return ok
	}
	return scenarios.Observation{Outcome: result.Error, FirstError: "error: no such fake subject " + env.Subject.Name}
}

// probeState is what a trial finds of the state a trial may change, and
// how many trials its process ran.
func probeState() string {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	return fmt.Sprintf("goroutines=%d gogc=%d memlimit=%d procs=%d trials=%d",
		runtime.NumGoroutine(), s[0].Value.Uint64(), s[1].Value.Uint64(), runtime.GOMAXPROCS(0), fakeTrials)
}

// barrier waits until n trials have arrived in dir, each from its own
// process. It has no deadline of its own (on a busy machine a worker's
// start took over a minute): a trial left waiting alone is ended by the
// watchdog, and its test fails.
func barrier(dir string, n int) scenarios.Observation {
	_ = os.WriteFile(filepath.Join(dir, fmt.Sprint(os.Getpid())), nil, 0o644)
	for {
		if es, _ := os.ReadDir(dir); len(es) >= n {
			return scenarios.Observation{Outcome: result.OK}
		}
		time.Sleep(time.Millisecond)
	}
}

// fakeSettle bounds the fake workers' fitness checks: a trial's cleanups
// and goroutines end within milliseconds of it, even on a busy machine; a
// leak costs its test this long.
const fakeSettle = 2 * time.Second

func fakePool(t *testing.T) *harness.Pool {
	p := &harness.Pool{Process: fakeProcess(t, "pool"), Settle: fakeSettle}
	t.Cleanup(func() { p.Close() })
	return p
}

func poolSpec(trial int, subject string) harness.Spec {
	s := spec()
	s.Trial, s.Registry = trial, subject
	return s
}

func execute(t *testing.T, p harness.Executor, s harness.Spec) result.Record {
	t.Helper()
	rec, ok := p.Execute(context.Background(), s)
	require.True(t, ok)
	require.NotNil(t, rec.Process)
	return rec
}

// TestPoolClassifiesEveryWayAWorkerEnds runs each of process mode's
// crash-isolation cases inside a long-lived worker, after a trial that
// wrote to stderr, and checks that the trial is classified as process mode
// classifies it, with only its own stderr, and that the next trial runs on
// a fresh worker.
func TestPoolClassifiesEveryWayAWorkerEnds(t *testing.T) {
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
		t.Run("a worker whose trial ends with "+c.mode+" is classified "+string(c.outcome), func(t *testing.T) {
			t.Parallel()
			p := fakePool(t)
			// The trial that blocks for ever gets a short watchdog, in a
			// worker that is ready: the watchdog (or the runtime's
			// deadlock detector) ends it. The others, the next trial's
			// worker start included, get none that can fire.
			var dog atomic.Int64
			dog.Store(int64(noWatchdog))
			p.Process.Timeout = func(result.Knobs) time.Duration { return time.Duration(dog.Load()) }
			first := execute(t, p, poolSpec(1, "chatty"))
			require.Equal(t, result.OK, first.Outcome, first.FirstError)
			require.NotEmpty(t, first.Process.Log)
			b, err := os.ReadFile(first.Process.Log)
			require.NoError(t, err)
			assert.Equal(t, "chatty trial output\n", string(b), "a trial's log holds its own stderr")

			if c.outcome == result.Hang {
				dog.Store(int64(hangWatchdog))
			}
			rec := execute(t, p, poolSpec(3, c.mode))
			dog.Store(int64(noWatchdog))
			assert.Equal(t, c.outcome, rec.Outcome, rec.FirstError)
			assert.Contains(t, rec.FirstError, c.text)
			assert.Equal(t, 3, rec.Trial)
			assert.Equal(t, int64(42), rec.Seed)
			assert.Equal(t, "pool", rec.Process.Isolation)
			assert.Positive(t, rec.Process.WallNanos)
			assert.Equal(t, first.Process.Worker, rec.Process.Worker, "the same worker ran both")
			assert.Equal(t, 1, rec.Process.WorkerTrial, "as its second trial")
			assert.Equal(t, result.Clean, rec.Role)
			switch c.outcome {
			case result.OK:
				assert.Empty(t, rec.Process.Recycled)
			case result.Error:
				assert.False(t, rec.Detected, "a harness error is never a detection")
				assert.True(t, rec.Invalid(), "and never a pass")
			default:
				assert.True(t, rec.Detected, "a failure is never a pass")
				assert.Equal(t, result.Forbidden, rec.Grade)
			}
			if c.outcome != result.OK {
				assert.NotEmpty(t, rec.Process.Recycled, "the worker is replaced")
				if rec.Process.Log != "" {
					b, err := os.ReadFile(rec.Process.Log)
					require.NoError(t, err)
					assert.NotContains(t, string(b), "chatty", "an earlier trial's stderr is not this one's")
					assert.Equal(t, "trial-3.stderr", filepath.Base(rec.Process.Log), "logs are named by trial")
				}
			}
			if c.dump {
				require.NotEmpty(t, rec.Process.Dump, "a hang keeps its goroutine dump")
				b, err := os.ReadFile(rec.Process.Dump)
				require.NoError(t, err)
				assert.Contains(t, string(b), "goroutine ")
			}

			next := execute(t, p, poolSpec(4, "probe"))
			assert.Equal(t, result.OK, next.Outcome, next.FirstError)
			if c.outcome == result.OK {
				assert.Equal(t, rec.Process.Worker, next.Process.Worker)
				assert.Equal(t, 2, next.Process.WorkerTrial)
			} else {
				assert.NotEqual(t, rec.Process.Worker, next.Process.Worker, "a fresh worker runs the next trial")
				assert.Equal(t, 0, next.Process.WorkerTrial)
				assert.Contains(t, next.Warnings, probeWant(t, 1))
			}
		})
	}
	t.Run("a worker over its memory limit is classified crash", func(t *testing.T) {
		t.Parallel()
		p := fakePool(t)
		p.Process.MemoryLimit = 32 << 20
		rec := execute(t, p, poolSpec(3, "oom"))
		assert.Equal(t, result.Crash, rec.Outcome)
		assert.Contains(t, rec.FirstError, "memory limit")
		assert.True(t, rec.Process.OverMemory)
	})
	t.Run("a worker killed over a memory limit below what any trial needs is a harness error", func(t *testing.T) {
		t.Parallel()
		p := fakePool(t)
		p.Process.MemoryLimit = 16 << 20
		rec := execute(t, p, poolSpec(3, "oom"))
		assert.Equal(t, result.Error, rec.Outcome)
		assert.Contains(t, rec.FirstError, "harness limit")
		assert.False(t, rec.Detected)
	})
	t.Run("a watchdog shorter than the trial is a harness error, not a hang of the subject", func(t *testing.T) {
		t.Parallel()
		p := fakePool(t)
		p.Process.Timeout = watchdog(300 * time.Millisecond) // the trial blocks for ever
		s := poolSpec(3, "hang")
		s.Knobs.Seconds = 4
		rec := execute(t, p, s)
		assert.Equal(t, result.Error, rec.Outcome)
		assert.Contains(t, rec.FirstError, "the watchdog limit 300ms is shorter than the trial")
		assert.False(t, rec.Detected)
	})
	t.Run("a signature outcome is marked as such, another failure is not", func(t *testing.T) {
		t.Parallel()
		s := poolSpec(3, "fatal")
		s.Role, s.Signature = result.Control, []result.Outcome{result.Fatal}
		rec := execute(t, fakePool(t), s)
		assert.True(t, rec.Signature)
		assert.True(t, rec.Hit())
		s.Registry = "race"
		rec = execute(t, fakePool(t), s)
		assert.True(t, rec.Detected)
		assert.False(t, rec.Signature, "a data race is not this control's signature")
	})
	t.Run("a worker that cannot start is classified error", func(t *testing.T) {
		p := fakePool(t)
		p.Process.Path = filepath.Join(t.TempDir(), "no-such-binary")
		rec, ok := p.Execute(context.Background(), poolSpec(3, "ok"))
		require.True(t, ok)
		assert.Equal(t, result.Error, rec.Outcome)
		assert.Contains(t, rec.FirstError, "could not start")
	})
	t.Run("an interrupted trial is not recorded and its worker is stopped", func(t *testing.T) {
		p := fakePool(t)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, ok := p.Execute(ctx, poolSpec(3, "sigint-ignored"))
		assert.False(t, ok)
		require.NoError(t, p.Close())
	})
}

// probeWant is what a probe trial reports in a worker that is at its
// baseline, as the n-th trial of its process.
func probeWant(t *testing.T, n int) string {
	t.Helper()
	// The test process runs under the same environment as its workers, but
	// its GOMEMLIMIT and GOGC may differ from the test's: ask a worker.
	p := fakePool(t)
	rec := execute(t, p, poolSpec(0, "probe"))
	require.Len(t, rec.Warnings, 1)
	return strings.Replace(rec.Warnings[0], "trials=1", fmt.Sprintf("trials=%d", n), 1)
}

// TestPoolRecyclesAWorkerThatDidNotRestoreItsState is the deterministic
// no-carry-over test: a trial that leaves each kind of process state
// behind passes, but its worker fails the fitness check and is retired,
// and the next trial finds a worker exactly at the baseline.
func TestPoolRecyclesAWorkerThatDidNotRestoreItsState(t *testing.T) {
	want := probeWant(t, 1)
	cases := map[string]string{
		"leak-goroutine": "goroutines still running",
		"leak-gogc":      "GC percent 37, not restored",
		"leak-procs":     "GOMAXPROCS",
		"leak-memlimit":  "memory limit 1099511627776, not restored",
		"leak-heap":      "live heap",
		"leak-cleanup":   "cleanups or finalizers still pending",
	}
	for mode, reason := range cases {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			p := fakePool(t)
			rec := execute(t, p, poolSpec(1, mode))
			assert.Equal(t, result.OK, rec.Outcome, "the trial itself was clean: %s", rec.FirstError)
			assert.Contains(t, rec.Process.Recycled, "unfit: ")
			assert.Contains(t, rec.Process.Recycled, reason)
			next := execute(t, p, poolSpec(2, "probe"))
			assert.NotEqual(t, rec.Process.Worker, next.Process.Worker)
			assert.Equal(t, []string{want}, next.Warnings, "the next trial finds the baseline, in a fresh process")
		})
	}
	t.Run("trial after trial, a worker's state is the same at every trial index", func(t *testing.T) {
		t.Parallel()
		p := fakePool(t)
		p.TrialsPerWorker = 100
		for i := range 20 {
			mode := []string{"ok", "chatty", "probe"}[i%3]
			rec := execute(t, p, poolSpec(i, mode))
			require.Equal(t, result.OK, rec.Outcome, rec.FirstError)
			require.Equal(t, i, rec.Process.WorkerTrial)
			require.Empty(t, rec.Process.Recycled)
			if mode == "probe" {
				assert.Equal(t, []string{strings.Replace(want, "trials=1", fmt.Sprintf("trials=%d", i+1), 1)}, rec.Warnings)
			}
		}
	})
}

func TestPoolRecyclesAfterItsTrialLimit(t *testing.T) {
	p := fakePool(t)
	p.TrialsPerWorker = 3
	var workers, index []int
	for i := range 7 {
		rec := execute(t, p, poolSpec(i, "ok"))
		require.Equal(t, result.OK, rec.Outcome, rec.FirstError)
		workers = append(workers, rec.Process.Worker)
		index = append(index, rec.Process.WorkerTrial)
		if i%3 == 2 {
			assert.Equal(t, "recycled after 3 trials", rec.Process.Recycled)
		} else {
			assert.Empty(t, rec.Process.Recycled)
		}
	}
	assert.Equal(t, []int{0, 1, 2, 0, 1, 2, 0}, index)
	assert.Equal(t, workers[0], workers[2])
	assert.NotEqual(t, workers[2], workers[3])
	assert.Equal(t, workers[3], workers[5])
	assert.NotEqual(t, workers[5], workers[6])
}

func TestPoolKeepsAWorkerAfterARecoveredSignatureOnly(t *testing.T) {
	// changed-size is unfixed's signature, caught and recovered in the
	// trial: the worker goes on. Another subject's changed-size retires it.
	unfixed, _ := scenarios.ThreadSafety.Subject("unfixed")
	s := harness.Spec{Scenario: scenarios.ThreadSafety.Name, Registry: unfixed.Name, Role: unfixed.Role, Signature: unfixed.Signature}
	assert.True(t, harness.KeepsWorker(s, result.ChangedSize))
	assert.True(t, harness.KeepsWorker(s, result.OK))
	assert.False(t, harness.KeepsWorker(s, result.Panic))
	assert.False(t, harness.KeepsWorker(s, result.Lost))
	s.Signature = nil
	assert.False(t, harness.KeepsWorker(s, result.ChangedSize))
	s.Signature = []result.Outcome{result.DataRace, result.Fatal}
	assert.False(t, harness.KeepsWorker(s, result.DataRace), "the race detector reports a race once per process: never reuse")
}

func TestPoolRunsParallelTrialsInSeparateWorkers(t *testing.T) {
	p := fakePool(t)
	dir := t.TempDir()
	p.Process.Env = append(p.Process.Env, fakeBarrierEnv+"="+dir)
	var wg sync.WaitGroup
	recs := make([]result.Record, 2)
	for i := range recs {
		wg.Go(func() { recs[i] = execute(t, p, poolSpec(i, "barrier")) })
	}
	wg.Wait()
	for _, r := range recs {
		assert.Equal(t, result.OK, r.Outcome, "both trials met at the barrier, so they ran at once: %s", r.FirstError)
	}
	assert.NotEqual(t, recs[0].Process.Worker, recs[1].Process.Worker)
	assert.NotEqual(t, recs[0].Process.WorkerPID, recs[1].Process.WorkerPID)
}

func TestPoolReplacesAWorkerThatDiedWhileIdle(t *testing.T) {
	p := fakePool(t)
	rec := execute(t, p, poolSpec(0, "ok"))
	require.Equal(t, result.OK, rec.Outcome)
	require.Empty(t, rec.Process.Recycled)
	// The record came after the worker's fitness line: the worker is idle.
	require.NoError(t, syscall.Kill(rec.Process.WorkerPID, syscall.SIGKILL))
	// A worker never reaped fails the test by the test binary's -timeout.
	for syscall.Kill(rec.Process.WorkerPID, 0) == nil {
		time.Sleep(time.Millisecond)
	}
	next := execute(t, p, poolSpec(1, "probe"))
	assert.Equal(t, result.OK, next.Outcome, "the trial ran on a fresh worker: %s", next.FirstError)
	assert.NotEqual(t, rec.Process.Worker, next.Process.Worker)
	assert.Equal(t, 0, next.Process.WorkerTrial)
	assert.Contains(t, strings.Join(next.Warnings, "\n"), fmt.Sprintf("pool worker %d (pid %d)", rec.Process.Worker, rec.Process.WorkerPID), "the death is reported")
}

func TestPoolCloseStopsItsWorkers(t *testing.T) {
	p := fakePool(t)
	var pids []int
	var wg sync.WaitGroup
	recs := make([]result.Record, 3)
	for i := range recs {
		wg.Go(func() { recs[i] = execute(t, p, poolSpec(i, "ok")) })
	}
	wg.Wait()
	for _, r := range recs {
		pids = append(pids, r.Process.WorkerPID)
	}
	require.NoError(t, p.Close())
	for _, pid := range pids {
		assert.Error(t, syscall.Kill(pid, 0), "worker %d is gone after Close", pid)
	}
	rec := execute(t, p, poolSpec(9, "ok"))
	assert.Equal(t, result.Error, rec.Outcome, "a closed pool runs nothing")
}

func TestRunWithAPool(t *testing.T) {
	p := fakePool(t)
	sub := scenarios.Subject{Name: "ok", Role: result.Clean}
	cfg := harness.Config{Scenario: scenarios.FinalizeOrder, Subjects: []scenarios.Subject{sub}, Runs: 6, Knobs: spec().Knobs, Executor: p, Parallel: 2}
	recs, err := harness.Run(context.Background(), cfg)
	require.NoError(t, err)
	require.Len(t, recs, 6)
	seen := map[[2]int]bool{}
	for _, r := range recs {
		assert.Equal(t, result.OK, r.Outcome, r.FirstError)
		key := [2]int{r.Process.Worker, r.Process.WorkerTrial}
		assert.False(t, seen[key], "one trial per worker and index")
		seen[key] = true
	}
	assert.LessOrEqual(t, p.Workers(), 2, "two trials at a time need two workers")
}

func TestPoolRetiresAWorkerOverItsResidentSetBound(t *testing.T) {
	p := fakePool(t)
	p.RSSBound = 1 << 20 // any Go process is over 1 MiB
	rec := execute(t, p, poolSpec(0, "ok"))
	assert.Equal(t, result.OK, rec.Outcome)
	assert.Contains(t, rec.Process.Recycled, "resident set over 1 MiB")
}

func TestPoolWorkerDiesWithItsParent(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Pdeathsig is Linux's")
	}
	pidfile := filepath.Join(t.TempDir(), "pid")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), fakeWorkerEnv+"=pool", fakePoolParentEnv+"=1", "PIDFILE="+pidfile)
	require.NoError(t, cmd.Start())
	var pid int
	// These loops have no deadline of their own: on a busy machine the
	// start of the parent, its pool and its worker took over a minute. A
	// worker that never starts, or outlives its parent, fails the test by
	// the test binary's -timeout.
	for ; pid == 0; time.Sleep(5 * time.Millisecond) {
		if b, err := os.ReadFile(pidfile); err == nil && len(b) > 0 {
			pid, _ = strconv.Atoi(string(b))
		}
	}
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	for alive(pid) {
		time.Sleep(5 * time.Millisecond)
	}
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}
