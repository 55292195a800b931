package scenarios

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/result"
)

// ledger checks Run's whole contract from what the callbacks and the
// registry's handles report, so that a registry that breaks it without
// panicking is caught, whether or not it reports events:
//
//   - every finalizer registered before a Run began, with a priority of at
//     least its minimum and not removed meanwhile by someone else, is called
//     by that Run;
//   - after Run(NoPriority) returns, no finalizer registered before it
//     began is still registered;
//   - where the scenario keeps every object alive (so that no GC cleanup
//     can call back), a Run calls no finalizer below its minimum and none
//     without a priority;
//   - every Run returns (a panic, or runtime.Goexit, is a failure);
//   - a finalizer cancelled (Handle.Cancel returned true) is excused from
//     every later Run and is never called, by anyone;
//   - a Handle's Alive reports what the registry holds: false after Cancel,
//     true right after Register when nothing could have removed it.
//
// "Registered before a Run began" means that Register had returned and the
// finalizer was added to the ledger before the Run was called. A finalizer
// that a Run left unregistered but uncalled may still be in the hands of a
// GC cleanup about to call it, or of another Run: it is lost once every
// cleanup queued before the check has run and every Run then under way has
// returned, and it is reported then, at a later Run's check or at teardown,
// unless another Run overlapped (and may have cleared it, as Run(NoPriority)
// does with what it did not see). A clear is taken to be one atomic step, as
// CPython's dict.clear() under the GIL: that is what tells a registration
// dropped while a Run was under way from one that Run cleared (see
// checkBatch).
type ledger struct {
	mon *monitor
	iv  *invariants
	// alive is set when the scenario keeps every registered object alive
	// while it calls Run, so that a call during a Run is that Run's.
	alive bool

	next    atomic.Uint64 // registration index of the next batch
	runs    atomic.Uint64 // Run ids handed out
	current atomic.Uint64 // the Run in progress when only one is
	active  atomic.Int32  // Runs in progress
	starts  atomic.Uint64 // Runs started

	// inRun holds the ids of the Runs in progress; lastEnded is the
	// highest id of a Run that returned.
	runsMu    sync.Mutex
	inRun     map[uint64]struct{}
	lastEnded uint64

	// cancelledN counts the finalizers the ledger cancelled (Cancel
	// returned true).
	cancelledN atomic.Uint64
	// lastIdle is when the GC's cleanup queue was last seen idle (every
	// cleanup queued had run), in Unix nanoseconds (noteIdle).
	lastIdle atomic.Int64

	mu sync.Mutex
	// pending holds the batches of finalizers registered and not yet
	// settled by a Run, ascending idx.
	pending   []batch
	unsettled []unsettled
	suspects  []suspect
	// clearedUncalledN counts the finalizers a Run(NoPriority) may have
	// cleared without a call, as it is allowed to (those without a
	// priority, and those registered while it ran), and that nobody called
	// since. The ledger keeps no list of them, which would keep them and
	// their slabs alive to teardown: markCleared flags the probe and counts
	// it, fire uncounts it if it is called after all.
	clearedUncalledN atomic.Int64

	namesMu sync.Mutex
	names   map[*probe]string // names given by setName, for messages
}

// batch is probes that add recorded at once: they share the registration
// index and whether their registration overlapped a Run.
type batch struct {
	idx uint64 // registration index
	// overlapped: the registrations overlapped a Run, which may have
	// cleared them uncalled.
	overlapped bool
	ps         []probe
}

// unsettled is a finalizer that Run run had to call and that was found
// removed from the registry but uncalled: its remover may still be about to
// call it.
type unsettled struct {
	p   *probe
	run uint64
	// mark is the last Run id handed out when it was found: the Runs up to
	// it may still be calling it.
	mark uint64
	at   time.Time
}

// suspectKind says why a finalizer is suspected lost at registration.
type suspectKind uint8

const (
	// dropped: right after Register returned, while a Run was under way,
	// it was gone uncalled while one registered before it was not: no
	// atomic clear removed it, only a Run then under way may be calling it.
	dropped suspectKind = iota + 1
	// unregistered: right after Register returned, with no Run in
	// progress, Alive said it was not registered: either it never was, or
	// Alive lies (then its call, which must come, says so).
	unregistered
)

// suspect is a finalizer found gone right after its registration.
type suspect struct {
	p       *probe
	kind    suspectKind
	by      string // who registered it, e.g. "maker 0"
	run     uint64 // the Run in progress then, or the last one begun (0: none)
	mark    uint64 // the last Run id handed out then
	witness *probe // dropped: the earlier finalizer still registered
}

func newLedger(iv *invariants, alive bool) *ledger {
	return &ledger{mon: iv.mon, iv: iv, alive: alive, inRun: map[uint64]struct{}{}}
}

// probes returns n fresh probes of l, in one allocation: a set's
// finalizers share it (a slab), so that the ledger costs one allocation
// per set rather than one per finalizer.
func (l *ledger) probes(n int) []probe {
	ps := make([]probe, n)
	for i := range ps {
		ps[i].l = l
	}
	return ps
}

// setName names p in messages.
func (l *ledger) setName(p *probe, name string) {
	l.namesMu.Lock()
	if l.names == nil {
		l.names = map[*probe]string{}
	}
	l.names[p] = name
	l.namesMu.Unlock()
}

func (l *ledger) name(p *probe) string {
	l.namesMu.Lock()
	defer l.namesMu.Unlock()
	return l.names[p]
}

// regToken marks when a batch of registrations began.
type regToken struct {
	starts uint64
	active bool
}

// begin is called before a batch of Register calls that add will record.
func (l *ledger) begin() regToken {
	s := l.starts.Load() // before active: see add
	return regToken{starts: s, active: l.active.Load() > 0}
}

// add records finalizers whose Register calls, begun at t, have returned:
// ps, which add takes over, all at one registration index (a Run either
// began before all of them were recorded or after). A finalizer whose
// registration overlapped a Run may have been registered while that Run
// was under way, and legitimately cleared by it uncalled: the later checks
// excuse it when it is gone uncalled (never when it is still registered).
func (l *ledger) add(t regToken, ps []probe) {
	// A Run counts itself active, then started: a Run that began after
	// begin's read of starts has moved starts by now, and one that began
	// before it was active at begin's read of active.
	overlapped := t.active || l.starts.Load() != t.starts
	l.mu.Lock()
	l.pending = append(l.pending, batch{idx: l.next.Add(1) - 1, overlapped: overlapped, ps: ps})
	l.mu.Unlock()
}

// checkBatch checks, right after they were registered and added, that the
// finalizers ps, registered by by in this order, begun at t, whose objects
// the caller still holds, are registered; call it before anyone may cancel
// or call them. prev and sentinel, if not nil, are finalizers by registered
// before them.
// Alive is read from the last to the first, so that a finalizer found gone
// uncalled while one registered before it is then found still registered
// proves that no clear removed it (a clear removes both): only a Run under
// way may be about to call it, and it is lost (dropped by Register) if none
// does. With no Run in progress at all, nothing could remove any of ps: one
// found gone either never was registered or Alive lies; its call, if it
// comes, says which.
func (l *ledger) checkBatch(t regToken, ps, prev, sentinel []probe, by string) {
	var gone []*probe
	var found []suspect
	witness := func(p *probe) {
		for _, g := range gone {
			found = append(found, suspect{p: g, kind: dropped, witness: p})
		}
		gone = gone[:0]
	}
	for j := len(ps) - 1; j >= 0; j-- {
		p := &ps[j]
		if p.handle == nil {
			continue
		}
		if !p.handle.Alive() {
			if !p.called() {
				gone = append(gone, p)
			}
			continue
		}
		witness(p)
	}
	// Finalizers gone with no witness among ps: one registered before
	// them will do.
	for _, earlier := range [][]probe{prev, sentinel} {
		for j := len(earlier) - 1; j >= 0 && len(gone) > 0; j-- {
			if p := &earlier[j]; p.handle != nil && p.handle.Alive() {
				witness(p)
			}
		}
	}
	if len(gone) == 0 && len(found) == 0 {
		return
	}
	// The Run under way, or the last one begun: the one that overlapped
	// the registrations (when several did, one of them).
	mark, run := l.runs.Load(), l.current.Load()
	if run == 0 {
		run = mark
	}
	quiet := !t.active && l.active.Load() == 0 && l.starts.Load() == t.starts
	if quiet {
		// No Run began or was under way from before the first Register
		// to after the last Alive: all of them are suspects.
		found = found[:0]
		for j := range ps {
			if p := &ps[j]; p.handle != nil && !p.called() && !p.handle.Alive() {
				p.state.Or(notAliveMark)
				found = append(found, suspect{p: p, kind: unregistered})
			}
		}
	}
	for i := range found {
		found[i].by, found[i].run, found[i].mark = by, run, mark
	}
	l.mu.Lock()
	l.suspects = append(l.suspects, found...)
	l.mu.Unlock()
}

// cancel cancels p's finalizer on behalf of by and checks what Cancel did:
// a Cancel that reports it removed the finalizer must not call it, nor may
// anyone later; and after Cancel returns, whatever it returned, the
// finalizer is no longer registered. It returns what Cancel returned.
func (l *ledger) cancel(p *probe, by string) bool {
	if p.handle == nil {
		return false
	}
	p.state.Or(cancelling)
	ok := p.handle.Cancel()
	if ok {
		p.state.Or(cancelled)
		l.cancelledN.Add(1)
		if p.called() {
			p.reportCancelledCall()
		}
	} else {
		p.state.Or(refused)
	}
	p.state.And(^uint32(cancelling))
	if !ok && !p.called() {
		// Someone else removed it: a GC cleanup or a Run about to call
		// it, or a Run(NoPriority)'s clear, as it may. A Run's check
		// that ran meanwhile skipped it (being cancelled): count it as
		// cleared, until a call in flight lands.
		l.markCleared(p)
	}
	if p.handle.Alive() {
		l.mon.fail(result.Contract, fmt.Sprintf("contract: finalizer %s is still registered after Cancel (by %s) returned %v: Cancel removed nothing, or Alive lies", p.label(), by, ok))
	}
	return ok
}

// run calls reg.Run(min) and checks the contract of that call; it reports
// whether the Run failed (panicked, did not return, or broke its contract).
func (l *ledger) run(reg finalizer.Registry, min finalizer.Priority) (failed bool) {
	id := l.runs.Add(1)
	l.runsMu.Lock()
	l.inRun[id] = struct{}{}
	l.runsMu.Unlock()
	before := l.next.Load()
	first := l.active.Add(1) == 1
	started := l.starts.Add(1)
	if first {
		l.current.Store(id)
	}
	// On a goroutine of its own, so that a Run that calls runtime.Goexit
	// ends only that goroutine; the guard records it.
	done, returned := make(chan struct{}), false
	go func() {
		defer close(done)
		failed = l.mon.guard(fmt.Sprintf("Run %d (min %v)", id, min), func() { reg.Run(min) })
		returned = true
	}()
	<-done
	failed = failed || !returned
	overlapped := !first || l.starts.Load() != started
	l.current.CompareAndSwap(id, 0)
	l.active.Add(-1)
	l.runsMu.Lock()
	delete(l.inRun, id)
	l.lastEnded = max(l.lastEnded, id)
	l.runsMu.Unlock()
	if failed {
		return true
	}
	failed = l.check(id, min, before, overlapped)
	return l.resolve(false) || failed
}

// ended reports whether every Run up to id mark has returned and, when
// after is set, one begun after mark has too.
func (l *ledger) ended(mark uint64, after bool) bool {
	l.runsMu.Lock()
	defer l.runsMu.Unlock()
	if after && l.lastEnded <= mark {
		return false
	}
	for id := range l.inRun {
		if id <= mark {
			return false
		}
	}
	return true
}

func eligible(p, min finalizer.Priority) bool {
	return p.IsSet() && (!min.IsSet() || p.Value() >= min.Value())
}

// check settles the finalizers registered before Run id began.
func (l *ledger) check(id uint64, min finalizer.Priority, before uint64, overlapped bool) (failed bool) {
	l.mu.Lock()
	n := sort.Search(len(l.pending), func(i int) bool { return l.pending[i].idx >= before })
	var keep []batch
	fail := func(format string, args ...any) {
		failed = true
		l.mon.fail(result.Contract, "contract: "+fmt.Sprintf(format, args...))
	}
	// stale are the finalizers Alive says are still registered when the
	// Run should have removed them: checked once the lock is released.
	var stale []*probe
	var later []unsettled
	now := time.Now()
	for _, b := range l.pending[:n] {
		for i := range b.ps {
			p := &b.ps[i]
			if p.excused() {
				continue // cancelled: no Run owes it anything
			}
			called := p.called()
			ranIt := l.alive && !overlapped && p.during.Load() == id
			switch {
			case eligible(p.prio, min) && called:
			case eligible(p.prio, min) && p.alive():
				stale = append(stale, p)
			case eligible(p.prio, min):
				switch {
				case overlapped || b.overlapped:
					l.markCleared(p)
				case l.alive:
					// Every object is held and no other Run was under
					// way: only this Run can have removed it.
					fail("Run %d (min %v) returned without calling finalizer %s, registered before it began; it was removed from the registry but never called", id, min, p.label())
				default:
					later = append(later, unsettled{p: p, run: id, mark: l.runs.Load(), at: now})
				}
			case ranIt:
				fail("Run %d (min %v) called finalizer %s, which it must not call (priority %v)", id, min, p.label(), p.prio)
			case !min.IsSet() && p.alive():
				stale = append(stale, p)
			case called:
				// called by someone else
			case !min.IsSet():
				l.markCleared(p)
			default:
				// Below min: still registered, for a later Run. The
				// slab is shared, not copied: the registry's callback
				// holds this very probe.
				keep = append(keep, batch{idx: b.idx, overlapped: b.overlapped, ps: b.ps[i : i+1 : i+1]})
			}
		}
	}
	if len(keep) == 0 {
		// Reuse the array: move the rest down, and drop the references
		// past it so that settled slabs can be collected.
		m := copy(l.pending, l.pending[n:])
		clear(l.pending[m:])
		l.pending = l.pending[:m]
	} else {
		l.pending = append(keep, l.pending[n:]...)
	}
	l.unsettled = append(l.unsettled, later...)
	l.mu.Unlock()
	// A finalizer Alive says is still registered: Cancel tells whether it
	// is (then the Run broke its contract, and the finalizer is removed,
	// excused from later checks) or Alive lies. Outside the lock: Cancel
	// may call back (wrongly), and a callback may register.
	for _, p := range stale {
		p.state.Or(cancelling)
		if !p.handle.Cancel() {
			p.state.Or(refused)
			p.state.And(^uint32(cancelling))
			// Unless a GC cleanup removed it since and is calling it.
			for i := 0; i < 1000 && !p.called() && !cleanupsIdle(); i++ {
				pause(i)
			}
			if p.called() {
				fail("Run %d (min %v) returned without calling finalizer %s, registered before it began; it was still registered (a GC cleanup called it since)", id, min, p.label())
				continue
			}
			fail("Alive lies: it says finalizer %s, registered before Run %d (min %v) began, is still registered after it returned, but Cancel finds it is not", p.label(), id, min)
			if !p.called() {
				l.markCleared(p) // reported: not lost a second time at teardown
			}
			continue
		}
		p.state.Or(cancelled)
		p.state.And(^uint32(cancelling))
		l.cancelledN.Add(1)
		if eligible(p.prio, min) {
			fail("Run %d (min %v) returned without calling finalizer %s, registered before it began; it is still registered", id, min, p.label())
		} else {
			fail("Run %d (min none) returned but finalizer %s, registered before it began, is still registered: Run(NoPriority) must clear the registry", id, p.label())
		}
	}
	return failed
}

// markCleared records that a Run may have cleared p without a call; p
// counts as cleared uncalled until it is called.
func (l *ledger) markCleared(p *probe) {
	if p.excused() {
		return // counted as cancelled
	}
	if p.calls.CompareAndSwap(0, clearedMark) {
		l.clearedUncalledN.Add(1)
	}
}

// clearedByLastRun settles, after the trial's last Run(NoPriority), the
// finalizers whose registration overlapped a Run (reentrant callbacks,
// called by that Run or by GC cleanups while it ran, register them): no
// later Run will check them, and that Run may clear them uncalled, as it
// may those registered while any Run(NoPriority) runs. Those gone from the
// registry uncalled count as cleared (until a call in flight lands); those
// still registered are left to teardown's emptiness check. A registration
// can reach the ledger after the Run returned (a cleanup's callback
// registering concurrently), so teardown calls it again before it counts.
func (l *ledger) clearedByLastRun() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.pending {
		if !b.overlapped {
			continue
		}
		for i := range b.ps {
			if p := &b.ps[i]; !p.alive() {
				l.markCleared(p)
			}
		}
	}
}

// clearedUncalled counts the finalizers that a Run cleared, as it may,
// and that nobody called.
func (l *ledger) clearedUncalled() uint64 { return uint64(l.clearedUncalledN.Load()) }

// lostGrace is the least time between finding a finalizer removed but
// uncalled and calling it lost before teardown: room for a registry that
// calls back from a goroutine of its own, beyond the cleanups and Runs the
// ledger waits for.
const lostGrace = 100 * time.Millisecond

// resolve reports the finalizers now proven lost: those a Run had to call,
// found removed uncalled, once every GC cleanup queued since has run and
// every Run then under way has returned; those dropped at registration,
// once every Run then under way has returned; those Alive said were never
// registered, once a Run begun after has returned. With final set (at
// teardown, once the cleanups have drained) every one still uncalled is
// lost. It reports whether it found any.
func (l *ledger) resolve(final bool) (failed bool) {
	l.mu.Lock()
	us, ss := l.unsettled, l.suspects
	l.unsettled, l.suspects = nil, nil
	l.mu.Unlock()
	if len(us) == 0 && len(ss) == 0 {
		return false
	}
	l.noteIdle()
	now := time.Now()
	// idleSince reports whether the cleanup queue was seen idle after t:
	// every cleanup queued before t had run by then.
	idleSince := func(t time.Time) bool { return final || l.lastIdle.Load() > t.UnixNano() }
	var lost []string
	var keepU []unsettled
	for _, u := range us {
		switch {
		case u.p.called() || u.p.excused():
		case final || idleSince(u.at) && now.Sub(u.at) >= lostGrace && l.ended(u.mark, false):
			lost = append(lost, fmt.Sprintf("lost: finalizer %s, registered before Run %d began, was removed from the registry but never called: not by Run %d, nor by whoever removed it (a GC cleanup or another Run)", u.p.label(), u.run, u.run))
		default:
			keepU = append(keepU, u)
		}
	}
	var keepS []suspect
	for _, s := range ss {
		switch {
		case s.p.called() || s.p.excused():
		case s.kind == dropped && (final || l.ended(s.mark, false)):
			lost = append(lost, fmt.Sprintf("lost: finalizer %s, registered by %s while %s was under way, was dropped: right after Register returned (its object held) it was not registered, while finalizer %s, registered before it, still was (so no clear removed it), and no Run called it", s.p.label(), s.by, runText(s.run), s.witness.label()))
		case s.kind == unregistered && (final || l.ended(s.mark, true) && cleanupsIdle()):
			lost = append(lost, fmt.Sprintf("lost: finalizer %s, registered by %s with no Run in progress, was never registered: Alive said so right after Register returned (its object held), and no Run begun after called it", s.p.label(), s.by))
		default:
			keepS = append(keepS, s)
		}
	}
	if len(keepU) > 0 || len(keepS) > 0 {
		l.mu.Lock()
		l.unsettled = append(l.unsettled, keepU...)
		l.suspects = append(l.suspects, keepS...)
		l.mu.Unlock()
	}
	for i, msg := range lost {
		if i == 3 {
			l.mon.fail(result.Lost, fmt.Sprintf("lost: and %d more finalizers removed or dropped without a call", len(lost)-i))
			break
		}
		l.mon.fail(result.Lost, msg)
	}
	return len(lost) > 0
}

// settled reports whether every finalizer found removed or dropped
// uncalled has been called since (or cancelled): none is left to resolve.
func (l *ledger) settled() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, u := range l.unsettled {
		if !u.p.called() && !u.p.excused() {
			return false
		}
	}
	for _, s := range l.suspects {
		if !s.p.called() && !s.p.excused() {
			return false
		}
	}
	return true
}

// noteIdle records the time if the GC's cleanup queue is idle now. The
// makers call it now and then, so that resolve knows of idle moments
// between its own calls.
func (l *ledger) noteIdle() {
	if cleanupsIdle() {
		l.lastIdle.Store(time.Now().UnixNano())
	}
}

// runText names the Run in progress, "Run 3", or "a Run" when the ledger
// could not tell which (0).
func runText(id uint64) string {
	if id == 0 {
		return "a Run"
	}
	return fmt.Sprintf("Run %d", id)
}
