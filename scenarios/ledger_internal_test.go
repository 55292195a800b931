package scenarios

import (
	"testing"

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
