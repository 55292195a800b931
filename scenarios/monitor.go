package scenarios

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/result"
)

// monitor collects one trial's failures. It is safe for concurrent use.
type monitor struct {
	start     time.Time
	now       func() time.Time
	keepGoing bool
	stop      func() // called at the first failure unless keepGoing
	goexited  atomic.Bool

	mu        sync.Mutex
	worst     result.Outcome
	failures  map[result.Outcome]int
	ttff      time.Duration
	firstErr  string
	mutations map[string]int
	warnings  []string
	stack     string
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

// recovered records a panic recovered from the system under test: the
// registry's changed-size panic is the ChangedSize outcome (bpo-24484's
// signature), with the mutation it saw; any other panic is Panic, its
// message and the head of its stack kept.
func (m *monitor) recovered(v any, stack []byte) {
	msg := fmt.Sprint(v)
	var ce *finalizer.ChangedError
	if err, ok := v.(error); ok && errors.As(err, &ce) {
		m.mu.Lock()
		m.mutations[ce.Kind()]++
		m.mu.Unlock()
		m.fail(result.ChangedSize, "changed-size: "+msg)
		return
	}
	if err, ok := v.(error); ok && errors.Is(err, finalizer.ErrChangedDuringIteration) {
		m.fail(result.ChangedSize, "changed-size: "+msg)
		return
	}
	head := stackHead(stack, stackFrames)
	m.mu.Lock()
	if m.stack == "" {
		m.stack = head
	}
	m.mu.Unlock()
	line := "panic: " + msg
	if f := firstFrame(head); f != "" {
		line += " [at " + f + "]"
	}
	m.fail(result.Panic, line)
}

// stackFrames is how many frames of an unexpected panic's stack are kept.
const stackFrames = 8

// stackHead returns the first n frames of a goroutine stack from
// debug.Stack taken in a deferred recover, starting at the frame that
// panicked: the frames of the recovery itself (runtime/debug.Stack, the
// deferred function, runtime.gopanic) are left out.
func stackHead(stack []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(stack)), "\n")
	start := 1 // lines[0] is "goroutine N [running]:"
	for i := 1; i+1 < len(lines); i += 2 {
		if strings.HasPrefix(lines[i], "panic(") || strings.HasPrefix(lines[i], "runtime.gopanic") {
			start = i + 2
		}
	}
	var out []string
	for i := start; i+1 < len(lines) && len(out) < 2*n; i += 2 {
		out = append(out, lines[i], lines[i+1])
	}
	return strings.Join(out, "\n")
}

// firstFrame returns the function of a stack head's first frame, e.g.
// "main.(*reg).Run".
func firstFrame(head string) string {
	f, _, _ := strings.Cut(head, "\n")
	if i := strings.LastIndexByte(f, '('); i > 0 {
		f = f[:i]
	}
	return strings.TrimSpace(f)
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
		o.Failures, o.TTFF, o.FirstError, o.Stack = m.failures, m.ttff, m.firstErr, m.stack
	}
	if len(m.mutations) > 0 {
		o.Mutations = m.mutations
	}
	return o
}

// guard runs f, recording a panic from it, or a runtime.Goexit that ends
// f without returning (the goroutine then ends after guard's deferred
// call); it reports whether f failed either way. what names f in the
// Goexit message.
func (m *monitor) guard(what string, f func()) (failed bool) {
	returned := false
	defer func() {
		if v := recover(); v != nil {
			failed = true
			m.recovered(v, debug.Stack())
		} else if !returned {
			failed = true
			// Goexit unwinds through every guard on the goroutine: the
			// innermost one, which names the call, reports it.
			if !m.goexited.Swap(true) {
				m.fail(result.Contract, "contract: "+what+" did not return (runtime.Goexit)")
			}
		}
	}()
	f()
	returned = true
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

// probe is the callback registered for one finalizer; it is also the
// contract ledger's record of it. Probes come in slabs (ledger.probes) and
// are kept small: the stress scenario allocates one per finalizer.
type probe struct {
	l *ledger
	// calls counts the callback's calls, plus clearedMark once the ledger
	// counts it as cleared uncalled (ledger.markCleared).
	calls atomic.Int32
	// state holds the cancel bits and notAliveMark.
	state atomic.Uint32

	// handle is the finalizer's handle, set once Register returns and read
	// only under the ledger's lock (add happens after it is set), or by
	// the goroutine that registered it; seq is its key's creation number,
	// for messages from callbacks, which may run before Register returns.
	handle finalizer.Handle
	seq    atomic.Uint64
	prio   finalizer.Priority
	// during is the id of the Run in progress when the callback was first
	// called, as the ledger saw it (0: none, or several). Where the
	// scenario keeps the objects alive (ledger.alive), so that no GC
	// cleanup can call, a call during a Run is that Run's.
	during atomic.Uint64
}

// The bits of probe.state.
const (
	cancelling   = 1 << iota // Cancel is in progress
	cancelled                // Cancel returned true: excused from every Run, never to be called
	refused                  // Cancel returned false: someone else had removed it
	notAliveMark             // Alive said it was not registered right after Register, with no Run in progress
	reportedMark             // a call after Cancel was reported
	cancelCall               // the callback ran while Cancel was in progress
)

// excused reports whether p was cancelled, or is being cancelled: no Run
// owes it a call.
func (p *probe) excused() bool { return p.state.Load()&(cancelling|cancelled) != 0 }

func (p *probe) fire() {
	run := p.l.current.Load()
	p.during.CompareAndSwap(0, run)
	n := p.calls.Add(1)
	if n&clearedMark != 0 {
		n &^= clearedMark
		if n == 1 {
			// Uncounted before it is counted as called, so that the
			// sum teardown waits for never runs ahead of the calls.
			p.l.clearedUncalledN.Add(-1)
		}
	}
	if n != 1 {
		p.l.mon.fail(result.DoubleCall, fmt.Sprintf("double-call: finalizer %s called %d times", p.label(), n))
		return
	}
	p.l.iv.calledOnce.Add(1)
	st := p.state.Load()
	if st&cancelling != 0 {
		p.state.Or(cancelCall)
	}
	switch {
	case st&cancelled != 0:
		p.reportCancelledCall()
	case st&notAliveMark != 0:
		p.l.mon.fail(result.Contract, fmt.Sprintf("contract: Alive lies: it said finalizer %s was not registered right after Register returned (its object held, no Run in progress), yet it was called %s", p.label(), callerText(run)))
	}
}

// callerText says who called a finalizer, as far as the ledger can tell
// from the Run in progress at the call.
func callerText(run uint64) string {
	if run == 0 {
		return "with no single Run in progress (by a GC cleanup, an explicit Call, or one of several Runs)"
	}
	return fmt.Sprintf("during Run %d", run)
}

// reportCancelledCall reports, once, that p's callback ran although Cancel
// reported it removed p.
func (p *probe) reportCancelledCall() {
	if p.state.Or(reportedMark)&reportedMark != 0 {
		return
	}
	by := callerText(p.during.Load())
	if p.state.Load()&cancelCall != 0 {
		by = "by Cancel itself (or by someone racing it)"
	}
	p.l.mon.fail(result.Contract, fmt.Sprintf("contract: cancelled finalizer %s was called %s; Cancel returned true, so no one may call it", p.label(), by))
}

// clearedMark flags, in probe.calls, a probe the ledger counts as cleared
// uncalled.
const clearedMark = 1 << 30

// called reports whether the callback was called.
func (p *probe) called() bool { return p.calls.Load()&^clearedMark > 0 }

// setHandle records the handle Register returned; it reports whether
// there is one.
func (p *probe) setHandle(h finalizer.Handle) bool {
	if h == nil {
		return false
	}
	p.handle = h
	p.seq.Store(h.Key().Seq)
	return true
}

// alive reports whether the finalizer is still registered; call it under
// the ledger's lock.
func (p *probe) alive() bool { return p.handle != nil && p.handle.Alive() }

// label names the finalizer in messages: its name (ledger.setName) and
// key, e.g. "d01 (0, 17)".
func (p *probe) label() string {
	var key string
	if seq := p.seq.Load(); seq != 0 {
		key = finalizer.Key{Priority: p.prio, Seq: seq}.String()
	}
	name := p.l.name(p)
	switch {
	case name != "" && key != "":
		return name + " " + key
	case name != "":
		return name
	}
	return key
}

// teardown is the original test's tearDown: with every object dropped, run
// the GC until the cleanups have drained, call Run() once more, then check
// that the registry is empty and that every one of the registered
// finalizers was called exactly once or, by design, cancelled or dropped by
// Run's clear. Every wait ends by until (teardownUntil), before the
// trial's watchdog: a callback that has not come by then is lost.
//
// registered counts the finalizers registered, all on objects now garbage
// when drain is set; it may grow while cleanups drain (reentrant
// callbacks). Scenarios whose objects are still alive do not drain.
func teardown(m *monitor, iv *invariants, led *ledger, reg finalizer.Registry, registered func() uint64, until time.Time, drain bool) {
	if drain && !quiesceOr(until, cleanupsCaughtUp(reg, registered)) {
		m.warn("teardown: the GC's cleanups did not drain within the trial's teardown budget")
	}
	if m.failed() && !m.keepGoing {
		return // the trial's outcome is decided; a second report would count it twice
	}
	if led.run(reg, finalizer.NoPriority) {
		return
	}
	led.clearedByLastRun()
	// Callbacks in flight: GC cleanups that removed their entry before the
	// last Run. Once the cleanups have drained (or the budget is spent),
	// a callback that has not come never will.
	settleUntil := until
	if t := time.Now().Add(settleWait); t.Before(until) {
		settleUntil = t
	}
	quiesceOr(settleUntil, led.settled)
	// And lostGrace for a registry that calls back from goroutines of its
	// own, which the cleanup queue does not show.
	graceUntil := time.Now().Add(lostGrace)
	if graceUntil.After(until) {
		graceUntil = until
	}
	for i := 0; !led.settled() && time.Now().Before(graceUntil); i++ {
		pause(i)
	}
	led.resolve(true)
	if m.failed() && !m.keepGoing {
		return
	}
	if n := reg.Len(); n != 0 {
		m.fail(result.Lost, fmt.Sprintf("lost: registry holds %d entries at teardown", n))
		return
	}
	// Dropped and cancelled finalizers are counted by the ledger, from
	// what the handles say, so that a registry that reports no events is
	// judged the same.
	accounted := func() uint64 {
		return iv.calledOnce.Load() + max(iv.cancelled.Load(), led.cancelledN.Load()) + led.clearedUncalled()
	}
	settle(func() bool { led.clearedByLastRun(); return accounted() >= registered() }, settleUntil)
	led.clearedByLastRun()
	if n, a := registered(), accounted(); a < n {
		m.fail(result.Lost, fmt.Sprintf("lost: %d of %d finalizers never called, cancelled or dropped", n-a, n))
	}
}

// cleanupsCaughtUp returns, for a registry that counts its cleanups, a
// function that reports whether they have caught up with the finalizers
// registered; nil for one that does not.
func cleanupsCaughtUp(reg finalizer.Registry, registered func() uint64) func() bool {
	src, ok := reg.(finalizer.StatsSource)
	if !ok {
		return nil
	}
	return func() bool { return src.Stats().Cleanups >= registered() }
}

// settleWait bounds how long teardown's checks wait for callbacks in
// flight after its last Run, within the trial's teardown budget. The wait
// ends as soon as the GC's cleanups have drained, so it is paid in full
// only by a registry whose callbacks come from goroutines of its own.
var settleWait = 2 * time.Second

// settle runs the GC until done reports true, or until the cleanups have
// drained with done still false, or until passes; it returns done's last
// answer.
func settle(done func() bool, until time.Time) bool {
	for i := 0; !done(); i++ {
		if !time.Now().Before(until) {
			return false
		}
		if i > 0 && cleanupsIdle() {
			// Every cleanup queued has run after a GC: one more
			// cycle, then done's answer is final.
			quiesce(until)
			return done()
		}
		runtime.GC()
		pause(i)
	}
	return true
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
