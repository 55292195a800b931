package scenarios

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/racestress/racestress/result"
)

// Knob is a numeric knob a scenario declares: what it does, its default
// and its bounds. The engine treats knobs as the scenario's parameters: it
// validates them against the declaration, sweeps them, records them, and
// prints them; only the scenario's Trial knows what they mean.
type Knob struct {
	Name string
	Doc  string
	// Default is the value a run uses unless told otherwise.
	Default float64
	// Min and Max bound the value, both included.
	Min, Max float64
	// Integer knobs take whole numbers only.
	Integer bool
}

// Check reports a value the knob cannot take.
func (kn Knob) Check(v float64) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Errorf("%s wants a number, got %v", kn.Name, v)
	case kn.Integer && v != math.Trunc(v):
		return fmt.Errorf("%s wants a whole number, got %v", kn.Name, v)
	case v < kn.Min || v > kn.Max:
		return fmt.Errorf("%s must be between %s and %s, got %s", kn.Name, formatKnob(kn.Min), formatKnob(kn.Max), formatKnob(v))
	}
	return nil
}

// Parse parses and checks a value of the knob.
func (kn Knob) Parse(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("%s wants a number, got %q", kn.Name, s)
	}
	return v, kn.Check(v)
}

func formatKnob(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// engineKnobs are the knobs every scenario has: the engine sets them
// (trial length, GC percentage, GOMAXPROCS) around the scenario's trial.
var engineKnobs = []Knob{
	{Name: "seconds", Doc: "length of a trial's stress phase, in seconds", Default: 4, Min: 1e-3, Max: 24 * 3600},
	{Name: "gogc", Doc: "GC percentage during a trial (lower collects more often)", Default: DefaultGOGC, Min: 1, Max: 100000, Integer: true},
	{Name: "procs", Doc: "GOMAXPROCS of a trial (0: the machine's; at most 4x its CPUs)", Default: 0, Min: 0, Max: float64(4 * runtime.NumCPU()), Integer: true},
}

// AllKnobs returns the engine's knobs, then the scenario's own.
func (sc *Scenario) AllKnobs() []Knob { return append(slices.Clone(engineKnobs), sc.Knobs...) }

// Knob returns the knob of sc called name, the engine's included.
func (sc *Scenario) Knob(name string) (Knob, error) {
	for _, kn := range sc.AllKnobs() {
		if kn.Name == name {
			return kn, nil
		}
	}
	var names []string
	for _, kn := range sc.AllKnobs() {
		names = append(names, kn.Name)
	}
	return Knob{}, fmt.Errorf("scenario %s has no knob %q (have %s, and chaos)", sc.Name, name, strings.Join(names, ", "))
}

// SetKnob returns k with knob name set to the text v, checked against sc's
// declaration ("chaos" takes a level name).
func (sc *Scenario) SetKnob(k result.Knobs, name, v string) (result.Knobs, error) {
	if name == "chaos" {
		if _, err := ResolveChaos(v, 1); err != nil {
			return k, err
		}
		k.Chaos = v
		return k, nil
	}
	kn, err := sc.Knob(name)
	if err != nil {
		return k, err
	}
	x, err := kn.Parse(v)
	if err != nil {
		return k, err
	}
	k = k.With(name, x)
	sc.normalize(&k)
	return k, nil
}

// CheckKnobs reports the first knob of k outside sc's declaration.
func (sc *Scenario) CheckKnobs(k result.Knobs) error {
	for _, kn := range sc.AllKnobs() {
		v, _ := k.Get(kn.Name)
		if err := kn.Check(v); err != nil {
			return err
		}
	}
	for name := range k.Params {
		if _, err := sc.Knob(name); err != nil {
			return err
		}
	}
	if _, err := ResolveChaos(k.Chaos, 1); err != nil {
		return err
	}
	return nil
}

// DefaultKnobsOf returns sc's knobs at their declared defaults: its first
// preset's, or the declared defaults when it has no preset.
func (sc *Scenario) DefaultKnobsOf() result.Knobs {
	if len(sc.Presets) > 0 {
		return sc.Presets[0].Knobs
	}
	var k result.Knobs
	for _, kn := range sc.AllKnobs() {
		k = k.With(kn.Name, kn.Default)
	}
	sc.normalize(&k)
	return k
}

// Preset returns sc's preset called name; "" is its first.
func (sc *Scenario) Preset(name string) (Preset, error) {
	var names []string
	for _, p := range sc.Presets {
		if p.Name == name || name == "" {
			return p, nil
		}
		names = append(names, p.Name)
	}
	if len(sc.Presets) == 0 {
		return Preset{}, fmt.Errorf("scenario %s has no presets", sc.Name)
	}
	return Preset{}, fmt.Errorf("scenario %s has no preset %q (have %s)", sc.Name, name, strings.Join(names, ", "))
}

func (sc *Scenario) normalize(k *result.Knobs) {
	if sc.Normalize != nil {
		sc.Normalize(k)
	}
}

// DescribeKnobs prints k as sc declares it, on one line: "threads 4,
// keys 16, ...".
func (sc *Scenario) DescribeKnobs(k result.Knobs) string {
	var parts []string
	for _, kn := range sc.AllKnobs() {
		v, _ := k.Get(kn.Name)
		if kn.Name == "procs" && v == 0 {
			continue
		}
		parts = append(parts, kn.Name+" "+formatKnob(v))
	}
	chaos := k.Chaos
	if chaos == "" {
		chaos = "off"
	}
	return strings.Join(append(parts, "chaos "+chaos), ", ")
}
