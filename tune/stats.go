package tune

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/racestress/racestress/report"
)

// Rate is a detection hazard: Hits failures seen in Trials trials that took
// Wall of wall-clock time between them, overhead included. PerSecond is
// Hits divided by Wall in seconds, and [Lo, Hi] its exact two-sided
// Poisson interval at level report.Confidence (Garwood's: Lo is the α/2
// quantile of Gamma(Hits, 1), Hi the 1-α/2 quantile of Gamma(Hits+1, 1),
// both divided by the exposure; Lo is 0 when Hits is 0).
//
// With no exposure nothing is known: Known reports false and the numbers
// are zero.
type Rate struct {
	Trials    int           `json:"trials"`
	Hits      int           `json:"hits"`
	Wall      time.Duration `json:"wall_ns"`
	PerSecond float64       `json:"per_second"`
	Lo        float64       `json:"lo"`
	Hi        float64       `json:"hi"`
}

// NewRate returns the rate of hits in trials over wall. Negative inputs
// count as zero.
func NewRate(trials, hits int, wall time.Duration) Rate {
	r := Rate{Trials: max(trials, 0), Hits: max(hits, 0), Wall: max(wall, 0)}
	if r.Wall == 0 {
		return r
	}
	t := r.Wall.Seconds()
	r.PerSecond = float64(r.Hits) / t
	r.Lo, r.Hi = poissonInterval(r.Hits)
	r.Lo /= t
	r.Hi /= t
	return r
}

// RateOf returns the rate of the samples.
func RateOf(samples []Sample) Rate {
	var hits int
	var wall time.Duration
	for _, s := range samples {
		if s.Hit {
			hits++
		}
		wall += s.Wall
	}
	return NewRate(len(samples), hits, wall)
}

// Known reports whether the rate rests on any exposure.
func (r Rate) Known() bool { return r.Wall > 0 }

// poissonInterval returns the exact interval of the mean of a Poisson count
// seen as k.
func poissonInterval(k int) (lo, hi float64) {
	alpha := 1 - report.Confidence
	if k > 0 {
		lo = distuv.Gamma{Alpha: float64(k), Beta: 1}.Quantile(alpha / 2)
	}
	hi = distuv.Gamma{Alpha: float64(k + 1), Beta: 1}.Quantile(1 - alpha/2)
	return lo, hi
}

// String prints the rate as "41.2/s [35.1/s, 48.3/s]", the bounds rounded
// outwards; "-" when it is not known.
func (r Rate) String() string {
	if !r.Known() {
		return "-"
	}
	return FormatHazard(r.PerSecond) + " " + FormatHazardInterval(r.Lo, r.Hi)
}

// Ratio is the ratio of two hazards with its interval at level
// report.Confidence. Value and Hi are +Inf when the denominator never
// failed; all three are NaN when neither did (nothing is known).
type Ratio struct {
	Value, Lo, Hi float64
}

// RatioOf returns the ratio of the hazards a/b with its exact conditional
// interval: given k1 hits over exposure t1 and k2 over t2, k1 is binomial
// in k1+k2 with p = λ1 t1/(λ1 t1 + λ2 t2); the Clopper–Pearson interval
// [pL, pU] of p maps to the ratio λ1/λ2 = p/(1-p) · t2/t1, which is
// increasing in p, so that [pL/(1-pL), pU/(1-pU)] · t2/t1 covers it at the
// same level.
func RatioOf(a, b Rate) Ratio {
	nan := math.NaN()
	if !a.Known() || !b.Known() || a.Hits+b.Hits == 0 {
		return Ratio{nan, nan, nan}
	}
	scale := b.Wall.Seconds() / a.Wall.Seconds()
	odds := func(p float64) float64 {
		if p >= 1 {
			return math.Inf(1)
		}
		return p / (1 - p) * scale
	}
	// ClopperPearson gives pL = 0 when a never failed and pU = 1 when b
	// never did: a ratio of 0 and an unbounded one.
	pl, pu := report.ClopperPearson(a.Hits, a.Hits+b.Hits)
	return Ratio{Value: odds(float64(a.Hits) / float64(a.Hits+b.Hits)), Lo: odds(pl), Hi: odds(pu)}
}

// Known reports whether anything is known of the ratio.
func (r Ratio) Known() bool { return !math.IsNaN(r.Value) }

// ratioJSON is a Ratio in JSON, which has no infinities: null is +Inf.
type ratioJSON struct {
	Value *float64 `json:"value"`
	Lo    *float64 `json:"lo"`
	Hi    *float64 `json:"hi"`
}

// MarshalJSON writes r with +Inf as null, and an unknown ratio as null.
func (r Ratio) MarshalJSON() ([]byte, error) {
	if !r.Known() || math.IsNaN(r.Lo) || math.IsNaN(r.Hi) {
		return []byte("null"), nil
	}
	p := func(x float64) *float64 {
		if math.IsInf(x, 1) {
			return nil
		}
		return &x
	}
	return json.Marshal(ratioJSON{p(r.Value), p(r.Lo), p(r.Hi)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Ratio) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*r = Ratio{math.NaN(), math.NaN(), math.NaN()}
		return nil
	}
	var j ratioJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("gain: %w", err)
	}
	if j.Lo == nil {
		return fmt.Errorf("a ratio without a lower bound")
	}
	f := func(x *float64) float64 {
		if x == nil {
			return math.Inf(1)
		}
		return *x
	}
	*r = Ratio{f(j.Value), f(j.Lo), f(j.Hi)}
	if !(r.Lo >= 0 && r.Lo <= r.Value && r.Value <= r.Hi) {
		return fmt.Errorf("a ratio whose bounds do not hold it: %v [%v, %v]", r.Value, r.Lo, r.Hi)
	}
	return nil
}

// Confirmation is the fresh, interleaved measurement of the defaults cell
// and the winner: each one's hazard, and the winner's gain over the
// defaults.
type Confirmation struct {
	Defaults Rate  `json:"defaults"`
	Winner   Rate  `json:"winner"`
	Gain     Ratio `json:"gain"`
}

// Confirm measures the samples of the defaults cell and of the winner.
func Confirm(defaults, winner []Sample) Confirmation {
	c := Confirmation{Defaults: RateOf(defaults), Winner: RateOf(winner)}
	c.Gain = RatioOf(c.Winner, c.Defaults)
	return c
}

// GainString prints the gain as "hazard 7.9× the defaults' [5.1×, 12×]",
// the bounds rounded outwards.
func (c Confirmation) GainString() string { return FormatGain(c.Gain, c.Defaults) }

// FormatGain prints the gain g over the defaults' rate d, as
// Confirmation.GainString.
func FormatGain(g Ratio, d Rate) string {
	switch {
	case !g.Known():
		return "no failure in either cell: no gain can be stated"
	case math.IsInf(g.Value, 1):
		return fmt.Sprintf("hazard at least %s× the defaults' (the defaults did not fail in %d trials)",
			report.FormatSignificant(g.Lo, 2, report.RoundDown), d.Trials)
	}
	return fmt.Sprintf("hazard %s× the defaults' [%s×, %s×]",
		report.FormatSignificant(g.Value, 2, report.RoundNearest), report.FormatSignificant(g.Lo, 2, report.RoundDown), report.FormatSignificant(g.Hi, 2, report.RoundUp))
}

// FormatHazard prints a hazard in failures per second with three
// significant digits: "41.2/s".
func FormatHazard(x float64) string {
	return report.FormatSignificant(x, 3, report.RoundNearest) + "/s"
}

// FormatHazardInterval prints [lo, hi] rounded outwards: "[35.1/s, 48.3/s]".
func FormatHazardInterval(lo, hi float64) string {
	return "[" + report.FormatSignificant(lo, 3, report.RoundDown) + "/s, " + report.FormatSignificant(hi, 3, report.RoundUp) + "/s]"
}
