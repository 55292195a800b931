package scenarios

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/harness/result"
)

// monitor collects one trial's failures. It is safe for concurrent use.
type monitor struct {
	start     time.Time
	now       func() time.Time
	keepGoing bool
	stop      func() // called at the first failure unless keepGoing

	mu        sync.Mutex
	worst     result.Outcome
	failures  map[result.Outcome]int
	ttff      time.Duration
	firstErr  string
	mutations map[string]int
	warnings  []string
}

func newMonitor(env Env, stop func()) *monitor {
	return &monitor{
		start: env.now(), now: env.now, keepGoing: env.Knobs.KeepGoing, stop: stop,
		worst: result.OK, failures: map[result.Outcome]int{}, mutations: map[string]int{},
	}
}

// fail records a failure of class o.
func (m *monitor) fail(o result.Outcome, msg string) {
	at := m.now().Sub(m.start)
	m.mu.Lock()
	first := len(m.failures) == 0
	if first {
		m.ttff, m.firstErr = at, msg
	}
	m.failures[o]++
	m.worst = result.Worse(m.worst, o)
	m.mu.Unlock()
	if first && !m.keepGoing && m.stop != nil {
		m.stop()
	}
}

// recovered records a panic recovered from the registry.
func (m *monitor) recovered(v any) {
	msg := fmt.Sprint(v)
	if ce, ok := v.(*finalizer.ChangedError); ok {
		m.mu.Lock()
		m.mutations[ce.Kind()]++
		m.mu.Unlock()
	}
	m.fail(result.Panic, "panic: "+msg)
}

func (m *monitor) warn(format string, args ...any) {
	m.mu.Lock()
	m.warnings = append(m.warnings, fmt.Sprintf(format, args...))
	m.mu.Unlock()
}

func (m *monitor) failed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.failures) > 0
}

func (m *monitor) observation(duration time.Duration, c result.Counts) Observation {
	m.mu.Lock()
	defer m.mu.Unlock()
	o := Observation{Outcome: m.worst, Counts: c, Duration: duration, Warnings: m.warnings}
	if len(m.failures) > 0 {
		o.Failures, o.TTFF, o.FirstError = m.failures, m.ttff, m.firstErr
	}
	if len(m.mutations) > 0 {
		o.Mutations = m.mutations
	}
	return o
}

// guard runs f, recording a panic from it; it reports whether f panicked.
func (m *monitor) guard(f func()) (panicked bool) {
	defer func() {
		if v := recover(); v != nil {
			panicked = true
			m.recovered(v)
		}
	}()
	f()
	return false
}

// invariants checks, as a finalizer.Observer and through its probes, that
// every Run calls back in decreasing (priority, seq) order and that no
// finalizer is called twice, and counts what the registry did.
type invariants struct {
	mon *monitor

	mu   sync.Mutex
	last map[uint64]finalizer.Key // the last key each Run in progress called

	calledOnce atomic.Uint64 // finalizers called at least once
	dropped    atomic.Uint64
	cancelled  atomic.Uint64
}

func newInvariants(m *monitor) *invariants {
	return &invariants{mon: m, last: map[uint64]finalizer.Key{}}
}

func (iv *invariants) Observe(e finalizer.Event) {
	switch e.Kind {
	case finalizer.Called:
		if e.By != finalizer.ByRun {
			return
		}
		iv.mu.Lock()
		prev, ok := iv.last[e.Run]
		iv.last[e.Run] = e.Key
		iv.mu.Unlock()
		if ok && prev.Compare(e.Key) <= 0 {
			iv.mon.fail(result.Order, fmt.Sprintf("order: Run %d called %v after %v", e.Run, e.Key, prev))
		}
	case finalizer.RunBegin, finalizer.RunEnd:
		iv.mu.Lock()
		delete(iv.last, e.Run)
		iv.mu.Unlock()
	case finalizer.Dropped:
		iv.dropped.Add(1)
	case finalizer.Cancelled:
		iv.cancelled.Add(1)
	}
}

// probe is the callback registered for one finalizer.
type probe struct {
	iv    *invariants
	calls atomic.Int32
	name  string
}

func (p *probe) fire() {
	if n := p.calls.Add(1); n == 1 {
		p.iv.calledOnce.Add(1)
	} else {
		p.iv.mon.fail(result.DoubleCall, fmt.Sprintf("double-call: finalizer %s called %d times", p.name, n))
	}
}

// teardown is the original test's tearDown: with every object dropped, run
// the GC until the registry's cleanups have drained (bounded by wait), call
// Run() once more, then check that the registry is empty and that every one
// of the registered finalizers was called exactly once or, by design,
// cancelled or dropped by Run's clear.
//
// registered counts the finalizers registered, all on objects now garbage;
// it may grow while cleanups drain (reentrant callbacks). A zero wait skips
// the drain, for scenarios whose objects are still alive.
func teardown(m *monitor, iv *invariants, reg finalizer.Registry, registered func() uint64, wait time.Duration) {
	drain(m, reg, registered, wait)
	if m.failed() && !m.keepGoing {
		return // the trial's outcome is decided; a second report would count it twice
	}
	if m.guard(func() { reg.Run(finalizer.NoPriority) }) {
		return
	}
	if n := reg.Len(); n != 0 {
		m.fail(result.Lost, fmt.Sprintf("lost: registry holds %d entries at teardown", n))
		return
	}
	accounted := iv.calledOnce.Load() + iv.cancelled.Load() + iv.dropped.Load()
	if n := registered(); accounted < n {
		m.fail(result.Lost, fmt.Sprintf("lost: %d of %d finalizers never called, cancelled or dropped", n-accounted, n))
	}
}

// drain runs the GC until the registry's cleanups have caught up with the
// finalizers registered, for at most wait; a zero wait drains nothing (the
// scenario's objects are still alive). A registry that does not count its
// cleanups gets two GCs and a warning.
func drain(m *monitor, reg finalizer.Registry, registered func() uint64, wait time.Duration) {
	if wait == 0 {
		return
	}
	src, ok := reg.(finalizer.StatsSource)
	if !ok {
		m.warn("teardown: registry does not count cleanups; ran the GC twice instead of draining")
		runtime.GC()
		runtime.GC()
		return
	}
	deadline := time.Now().Add(wait)
	for src.Stats().Cleanups < registered() {
		if time.Now().After(deadline) {
			m.warn("teardown: %d of %d cleanups ran within %v", src.Stats().Cleanups, registered(), wait)
			return
		}
		runtime.GC()
		time.Sleep(100 * time.Microsecond)
	}
}

// gcCycles returns the number of completed GC cycles so far.
func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

func fillCounts(c *result.Counts, reg finalizer.Registry) {
	if src, ok := reg.(finalizer.StatsSource); ok {
		st := src.Stats()
		c.CalledByGC, c.CalledByRun, c.CalledExplicit = st.CalledByGC, st.CalledByRun, st.CalledExplicit
		c.Skipped, c.Dropped, c.Cancelled, c.Cleanups = st.Skipped, st.Dropped, st.Cancelled, st.Cleanups
	}
}
