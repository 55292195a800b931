package scenarios

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/result"
)

// FinalizeOrder is CPython's _test_finalize: a deterministic check of the
// callback order a, b, d10, d03, d02, d01, e.
var FinalizeOrder = &Scenario{
	Name:     "finalize-order",
	Doc:      "_test_finalize: collected, explicit, and exit-priority callbacks run in the order a, b, d10, d03, d02, d01, e",
	Outcomes: registryOutcomes,
	// Deterministic and single-threaded: every variant, the unfixed one
	// included, must pass it (the racy one only in a child process, as a
	// GC cleanup touches its map).
	Subjects: registries(map[string]Subject{
		"unfixed": {Role: result.Clean},
		"fixed":   {Role: result.Clean},
		"retry":   {Role: result.Clean},
		"racy":    {Role: result.Clean, Crashes: true},
		"locked":  {Role: result.Clean, Crashes: true},
	}),
	Defaults:  []string{"unfixed", "fixed"},
	Knobs:     registryKnobs,
	Presets:   presets,
	Normalize: splitRegistryThreads,
	Trial:     finalizeOrder,
}

// OrderWant is the callback order _test_finalize expects.
var OrderWant = []string{"a", "b", "d10", "d03", "d02", "d01", "e"}

// Beyond _test_finalize, the trial checks every Handle method: Alive right
// after each Register and after Call, Cancel, collection and Run(); a
// finalizer x, cancelled before the Runs, that no one may call; and a
// finalizer r, registered while Run(0) is under way (asked for by d10's
// callback), with a priority below 0: Run(0) must leave it registered and
// Run() must call it. Their callbacks are not part of the order.
const (
	cancelledName = "x"
	duringRunName = "r"
)

// reentryWait bounds how long d10's callback waits for r's registration,
// made by a goroutine of its own so that a registry that calls callbacks
// under its lock (the locked variant, clean here) cannot deadlock: then
// the registration waits for the Run to end, and the callback for it no
// longer than this. Any other registry registers r within microseconds:
// the goroutine is the next the callback's P runs once the callback waits.
const reentryWait = 500 * time.Millisecond

func finalizeOrder(ctx context.Context, env Env) Observation {
	mon := newMonitor(env, nil)
	mon.keepGoing = true // deterministic: run every check, tearDown's included
	iv := newInvariants(mon)
	// The test holds every object but a until the end, so no GC cleanup can
	// call back during a Run: a call during a Run is that Run's.
	led := newLedger(iv, true)
	reg, err := newRegistry(env, iv)
	if err != nil {
		return errorObservation(err)
	}
	start := env.now()
	begun := time.Now()
	until := teardownUntil(env, begun)
	contract := func(format string, args ...any) {
		mon.fail(result.Contract, "contract: "+fmt.Sprintf(format, args...))
	}

	var mu sync.Mutex
	var got []string
	var registered atomic.Uint64
	probes := map[string]*probe{}
	register := func(obj any, name string, pr finalizer.Priority, extra func()) *probe {
		registered.Add(1)
		ps := led.probes(1)
		p := &ps[0]
		p.prio = pr
		led.setName(p, name)
		cb := func() {
			p.fire()
			if extra != nil {
				extra()
				return
			}
			mu.Lock()
			got = append(got, name)
			mu.Unlock()
		}
		t := led.begin()
		h := reg.Register(obj, cb, pr)
		if !p.setHandle(h) {
			panic(fmt.Sprintf("Register(%s) returned a nil Handle", name))
		}
		led.add(t, ps)
		mu.Lock()
		probes[name] = p
		mu.Unlock()
		return p
	}
	// registerHeld registers a finalizer on an object the test holds (or
	// none) with no Run in progress: nothing may remove it, so Alive must
	// say it is registered.
	registerHeld := func(obj any, name string, pr finalizer.Priority, extra func()) *probe {
		p := register(obj, name, pr, extra)
		if !p.handle.Alive() && !p.called() {
			// Never registered, or Alive lies: its call, if it comes, says which.
			p.state.Or(notAliveMark)
			contract("Alive says finalizer %s is not registered right after Register returned it (its object held, no Run in progress)", p.label())
		}
		return p
	}

	var c, d10, d01, d02, d03, x, r *foo
	var rp *probe
	var reentry sync.WaitGroup
	// d10's callback, the first of Run(0)'s, has r registered while Run(0)
	// is under way.
	d10cb := func() {
		done := make(chan struct{})
		reentry.Add(1)
		go func() {
			defer reentry.Done()
			defer close(done)
			p := register(r, duringRunName, finalizer.P(-5), func() {})
			mu.Lock()
			rp = p
			mu.Unlock()
		}()
		t := time.NewTimer(reentryWait)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
		}
		mu.Lock()
		got = append(got, "d10")
		mu.Unlock()
	}
	body := func() {
		var wa weak.Pointer[foo]
		var pa *probe
		func() {
			a := &foo{}
			a.ref = a
			wa = weak.Make(a)
			pa = register(a, "a", finalizer.NoPriority, nil)
		}() // del a: the GC collects it and calls back
		if !collect(ctx, wa, until) {
			mon.fail(result.Error, fmt.Sprintf("error: the GC did not collect object a within %v", time.Since(begun).Round(time.Millisecond)))
			return
		}
		// Collected: once the cleanups queued have run, a's callback has
		// come, or never will.
		quiesce(until)
		switch {
		case !pa.called() && pa.handle.Alive():
			mon.fail(result.Lost, fmt.Sprintf("lost: finalizer %s: its object was collected, but no GC cleanup removed it or called it", pa.label()))
		case !pa.called():
			mon.fail(result.Lost, fmt.Sprintf("lost: finalizer %s: its object was collected and its entry removed, but its callback never came (the GC cleanup did not call it)", pa.label()))
		case pa.handle.Alive():
			contract("Alive says finalizer %s is registered after its object was collected and its callback called", pa.label())
		}
		b := &foo{}
		pb := registerHeld(b, "b", finalizer.NoPriority, nil)
		if !pb.handle.Call() {
			contract("Call of finalizer %s returned false, though it was registered (its object held, no Run in progress)", pb.label())
		}
		if pb.handle.Alive() {
			contract("Alive says finalizer %s is registered after Call removed it and called it", pb.label())
		}
		if pb.handle.Call() { // calling twice should do nothing
			contract("a second Call of finalizer %s returned true", pb.label())
		}
		c, d10, d01, d02, d03, r = &foo{}, &foo{}, &foo{}, &foo{}, &foo{}, &foo{}
		registerHeld(c, "c", finalizer.NoPriority, nil) // no priority: never called
		registerHeld(d10, "d10", finalizer.P(1), d10cb)
		registerHeld(d01, "d01", finalizer.P(0), nil)
		registerHeld(d02, "d02", finalizer.P(0), nil)
		registerHeld(d03, "d03", finalizer.P(0), nil)
		registerHeld(nil, "e", finalizer.P(-10), nil)
		registerHeld(nil, "STOP", finalizer.P(-100), nil)
		// x: cancelled before any Run; no one may call it.
		x = &foo{}
		px := registerHeld(x, cancelledName, finalizer.P(5), func() {})
		if !led.cancel(px, "the test") {
			contract("Cancel of finalizer %s returned false, though it was registered (its object held, no Run in progress)", px.label())
		}
		if px.handle.Cancel() {
			contract("a second Cancel of finalizer %s returned true", px.label())
		}
		if px.handle.Call() {
			contract("Call of cancelled finalizer %s returned true", px.label())
		}
		// multiprocessing's _exit_function: _run_finalizers(0), then _run_finalizers().
		if led.run(reg, finalizer.P(0)) {
			reentry.Wait()
			return
		}
		reentry.Wait()
		mu.Lock()
		p := rp
		mu.Unlock()
		if p != nil {
			// Run 1 may not call r (below its minimum) nor clear it (it
			// has a minimum), and r's object is held.
			// What the registry holds now: c, e, STOP and r.
			const holds = 4
			switch {
			case p.called():
				contract("Run 1 (min 0) called finalizer %s, registered while it was under way, below its minimum (priority -5)", p.label())
			case p.handle.Alive():
			case reg.Len() == holds:
				contract("Alive says finalizer %s is not registered after Run 1 (min 0) returned, but the registry holds %d entries, as it does with it (c, e, STOP and r): Alive lies", p.label(), holds)
			default:
				mon.fail(result.Lost, fmt.Sprintf("lost: finalizer %s, registered by d10's callback while Run 1 (min 0) was under way, was dropped: it is not registered after Run 1 returned (the registry holds %d entries, not %d), and no one called it (Run 1 may neither call nor clear it; its object is held)", p.label(), reg.Len(), holds))
			}
		}
		if led.run(reg, finalizer.NoPriority) {
			return
		}
		// Run() clears the registry: no handle may say it is registered.
		if n := reg.Len(); n != 0 {
			return // teardown reports it
		}
		mu.Lock()
		names := slices.Sorted(maps.Keys(probes))
		mu.Unlock()
		for _, name := range names {
			if p := probes[name]; p.handle.Alive() {
				contract("Alive says finalizer %s is registered after Run 2 (min none) returned, with the registry empty (Len 0): Alive lies", p.label())
			}
		}
		runtime.KeepAlive([]*foo{b, c, d10, d01, d02, d03, x, r})
	}
	// On a goroutine of its own, so that a registry calling runtime.Goexit
	// ends only that goroutine: the guard records it.
	done := make(chan struct{})
	go func() {
		defer close(done)
		mon.guard("the test body", body)
	}()
	<-done
	duration := env.now().Sub(start)
	mu.Lock()
	seen := slices.Clone(got)
	mu.Unlock()
	if !mon.failed() {
		if n := len(seen); n == 0 || seen[n-1] != "STOP" {
			mon.fail(result.Order, fmt.Sprintf("order: got %v, want %v then STOP", seen, OrderWant))
		} else if !slices.Equal(seen[:n-1], OrderWant) {
			mon.fail(result.Order, fmt.Sprintf("order: got %v, want %v", seen[:n-1], OrderWant))
		}
	}
	counts := countsOf(reg)
	// Objects c and d* are still in the test's hands until here, so there is
	// nothing to drain: tearDown only checks the registry and the calls.
	teardown(mon, iv, led, reg, registered.Load, until, false)
	return mon.observation(duration, counts)
}

func countsOf(reg finalizer.Registry) result.Counts {
	var c result.Counts
	fillCounts(&c, reg)
	return c
}

// collect runs the GC until w's object is collected, ctx is done or until
// passes; it reports whether the object was collected.
func collect(ctx context.Context, w weak.Pointer[foo], until time.Time) bool {
	for i := 0; ; i++ {
		runtime.GC()
		if w.Value() == nil {
			return true
		}
		if ctx.Err() != nil || !time.Now().Before(until) {
			return false
		}
		pause(i)
	}
}
