package tune

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/racestress/racestress/report"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRateGarwood(t *testing.T) {
	// Garwood's exact 95% limits of a Poisson mean (published tables):
	// 0 -> [0, 3.689], 1 -> [0.0253, 5.572], 10 -> [4.795, 18.39].
	for _, c := range []struct {
		k      int
		lo, hi float64
	}{{0, 0, 3.6889}, {1, 0.02532, 5.5716}, {10, 4.7954, 18.3904}} {
		r := NewRate(20, c.k, 2*time.Second)
		assert.InDelta(t, c.lo/2, r.Lo, 1e-4, "k=%d", c.k)
		assert.InDelta(t, c.hi/2, r.Hi, 1e-4, "k=%d", c.k)
		assert.Equal(t, float64(c.k)/2, r.PerSecond)
		assert.True(t, r.Known())
	}
	none := NewRate(0, 0, 0)
	assert.False(t, none.Known())
	assert.Equal(t, Rate{}, none)
	assert.Equal(t, "-", none.String())
	assert.Equal(t, Rate{}, NewRate(-1, -2, -time.Second))

	r := RateOf([]Sample{{Hit: true, Wall: 30 * time.Millisecond}, {Wall: 70 * time.Millisecond}, {Hit: true, Wall: 100 * time.Millisecond}})
	assert.Equal(t, 3, r.Trials)
	assert.Equal(t, 2, r.Hits)
	assert.Equal(t, 200*time.Millisecond, r.Wall)
	assert.InDelta(t, 10, r.PerSecond, 1e-12)
	// 2 events: [0.2422, 7.2247] over 0.2 s.
	assert.Equal(t, "10/s [1.21/s, 36.2/s]", r.String())
}

func TestRatioConditional(t *testing.T) {
	// 10 and 10 over equal exposure: Clopper–Pearson of 10/20 is
	// [0.27196, 0.72804], odds [0.37354, 2.6771].
	a := NewRate(10, 10, time.Second)
	r := RatioOf(a, a)
	assert.InDelta(t, 1, r.Value, 1e-12)
	assert.InDelta(t, 0.37354, r.Lo, 1e-4)
	assert.InDelta(t, 2.6771, r.Hi, 1e-4)
	// The same counts over half the exposure: twice the hazard.
	r2 := RatioOf(NewRate(10, 10, time.Second/2), a)
	assert.InDelta(t, 2, r2.Value, 1e-12)
	assert.InDelta(t, 2*r.Lo, r2.Lo, 1e-9)
	assert.InDelta(t, 2*r.Hi, r2.Hi, 1e-9)
	// The denominator never failed: unbounded above.
	inf := RatioOf(a, NewRate(50, 0, time.Second))
	assert.True(t, math.IsInf(inf.Value, 1))
	assert.True(t, math.IsInf(inf.Hi, 1))
	// Clopper–Pearson of 10/10: lo = 0.025^(1/10) = 0.69150.
	lo := math.Pow(0.025, 0.1)
	assert.InDelta(t, lo/(1-lo), inf.Lo, 1e-6)
	zero := RatioOf(NewRate(50, 0, time.Second), a)
	assert.Zero(t, zero.Value)
	assert.Zero(t, zero.Lo)
	assert.False(t, RatioOf(NewRate(5, 0, time.Second), NewRate(5, 0, time.Second)).Known())
	assert.False(t, RatioOf(Rate{}, a).Known())
}

// TestRatioCoverage checks the interval's level on simulated Poisson
// counts: the exact conditional interval covers the true ratio in at
// least 95% of draws (it is conservative). The draws are seeded, so the
// test is deterministic; with 4000 draws the observed coverage has σ <=
// 0.35%, and the threshold sits 5σ below 95%: a correct interval fails
// it for fewer than 3e-7 of seeds.
func TestRatioCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 1))
	// count returns the events of a Poisson process of rate l in t seconds.
	count := func(l, t float64) int {
		k := 0
		for sum := rng.ExpFloat64() / l; sum <= t; sum += rng.ExpFloat64() / l {
			k++
		}
		return k
	}
	covered, n := 0, 4000
	for range n {
		a := NewRate(1, count(6, 2), 2*time.Second)
		b := NewRate(1, count(2, 3), 3*time.Second)
		if r := RatioOf(a, b); r.Lo <= 3 && 3 <= r.Hi {
			covered++
		}
	}
	t.Logf("coverage %d of %d", covered, n)
	assert.GreaterOrEqual(t, float64(covered)/float64(n), 0.95-5*0.0035)
}

func TestConfirmGain(t *testing.T) {
	var defaults, winner []Sample
	for i := range 40 {
		defaults = append(defaults, Sample{Hit: true, Wall: 25 * time.Millisecond})
		winner = append(winner, Sample{Hit: i%10 != 0, Wall: 4 * time.Millisecond})
	}
	c := Confirm(defaults, winner)
	assert.Equal(t, RateOf(defaults), c.Defaults)
	assert.Equal(t, RateOf(winner), c.Winner)
	assert.Equal(t, RatioOf(c.Winner, c.Defaults), c.Gain)
	// 36 hits in 160ms against 40 in 1s: 5.625x.
	assert.InDelta(t, 5.625, c.Gain.Value, 1e-12)
	assert.Equal(t, "hazard 5.6× the defaults' ["+report.FormatSignificant(c.Gain.Lo, 2, report.RoundDown)+"×, "+report.FormatSignificant(c.Gain.Hi, 2, report.RoundUp)+"×]", c.GainString())
	assert.Equal(t, "hazard 7.9× the defaults' [5.1×, 12×]", FormatGain(Ratio{7.94, 5.13, 11.2}, Rate{}))
	assert.Equal(t, "hazard at least 3.6× the defaults' (the defaults did not fail in 50 trials)",
		FormatGain(Ratio{math.Inf(1), 3.69, math.Inf(1)}, Rate{Trials: 50}))
	assert.Equal(t, "no failure in either cell: no gain can be stated", FormatGain(RatioOf(Rate{}, Rate{}), Rate{}))
}

func TestFormatSig(t *testing.T) {
	for _, c := range []struct {
		x      float64
		digits int
		r      report.Rounding
		want   string
	}{
		{5.1, 2, report.RoundDown, "5.1"}, {5.1, 2, report.RoundUp, "5.1"}, {0.29, 2, report.RoundDown, "0.29"}, {0.29, 2, report.RoundUp, "0.29"},
		{11.2, 2, report.RoundUp, "12"}, {11.2, 2, report.RoundDown, "11"}, {11.5, 2, report.RoundNearest, "12"}, {11.49, 2, report.RoundNearest, "11"},
		{9.99, 2, report.RoundUp, "10"}, {999.5, 3, report.RoundNearest, "1000"}, {0.000123456, 3, report.RoundDown, "0.000123"},
		{123456, 3, report.RoundUp, "124000"}, {1e-9, 3, report.RoundUp, "1e-09"}, {0, 3, report.RoundUp, "0"}, {-1, 3, report.RoundUp, "0"},
		{math.Inf(1), 2, report.RoundUp, "∞"}, {math.NaN(), 2, report.RoundUp, "-"},
	} {
		assert.Equal(t, c.want, report.FormatSignificant(c.x, c.digits, c.r), "%v %d %d", c.x, c.digits, c.r)
	}
	// Outwards, always: the printed lower bound never exceeds the bound,
	// the upper never falls short, over many awkward values.
	for i := 1; i < 20000; i++ {
		x := float64(i) * 0.0137
		lo, _ := parseSig(report.FormatSignificant(x, 2, report.RoundDown))
		hi, _ := parseSig(report.FormatSignificant(x, 2, report.RoundUp))
		require.LessOrEqual(t, lo, x)
		require.GreaterOrEqual(t, hi, x)
	}
	assert.Equal(t, "41.2/s", FormatHazard(41.24))
	assert.Equal(t, "[35.1/s, 48.4/s]", FormatHazardInterval(35.19, 48.31))
}

func parseSig(s string) (float64, error) {
	var x float64
	err := json.Unmarshal([]byte(s), &x)
	return x, err
}

func TestRatioJSON(t *testing.T) {
	for _, r := range []Ratio{{2, 1, 3}, {math.Inf(1), 3.5, math.Inf(1)}, {0, 0, 0.25}} {
		b, err := json.Marshal(r)
		require.NoError(t, err)
		var back Ratio
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, r, back, string(b))
	}
	b, err := json.Marshal(Ratio{math.Inf(1), 3.5, math.Inf(1)})
	require.NoError(t, err)
	assert.JSONEq(t, `{"value":null,"lo":3.5,"hi":null}`, string(b))
	b, err = json.Marshal(RatioOf(Rate{}, Rate{}))
	require.NoError(t, err)
	assert.Equal(t, "null", string(b))
	var back Ratio
	require.NoError(t, json.Unmarshal(b, &back))
	assert.False(t, back.Known())
	for _, bad := range []string{`{"value":2,"lo":3,"hi":4}`, `{"value":2,"hi":4}`, `{"value":2,"lo":-1,"hi":4}`, `{"value":5,"lo":1,"hi":4}`, `[1]`} {
		assert.Error(t, json.Unmarshal([]byte(bad), &back), bad)
	}
}
