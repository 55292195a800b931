package scenarios

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/result"
)

// registryOutcomes are the outcomes every registry scenario declares: only a
// clean trial is acceptable.
var registryOutcomes = map[result.Outcome]Expect{
	result.OK:          {result.Acceptable, "no invariant violated"},
	result.ChangedSize: {result.Forbidden, "Run panicked: the registry changed size during iteration (bpo-24484)"},
	result.Panic:       {result.Forbidden, "the registry panicked otherwise (message and stack head kept)"},
	result.Contract:    {result.Forbidden, "an operation broke its contract: Run left a finalizer it had to call uncalled, called one it must not, left an entry it saw, or did not return; a cancelled finalizer was called; Cancel removed nothing; Alive lied"},
	result.Order:       {result.Forbidden, "Run called back out of (priority, seq) order"},
	result.DoubleCall:  {result.Forbidden, "a finalizer was called twice"},
	result.Lost:        {result.Forbidden, "a finalizer's callback never came: it was removed (by a GC cleanup, a Run) or dropped by Register, and never called; or the registry was not empty at teardown"},
	result.DataRace:    {result.Forbidden, "the race detector reported a race on the registry"},
	result.Fatal:       {result.Forbidden, "the Go runtime killed the process (concurrent map access)"},
	result.Crash:       {result.Forbidden, "the trial's process was killed"},
	result.Hang:        {result.Forbidden, "the trial deadlocked"},
	result.Error:       {result.Forbidden, "the trial could not run; never a pass"},
}

// ThreadSafety is bpo-24484's test_thread_safety, ported: makers create
// self-referencing objects that register finalizers with random exit
// priorities, keeping them in a map of slots whose old sets become garbage;
// runners sleep a random while, then call Run(); the GC runs aggressively,
// so cleanups remove entries from the registry while Run walks it.
var ThreadSafety = &Scenario{
	Name:     "bpo24484",
	Doc:      "test_thread_safety: makers register finalizers on self-cyclic objects while runners call Run() under an aggressive GC",
	Outcomes: registryOutcomes,
	Subjects: registries(map[string]Subject{
		"unfixed": {Role: result.Control, Signature: []result.Outcome{result.ChangedSize}},
		"fixed":   {Role: result.Clean},
		"retry":   {Role: result.Clean},
		"racy":    {Role: result.Control, Signature: []result.Outcome{result.Fatal, result.DataRace}, Crashes: true},
		"locked": {Role: result.Control, Signature: []result.Outcome{result.Hang}, Crashes: true, Needs: "reentrant",
			Doc: "the wrong fix: callbacks called under the registry lock (deadlocks on re-entry: needs --reentrant)"},
	}),
	Defaults:  []string{"unfixed", "fixed"},
	Knobs:     registryKnobs,
	Presets:   presets,
	Normalize: splitRegistryThreads,
	Trial:     threadSafety,
}

// foo is the test's Foo: an object in a reference cycle with itself, 48
// bytes like CPython 3.11's Foo() instance. (Smaller objects pack more to a
// span, and runtime.AddCleanup's walk of a span's specials list grows with
// them: at 16 bytes it cost about 10% of throughput.)
type foo struct {
	ref *foo
	_   [40]byte
}

// cancelShare is the share of sets in which a maker cancels a finalizer
// of its own: one of the new set's, whose object it holds (racing Run),
// and one of the set it drops (racing that object's GC cleanup, and Run).
// It is small, so that throughput stays that of the original test.
const cancelShare = 1.0 / 16

func threadSafety(ctx context.Context, env Env) Observation {
	k := env.Knobs
	if k.Makers < 1 || k.Runners < 1 || k.Slots < 1 || k.PerSlot < 1 || k.MaxPriority < 1 {
		return errorObservation(errors.New("knobs need at least one maker, runner, slot, object per slot and priority"))
	}
	defer debug.SetGCPercent(debug.SetGCPercent(k.GOGC))

	start := env.now()
	ctx, cancel := context.WithTimeout(ctx, k.Duration())
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	var stop atomic.Bool
	context.AfterFunc(gctx, func() { stop.Store(true) })

	mon := newMonitor(env, cancel)
	mon.start = start
	iv := newInvariants(mon)
	led := newLedger(iv, false)
	reg, err := newRegistry(env, iv)
	if err != nil {
		return errorObservation(err)
	}

	var objects, runs, reentered, sentinels atomic.Uint64
	// reenter is what a reentrant callback does after it is called: register
	// a finalizer on a fresh object, re-entering the registry as real
	// finalizers do. Only makers' finalizers re-enter, so chains end.
	reenter := func() {
		f := &foo{}
		f.ref = f
		n := reentered.Add(1)
		ps := led.probes(1)
		p := &ps[0]
		p.prio = finalizer.P(1 + int(n%uint64(k.MaxPriority)))
		t := led.begin()
		p.setHandle(reg.Register(f, p.fire, p.prio))
		led.add(t, ps)
	}
	gc0 := gcCycles()
	errFailed := errors.New("forbidden outcome")

	for i := range k.Makers {
		rng := rand.New(rand.NewPCG(uint64(env.Seed), uint64(2*i)))
		maker := fmt.Sprintf("maker %d", i)
		g.Go(func() error {
			slots := make([][]*foo, k.Slots)
			// slotProbes[s] are the finalizers of slots[s]'s objects.
			slotProbes := make([][]probe, k.Slots)
			var last []probe // the set registered before
			// sentinel is a finalizer without a priority on an object
			// the maker holds: no Run calls it, and it stays registered
			// until a Run(NoPriority) clears it. A set registered while
			// it is, that Alive finds gone uncalled, was dropped, not
			// cleared (see checkBatch). A maker registers a new one
			// when a Run has cleared it.
			var sentinel []probe
			var sentinelObj *foo
			batches := 0
			for !stop.Load() {
				mon.guard("Register", func() {
					t := led.begin()
					set := make([]*foo, k.PerSlot)
					probes := led.probes(k.PerSlot)
					for j := range set {
						f := &foo{}
						f.ref = f // create reference cycle
						p := &probes[j]
						p.prio = finalizer.P(1 + rng.IntN(k.MaxPriority))
						cb := p.fire
						if k.Reentrant {
							cb = func() { p.fire(); reenter() }
						}
						p.setHandle(reg.Register(f, cb, p.prio))
						set[j] = f
					}
					led.add(t, probes)
					led.checkBatch(t, probes, last, sentinel, maker)
					if batches++; batches%16 == 0 {
						led.noteIdle()
					}
					last = probes
					if len(sentinel) == 0 || sentinel[0].handle == nil || !sentinel[0].handle.Alive() {
						sentinelObj = &foo{}
						sentinelObj.ref = sentinelObj
						sentinel = led.probes(1)
						st := led.begin()
						sentinel[0].setHandle(reg.Register(sentinelObj, sentinel[0].fire, finalizer.NoPriority))
						led.add(st, sentinel)
						sentinels.Add(1)
					}
					if rng.Float64() < cancelShare {
						led.cancel(&probes[rng.IntN(len(probes))], maker)
					}
					// Old sets get gradually replaced and later collected.
					s := rng.IntN(k.Slots)
					old := slotProbes[s]
					slots[s], slotProbes[s] = set, probes
					if old != nil && rng.Float64() < cancelShare {
						// Its object is garbage now: the GC cleanup may
						// be removing it as Cancel does.
						led.cancel(&old[rng.IntN(len(old))], maker)
					}
					objects.Add(uint64(k.PerSlot))
				})
			}
			return nil
		})
	}
	for i := range k.Runners {
		rng := rand.New(rand.NewPCG(uint64(env.Seed), uint64(2*i+1)))
		g.Go(func() error {
			for !stop.Load() {
				if k.SleepScale > 0 {
					d := time.Duration(rng.Float64() * float64(100*time.Millisecond) * k.SleepScale)
					t := time.NewTimer(d)
					select {
					case <-gctx.Done():
						t.Stop()
						return nil
					case <-t.C:
					}
				}
				runs.Add(1)
				// A GC run will eventually happen during this, collecting
				// stale foos and mutating the registry.
				if led.run(reg, finalizer.NoPriority) && !k.KeepGoing {
					return errFailed
				}
			}
			return nil
		})
	}
	_ = g.Wait() // failures are in the monitor
	duration := env.now().Sub(start)

	c := result.Counts{Objects: objects.Load(), Runs: runs.Load(), GCCycles: gcCycles() - gc0}
	fillCounts(&c, reg)
	// A last set, registered once every Run has returned and dropped at
	// once: teardown's drain collects its objects, whose GC cleanups must
	// call it, and teardown's Run, the only one to overlap nothing, checks
	// that they did. A registry whose cleanups remove without calling is
	// caught here at the latest, however the stress phase's Runs and
	// registrations interleaved.
	var tail atomic.Uint64
	if !mon.failed() || k.KeepGoing {
		mon.guard("Register", func() {
			t := led.begin()
			ps := led.probes(k.PerSlot)
			for j := range ps {
				f := &foo{}
				f.ref = f
				p := &ps[j]
				p.prio = finalizer.P(1 + j%k.MaxPriority)
				p.setHandle(reg.Register(f, p.fire, p.prio))
				tail.Add(1)
			}
			led.add(t, ps)
		})
	}
	if !mon.failed() || k.KeepGoing {
		registerDuringRun(mon, led, reg, k.MaxPriority+1)
		tail.Add(2)
	}
	total := func() uint64 { return objects.Load() + reentered.Load() + sentinels.Load() + tail.Load() }
	teardown(mon, iv, led, reg, total, teardownUntil(env, time.Now()), true)
	return mon.observation(duration, c)
}

// newRegistry builds a fresh registry of env's subject, reporting to iv
// and stepping env's chaos hook.
func newRegistry(env Env, iv *invariants) (finalizer.Registry, error) {
	newReg, ok := registryFunc(env.Subject)
	if !ok {
		return nil, fmt.Errorf("subject %q is not a finalizer registry (its New is %T, want a scenarios.RegistryFunc)", env.Subject.Name, env.Subject.New)
	}
	opts := []finalizer.Option{finalizer.WithObserver(iv)}
	if env.Hook != nil {
		opts = append(opts, finalizer.WithHook(env.Hook))
	}
	reg := newReg(opts...)
	if reg == nil {
		return nil, fmt.Errorf("subject %q built a nil registry", env.Subject.Name)
	}
	return reg, nil
}

// errorObservation is the observation of a trial that could not run.
func errorObservation(err error) Observation {
	return Observation{Outcome: result.Error, Failures: map[result.Outcome]int{result.Error: 1}, FirstError: "error: " + err.Error()}
}

// registerDuringRun checks that a finalizer registered while a Run is
// under way stays registered: it calls Run(P(top)), whose only finalizer
// to call, h, has d registered while that Run is under way, with priority
// top-1, on an object it holds. That Run may neither call d (below its
// minimum) nor remove it (a Run with a minimum clears nothing), and nobody
// else may: a d gone uncalled was dropped. Call it once every other Run
// has returned. It registers two finalizers.
func registerDuringRun(mon *monitor, led *ledger, reg finalizer.Registry, top int) {
	hObj, dObj := &foo{}, &foo{}
	var d *probe
	var registering sync.WaitGroup
	h := led.probes(1)
	h[0].prio = finalizer.P(top)
	led.setName(&h[0], "h")
	cb := func() {
		h[0].fire()
		// On a goroutine of its own, waited for a bounded time, as in
		// finalize-order (see reentryWait): a registry that calls back
		// under its lock registers d once the Run has returned.
		done := make(chan struct{})
		registering.Add(1)
		go func() {
			defer registering.Done()
			defer close(done)
			mon.guard("Register", func() {
				ps := led.probes(1)
				ps[0].prio = finalizer.P(top - 1)
				led.setName(&ps[0], "d")
				t := led.begin()
				if ps[0].setHandle(reg.Register(dObj, ps[0].fire, ps[0].prio)) {
					d = &ps[0]
				}
				led.add(t, ps)
			})
		}()
		t := time.NewTimer(reentryWait)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
		}
	}
	if mon.guard("Register", func() {
		t := led.begin()
		h[0].setHandle(reg.Register(hObj, cb, h[0].prio))
		led.add(t, h)
	}) {
		return
	}
	failed := led.run(reg, finalizer.P(top))
	id := led.runs.Load()
	registering.Wait()
	if failed || d == nil {
		return
	}
	switch {
	case d.called():
		mon.fail(result.Contract, fmt.Sprintf("contract: Run %d (min %d) called finalizer %s, registered while it was under way, below its minimum", id, top, d.label()))
	case d.handle.Alive():
	case led.cancel(d, "the teardown"):
		mon.fail(result.Contract, fmt.Sprintf("contract: Alive lies: it says finalizer %s is not registered after Run %d (min %d) returned, but Cancel removed it", d.label(), id, top))
	default:
		mon.fail(result.Lost, fmt.Sprintf("lost: finalizer %s, registered by h's callback while Run %d (min %d) was under way, was dropped: it is not registered after that Run returned, and no one called it (that Run may neither call nor clear it; its object is held)", d.label(), id, top))
	}
	runtime.KeepAlive(hObj)
	runtime.KeepAlive(dObj)
}
