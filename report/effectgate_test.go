package report

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

func TestEffectDetectionsIsTheSmallestCountWithinTheErrorRate(t *testing.T) {
	for _, c := range []struct {
		r    float64
		want int
	}{{1, 5}, {2, 8}, {4, 14}, {10, 32}, {1.5, 6}} {
		k := EffectDetections(c.r, 0.05)
		assert.Equal(t, c.want, k, "R=%g", c.r)
		assert.LessOrEqual(t, EffectError(c.r, k), 0.05)
		assert.Greater(t, EffectError(c.r, k-1), 0.05, "one fewer would exceed the error rate")
	}
	assert.Zero(t, EffectDetections(0.5, 0.05), "an effect below 1 is no fix")
	assert.Zero(t, EffectDetections(2, 0), "an error rate of 0 cannot be met")
	assert.Zero(t, EffectDetections(math.NaN(), 0.05))
}

// effectRecords makes records in trial order, rounds alternating control
// then clean, from the two sides' outcomes (true: a hit).
func effectRecords(control, clean []bool) []result.Record {
	var recs []result.Record
	n := max(len(control), len(clean))
	for i := range n {
		if i < len(control) {
			recs = append(recs, result.Record{Trial: 2 * i, Scenario: "s", Registry: "bug", Role: result.Control,
				Outcome:  map[bool]result.Outcome{true: result.ChangedSize, false: result.OK}[control[i]],
				Detected: control[i], Signature: control[i], Grade: map[bool]result.Grade{true: result.Forbidden, false: result.Acceptable}[control[i]]})
		}
		if i < len(clean) {
			recs = append(recs, result.Record{Trial: 2*i + 1, Scenario: "s", Registry: "fix", Role: result.Clean,
				Outcome:  map[bool]result.Outcome{true: result.ChangedSize, false: result.OK}[clean[i]],
				Detected: clean[i], Grade: map[bool]result.Grade{true: result.Forbidden, false: result.Acceptable}[clean[i]]})
		}
	}
	return recs
}

// hitsAt returns n outcomes with hits at the given indexes.
func hitsAt(n int, at ...int) []bool {
	out := make([]bool, n)
	for _, i := range at {
		out[i] = true
	}
	return out
}

func TestEffectTestStates(t *testing.T) {
	// R = 1 needs 5 detections (0.5^5 = 3.1% <= 5%).
	t.Run("shown once the control has its detections and the clean side as many trials", func(t *testing.T) {
		s := Summarize(effectRecords(hitsAt(100, 3, 20, 41, 60, 90), make([]bool, 91)))
		tests := s.EffectTests(1, 0.05)
		require.Len(t, tests, 1)
		et := tests[0]
		assert.Equal(t, EffectShown, et.State)
		assert.Equal(t, 5, et.Need)
		assert.Equal(t, 91, et.ControlTrials, "the control's 5th detection is its 91st trial")
		assert.InDelta(t, 0.03125, et.Error, 1e-12)
		assert.Empty(t, et.Missing())
	})
	t.Run("pending while the clean side has run fewer trials than the control needed", func(t *testing.T) {
		et := Summarize(effectRecords(hitsAt(100, 3, 20, 41, 60, 90), make([]bool, 90))).EffectTests(1, 0.05)[0]
		assert.Equal(t, EffectPending, et.State)
		assert.Equal(t, "fix ran 90 of the 91 trials needed", et.Missing())
	})
	t.Run("pending while the control has too few detections", func(t *testing.T) {
		et := Summarize(effectRecords(hitsAt(400, 3, 20), make([]bool, 400))).EffectTests(1, 0.05)[0]
		assert.Equal(t, EffectPending, et.State)
		assert.Equal(t, "bug detected 2 of the 5 times needed", et.Missing())
	})
	t.Run("failed at the clean side's first failure, however many detections the control has", func(t *testing.T) {
		et := Summarize(effectRecords(hitsAt(100, 1, 2, 3, 4, 5, 6), hitsAt(100, 99))).EffectTests(1, 0.05)[0]
		assert.Equal(t, EffectFailed, et.State)
	})
	t.Run("harness errors are not trials of either side", func(t *testing.T) {
		recs := effectRecords(hitsAt(10, 0, 1, 2, 3, 4), make([]bool, 3))
		recs = append(recs, result.Record{Trial: 100, Scenario: "s", Registry: "fix", Role: result.Clean, Outcome: result.Error, Grade: result.Forbidden},
			result.Record{Trial: 101, Scenario: "s", Registry: "fix", Role: result.Clean, Outcome: result.Error, Grade: result.Forbidden})
		et := Summarize(recs).EffectTests(1, 0.05)[0]
		assert.Equal(t, EffectPending, et.State, "3 valid clean trials of the 5 needed: errors do not count")
	})
}

func TestEffectTestPlan(t *testing.T) {
	et := Summarize(effectRecords(hitsAt(200, 10, 50, 90, 130), make([]bool, 200))).EffectTests(2, 0.05)[0]
	est, lo, hi := et.Plan()
	assert.Equal(t, 8, et.Need)
	assert.InDelta(t, 400, est, 1e-9, "8 detections at 4 in 200 trials")
	assert.Less(t, lo, est)
	assert.Greater(t, hi, est)
	assert.Equal(t, "the effect gate (at least 2x, error <= 3.91%) needs 8 detections of bug before any failure of fix: "+
		"bug detected in 4 of 200 trials (2% per trial, 95% CI [0.547%, 5.05%]); about 400 trials each at that rate (159 to 1462)", et.PlanText())

	never := Summarize(effectRecords(make([]bool, 50), make([]bool, 50))).EffectTests(2, 0.05)[0]
	assert.Contains(t, never.PlanText(), "; at least 113 trials each")
}

// TestEffectGateErrorRate simulates the gate on a fix exactly at the null
// hypothesis's boundary (the clean side fails 1/R as often as the control)
// and checks that it passes as often as the exact formula says, which is
// at most the stated error bound. The simulation is seeded, so the test is
// deterministic.
func TestEffectGateErrorRate(t *testing.T) {
	const (
		p     = 0.02
		r     = 2.0
		q     = p / r
		gates = 20000
	)
	k := EffectDetections(r, 0.05)
	rng := rand.New(rand.NewPCG(1, 2))
	passed := 0
	for range gates {
		hits, n := 0, 0
		for hits < k {
			n++
			if rng.Float64() < p {
				hits++
			}
		}
		clean := true
		for range n {
			if rng.Float64() < q {
				clean = false
				break
			}
		}
		if clean {
			passed++
		}
	}
	exact := math.Pow(p*(1-q)/(1-(1-p)*(1-q)), float64(k))
	assert.LessOrEqual(t, exact, EffectError(r, k))
	// The simulated rate is within 4 standard errors of the exact one
	// (sd = sqrt(e(1-e)/20000) ~ 0.0013 at e = 0.038).
	got := float64(passed) / gates
	sd := math.Sqrt(exact * (1 - exact) / gates)
	assert.InDelta(t, exact, got, 4*sd, "passed %d of %d gates at the null's boundary", passed, gates)
	assert.Less(t, got, 0.05)
}

func TestTheEffectGateVerdict(t *testing.T) {
	gate := func(recs []result.Record) Verdict {
		s := Summarize(recs)
		s.Policy = result.VerdictPolicy{MinPower: 0.5, RequireControl: true, MinEffect: 1}
		return s.Verdict()
	}
	t.Run("a rare control and a clean fix pass once the effect is shown, whatever the per-trial power", func(t *testing.T) {
		v := gate(effectRecords(hitsAt(100, 3, 20, 41, 60, 90), make([]bool, 100)))
		assert.Equal(t, Pass, v.Status, v.Line)
		assert.Equal(t, "PASS bug detected 5/100 (power >= 1.64% at 95%); "+
			"fix clean in 100 trials: fails at most 1/1 as often as bug per trial (effect gate, error <= 3.13%: 5 detections of bug in its first 91 trials, none of fix in 100)", v.Line)
	})
	t.Run("until then the gate has not shown the fix: lost power, with what it misses and the plan", func(t *testing.T) {
		v := gate(effectRecords(hitsAt(100, 3, 20), make([]bool, 100)))
		assert.Equal(t, LostPower, v.Status)
		assert.Equal(t, "FAIL lost power: fix clean in 100 trials, but its effect of at least 1x is not shown yet: bug detected 2 of the 5 times needed; about 250 trials each in all at bug's rate", v.Line)
	})
	t.Run("a clean failure is a regression, effect gate or not", func(t *testing.T) {
		v := gate(effectRecords(hitsAt(100, 3, 20, 41, 60, 90), hitsAt(100, 50)))
		assert.Equal(t, Regression, v.Status)
	})
	t.Run("a never-detected control has lost its power", func(t *testing.T) {
		v := gate(effectRecords(make([]bool, 100), make([]bool, 100)))
		assert.Equal(t, LostPower, v.Status)
		assert.Contains(t, v.Line, "bug was never detected in 100 trials")
	})
	t.Run("a clean subject with no control to measure against fails the effect gate", func(t *testing.T) {
		v := gate(effectRecords(nil, make([]bool, 10)))
		assert.Equal(t, LostPower, v.Status)
		assert.Contains(t, v.Line, "no control of its scenario ran")
	})
}

func TestAPlainRunSaysWhenItCannotShowTheEffect(t *testing.T) {
	s := Summarize(effectRecords(hitsAt(200, 1, 50, 90, 120, 170), make([]bool, 200)))
	v := s.Verdict()
	assert.Equal(t, Pass, v.Status, "a plain run is no gate")
	assert.Contains(t, v.Line, "fix's effect against bug is not shown: too few trials")
	s = Summarize(effectRecords(hitsAt(20, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19), make([]bool, 20)))
	assert.NotContains(t, s.Verdict().Line, "not shown", "20/20 against 0/20 shows it")
}

func TestTheEffectGatePlanIsPrinted(t *testing.T) {
	s := Summarize(effectRecords(hitsAt(100, 3, 20), make([]bool, 100)))
	s.Policy = result.VerdictPolicy{RequireControl: true, MinEffect: 1}
	for _, f := range []string{"table", "markdown", "json"} {
		var b bytes.Buffer
		require.NoError(t, Render(&b, f, s))
		assert.Contains(t, b.String(), "needs 5 detections of bug before any failure of fix", f)
		assert.Contains(t, b.String(), "undecided (bug detected 2 of the 5 times needed)", f)
	}
	s.Policy.MinEffect = 0
	var b bytes.Buffer
	require.NoError(t, Render(&b, "table", s))
	assert.NotContains(t, b.String(), "effect gate:", "no plan without the effect gate")
}

func TestTheVerdictAgreesWithTheEffectLine(t *testing.T) {
	// Bounded per second of stress only: the effect line says so, and the
	// verdict does not call it "not shown".
	e := Effect{PerTrial: 39, PerSecond: 0.818}
	assert.True(t, e.Shown())
	assert.NotContains(t, e.Statement(), "not shown")
	e.NotPerSecond = "the sides' trials differ in length"
	assert.False(t, e.Shown(), "without the per-second basis only the per-trial bound counts")
	assert.Contains(t, e.Statement(), "not shown")
	assert.False(t, Effect{PerTrial: 2, PerSecond: 3}.Shown())
	assert.True(t, Effect{PerTrial: 0.5, PerSecond: 3}.Shown())
}
