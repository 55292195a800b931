package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// FormatDuration prints d with three significant digits in the largest unit
// that keeps it below 1000: "999ns", "1.5µs", "15.8ms", "4s"; from 1000
// seconds on, in whole seconds ("1234s").
//
// (The conditions in this file are if statements rather than the cases of
// a switch: the coverage that mutation testing reads marks no case
// condition as run, so mutants in them would go untested.)
func FormatDuration(d time.Duration) string {
	if d < time.Microsecond {
		return fmt.Sprintf("%dns", d.Nanoseconds())
	}
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Microsecond, "µs"}, {time.Millisecond, "ms"}, {time.Second, "s"}} {
		// Three digits round 999.5 up to 1e+03: that is the next unit's 1.
		if s := strconv.FormatFloat(float64(d)/float64(u.unit), 'g', 3, 64); !strings.Contains(s, "e") {
			return s + u.name
		}
	}
	return fmt.Sprintf("%.0fs", d.Seconds())
}

// si prints a count or a rate with an SI suffix and the digits the tables
// use: "999", "989.8k", "1.34M". The thresholds are where the smaller form
// would round up to 1000 of its unit.
func si(x float64) string {
	if x >= 999_950 {
		return fmt.Sprintf("%.2fM", x/1e6)
	}
	if x >= 999.5 {
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

// One formatting path for proportions: every rate, bound and interval that a
// renderer or the CI gate prints comes from FormatRate, FormatLower,
// FormatUpper or FormatInterval, so that no two lines print the same number
// two ways, and no line claims more than the data.
//
// All four print a proportion as a percentage with three significant digits
// and no trailing zeros: "15%", "57.1%",
// "0.0123%", "100%". Below 0.000001% they switch to scientific notation,
// "3.69e-07%", rather than print a long run of zeros.
//
// Bounds round outwards: FormatLower rounds down and FormatUpper rounds up,
// so that the printed value, read back as a float64, is never above (lower)
// or below (upper) the bound it prints. The Rounding works on the shortest
// decimal that reads back as the float64 (strconv's), not on 100*x in
// floating point: a bound that is a short decimal (0.15) prints as itself
// ("15%") both ways, and no tolerance is needed that could tip a bound the
// wrong way. FormatRate rounds to nearest, halves up, except that it never
// rounds up to 100%.
//
// Inputs are proportions, in [0, 1]; anything outside is clamped into it
// (no proportion is below 0 or above 1, so a clamped bound is still true).
// A NaN bound, a bound that could not be computed, prints as the bound that
// is always true: "0%" as a lower bound, "100%" as an upper one. A NaN or
// infinite rate prints as "-", the tables' mark for "no value".

// FormatRate prints the proportion x (a rate, a confidence level, a
// threshold) as a percentage with three significant digits, rounded to
// nearest: FormatRate(4.0/7) is "57.1%". Only a rate of exactly one prints
// as "100%": 1999 of 2000 is "99.9%", not a claim that every trial was.
func FormatRate(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "-"
	}
	x = min(max(x, 0), 1)
	if s := percent(x, RoundNearest); s != "100%" || x == 1 {
		return s
	}
	return percent(x, RoundDown)
}

// FormatLower prints the lower bound x of a proportion, rounded down: the
// exact 95% lower bound of 10 detections in 10 trials, 0.69150, prints as
// "69.1%", so that "power >= 69.1%" holds.
func FormatLower(x float64) string {
	if math.IsNaN(x) {
		return "0%"
	}
	return percent(min(max(x, 0), 1), RoundDown)
}

// FormatUpper prints the upper bound x of a proportion, rounded up: the
// exact 95% upper bound of 0 failures in 26 trials, 0.13228, prints as
// "13.3%", so that "failure rate < 13.3%" holds.
func FormatUpper(x float64) string {
	if math.IsNaN(x) {
		return "100%"
	}
	return percent(min(max(x, 0), 1), RoundUp)
}

// FormatInterval prints the interval [lo, hi] of a proportion, rounded
// outwards: "[" + FormatLower(lo) + ", " + FormatUpper(hi) + "]".
func FormatInterval(lo, hi float64) string {
	return "[" + FormatLower(lo) + ", " + FormatUpper(hi) + "]"
}

// pct, pctUp, pctDown and interval are the short names the renderers use.
func pct(x float64) string           { return FormatRate(x) }
func pctUp(x float64) string         { return FormatUpper(x) }
func pctDown(x float64) string       { return FormatLower(x) }
func interval(lo, hi float64) string { return FormatInterval(lo, hi) }

// Rounding says which way a number printed with fewer digits goes: a
// bound rounds outwards (a lower bound down, an upper bound up), so that
// the printed number claims no more than the data.
type Rounding int

// The Roundings.
const (
	RoundNearest Rounding = iota
	RoundDown
	RoundUp
)

// sigDigits is how many significant digits a percentage keeps below 100%.
const sigDigits = 3

// percent prints the proportion x, in [0, 1], as a percentage, rounded as r
// says to sigDigits significant digits.
func percent(x float64, r Rounding) string {
	// 100*x is x's significant digits with the exponent two higher.
	kept, e := significant(x, sigDigits, r)
	e += 2
	v := decimal(kept, e)
	if e < -6 {
		return strconv.FormatFloat(v, 'e', -1, 64) + "%"
	}
	return strconv.FormatFloat(v, 'f', -1, 64) + "%"
}

// FormatSignificant prints x >= 0 with digits significant digits, rounded
// as r says, without trailing zeros; +Inf prints as "∞", NaN as "-", and
// 0 or less as "0". Like the percentages, it rounds the shortest decimal
// that reads back as x, so a short decimal prints as itself both ways and
// a bound never rounds the wrong way.
func FormatSignificant(x float64, digits int, r Rounding) string {
	switch {
	case math.IsNaN(x):
		return "-"
	case math.IsInf(x, 1):
		return "∞"
	case x <= 0:
		return "0"
	}
	v := decimal(significant(x, digits, r))
	if v >= 1e15 || v < 1e-6 {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// significant rounds the shortest decimal reading back as x >= 0,
// d.ddd...e±XX, to digits significant digits as r says: x is then about
// kept[0].kept[1:] × 10^e.
func significant(x float64, digits int, r Rounding) (kept []byte, e int) {
	mant, exp, _ := strings.Cut(strconv.FormatFloat(x, 'e', -1, 64), "e")
	all := strings.Replace(mant, ".", "", 1)
	e, _ = strconv.Atoi(exp)
	cut := min(digits, len(all))
	kept, rest := []byte(all[:cut]), all[cut:]
	up := r == RoundUp && strings.Trim(rest, "0") != "" ||
		r == RoundNearest && rest != "" && rest[0] >= '5'
	if up && increment(kept) {
		kept = append([]byte{'1'}, kept...)
		e++
	}
	return kept, e
}

// decimal is kept[0].kept[1:] × 10^e: a decimal of a few digits, which
// strconv prints back as itself, without trailing zeros.
func decimal(kept []byte, e int) float64 {
	v, _ := strconv.ParseFloat(string(kept)+"e"+strconv.Itoa(e+1-len(kept)), 64)
	return v
}

// increment adds one to the decimal digits d in place and reports whether
// it carried out of the first digit (all nines, now all zeros).
func increment(d []byte) (carry bool) {
	for i := len(d) - 1; i >= 0; i-- {
		if d[i] < '9' {
			d[i]++
			return false
		}
		d[i] = '0'
	}
	return true
}
