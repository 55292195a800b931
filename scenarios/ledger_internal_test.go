package scenarios

import (
	"math"
	"testing"
	"unsafe"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/result"
)

// A finalizer the ledger counts as cleared uncalled stops counting once it
// is called after all, and a second call is still a double call.
func TestClearedUncalledCountsOnlyUncalledProbes(t *testing.T) {
	mon := newMonitor(Env{}, nil)
	mon.keepGoing = true
	led := newLedger(newInvariants(mon), false)
	ps := led.probes(3)
	led.setName(&ps[2], "c")

	led.markCleared(&ps[0]) // cleared, never called
	ps[1].fire()
	led.markCleared(&ps[1]) // called before the check: not counted
	led.markCleared(&ps[2]) // cleared, then called by a cleanup in flight
	if got := led.clearedUncalled(); got != 2 {
		t.Fatalf("clearedUncalled = %d before the late call, want 2", got)
	}
	ps[2].fire()
	if got := led.clearedUncalled(); got != 1 {
		t.Fatalf("clearedUncalled = %d after the late call, want 1", got)
	}
	if got := led.iv.calledOnce.Load(); got != 2 {
		t.Fatalf("calledOnce = %d, want 2", got)
	}
	if !ps[2].called() || ps[0].called() {
		t.Fatalf("called: got %v and %v, want true and false", ps[2].called(), ps[0].called())
	}
	if mon.failed() {
		t.Fatalf("unexpected failure: %v", mon.observation(0, result.Counts{}).FirstError)
	}
	ps[2].fire()
	if got := led.clearedUncalled(); got != 1 {
		t.Fatalf("clearedUncalled = %d after a double call, want 1", got)
	}
	o := mon.observation(0, result.Counts{})
	if o.Failures[result.DoubleCall] != 1 || o.FirstError != "double-call: finalizer c called 2 times" {
		t.Fatalf("double call: failures %v, first error %q", o.Failures, o.FirstError)
	}
}

// A probe keeps its finalizer's priority, NoPriority included, in its
// compact form, and its slab stays as small as the stress scenario needs:
// a set of 10 finalizers in one 416-byte size class.
func TestProbeKeepsPriorityCompactly(t *testing.T) {
	if got := unsafe.Sizeof(probe{}); got > 40 {
		t.Errorf("a probe is %d bytes, want at most 40: the stress scenario allocates one per finalizer", got)
	}
	led := newLedger(newInvariants(newMonitor(Env{}, nil)), false)
	p := &led.probes(1)[0]
	if got := p.priority(); got != finalizer.NoPriority {
		t.Errorf("a fresh probe's priority is %v, want none", got)
	}
	for _, pr := range []finalizer.Priority{finalizer.P(0), finalizer.P(-5), finalizer.P(1), finalizer.P(1e6 + 1), finalizer.P(math.MaxInt32), finalizer.P(math.MinInt32 + 1), finalizer.NoPriority} {
		p.setPrio(pr)
		if got := p.priority(); got != pr {
			t.Errorf("setPrio(%v): priority() = %v", pr, got)
		}
	}
	for _, v := range []int{math.MinInt32, math.MaxInt32 + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("setPrio(P(%d)) did not panic", v)
				}
			}()
			p.setPrio(finalizer.P(v))
		}()
	}
}

// A probe remembers the Run during which it was first called; an id too
// large to keep matches no Run, and is never taken for one.
func TestProbeCalledDuring(t *testing.T) {
	led := newLedger(newInvariants(newMonitor(Env{}, nil)), false)
	ps := led.probes(2)
	ps[0].setDuring(7)
	ps[0].setDuring(8) // only the first call counts
	if !ps[0].calledDuring(7) || ps[0].calledDuring(8) || ps[0].calledDuring(0) {
		t.Errorf("calledDuring after a call during Run 7: 7 %v, 8 %v, 0 %v", ps[0].calledDuring(7), ps[0].calledDuring(8), ps[0].calledDuring(0))
	}
	big := uint64(duringUnknown) + 7
	ps[1].setDuring(big)
	if ps[1].calledDuring(big) || ps[1].calledDuring(7) || ps[1].calledDuring(duringUnknown) {
		t.Errorf("a Run id past 32 bits matched a Run")
	}
}

// add prunes, once pending has grown, the batches whose finalizers all
// have a priority and were called: no Run's check can fail or settle them
// any more. It keeps the others, in order, and prunes nothing where a
// Run's check still looks at called finalizers (ledger.alive).
func TestAddPrunesBatchesCalledEarly(t *testing.T) {
	for _, alive := range []bool{false, true} {
		led := newLedger(newInvariants(newMonitor(Env{}, nil)), alive)
		var kept []*probe
		for i := range minPrune {
			ps := led.probes(2)
			ps[0].setPrio(finalizer.P(1))
			ps[1].setPrio(finalizer.P(2))
			switch i % 4 {
			case 0: // all called: pruned
				ps[0].fire()
				ps[1].fire()
			case 1: // one uncalled: kept
				ps[0].fire()
				kept = append(kept, &ps[0])
			case 2: // called, but one has no priority: kept
				ps[1].setPrio(finalizer.NoPriority)
				ps[0].fire()
				ps[1].fire()
				kept = append(kept, &ps[0])
			case 3: // cleared uncalled: kept
				led.markCleared(&ps[0])
				led.markCleared(&ps[1])
				kept = append(kept, &ps[0])
			}
			led.add(led.begin(), ps)
		}
		want := minPrune - minPrune/4
		if alive {
			want = minPrune
		}
		if len(led.pending) != want {
			t.Fatalf("alive %v: %d batches pending after %d adds, want %d", alive, len(led.pending), minPrune, want)
		}
		if alive {
			continue
		}
		for i, b := range led.pending {
			if &b.ps[0] != kept[i] {
				t.Fatalf("pending[%d] is not the %d-th batch kept", i, i)
			}
			if i > 0 && b.idx <= led.pending[i-1].idx {
				t.Fatalf("pending out of order at %d", i)
			}
		}
		if led.pruneAt != 2*want {
			t.Errorf("pruneAt = %d after a prune that left %d, want %d", led.pruneAt, want, 2*want)
		}
	}
}
