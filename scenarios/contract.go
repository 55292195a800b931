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
//   - every Run returns (a panic, or runtime.Goexit, is a failure).
//
// "Registered before a Run began" means that Register had returned and the
// finalizer was added to the ledger before the Run was called. A finalizer
// that a Run left unregistered but uncalled may still be in the hands of a
// GC cleanup about to call it: it is settled at teardown, after the
// cleanups have drained, unless another Run overlapped (and may have
// cleared it, as Run(NoPriority) does with what it did not see).
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

	mu sync.Mutex
	// pending holds the batches of finalizers registered and not yet
	// settled by a Run, ascending idx.
	pending   []batch
	unsettled []unsettled
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

type unsettled struct {
	p   *probe
	run uint64
}

func newLedger(iv *invariants, alive bool) *ledger {
	return &ledger{mon: iv.mon, iv: iv, alive: alive}
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

// run calls reg.Run(min) and checks the contract of that call; it reports
// whether the Run failed (panicked, did not return, or broke its contract).
func (l *ledger) run(reg finalizer.Registry, min finalizer.Priority) (failed bool) {
	id := l.runs.Add(1)
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
	if failed {
		return true
	}
	return l.check(id, min, before, overlapped)
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
	var later []unsettled
	for _, b := range l.pending[:n] {
		for i := range b.ps {
			p := &b.ps[i]
			called := p.called()
			ranIt := l.alive && !overlapped && p.during.Load() == id
			switch {
			case eligible(p.prio, min) && called:
			case eligible(p.prio, min) && p.alive():
				fail("Run %d (min %v) returned without calling finalizer %s, registered before it began; it is still registered", id, min, p.label())
			case eligible(p.prio, min):
				if !overlapped && !b.overlapped {
					later = append(later, unsettled{p, id})
				} else {
					l.markCleared(p)
				}
			case ranIt:
				fail("Run %d (min %v) called finalizer %s, which it must not call (priority %v)", id, min, p.label(), p.prio)
			case !min.IsSet() && p.alive():
				fail("Run %d (min none) returned but finalizer %s, registered before it began, is still registered: Run(NoPriority) must clear the registry", id, p.label())
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
	return failed
}

// markCleared records that a Run may have cleared p without a call; p
// counts as cleared uncalled until it is called.
func (l *ledger) markCleared(p *probe) {
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

// settle fails every finalizer that a Run left unregistered but uncalled,
// and that nobody called since, waiting at most wait for callbacks still in
// flight. Call it after the GC cleanups have drained.
func (l *ledger) settle(wait time.Duration) {
	l.mu.Lock()
	us := l.unsettled
	l.unsettled = nil
	l.mu.Unlock()
	uncalled := func() []unsettled {
		var out []unsettled
		for _, u := range us {
			if !u.p.called() {
				out = append(out, u)
			}
		}
		return out
	}
	settle(func() bool { return len(uncalled()) == 0 }, wait)
	left := uncalled()
	for i, u := range left {
		if i == 3 {
			l.mon.fail(result.Contract, fmt.Sprintf("contract: and %d more finalizers removed without a call", len(left)-i))
			break
		}
		l.mon.fail(result.Contract, fmt.Sprintf("contract: Run %d returned without calling finalizer %s, registered before it began; it was removed from the registry but never called", u.run, u.p.label()))
	}
}
