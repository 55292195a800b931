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
	"runtime"
	"runtime/metrics"
	"slices"
	"time"
)

// PoolWorkerArg is the hidden first argument that puts the racestress
// binary in pool-worker mode: it reads Spec lines (JSON) on stdin and, for
// each, runs the trial in-process, checks that it is fit for another trial,
// and writes the trial's record and a Fitness line, one JSON line each, to
// file descriptor 3. It exits at the end of its input.
const PoolWorkerArg = "__racestress_pool_worker"

// PoolWorkerEnv carries a pool worker's settings (a PoolWorkerConfig as
// JSON) from the pool to the worker.
const PoolWorkerEnv = "RACESTRESS_POOL_WORKER"

// PoolWorkerConfig is what a pool tells its workers.
type PoolWorkerConfig struct {
	// Marker is the line the worker writes on stderr after each trial's
	// fitness check, so that the pool can cut its stderr into per-trial
	// logs. It is unique to the worker.
	Marker string `json:"marker"`
	// HeapBound is how far the live heap may stay above the worker's
	// baseline after a trial (bytes); DefaultHeapBound when zero.
	HeapBound int64 `json:"heap_bound,omitempty"`
	// Settle bounds how long the fitness check waits for cleanups and
	// goroutines to finish; DefaultSettle when zero.
	SettleNanos int64 `json:"settle_ns,omitempty"`
}

// DefaultHeapBound is how much more live heap than at its start a pool
// worker may hold after a trial's cleanups drained.
const DefaultHeapBound = 16 << 20

// DefaultSettle bounds the fitness check's wait for a trial's cleanups and
// goroutines to finish.
const DefaultSettle = time.Second

// Fitness is a pool worker's verdict on itself after a trial: whether it
// is back to the state it started in, and if not, why.
type Fitness struct {
	Fit    bool   `json:"fit"`
	Reason string `json:"reason,omitempty"`
	// CheckNanos is how long the check took.
	CheckNanos int64 `json:"check_ns"`
}

// workerState is the process-wide state a trial may change and must
// restore.
type workerState struct {
	goroutines int
	gogc       uint64
	memLimit   uint64
	procs      int
	heapLive   uint64
}

var stateMetrics = []string{"/gc/gogc:percent", "/gc/gomemlimit:bytes", "/gc/heap/live:bytes",
	"/gc/cleanups/queued:cleanups", "/gc/cleanups/executed:cleanups",
	"/gc/finalizers/queued:finalizers", "/gc/finalizers/executed:finalizers"}

func readMetrics() []metrics.Sample {
	s := make([]metrics.Sample, len(stateMetrics))
	for i, n := range stateMetrics {
		s[i].Name = n
	}
	metrics.Read(s)
	return s
}

func u64(s metrics.Sample) uint64 {
	if s.Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s.Value.Uint64()
}

func currentState() workerState {
	s := readMetrics()
	return workerState{
		goroutines: runtime.NumGoroutine(), procs: runtime.GOMAXPROCS(0),
		gogc: u64(s[0]), memLimit: u64(s[1]), heapLive: u64(s[2]),
	}
}

// pendingCleanups returns how many queued cleanups and finalizers have not
// run yet.
func pendingCleanups() uint64 {
	s := readMetrics()
	return u64(s[3]) - u64(s[4]) + u64(s[5]) - u64(s[6])
}

// drainCleanups runs with GOMAXPROCS 1: on a busy machine a forced cycle
// on several Ps spends most of its time waiting for the OS to schedule the
// threads it wakes (runtime.GC median 3.9 ms on 2 Ps against 0.15 ms on
// one, measured on 2 loaded cores), and the heap between trials is small.
//
// drainCleanups waits for queued cleanups and finalizers to run, then runs
// the GC, until a complete cycle queues none (a cleanup may free objects
// with cleanups of their own, so one cycle is not always enough), for at
// most until; it reports whether it got there. When the trial drained its
// own cleanups this costs one GC cycle.
func drainCleanups(until time.Time) bool {
	// One P for the whole drain: see gcOnOneP.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for {
		for i := 0; pendingCleanups() > 0; i++ {
			if time.Now().After(until) {
				return false
			}
			pause(i)
		}
		before := readMetrics()
		runtime.GC() // a complete cycle, sweep included: every dead object's cleanup is queued
		after := readMetrics()
		if u64(after[3]) == u64(before[3]) && u64(after[5]) == u64(before[5]) {
			return true
		}
		if time.Now().After(until) {
			return false
		}
	}
}

// pause is the i-th wait of a polling loop: first yields, which let a
// goroutine that is about to finish run at once (a timer's wake-up costs
// far more on a busy machine), then short sleeps.
func pause(i int) {
	if i < 100 {
		runtime.Gosched()
		return
	}
	time.Sleep(50 * time.Microsecond)
}

// check is the fitness check: cleanups drained, goroutines back to the
// baseline, GC percent, memory limit and GOMAXPROCS as at the start, the
// live heap under the bound.
func (base workerState) check(heapBound int64, settle time.Duration) Fitness {
	t0 := time.Now()
	until := t0.Add(settle)
	fit := func(reason string) Fitness {
		return Fitness{Fit: reason == "", Reason: reason, CheckNanos: int64(time.Since(t0))}
	}
	// Settings first: a trial that left GOGC off would never drain.
	now := currentState()
	switch {
	case now.gogc != base.gogc:
		return fit(fmt.Sprintf("GC percent %d, not restored to %d", int64(now.gogc), int64(base.gogc)))
	case now.memLimit != base.memLimit:
		return fit(fmt.Sprintf("memory limit %d, not restored to %d", now.memLimit, base.memLimit))
	case now.procs != base.procs:
		return fit(fmt.Sprintf("GOMAXPROCS %d, not restored to %d", now.procs, base.procs))
	}
	for i := 0; runtime.NumGoroutine() > base.goroutines; i++ {
		if time.Now().After(until) {
			return fit(fmt.Sprintf("%d goroutines still running, baseline %d", runtime.NumGoroutine(), base.goroutines))
		}
		pause(i)
	}
	if !drainCleanups(until) {
		return fit(fmt.Sprintf("%d cleanups or finalizers still pending after %v", pendingCleanups(), settle))
	}
	if live := currentState().heapLive; int64(live) > int64(base.heapLive)+heapBound {
		return fit(fmt.Sprintf("live heap %d bytes after draining, over the bound %d (baseline %d + %d)", live, int64(base.heapLive)+heapBound, base.heapLive, heapBound))
	}
	return fit("")
}

// PoolWorker is the pool-worker mode's main: it reads Spec lines from in
// until its end, runs each trial with exec (in this process), checks its
// own fitness, writes cfg's marker line to stderr and then the record and
// a Fitness line, one JSON line each, to out. Its error means a spec could
// not be read or a line not written.
//
// It reads its input only between trials, so that during a trial no
// goroutine of its own sits in a system call: the runtime's deadlock
// detector sees a deadlocked trial as it would in a one-trial worker.
func PoolWorker(ctx context.Context, in io.Reader, out, stderr io.Writer, exec InProcess, cfg PoolWorkerConfig) error {
	if cfg.Marker == "" {
		return errors.New("pool worker: no marker")
	}
	heapBound := cfg.HeapBound
	if heapBound <= 0 {
		heapBound = DefaultHeapBound
	}
	settle := time.Duration(cfg.SettleNanos)
	if settle <= 0 {
		settle = DefaultSettle
	}
	// The baseline is taken once the runtime has run a cycle, so that the
	// first trial meets a worker in the state every later one does.
	drainCleanups(time.Now().Add(settle))
	base := currentState()
	r := bufio.NewReader(in)
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) && len(line) == 0 {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("pool worker: reading a trial spec: %w", err)
		}
		var spec Spec
		if err := decodeStrict(line, &spec); err != nil {
			return fmt.Errorf("pool worker: reading a trial spec: %w", err)
		}
		rec, ok := exec.Execute(ctx, spec)
		if !ok {
			return errors.New("pool worker: interrupted")
		}
		fit := base.check(heapBound, settle)
		if _, err := io.WriteString(stderr, "\n"+cfg.Marker+"\n"); err != nil {
			return err
		}
		// Both lines in one write: the pool wakes once per trial. A worker
		// that dies in its check leaves no record, and is classified from
		// how it died, as a one-trial worker that died before exiting.
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		f, err := json.Marshal(fit)
		if err != nil {
			return err
		}
		if _, err := out.Write(slices.Concat(b, []byte{'\n'}, f, []byte{'\n'})); err != nil {
			return err
		}
	}
}

// PoolWorkerConfigFromEnv reads the settings a pool passed to this worker.
func PoolWorkerConfigFromEnv() (PoolWorkerConfig, error) {
	var cfg PoolWorkerConfig
	v := os.Getenv(PoolWorkerEnv)
	if v == "" {
		return cfg, errors.New("pool worker: " + PoolWorkerEnv + " is not set (pool workers are started by --isolate pool)")
	}
	if err := json.Unmarshal([]byte(v), &cfg); err != nil {
		return cfg, fmt.Errorf("pool worker: %s: %v", PoolWorkerEnv, err)
	}
	return cfg, nil
}

func decodeStrict(line []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
