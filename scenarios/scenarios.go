// Package scenarios declares racestress's stress scenarios. A scenario is a
// small declaration: a name, the outcomes it can produce and how each is
// graded, and a Trial function that runs its goroutines once against a fresh
// registry and reports what it observed. Running many trials, isolating them
// and grading them is the harness's job, not the scenario's.
package scenarios

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/result"
)

// Expect is a scenario's declaration for one outcome.
type Expect struct {
	Grade result.Grade
	Doc   string
}

// Scenario is a stress scenario.
type Scenario struct {
	Name string
	Doc  string
	// Subjects are the systems under test the scenario knows, each with its
	// declared role and signature; Defaults names those a run stresses
	// unless told otherwise.
	Subjects []Subject
	Defaults []string
	// Knobs are the scenario's own knobs, beyond the engine's (seconds,
	// gogc, procs, chaos); Presets are named sets of knob values, the
	// default first; Normalize, when set, derives knobs from others (the
	// registry scenarios split threads into makers and runners).
	Knobs     []Knob
	Presets   []Preset
	Normalize func(*result.Knobs)
	// Outcomes declares how each outcome is graded; an outcome not declared
	// here is forbidden.
	Outcomes map[result.Outcome]Expect
	// Trial runs the scenario once. It must return when ctx is done, restore
	// any global setting it changes, and report failures in the Observation
	// rather than panic.
	Trial func(ctx context.Context, env Env) Observation
}

// Grade returns the declared grade of o: Forbidden when undeclared.
func (s *Scenario) Grade(o result.Outcome) result.Grade {
	if e, ok := s.Outcomes[o]; ok {
		return e.Grade
	}
	return result.Forbidden
}

// Env is what a trial runs with.
type Env struct {
	// Subject is the system under test; the trial builds a fresh instance
	// with Subject.New.
	Subject Subject
	Knobs   result.Knobs
	// Seed seeds every random choice the trial makes (goroutine i uses a
	// generator derived from Seed and i). The GC's timing is not seeded.
	Seed int64
	// Hook, when set, is passed to the registry as its step-point hook.
	Hook func(finalizer.Point)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Deadline, when not zero, is when the executor's watchdog fires (real
	// time, time.Now's clock): the trial fits its teardown before it, with
	// a margin, so that a callback that never comes is reported as what it
	// is rather than as a hang.
	Deadline time.Time
}

func (e Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// Observation is what one trial saw.
type Observation struct {
	Outcome    result.Outcome         // the most severe failure, or OK
	Failures   map[result.Outcome]int // every failure, by class
	TTFF       time.Duration          // time from start to the first failure, when there was one
	FirstError string
	// Stack is the head of the stack of the first unexpected panic.
	Stack     string
	Mutations map[string]int
	Counts    result.Counts
	Duration  time.Duration // how long the stress phase ran
	Warnings  []string
}

// Failed reports whether the trial saw any failure.
func (o Observation) Failed() bool { return o.Outcome != result.OK }

var all = []*Scenario{ThreadSafety, FinalizeOrder, WeakCache}

// All returns the scenarios in a fixed order.
func All() []*Scenario { return slices.Clone(all) }

// Lookup returns the scenario called name.
func Lookup(name string) (*Scenario, error) {
	for _, s := range all {
		if s.Name == name {
			return s, nil
		}
	}
	names := make([]string, len(all))
	for i, s := range all {
		names[i] = s.Name
	}
	return nil, fmt.Errorf("unknown scenario %q (have %v)", name, names)
}

// SplitThreads splits n goroutines into makers and runners, evenly, with at
// least one of each: 2 gives 1+1 (the original test), 5 gives 2+3.
func SplitThreads(n int) (makers, runners int) {
	makers = max(1, n/2)
	runners = max(1, n-makers)
	return makers, runners
}

// DefaultKnobs are the knobs of the original test_thread_safety: two
// goroutines, 4 s, 32 slots of 10 objects, priorities 1..100, a runner sleep
// of U(0, 100 ms).
func DefaultKnobs() result.Knobs {
	return result.Knobs{
		Threads: 2, Makers: 1, Runners: 1, Seconds: 4,
		GOGC: DefaultGOGC, SleepScale: 1,
		Slots: 32, PerSlot: 10, MaxPriority: 100,
	}
}

// DefaultGOGC is the GC percentage trials run with unless told otherwise:
// low enough that collections (and so cleanups) run all the time, as
// CPython's gc.set_threshold(5, 5, 5) in the original test.
const DefaultGOGC = 5

// registryKnobs are the knobs of the registry scenarios (ThreadSafety,
// FinalizeOrder).
var registryKnobs = []Knob{
	{Name: "threads", Doc: "goroutines: makers and runners, split evenly, at least one each", Default: 2, Min: 2, Max: 1024, Integer: true},
	{Name: "sleep-scale", Doc: "scales the runner's U(0, 100ms) sleep (0: no sleep)", Default: 1, Min: 0, Max: 1000},
	{Name: "slots", Doc: "slots of objects each maker keeps", Default: 32, Min: 1, Max: 4096, Integer: true},
	{Name: "per-slot", Doc: "objects per slot", Default: 10, Min: 1, Max: 10000, Integer: true},
	{Name: "max-priority", Doc: "exit priorities are drawn from 1..max-priority", Default: 100, Min: 1, Max: 1000000, Integer: true},
	{Name: "reentrant", Doc: "1: finalizer callbacks register a finalizer themselves, as real finalizers do", Default: 0, Min: 0, Max: 1, Integer: true},
}

// splitRegistryThreads derives makers and runners from threads.
func splitRegistryThreads(k *result.Knobs) { k.Makers, k.Runners = SplitThreads(k.Threads) }
