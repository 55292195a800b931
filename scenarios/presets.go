package scenarios

import (
	"fmt"
	"strings"

	"github.com/racestress/racestress/result"
)

// Preset is a named set of knobs for ThreadSafety.
type Preset struct {
	Name string
	Doc  string
	// Knobs are the preset's knobs; Knobs.Preset is Name.
	Knobs result.Knobs
}

// DefaultPreset is the preset a run uses unless told otherwise: the one
// measured fastest at detection that still shows the same bug (every
// detection a GC-driven removal; see README, Benchmarks).
const DefaultPreset = "fast"

func presetKnobs(name string, edit func(*result.Knobs)) result.Knobs {
	k := DefaultKnobs()
	k.Preset = name
	edit(&k)
	return k
}

var presets = []Preset{
	{
		Name: "fast",
		Doc:  "the default: runner sleep U(0, 5ms), often enough that walks meet each GC cycle's cleanups, long enough that registered objects die first; chaos only on one CPU",
		Knobs: presetKnobs("fast", func(k *result.Knobs) {
			k.SleepScale = 0.05
			k.Chaos = "auto"
		}),
	},
	{
		Name:  "faithful",
		Doc:   "the original test_thread_safety: runner sleep U(0, 100ms), 32 slots x 10 objects, priorities 1..100",
		Knobs: presetKnobs("faithful", func(k *result.Knobs) { k.Chaos = "off" }),
	},
}

// Presets returns the presets, the default first.
func Presets() []Preset { return append([]Preset(nil), presets...) }

// LookupPreset returns the preset called name.
func LookupPreset(name string) (Preset, error) {
	var names []string
	for _, p := range presets {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Preset{}, fmt.Errorf("unknown preset %q (have %s)", name, strings.Join(names, ", "))
}

// Describe prints knobs on one line, e.g. for --help and reports.
func Describe(k result.Knobs) string {
	chaos := k.Chaos
	if chaos == "" {
		chaos = "off"
	}
	if chaos == "auto" {
		chaos = "auto (low on one CPU, else off)"
	}
	return fmt.Sprintf("threads %d, %gs, GOGC %d, sleep-scale %g, %d slots x %d objects, priorities 1..%d, chaos %s",
		k.Threads, k.Seconds, k.GOGC, k.SleepScale, k.Slots, k.PerSlot, k.MaxPriority, chaos)
}

// ResolveChaos returns the chaos level called name for a trial running with
// GOMAXPROCS procs. "auto" is ChaosLow on a single P and ChaosOff otherwise:
// on one P the walking goroutine is never interrupted between two steps
// unless something yields, so without chaos the race cannot show at all
// (0 of 10 trials at the fast preset with GOMAXPROCS 1, 10 of 10 with chaos
// low), while on two or more Ps chaos only costs throughput.
func ResolveChaos(name string, procs int) (Chaos, error) {
	switch name {
	case "", "off":
		return ChaosOff, nil
	case "auto":
		if procs == 1 {
			return ChaosLow, nil
		}
		return ChaosOff, nil
	}
	return ParseChaos(name)
}
