package report

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readPercent reads a printed percentage back as the float64 a reader would
// take it for, without a Rounding step of its own ("69.1%" is 69.1e-2).
func readPercent(t *testing.T, s string) float64 {
	t.Helper()
	num, ok := strings.CutSuffix(s, "%")
	require.True(t, ok, "%q ends in %%", s)
	x, err := strconv.ParseFloat(num+"e-2", 64)
	require.NoError(t, err, "%q is a number", s)
	return x
}

// binomialTail returns P(X >= k) for X ~ Binomial(n, p), summed term by
// term in log space: an exact reference for n <= 200 that shares nothing
// with the Beta quantiles behind ClopperPearson.
type binomialTail struct{ logFact []float64 }

func newBinomialTail(maxN int) binomialTail {
	lf := make([]float64, maxN+1)
	for i := 1; i <= maxN; i++ {
		lf[i] = lf[i-1] + math.Log(float64(i))
	}
	return binomialTail{lf}
}

func (b binomialTail) atLeast(k, n int, p float64) float64 {
	switch {
	case k <= 0:
		return 1
	case p <= 0:
		return 0
	case p >= 1:
		return 1
	}
	lp, lq := math.Log(p), math.Log1p(-p)
	sum := 0.0
	for j := k; j <= n; j++ {
		sum += math.Exp(b.logFact[n] - b.logFact[j] - b.logFact[n-j] + float64(j)*lp + float64(n-j)*lq)
	}
	return sum
}

// step is the size of one unit in the last printed digit of a percentage
// printed from x (three significant digits), as a proportion.
func step(x float64) float64 {
	return math.Pow(10, math.Floor(math.Log10(100*x))-2) / 100
}

func TestPrintedBoundsNeverClaimMoreThanTheData(t *testing.T) {
	const maxN = 200
	tail := newBinomialTail(maxN)
	halfAlpha := (1 - Confidence) / 2
	for n := 1; n <= maxN; n++ {
		for k := 0; k <= n; k++ {
			lo, hi := ClopperPearson(k, n)
			rate := float64(k) / float64(n)
			pLo, pHi := FormatLower(lo), FormatUpper(hi)
			gotLo, gotHi, gotRate := readPercent(t, pLo), readPercent(t, pHi), readPercent(t, FormatRate(rate))

			if gotLo > lo || gotHi < hi || gotLo > gotRate || gotRate > gotHi {
				t.Fatalf("%d of %d: rate %s, interval %s claims more than [%.6g, %.6g]", k, n, FormatRate(rate), FormatInterval(lo, hi), lo, hi)
			}
			// Read back, the printed bounds are still 95% bounds by the
			// binomial tails themselves: at the printed lower bound k or
			// more detections are no likelier than at the exact one.
			if k > 0 && tail.atLeast(k, n, gotLo) > halfAlpha*(1+1e-9) {
				t.Fatalf("%d of %d: P(X >= k) at the printed lower bound %s is %g > %g", k, n, pLo, tail.atLeast(k, n, gotLo), halfAlpha)
			}
			if k < n && 1-tail.atLeast(k+1, n, gotHi) > halfAlpha*(1+1e-9) {
				t.Fatalf("%d of %d: P(X <= k) at the printed upper bound %s is %g > %g", k, n, pHi, 1-tail.atLeast(k+1, n, gotHi), halfAlpha)
			}
			// Outwards by less than one unit of the last printed digit: as
			// tight as three digits allow.
			if k > 0 && lo-gotLo >= step(lo) {
				t.Fatalf("%d of %d: lower bound %.6g printed loosely as %s", k, n, lo, pLo)
			}
			if k < n && gotHi-hi >= step(hi) {
				t.Fatalf("%d of %d: upper bound %.6g printed loosely as %s", k, n, hi, pHi)
			}
			if k == 0 && pLo != "0%" || k == n && pHi != "100%" {
				t.Fatalf("%d of %d: interval %s, want it to reach the end the data leave open", k, n, FormatInterval(lo, hi))
			}
		}
	}
}

func TestClopperPearsonIsExactByTheBinomialTails(t *testing.T) {
	// The Beta quantiles solve P(X >= k; lo) = P(X <= k; hi) = 2.5%: check
	// that against the tails summed term by term.
	tail := newBinomialTail(200)
	for n := 1; n <= 200; n += 7 {
		for k := 0; k <= n; k++ {
			lo, hi := ClopperPearson(k, n)
			if k > 0 {
				assert.InDelta(t, 0.025, tail.atLeast(k, n, lo), 1e-9, "%d of %d: lower", k, n)
			}
			if k < n {
				assert.InDelta(t, 0.025, 1-tail.atLeast(k+1, n, hi), 1e-9, "%d of %d: upper", k, n)
			}
		}
	}
}

func TestTheGateBoundsThatWereWrong(t *testing.T) {
	t.Run("10 of 10 gives power at least 69.1%, not 69.2%", func(t *testing.T) {
		lo, _ := ClopperPearson(10, 10)
		assert.Equal(t, "69.1%", FormatLower(lo))
		assert.Equal(t, "[69.1%, 100%]", FormatInterval(ClopperPearson(10, 10)))
	})
	t.Run("0 of 26 gives a failure rate below 13.3%, not 13.2%", func(t *testing.T) {
		_, hi := ClopperPearson(0, 26)
		assert.Equal(t, "13.3%", FormatUpper(hi))
		assert.Equal(t, "[0%, 13.3%]", FormatInterval(ClopperPearson(0, 26)))
	})
}

func TestFormatRate(t *testing.T) {
	cases := []struct {
		x    float64
		want string
	}{
		{0, "0%"},
		{1, "100%"},
		{0.95, "95%"},
		{0.15, "15%"},
		{4.0 / 7, "57.1%"},
		{2.0 / 3, "66.7%"},
		{1.0 / 32, "3.13%"}, // 3.125%: a half rounds up
		{0.000123, "0.0123%"},
		{0.0099951, "1%"},  // Rounding up carries into a new digit
		{0.99951, "99.9%"}, // but not to 100%: only all trials are 100%
		{1999.0 / 2000, "99.9%"},
		{1.0000001, "100%"},
		{0.999, "99.9%"},    // three digits kept below 100%
		{12.345, "100%"},    // not a proportion: clamped
		{1e-8, "0.000001%"}, // the smallest in fixed notation
		{3.69e-9, "3.69e-07%"},
		{math.SmallestNonzeroFloat64, "5e-322%"},
		{-0.1, "0%"},
		{math.NaN(), "-"},
		{math.Inf(1), "-"},
		{math.Inf(-1), "-"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, FormatRate(c.x), "FormatRate(%g)", c.x)
	}
}

func TestFormatBounds(t *testing.T) {
	cases := []struct {
		x            float64
		lower, upper string
	}{
		{0, "0%", "0%"},
		{1, "100%", "100%"},
		{0.15, "15%", "15%"}, // a short decimal is printed as itself both ways
		{0.16843, "16.8%", "16.9%"},
		{0.69150, "69.1%", "69.2%"},
		{0.0999, "9.99%", "9.99%"},
		{0.09991, "9.99%", "10%"},
		{0.99901, "99.9%", "100%"},
		{0.00012301, "0.0123%", "0.0124%"},
		{1.5e-9, "1.5e-07%", "1.5e-07%"},
		{1.51e-9, "1.51e-07%", "1.51e-07%"},
		{1.511e-9, "1.51e-07%", "1.52e-07%"},
		{math.SmallestNonzeroFloat64, "5e-322%", "5e-322%"}, // its shortest decimal is 5e-324
		// Out of range or unknown: clamped into [0, 1], NaN the bound that
		// always holds.
		{-0.2, "0%", "0%"},
		{1.7, "100%", "100%"},
		{math.Inf(1), "100%", "100%"},
		{math.Inf(-1), "0%", "0%"},
		{math.NaN(), "0%", "100%"},
	}
	for _, c := range cases {
		assert.Equal(t, c.lower, FormatLower(c.x), "FormatLower(%g)", c.x)
		assert.Equal(t, c.upper, FormatUpper(c.x), "FormatUpper(%g)", c.x)
	}
	assert.Equal(t, "[0%, 100%]", FormatInterval(math.NaN(), math.NaN()), "an interval that could not be computed says nothing")
	assert.Equal(t, "[0%, 100%]", FormatInterval(ClopperPearson(0, 0)), "no trials say nothing")
}

func TestNothingPrintsNaN(t *testing.T) {
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -0.0, math.SmallestNonzeroFloat64, math.MaxFloat64} {
		for _, s := range []string{FormatRate(x), FormatLower(x), FormatUpper(x), FormatInterval(x, x)} {
			assert.NotContains(t, strings.ToLower(s), "nan", "%g", x)
			assert.NotContains(t, strings.ToLower(s), "inf", "%g", x)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                      "0ns",
		999:                                    "999ns",
		time.Microsecond:                       "1µs",
		1500:                                   "1.5µs",
		999_400:                                "999µs",
		999_500:                                "1ms", // not 1e+03µs
		time.Millisecond:                       "1ms",
		15_849_000:                             "15.8ms",
		999_499_999:                            "999ms",
		999_500_000:                            "1s",
		4 * time.Second:                        "4s",
		999 * time.Second:                      "999s",
		999*time.Second + 500*time.Millisecond: "1000s",
		1234 * time.Second:                     "1234s",
		-5:                                     "-5ns",
	} {
		assert.Equal(t, want, FormatDuration(d), "%d ns", int64(d))
	}
}

func TestSI(t *testing.T) {
	for x, want := range map[float64]string{
		0: "0", 999: "999", 999.4: "999", 999.5: "1.0k", 1000: "1.0k", 989_800: "989.8k",
		999_949: "999.9k", 999_950: "1.00M", 1_340_000: "1.34M",
	} {
		assert.Equal(t, want, si(x), "%g", x)
	}
}
