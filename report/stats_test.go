package report

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

func TestClopperPearson(t *testing.T) {
	t.Run("zero failures in 20 trials bound the rate below 0.1684", func(t *testing.T) {
		lo, hi := ClopperPearson(0, 20)
		assert.Equal(t, 0.0, lo)
		assert.InDelta(t, 0.1684, hi, 5e-5)
	})
	t.Run("ten detections in 10 trials bound the rate above 0.6915", func(t *testing.T) {
		lo, hi := ClopperPearson(10, 10)
		assert.InDelta(t, 0.6915, lo, 5e-5)
		assert.Equal(t, 1.0, hi)
	})
	t.Run("the all-or-nothing bounds follow the closed form", func(t *testing.T) {
		for _, n := range []int{1, 2, 5, 20, 100, 1000} {
			_, hi := ClopperPearson(0, n)
			assert.InDelta(t, 1-math.Pow(0.025, 1/float64(n)), hi, 1e-9, "0 of %d", n)
			lo, _ := ClopperPearson(n, n)
			assert.InDelta(t, math.Pow(0.025, 1/float64(n)), lo, 1e-9, "%d of %d", n, n)
		}
	})
	t.Run("interior counts match published exact intervals", func(t *testing.T) {
		cases := []struct {
			k, n   int
			lo, hi float64
		}{
			{5, 10, 0.1871, 0.8129},
			{3, 20, 0.0321, 0.3789},
			{1, 20, 0.0013, 0.2487},
		}
		for _, c := range cases {
			lo, hi := ClopperPearson(c.k, c.n)
			assert.InDelta(t, c.lo, lo, 1e-4, "%d of %d: low", c.k, c.n)
			assert.InDelta(t, c.hi, hi, 1e-4, "%d of %d: high", c.k, c.n)
		}
	})
	t.Run("no trials say nothing", func(t *testing.T) {
		lo, hi := ClopperPearson(0, 0)
		assert.Equal(t, [2]float64{0, 1}, [2]float64{lo, hi})
	})
}

func TestRunsNeeded(t *testing.T) {
	t.Run("known rates need the known number of trials", func(t *testing.T) {
		cases := []struct {
			p    float64
			want int
		}{{1, 1}, {0.99, 1}, {0.9, 2}, {0.5, 7}, {0.1, 44}, {0.01, 459}}
		for _, c := range cases {
			n, ok := RunsNeeded(c.p, 0.99)
			require.True(t, ok, "p=%g", c.p)
			assert.Equal(t, c.want, n, "p=%g", c.p)
		}
	})
	t.Run("the answer is the smallest n that reaches 99%", func(t *testing.T) {
		for p := 0.013; p < 1; p += 0.037 {
			n, ok := RunsNeeded(p, 0.99)
			require.True(t, ok)
			assert.GreaterOrEqual(t, 1-math.Pow(1-p, float64(n)), 0.99-1e-9, "p=%g n=%d", p, n)
			assert.Less(t, 1-math.Pow(1-p, float64(n-1)), 0.99, "p=%g n-1=%d", p, n-1)
		}
	})
	t.Run("a rate of zero needs infinitely many trials", func(t *testing.T) {
		_, ok := RunsNeeded(0, 0.99)
		assert.False(t, ok)
	})
}

// handWorked is a small censored sample, worked by hand (times in ms, D
// detected, C censored):
//
//	t  at risk  detected  S(t)               P(detected by t)
//	1  7        1         6/7                1/7   = 0.142857
//	2  (censored)
//	3  5        2         6/7 * 3/5 = 18/35  17/35 = 0.485714
//	4  (censored)
//	5  2        1         18/35 * 1/2 = 9/35 26/35 = 0.742857
//	6  (censored)
//
// Dropping the censored trials instead would put the median at 3 ms; the
// estimate puts it at 5 ms, and p90 is not reached within 6 ms.
var handWorked = []Sample{
	{T: 5 * time.Millisecond, Detected: true},
	{T: 1 * time.Millisecond, Detected: true},
	{T: 2 * time.Millisecond},
	{T: 3 * time.Millisecond, Detected: true},
	{T: 6 * time.Millisecond},
	{T: 3 * time.Millisecond, Detected: true},
	{T: 4 * time.Millisecond},
}

func TestKaplanMeier(t *testing.T) {
	c := KaplanMeier(handWorked)
	t.Run("the hand-worked sample gives the hand-worked steps", func(t *testing.T) {
		require.Len(t, c.Steps, 3)
		want := []Step{
			{T: 1 * time.Millisecond, P: 1.0 / 7, AtRisk: 7, Detected: 1},
			{T: 3 * time.Millisecond, P: 17.0 / 35, AtRisk: 5, Detected: 2},
			{T: 5 * time.Millisecond, P: 26.0 / 35, AtRisk: 2, Detected: 1},
		}
		for i, w := range want {
			assert.Equal(t, w.T, c.Steps[i].T, "step %d", i)
			assert.InDelta(t, w.P, c.Steps[i].P, 1e-12, "step %d", i)
			assert.Equal(t, w.AtRisk, c.Steps[i].AtRisk, "step %d", i)
			assert.Equal(t, w.Detected, c.Steps[i].Detected, "step %d", i)
		}
		assert.Equal(t, 6*time.Millisecond, c.Horizon)
		assert.Equal(t, 7, c.Trials)
		assert.Equal(t, 3, c.Censored)
	})
	t.Run("the curve is a right-continuous step function", func(t *testing.T) {
		assert.Equal(t, 0.0, c.At(999*time.Microsecond))
		assert.InDelta(t, 1.0/7, c.At(1*time.Millisecond), 1e-12)
		assert.InDelta(t, 1.0/7, c.At(2*time.Millisecond), 1e-12)
		assert.InDelta(t, 17.0/35, c.At(3*time.Millisecond), 1e-12)
		assert.InDelta(t, 26.0/35, c.At(time.Hour), 1e-12)
		assert.InDelta(t, 26.0/35, c.Final(), 1e-12)
	})
	t.Run("quantiles are the first times the curve reaches them", func(t *testing.T) {
		d, ok := c.Quantile(0.4)
		assert.True(t, ok)
		assert.Equal(t, 3*time.Millisecond, d)
		d, ok = c.Quantile(0.5)
		assert.True(t, ok)
		assert.Equal(t, 5*time.Millisecond, d, "the censored trials push the median past the naive 3ms")
	})
	t.Run("a quantile the curve never reaches is reported beyond the horizon", func(t *testing.T) {
		d, ok := c.Quantile(0.9)
		assert.False(t, ok)
		assert.Equal(t, 6*time.Millisecond, d)
	})
	t.Run("a trial censored at a detection time is still at risk then", func(t *testing.T) {
		c := KaplanMeier([]Sample{{T: 2, Detected: true}, {T: 2}, {T: 4, Detected: true}})
		require.Len(t, c.Steps, 2)
		assert.Equal(t, 3, c.Steps[0].AtRisk)
		assert.InDelta(t, 1.0/3, c.Steps[0].P, 1e-12)
		assert.InDelta(t, 1.0, c.Steps[1].P, 1e-12)
	})
	t.Run("exactly one half reaches the median despite Rounding", func(t *testing.T) {
		// 1 - (3/4)(2/3) = 1/2, computed in floating point.
		c := KaplanMeier([]Sample{{T: 1, Detected: true}, {T: 2, Detected: true}, {T: 3}, {T: 4}})
		d, ok := c.Quantile(0.5)
		assert.True(t, ok)
		assert.Equal(t, time.Duration(2), d)
	})
	t.Run("no detections give a flat curve with nothing reached", func(t *testing.T) {
		c := KaplanMeier([]Sample{{T: time.Second}, {T: 2 * time.Second}})
		assert.Empty(t, c.Steps)
		assert.Equal(t, 0.0, c.Final())
		d, ok := c.Quantile(0.5)
		assert.False(t, ok)
		assert.Equal(t, 2*time.Second, d)
	})
	t.Run("no trials give an empty curve", func(t *testing.T) {
		c := KaplanMeier(nil)
		assert.Empty(t, c.Steps)
		assert.Zero(t, c.Horizon)
	})
}

func TestGroupStatistics(t *testing.T) {
	var records []result.Record
	for i, o := range handWorked {
		r := result.Record{Trial: i, Scenario: "s", Registry: "unfixed", Role: result.Control, Outcome: result.OK, Grade: result.Acceptable, DurationNs: int64(6 * time.Millisecond)}
		if o.Detected {
			r.Outcome, r.Grade, r.Detected, r.Signature, r.TTFFNanos = result.ChangedSize, result.Forbidden, true, true, int64(o.T)
			r.DurationNs = int64(o.T)
		} else {
			r.DurationNs = int64(o.T)
		}
		records = append(records, r)
	}
	s := Summarize(records)
	require.Len(t, s.Groups, 1)
	g := s.Groups[0]
	t.Run("summarize keeps the records", func(t *testing.T) {
		assert.Equal(t, records, s.Records)
	})
	t.Run("undetected trials are censored at their length, not dropped", func(t *testing.T) {
		assert.Len(t, g.Samples, 7)
		d, ok := g.KMQuantile(0.5)
		assert.True(t, ok)
		assert.Equal(t, 5*time.Millisecond, d)
		raw, ok := g.TTFFQuantile(0.5)
		assert.True(t, ok)
		assert.Equal(t, 3*time.Millisecond, raw, "the raw median of detected trials only")
	})
	t.Run("the detection interval is the Clopper-Pearson one", func(t *testing.T) {
		lo, hi := g.DetectionCI()
		wlo, whi := ClopperPearson(4, 7)
		assert.Equal(t, [2]float64{wlo, whi}, [2]float64{lo, hi})
	})
	t.Run("runs needed follow the observed rate", func(t *testing.T) {
		n, ok := g.RunsNeeded99()
		assert.True(t, ok)
		want, _ := RunsNeeded(4.0/7, 0.99)
		assert.Equal(t, want, n)
	})
	t.Run("a clean registry with no failures states an upper bound", func(t *testing.T) {
		g := Group{Registry: "fixed", Role: result.Clean, Runs: 20}
		assert.Equal(t, "failure rate < 16.9% per trial at 95% (0 of 20 trials)", g.RateStatement())
		_, ok := g.RunsNeeded99()
		assert.False(t, ok)
	})
	t.Run("a control states its rate with the interval rounded outwards", func(t *testing.T) {
		g := Group{Registry: "unfixed", Runs: 10, Detected: 10}
		assert.Equal(t, "detection rate 100% per trial, 95% CI [69.1%, 100%] (10 of 10 trials)", g.RateStatement())
	})
}

func TestPercentages(t *testing.T) {
	t.Run("percentages keep three significant digits", func(t *testing.T) {
		assert.Equal(t, "0%", pct(0))
		assert.Equal(t, "100%", pct(1))
		assert.Equal(t, "15%", pct(0.15))
		assert.Equal(t, "57.1%", pct(4.0/7))
		assert.Equal(t, "0.0123%", pct(0.000123))
	})
	t.Run("bounds round outwards but not past exact values", func(t *testing.T) {
		assert.Equal(t, "16.9%", pctUp(0.16843))
		assert.Equal(t, "69.1%", pctDown(0.69150))
		assert.Equal(t, "15%", pctUp(0.15))
		assert.Equal(t, "15%", pctDown(0.15))
	})
}

func TestCountTicks(t *testing.T) {
	t.Run("counts are marked at whole numbers only", func(t *testing.T) {
		values := func(lo, hi float64) []float64 {
			var vs []float64
			for _, tk := range (countTicks{}).Ticks(lo, hi) {
				vs = append(vs, tk.Value)
			}
			return vs
		}
		assert.Equal(t, []float64{0, 1}, values(0, 1.3))
		assert.Equal(t, []float64{0, 2, 4, 6, 8}, values(0, 9.1))
		assert.Equal(t, []float64{0, 5, 10, 15, 20}, values(0, 24))
		assert.Equal(t, []float64{0, 10, 20}, values(0, 26))
		assert.Equal(t, []float64{0, 100, 200}, values(0, 260))
	})
}
