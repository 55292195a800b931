package scenarios_test

import (
	"math"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

func TestKnobBoundsAreIncluded(t *testing.T) {
	// Min and Max are both valid values; one step past either is not.
	for _, sc := range scenarios.All() {
		for _, kn := range sc.AllKnobs() {
			step := 1.0
			if !kn.Integer {
				step = kn.Min/2 + 0.5 // past Min and Max, not a whole number for these bounds
			}
			assert.NoError(t, kn.Check(kn.Min), "%s: %s at its minimum", sc.Name, kn.Name)
			assert.NoError(t, kn.Check(kn.Max), "%s: %s at its maximum", sc.Name, kn.Name)
			assert.NoError(t, kn.Check(kn.Default), "%s: %s at its default", sc.Name, kn.Name)
			assert.ErrorContains(t, kn.Check(kn.Min-step), "must be between", "%s: %s below its minimum", sc.Name, kn.Name)
			assert.ErrorContains(t, kn.Check(kn.Max+step), "must be between", "%s: %s above its maximum", sc.Name, kn.Name)
		}
	}
}

func TestKnobCheck(t *testing.T) {
	whole := scenarios.Knob{Name: "n", Min: 1, Max: 10, Integer: true}
	real := scenarios.Knob{Name: "x", Min: 0, Max: 10}
	assert.NoError(t, real.Check(0.05), "a knob that is not whole takes fractions")
	assert.NoError(t, whole.Check(3))
	assert.EqualError(t, whole.Check(2.5), "n wants a whole number, got 2.5")
	assert.EqualError(t, whole.Check(0), "n must be between 1 and 10, got 0")
	assert.EqualError(t, whole.Check(11), "n must be between 1 and 10, got 11")
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		assert.ErrorContains(t, real.Check(v), "x wants a number, got", "%v", v)
		assert.ErrorContains(t, whole.Check(v), "n wants a number, got", "%v", v)
	}
	v, err := whole.Parse(" 7 ")
	require.NoError(t, err)
	assert.Equal(t, 7.0, v)
	_, err = whole.Parse("seven")
	assert.EqualError(t, err, `n wants a number, got "seven"`)
}

func TestScenarioKnobs(t *testing.T) {
	ts, wc := scenarios.ThreadSafety, scenarios.WeakCache
	t.Run("Knob finds the engine's knobs and the scenario's own", func(t *testing.T) {
		for _, name := range []string{"seconds", "gogc", "procs", "threads", "max-priority"} {
			kn, err := ts.Knob(name)
			require.NoError(t, err)
			assert.Equal(t, name, kn.Name)
		}
		procs, err := ts.Knob("procs")
		require.NoError(t, err)
		assert.Equal(t, float64(4*runtime.NumCPU()), procs.Max, "procs: at most 4x the machine's CPUs")
		seconds, err := ts.Knob("seconds")
		require.NoError(t, err)
		assert.Equal(t, 24*3600.0, seconds.Max, "a trial lasts at most a day")
		_, err = ts.Knob("keys")
		assert.EqualError(t, err, `scenario bpo24484 has no knob "keys" (have seconds, gogc, procs, threads, sleep-scale, slots, per-slot, max-priority, reentrant, and chaos)`)
	})
	t.Run("SetKnob sets a chaos level by name", func(t *testing.T) {
		k, err := ts.SetKnob(ts.DefaultKnobsOf(), "chaos", "high")
		require.NoError(t, err)
		assert.Equal(t, "high", k.Chaos)
		k, err = wc.SetKnob(k, "chaos", "wild")
		assert.Error(t, err)
		assert.Equal(t, "high", k.Chaos, "a bad value leaves the knobs as they were")
	})
	t.Run("SetKnob leaves the knobs as they were on a bad value", func(t *testing.T) {
		base := wc.DefaultKnobsOf()
		k, err := wc.SetKnob(base, "keys", "0")
		assert.Error(t, err)
		assert.True(t, base.Equal(k))
		k, err = wc.SetKnob(base, "nope", "1")
		assert.Error(t, err)
		assert.True(t, base.Equal(k))
	})
	t.Run("CheckKnobs reports a knob out of bounds, an undeclared one and a bad chaos level", func(t *testing.T) {
		k := ts.DefaultKnobsOf()
		require.NoError(t, ts.CheckKnobs(k))
		bad := k
		bad.Slots = 0
		assert.ErrorContains(t, ts.CheckKnobs(bad), "slots must be between 1 and 4096, got 0")
		bad = k.With("keys", 3)
		assert.ErrorContains(t, ts.CheckKnobs(bad), `scenario bpo24484 has no knob "keys"`)
		bad = k
		bad.Chaos = "wild"
		assert.ErrorContains(t, ts.CheckKnobs(bad), `unknown chaos level "wild"`)
		w := wc.DefaultKnobsOf().With("keys", 0)
		assert.ErrorContains(t, wc.CheckKnobs(w), "keys must be between")
	})
	t.Run("DefaultKnobsOf is the first preset's, or the declared defaults", func(t *testing.T) {
		assert.True(t, ts.Presets[0].Knobs.Equal(ts.DefaultKnobsOf()))
		assert.Equal(t, "fast", ts.DefaultKnobsOf().Preset)
		k := wc.DefaultKnobsOf()
		for _, kn := range wc.AllKnobs() {
			v, _ := k.Get(kn.Name)
			assert.Equal(t, kn.Default, v, kn.Name)
		}
		assert.Empty(t, k.Preset)
	})
	t.Run("Preset finds a preset by name, the first for the empty name", func(t *testing.T) {
		p, err := ts.Preset("")
		require.NoError(t, err)
		assert.Equal(t, "fast", p.Name)
		p, err = ts.Preset("faithful")
		require.NoError(t, err)
		assert.Equal(t, "faithful", p.Name)
		_, err = ts.Preset("nope")
		assert.EqualError(t, err, `scenario bpo24484 has no preset "nope" (have fast, faithful)`)
		_, err = wc.Preset("")
		assert.EqualError(t, err, "scenario weakcache has no presets")
	})
	t.Run("DescribeKnobs prints every knob, procs only when set", func(t *testing.T) {
		k := wc.DefaultKnobsOf()
		assert.Equal(t, "seconds 4, gogc 5, threads 4, keys 256, keep 2, garbage 256, chaos off", wc.DescribeKnobs(k))
		k.Procs = 2
		k.Chaos = "low"
		assert.Equal(t, "seconds 4, gogc 5, procs 2, threads 4, keys 256, keep 2, garbage 256, chaos low", wc.DescribeKnobs(k))
	})
	t.Run("SetKnob normalises only where the scenario says", func(t *testing.T) {
		k, err := wc.SetKnob(wc.DefaultKnobsOf(), "threads", "6")
		require.NoError(t, err)
		assert.Equal(t, 6.0, must(k.Get("threads")))
		assert.Zero(t, k.Makers+k.Runners, "the weak cache has no makers and runners")
	})
}

func must(v float64, ok bool) float64 {
	if !ok {
		panic("no such knob")
	}
	return v
}

func TestPresetValues(t *testing.T) {
	// Each preset is the defaults with its own edit: the two differ from
	// the defaults, and from each other, exactly there.
	fast, err := scenarios.LookupPreset("fast")
	require.NoError(t, err)
	faithful, err := scenarios.LookupPreset("faithful")
	require.NoError(t, err)
	want := scenarios.DefaultKnobs()
	want.Preset, want.SleepScale, want.Chaos = "fast", 0.05, "auto"
	assert.Equal(t, want, fast.Knobs)
	want = scenarios.DefaultKnobs()
	want.Preset, want.Chaos = "faithful", "off"
	assert.Equal(t, want, faithful.Knobs)
	_, err = scenarios.LookupPreset("nope")
	assert.EqualError(t, err, `unknown preset "nope" (have fast, faithful)`)

	ps := scenarios.Presets()
	ps[0].Name = "changed"
	assert.Equal(t, "fast", scenarios.Presets()[0].Name, "Presets returns a copy")
}

func TestDescribe(t *testing.T) {
	k := scenarios.DefaultKnobs()
	assert.Equal(t, "threads 2, 4s, GOGC 5, sleep-scale 1, 32 slots x 10 objects, priorities 1..100, chaos off", scenarios.Describe(k))
	k.Chaos = "auto"
	assert.Contains(t, scenarios.Describe(k), "chaos auto (low on one CPU, else off)")
	k.Chaos = "high"
	assert.Contains(t, scenarios.Describe(k), "chaos high")
}

func TestSubjects(t *testing.T) {
	ts := scenarios.ThreadSafety
	t.Run("the registry scenarios take every finalizer variant they declare, with its doc", func(t *testing.T) {
		assert.ElementsMatch(t, []string{"unfixed", "fixed", "retry", "racy", "locked"}, ts.SubjectNames())
		for _, s := range ts.Subjects {
			v, ok := finalizer.Lookup(s.Name)
			require.True(t, ok)
			assert.NotEmpty(t, s.Doc, s.Name)
			if s.Name != "locked" {
				assert.Equal(t, v.Doc, s.Doc, "%s: the variant's doc unless the scenario has its own", s.Name)
			}
		}
		locked, err := ts.Subject("locked")
		require.NoError(t, err)
		assert.Contains(t, locked.Doc, "the wrong fix")
		assert.Equal(t, "reentrant", locked.Needs)
	})
	t.Run("Subject and DefaultSubjects", func(t *testing.T) {
		_, err := ts.Subject("nope")
		assert.ErrorContains(t, err, `scenario bpo24484 has no subject "nope" (have `)
		var names []string
		for _, s := range ts.DefaultSubjects() {
			names = append(names, s.Name)
		}
		assert.Equal(t, []string{"unfixed", "fixed"}, names)
		sc := *ts
		sc.Defaults = []string{"nope", "fixed"}
		require.Len(t, sc.DefaultSubjects(), 1, "an undeclared default is left out")
		assert.Equal(t, "fixed", sc.DefaultSubjects()[0].Name)
	})
	t.Run("signatures", func(t *testing.T) {
		racy, err := ts.Subject("racy")
		require.NoError(t, err)
		assert.Equal(t, "fatal or data-race", racy.SignatureText())
		assert.True(t, racy.IsSignature(result.DataRace))
		assert.False(t, racy.IsSignature(result.ChangedSize))
		fixed, err := ts.Subject("fixed")
		require.NoError(t, err)
		assert.Equal(t, "-", fixed.SignatureText())
		assert.Equal(t, result.Control, fixed.WithRole(result.Control).Role)
		assert.Equal(t, result.Clean, fixed.Role, "WithRole returns a copy")
	})
	t.Run("a subject without a registry constructor is a harness error, never a pass", func(t *testing.T) {
		for name, s := range map[string]scenarios.Subject{
			"nil RegistryFunc":        {Name: "nil", New: scenarios.RegistryFunc(nil)},
			"nil func":                {Name: "nil", New: (func(...finalizer.Option) finalizer.Registry)(nil)},
			"no New":                  {Name: "none"},
			"builds nil":              scenarios.RegistrySubject("nil-reg", result.Clean, "", func(...finalizer.Option) finalizer.Registry { return nil }),
			"a cache, not a registry": mustSubject(t, scenarios.WeakCache, "delete"),
		} {
			obs := scenarios.FinalizeOrder.Trial(t.Context(), scenarios.Env{Subject: s, Knobs: shortKnobs()})
			assert.Equal(t, result.Error, obs.Outcome, name)
			assert.Equal(t, map[result.Outcome]int{result.Error: 1}, obs.Failures, name)
		}
		plain := scenarios.Subject{Name: "plain", New: func(opts ...finalizer.Option) finalizer.Registry { return finalizer.NewFixed(opts...) }}
		obs := scenarios.FinalizeOrder.Trial(t.Context(), scenarios.Env{Subject: plain, Knobs: shortKnobs()})
		assert.Equal(t, result.OK, obs.Outcome, "a plain func is a registry constructor too: %s", obs.FirstError)
	})
}

func mustSubject(t *testing.T, sc *scenarios.Scenario, name string) scenarios.Subject {
	t.Helper()
	s, err := sc.Subject(name)
	require.NoError(t, err)
	return s
}

func TestScenarioLookupAndGrades(t *testing.T) {
	var names []string
	for _, s := range scenarios.All() {
		names = append(names, s.Name)
		got, err := scenarios.Lookup(s.Name)
		require.NoError(t, err)
		assert.Same(t, s, got)
		assert.Equal(t, result.Acceptable, s.Grade(result.OK), s.Name)
		assert.Equal(t, result.Forbidden, s.Grade(result.Panic), s.Name)
	}
	assert.Equal(t, []string{"bpo24484", "finalize-order", "weakcache"}, names)
	_, err := scenarios.Lookup("nope")
	assert.EqualError(t, err, `unknown scenario "nope" (have [bpo24484 finalize-order weakcache])`)
	all := scenarios.All()
	all[0] = nil
	assert.NotNil(t, scenarios.All()[0], "All returns a copy")
	assert.False(t, scenarios.Observation{Outcome: result.OK}.Failed())
	assert.True(t, scenarios.Observation{Outcome: result.Lost}.Failed())
}

func TestSplitThreadsKeepsOneOfEach(t *testing.T) {
	for n, want := range map[int][2]int{1: {1, 1}, 2: {1, 1}, 6: {3, 3}, 7: {3, 4}, 1024: {512, 512}} {
		m, r := scenarios.SplitThreads(n)
		assert.Equal(t, want, [2]int{m, r}, "threads %d", n)
	}
}
