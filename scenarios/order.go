package scenarios

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

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

	var mu sync.Mutex
	var got []string
	collected := make(chan struct{})
	var registered uint64
	register := func(obj any, name string, pr finalizer.Priority) finalizer.Handle {
		registered++
		ps := led.probes(1)
		p := &ps[0]
		p.prio = pr
		led.setName(p, name)
		cb := func() {
			p.fire()
			mu.Lock()
			got = append(got, name)
			mu.Unlock()
		}
		if name == "a" {
			inner := cb
			var once sync.Once
			cb = func() { inner(); once.Do(func() { close(collected) }) }
		}
		t := led.begin()
		h := reg.Register(obj, cb, pr)
		if !p.setHandle(h) {
			panic(fmt.Sprintf("Register(%s) returned a nil Handle", name))
		}
		led.add(t, ps)
		return h
	}

	var c, d10, d01, d02, d03 *foo
	body := func() {
		func() {
			a := &foo{}
			a.ref = a
			register(a, "a", finalizer.NoPriority)
		}() // del a: the GC collects it and calls back
		if !waitCollected(ctx, collected, 10*time.Second) {
			mon.fail(result.Error, "error: the GC did not collect object a within 10s")
			return
		}
		b := &foo{}
		closeB := register(b, "b", finalizer.NoPriority)
		closeB.Call()
		closeB.Call() // calling twice should do nothing
		c, d10, d01, d02, d03 = &foo{}, &foo{}, &foo{}, &foo{}, &foo{}
		register(c, "c", finalizer.NoPriority) // no priority: never called
		register(d10, "d10", finalizer.P(1))
		register(d01, "d01", finalizer.P(0))
		register(d02, "d02", finalizer.P(0))
		register(d03, "d03", finalizer.P(0))
		register(nil, "e", finalizer.P(-10))
		register(nil, "STOP", finalizer.P(-100))
		// multiprocessing's _exit_function: _run_finalizers(0), then _run_finalizers().
		if !led.run(reg, finalizer.P(0)) {
			led.run(reg, finalizer.NoPriority)
		}
		runtime.KeepAlive([]*foo{b, c, d10, d01, d02, d03})
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
	teardown(mon, iv, led, reg, func() uint64 { return registered }, 0)
	return mon.observation(duration, counts)
}

func countsOf(reg finalizer.Registry) result.Counts {
	var c result.Counts
	fillCounts(&c, reg)
	return c
}

func waitCollected(ctx context.Context, done <-chan struct{}, wait time.Duration) bool {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		runtime.GC()
		select {
		case <-done:
			return true
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return false
		case <-time.After(time.Millisecond):
		}
	}
}
