package report

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// FormatDuration prints d with three significant digits in a fitting unit.
func FormatDuration(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%.3gµs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.3gms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.3gs", d.Seconds())
}

func si(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.2fM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

// pct prints the proportion x as a percentage with three significant digits.
func pct(x float64) string { return pctRound(x, math.Round) }

// pctUp prints x rounded up, for upper bounds: "< pctUp(hi)" stays true.
func pctUp(x float64) string {
	return pctRound(x, func(v float64) float64 { return math.Ceil(v - 1e-9) })
}

// pctDown prints x rounded down, for lower bounds.
func pctDown(x float64) string {
	return pctRound(x, func(v float64) float64 { return math.Floor(v + 1e-9) })
}

func pctRound(x float64, round func(float64) float64) string {
	v := 100 * x
	if !(v > 0) {
		return "0%"
	}
	digits := max(0, 2-int(math.Floor(math.Log10(v))))
	scale := math.Pow(10, float64(digits))
	return strconv.FormatFloat(round(v*scale)/scale, 'f', -1, 64) + "%"
}

// interval prints a confidence interval as [lo, hi], rounded outwards.
func interval(lo, hi float64) string { return "[" + pctDown(lo) + ", " + pctUp(hi) + "]" }
