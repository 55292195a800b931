package report

import (
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClopperPearsonSaysNothingAboutImpossibleCounts(t *testing.T) {
	for _, c := range [][2]int{{5, 3}, {4, 3}, {-1, 3}, {0, -2}, {1, 0}} {
		lo, hi := ClopperPearson(c[0], c[1])
		assert.Equal(t, [2]float64{0, 1}, [2]float64{lo, hi}, "%d of %d", c[0], c[1])
	}
	lo, hi := ClopperPearson(3, 3)
	assert.Greater(t, lo, 0.29, "3 of 3 is possible and says something")
	assert.Equal(t, 1.0, hi)
}

func TestRunsNeededExactly(t *testing.T) {
	// Worked by hand: n is the smallest count with (1-p)^n <= 1-prob.
	cases := []struct {
		p, prob float64
		want    int
		why     string
	}{
		{0.9, 0.99, 2, "0.1^2 = 0.01 exactly"},
		{0.99, 0.9999, 2, "0.01^2 = 0.0001 exactly"},
		{0.5, 0.75, 2, "0.5^2 = 0.25 exactly"},
		{0.5, 0.875, 3, "0.5^3 = 0.125 exactly"},
		{0.3, 0.51, 2, "0.7^2 = 0.49 exactly"},
		{0.7, 0.91, 2, "0.3^2 = 0.09 exactly"},
		{0.2, 0.488, 3, "0.8^3 = 0.512 exactly"},
		{0.4, 0.784, 3, "0.6^3 = 0.216 exactly"},
		{0.5, 0.76, 3, "0.5^2 = 0.25 > 0.24: one more"},
		{0.25, 0.9, 9, "0.75^8 = 0.1001 > 0.1, 0.75^9 = 0.0751"},
		{0.5, 0.5, 1, "one trial is enough at even odds"},
		{0.6, 0.5, 1, "a rate above the goal needs one trial"},
		{0.5, 0.51, 2, "just past the rate needs two"},
		{0.01, 0.99, 459, "0.99^458 = 0.01003, 0.99^459 = 0.00993"},
	}
	for _, c := range cases {
		n, ok := RunsNeeded(c.p, c.prob)
		assert.True(t, ok, "p=%g prob=%g", c.p, c.prob)
		assert.Equal(t, c.want, n, "p=%g prob=%g: %s", c.p, c.prob, c.why)
	}
}

func TestRunsNeededAtTheEdges(t *testing.T) {
	cases := []struct {
		p, prob float64
		n       int
		ok      bool
		why     string
	}{
		{1, 1, 1, true, "a certain detection is certain after one trial"},
		{1.5, 0.99, 1, true, "a rate above one is certain too"},
		{0.5, 1, 0, false, "certainty needs infinitely many trials below a rate of one"},
		{0.5, 1.2, 0, false, "so does more than certainty"},
		{0.5, 0, 1, true, "no goal still takes one trial"},
		{0.5, -1, 1, true, "nor does a negative one"},
		{0.5, 1e-12, 1, true, "a tiny goal takes one trial, not none"},
		{0, 0.99, 0, false, "a rate of zero never detects"},
		{0, 0, 0, false, "not even for no goal at all"},
		{-0.1, 0.99, 0, false, "nor does a negative one"},
		{math.NaN(), 0.99, 0, false, "an unknown rate gives no answer"},
		{0.5, math.NaN(), 0, false, "nor does an unknown goal"},
		{1e-300, 0.99, 0, false, "far more trials than an int can count"},
	}
	for _, c := range cases {
		n, ok := RunsNeeded(c.p, c.prob)
		assert.Equal(t, c.ok, ok, "p=%g prob=%g: %s", c.p, c.prob, c.why)
		if c.ok {
			assert.Equal(t, c.n, n, "p=%g prob=%g: %s", c.p, c.prob, c.why)
		}
	}
}

// missAfter returns (1-p)^n with 400 bits of precision, as the reference for
// small rates, where n is in the millions and (1-p) rounded to a float64
// would be off by n ulps.
func missAfter(p float64, n int64) *big.Float {
	q := new(big.Float).SetPrec(400).SetFloat64(1)
	q.Sub(q, new(big.Float).SetPrec(400).SetFloat64(p))
	r := new(big.Float).SetPrec(400).SetFloat64(1)
	for ; n > 0; n >>= 1 {
		if n&1 == 1 {
			r.Mul(r, q)
		}
		q.Mul(q, q)
	}
	return r
}

func TestRunsNeededForSmallRates(t *testing.T) {
	for _, p := range []float64{1e-3, 1.3803842646032141e-08, 1e-8, 3e-10, 1e-12} {
		for _, prob := range []float64{0.5, 0.99} {
			n, ok := RunsNeeded(p, prob)
			require.True(t, ok, "p=%g", p)
			allowed := new(big.Float).SetPrec(400).SetFloat64(1 - prob)
			allowed.Mul(allowed, big.NewFloat(1+1e-9))
			assert.True(t, missAfter(p, int64(n)).Cmp(allowed) <= 0, "p=%g prob=%g: %d trials reach it", p, prob, n)
			assert.True(t, missAfter(p, int64(n-1)).Cmp(allowed) > 0, "p=%g prob=%g: %d trials do not", p, prob, n-1)
		}
	}
}

// kmTies is a sample with every kind of tie, worked by hand (ms, D detected,
// C censored):
//
//	t  trials     at risk  detected  S(t)                 P(detected by t)
//	2  D D C      10       2         8/10 = 4/5           1/5
//	4  C C        (censored only: no step)
//	5  D          5        1         4/5 * 4/5 = 16/25    9/25
//	7  D D D C    4        3         16/25 * 1/4 = 4/25   21/25
//
// The two trials censored at 2 count as at risk at 2 but not at 5; the
// trial censored at 7 is at risk at 7. The horizon is 7ms.
var kmTies = []Sample{
	{T: 7 * time.Millisecond, Detected: true},
	{T: 2 * time.Millisecond, Detected: true},
	{T: 4 * time.Millisecond},
	{T: 7 * time.Millisecond},
	{T: 2 * time.Millisecond},
	{T: 5 * time.Millisecond, Detected: true},
	{T: 7 * time.Millisecond, Detected: true},
	{T: 2 * time.Millisecond, Detected: true},
	{T: 4 * time.Millisecond},
	{T: 7 * time.Millisecond, Detected: true},
}

func TestKaplanMeierWithTiesAndCensoring(t *testing.T) {
	in := append([]Sample(nil), kmTies...)
	c := KaplanMeier(in)
	assert.Equal(t, kmTies, in, "the caller's observations are left in their order")
	want := []Step{
		{T: 2 * time.Millisecond, P: 1.0 / 5, AtRisk: 10, Detected: 2},
		{T: 5 * time.Millisecond, P: 9.0 / 25, AtRisk: 5, Detected: 1},
		{T: 7 * time.Millisecond, P: 21.0 / 25, AtRisk: 4, Detected: 3},
	}
	require.Len(t, c.Steps, len(want))
	for i, w := range want {
		assert.Equal(t, w.T, c.Steps[i].T, "step %d", i)
		assert.InDelta(t, w.P, c.Steps[i].P, 1e-12, "step %d", i)
		assert.Equal(t, w.AtRisk, c.Steps[i].AtRisk, "step %d", i)
		assert.Equal(t, w.Detected, c.Steps[i].Detected, "step %d", i)
	}
	assert.Equal(t, 7*time.Millisecond, c.Horizon)
	assert.Equal(t, 10, c.Trials)
	assert.Equal(t, 4, c.Censored)
	assert.InDelta(t, 21.0/25, c.Final(), 1e-12)

	t.Run("the curve holds between steps and rises at them", func(t *testing.T) {
		for _, at := range []struct {
			t time.Duration
			p float64
		}{
			{0, 0}, {2*time.Millisecond - 1, 0}, {2 * time.Millisecond, 0.2}, {4 * time.Millisecond, 0.2},
			{5*time.Millisecond - 1, 0.2}, {5 * time.Millisecond, 0.36}, {7*time.Millisecond - 1, 0.36},
			{7 * time.Millisecond, 0.84}, {time.Hour, 0.84},
		} {
			assert.InDelta(t, at.p, c.At(at.t), 1e-12, "at %v", at.t)
		}
	})
	t.Run("quantiles", func(t *testing.T) {
		for _, q := range []struct {
			q       float64
			d       time.Duration
			reached bool
		}{
			{0, 0, true}, {-1, 0, true},
			{0.1, 2 * time.Millisecond, true}, {0.2, 2 * time.Millisecond, true},
			{0.2000001, 5 * time.Millisecond, true}, {0.36, 5 * time.Millisecond, true},
			{0.5, 7 * time.Millisecond, true}, {0.84, 7 * time.Millisecond, true},
			{0.9, 7 * time.Millisecond, false}, {1, 7 * time.Millisecond, false},
		} {
			d, reached := c.Quantile(q.q)
			assert.Equal(t, q.d, d, "q=%g", q.q)
			assert.Equal(t, q.reached, reached, "q=%g", q.q)
		}
	})
}

func TestKaplanMeierEdgeCases(t *testing.T) {
	t.Run("all detected at once reach one", func(t *testing.T) {
		c := KaplanMeier([]Sample{{T: 3, Detected: true}, {T: 3, Detected: true}, {T: 3, Detected: true}})
		require.Len(t, c.Steps, 1)
		assert.Equal(t, Step{T: 3, P: 1, AtRisk: 3, Detected: 3}, c.Steps[0])
		assert.Zero(t, c.Censored)
		d, ok := c.Quantile(1)
		assert.True(t, ok)
		assert.Equal(t, time.Duration(3), d)
	})
	t.Run("censored before any detection shrink the risk set", func(t *testing.T) {
		c := KaplanMeier([]Sample{{T: 1}, {T: 1}, {T: 2, Detected: true}, {T: 3}})
		require.Len(t, c.Steps, 1)
		assert.Equal(t, 2, c.Steps[0].AtRisk)
		assert.InDelta(t, 0.5, c.Steps[0].P, 1e-12)
		assert.Equal(t, time.Duration(3), c.Horizon)
		assert.Equal(t, 3, c.Censored)
	})
	t.Run("a detection at time zero counts at zero", func(t *testing.T) {
		c := KaplanMeier([]Sample{{T: 0, Detected: true}, {T: 10}})
		require.Len(t, c.Steps, 1)
		assert.InDelta(t, 0.5, c.At(0), 1e-12)
	})
}
