package report

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// Confidence is the confidence level of every interval this package reports.
const Confidence = 0.95

// ClopperPearson returns the exact two-sided Clopper–Pearson interval, at
// level Confidence, for a binomial proportion seen as k successes in n
// trials. The bounds are Beta quantiles (gonum's distuv): lo is the α/2
// quantile of Beta(k, n-k+1) (0 when k = 0), hi the 1-α/2 quantile of
// Beta(k+1, n-k) (1 when k = n). With no trials, or a k that is not between
// 0 and n, it returns (0, 1): nothing is known.
//
// With k = 0 the upper bound 1-(α/2)^(1/n) is the exact form of the "rule of
// three" (≈ 3.7/n here): 0 of 20 gives hi = 0.1684; 10 of 10 gives lo = 0.6915.
func ClopperPearson(k, n int) (lo, hi float64) {
	if k < 0 || k > n { // n < 0 too; n = 0 (with k = 0) gives (0, 1) below
		return 0, 1
	}
	alpha := 1 - Confidence
	lo, hi = 0, 1
	if k > 0 {
		lo = distuv.Beta{Alpha: float64(k), Beta: float64(n - k + 1)}.Quantile(alpha / 2)
	}
	if k < n {
		hi = distuv.Beta{Alpha: float64(k + 1), Beta: float64(n - k)}.Quantile(1 - alpha/2)
	}
	return lo, hi
}

// RunsNeeded returns the smallest number of independent trials n for which a
// per-trial detection probability p gives at least one detection with
// probability prob: the smallest n with 1-(1-p)^n >= prob. A prob of 0 or
// less still takes one trial. ok is false when no number of trials will do
// (p <= 0, or prob >= 1 with p < 1), when p or prob is NaN, and when n would
// pass maxRuns. A relative tolerance of 1e-9 on 1-prob keeps exact cases such
// as p = 0.9, prob = 0.99 (n = 2) from being lost to Rounding.
func RunsNeeded(p, prob float64) (n int, ok bool) {
	if !(p > 0) {
		return 0, false
	}
	if p >= 1 {
		return 1, true
	}
	// In logarithms, n >= log(1-prob)/log(1-p), both from Log1p, which
	// keeps its precision for p near 0 where 1-p does not (with 1-p rounded,
	// (1-p)^n is off by n ulps: past the tolerance once n is in the tens of
	// millions). The tolerance is far above the Rounding of one division, so
	// the ceiling needs no correction.
	// prob <= 0 gives est <= 0, hence one trial; prob >= 1 gives +Inf and a
	// NaN prob NaN, hence no answer.
	est := math.Ceil((math.Log1p(-max(prob, 0)) + tolerance) / math.Log1p(-p))
	if !(est <= maxRuns) {
		return 0, false
	}
	return max(1, int(est)), true
}

// tolerance is the slack, as log(1+1e-9), that RunsNeeded allows on the
// probability of seeing nothing.
var tolerance = math.Log1p(1e-9)

// maxRuns is the largest answer RunsNeeded gives: past 2^53 a float64 no
// longer tells one number of trials from the next.
const maxRuns = 1 << 53

// Sample is one trial seen as survival data: the time from its start to
// its first forbidden outcome when Detected, otherwise its length, at which
// it is censored (it might have failed later, had it run longer).
type Sample struct {
	T        time.Duration
	Detected bool
}

// Step is one step of a Curve, at a time when trials were detected.
type Step struct {
	T        time.Duration // a time at which at least one trial was detected
	P        float64       // P(detected by T), the step at T included
	AtRisk   int           // trials neither detected nor censored before T
	Detected int           // trials detected at T
}

// Curve is a Kaplan–Meier estimate of P(detected by t), the probability that
// a trial has shown its first forbidden outcome within t of its start. It is
// a right-continuous step function that starts at 0 and rises at each
// detection time; trials that never failed count as censored at their
// length instead of being dropped. Beyond Horizon nothing was observed.
type Curve struct {
	Steps    []Step        // ascending in T
	Horizon  time.Duration // the longest observed time, detected or censored
	Trials   int           // observations behind the curve
	Censored int           // trials never detected
}

// KaplanMeier estimates P(detected by t) from obs with the product-limit
// estimator: S(t) = Π over detection times tᵢ <= t of (1 - dᵢ/nᵢ), where dᵢ
// trials were detected at tᵢ and nᵢ were at risk just before it (a trial
// censored at tᵢ counts as at risk at tᵢ), and P(detected by t) = 1 - S(t).
func KaplanMeier(obs []Sample) Curve {
	sorted := slices.Clone(obs)
	slices.SortStableFunc(sorted, func(a, b Sample) int { return cmp.Compare(a.T, b.T) })
	c := Curve{Trials: len(sorted)}
	survive := 1.0
	// Each pass takes the trials tied at one time, at least one of them, so
	// the loop always moves on.
	for i, j := 0, 0; i < len(sorted); i = j {
		t := sorted[i].T
		j = i + 1
		for j < len(sorted) && sorted[j].T == t {
			j++
		}
		atRisk, detected := len(sorted)-i, 0
		for _, o := range sorted[i:j] {
			if o.Detected {
				detected++
			}
		}
		c.Censored += j - i - detected
		if detected > 0 {
			survive *= 1 - float64(detected)/float64(atRisk)
			c.Steps = append(c.Steps, Step{T: t, P: 1 - survive, AtRisk: atRisk, Detected: detected})
		}
		c.Horizon = t
	}
	return c
}

// At returns the estimated P(detected by t).
func (c Curve) At(t time.Duration) float64 {
	// The last step at or before t: the steps after it are all later.
	i := sort.Search(len(c.Steps), func(i int) bool { return c.Steps[i].T > t })
	if i == 0 {
		return 0
	}
	return c.Steps[i-1].P
}

// quantileSlack absorbs Rounding in the product of the estimator, so that,
// e.g., a curve at exactly one half reaches its median.
const quantileSlack = 1e-9

// Quantile returns the q-quantile (0 < q <= 1) of the time to first
// failure: the earliest time t with P(detected by t) >= q. When the curve
// never gets there, reached is false and d is Horizon: the quantile is then
// only known to be longer than the longest trial ("> trial length").
func (c Curve) Quantile(q float64) (d time.Duration, reached bool) {
	if q <= 0 {
		return 0, true
	}
	for _, s := range c.Steps {
		if s.P >= q-quantileSlack {
			return s.T, true
		}
	}
	return c.Horizon, false
}

// Final returns P(detected by Horizon), the highest point of the curve.
func (c Curve) Final() float64 {
	if len(c.Steps) == 0 {
		return 0
	}
	return c.Steps[len(c.Steps)-1].P
}
