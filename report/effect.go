package report

import (
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/racestress/racestress/result"
)

// Effect says how much less often a clean subject fails than a control of
// the same scenario and cell: the fix's effect. Both bounds hold together
// at 95%: each side's rate is bounded one-sidedly at 97.5% (the
// Clopper–Pearson bounds per trial, the exact Poisson bounds per second of
// stress), so both hold with probability at least 95% (Bonferroni), and the
// ratio of the clean subject's upper bound to the control's lower bound is
// then an upper bound on the true ratio.
//
// The bound per trial always holds. The one per second of stress is given
// only where a second means the same for both sides (see timeBasis): not
// where either side's trials include hangs, which last as long as a
// timeout, whatever the bug; nor where trials that run to completion, not
// for a set time, last materially longer on one side than on the other.
type Effect struct {
	Clean, Control Group
	// PerTrial and PerSecond are upper 95% bounds on the ratio of the clean
	// subject's failure rate to the control's detection rate, per trial and
	// per second of stress; +Inf when the control was never detected.
	// PerSecond is NaN when NotPerSecond is set.
	PerTrial, PerSecond float64
	// NotPerSecond says why the effect is not stated per second of
	// stress; "" when it is.
	NotPerSecond string
}

// Effects returns, for every clean group, its effect against each control
// group of the same scenario and cell.
func (s Summary) Effects() []Effect {
	var out []Effect
	for _, c := range s.Groups {
		if !c.IsClean() || c.Runs == 0 {
			continue
		}
		for _, k := range s.Groups {
			if k.IsClean() || k.Scenario != c.Scenario || k.Cell != c.Cell || k.Runs == 0 {
				continue
			}
			_, hiClean := ClopperPearson(c.Detected, c.Runs)
			loControl, _ := ClopperPearson(k.Detected, k.Runs)
			e := Effect{Clean: c, Control: k, PerTrial: ratio(hiClean, loControl), PerSecond: math.NaN()}
			if e.NotPerSecond = timeBasis(c, k); e.NotPerSecond == "" {
				e.PerSecond = ratio(poissonUpper(c.Detected, exposure(c)), poissonLower(k.Detected, exposure(k)))
			}
			out = append(out, e)
		}
	}
	return out
}

// lengthRatio is how much longer one side's trials may run to completion
// than the other's, in median, for a second of stress to mean the same on
// both.
const lengthRatio = 1.5

// timeBasis says why a second of stress of group a does not mean what one
// of group b does, or "" when it does. It does when neither has a hang
// (whose time is a timeout's, not the bug's) and their trials are of one
// length: both stress for the same set time (knob seconds, as the built-in
// scenarios do, each trial ending early only at its first failure), or,
// for trials that run to completion (commands, tests), the medians of the
// trials that did are within a factor lengthRatio of each other.
func timeBasis(a, b Group) string {
	for _, g := range []Group{b, a} {
		if n := g.Outcomes[result.Hang]; n > 0 {
			return fmt.Sprintf("%d of %s's trials hung, and a hang lasts as long as its timeout, not as the bug takes to show", n, g.Registry)
		}
	}
	if a.Knobs.Seconds > 0 && a.Knobs.Seconds == b.Knobs.Seconds {
		return ""
	}
	var med [2]time.Duration
	for i, g := range []Group{b, a} {
		var ts []time.Duration
		for _, o := range g.Samples {
			if !o.Detected {
				ts = append(ts, o.T)
			}
		}
		if len(ts) == 0 {
			return fmt.Sprintf("every trial of %s failed, so how long one runs to completion is unknown", g.Registry)
		}
		slices.Sort(ts)
		med[i], _ = quantile(ts, 0.5)
	}
	long, short, ln, sn := med[0], med[1], b.Registry, a.Registry
	if short > long {
		long, short, ln, sn = short, long, sn, ln
	}
	if float64(long) > lengthRatio*float64(short) {
		return fmt.Sprintf("%s's trials ran to completion in %s (median), %s's in %s", ln, FormatDuration(long), sn, FormatDuration(short))
	}
	return ""
}

// exposure is a group's time at risk: every trial until its first failure
// or its end.
func exposure(g Group) time.Duration {
	var t time.Duration
	for _, o := range g.Samples {
		t += o.T
	}
	return t
}

func ratio(num, den float64) float64 {
	if !(den > 0) {
		return math.Inf(1)
	}
	return num / den
}

// poissonUpper is the one-sided 97.5% upper bound on a Poisson rate per
// second with k events in t: the 0.975 quantile of Gamma(k+1, 1) over t.
func poissonUpper(k int, t time.Duration) float64 {
	if t <= 0 {
		return math.Inf(1)
	}
	return distuv.Gamma{Alpha: float64(k + 1), Beta: 1}.Quantile(1-(1-Confidence)/2) / t.Seconds()
}

// poissonLower is the one-sided 97.5% lower bound: the 0.025 quantile of
// Gamma(k, 1) over t, 0 when k is 0.
func poissonLower(k int, t time.Duration) float64 {
	if k == 0 || t <= 0 {
		return 0
	}
	return distuv.Gamma{Alpha: float64(k), Beta: 1}.Quantile((1-Confidence)/2) / t.Seconds()
}

// Shown reports whether the effect is shown: the clean subject is bounded
// below the control's rate per trial, or per second of stress where that
// basis applies. Statement says it so; a plain run's verdict says when it
// is not.
func (e Effect) Shown() bool {
	return e.PerTrial < 1 || (e.NotPerSecond == "" && e.PerSecond < 1)
}

// Statement says the effect in one sentence, Rounding so that it claims no
// more than the bounds: "fixed fails at most 1/26 as often as unfixed per
// trial and at most 1/180 per second of stress (95%)". Where the effect is
// not stated per second of stress, it says why, once.
func (e Effect) Statement() string {
	perSecond := e.NotPerSecond == ""
	why := "; not compared per second of stress: " + e.NotPerSecond
	switch {
	case math.IsInf(e.PerTrial, 1) && (!perSecond || math.IsInf(e.PerSecond, 1)):
		return fmt.Sprintf("no bound on how often %s fails relative to %s: the control was never detected", columnName(e.Clean), columnName(e.Control))
	case !e.Shown():
		s := fmt.Sprintf("%s is not shown to fail less often than %s: too few trials (at %s it may fail up to %s as often per trial)",
			columnName(e.Clean), columnName(e.Control), pct(Confidence), percent(e.PerTrial, RoundUp))
		if !perSecond {
			s += why
		}
		return s
	case !perSecond:
		return fmt.Sprintf("%s fails at most %s as often as %s per trial (%s)%s",
			columnName(e.Clean), fraction(e.PerTrial), columnName(e.Control), pct(Confidence), why)
	}
	return fmt.Sprintf("%s fails at most %s as often as %s per trial and at most %s per second of stress (%s)",
		columnName(e.Clean), fraction(e.PerTrial), columnName(e.Control), fraction(e.PerSecond), pct(Confidence))
}

// fraction prints an upper bound r on a ratio: "1/N" with N = floor(1/r)
// when r <= 1/2, else a percentage rounded up; "an unbounded share" when
// there is none (no time at risk recorded, say: the other bound may hold).
func fraction(r float64) string {
	switch {
	case math.IsInf(r, 1) || math.IsNaN(r):
		return "an unbounded share"
	case r <= 0.5:
		return fmt.Sprintf("1/%d", int(math.Floor(1/r*(1+1e-12))))
	}
	return percent(r, RoundUp) // a ratio, not a proportion: it may pass 100%
}

// SignatureStat is one failure signature of a group: failures of the same
// kind (the same normalised first failure line and top frames).
type SignatureStat struct {
	Group     string
	Signature string
	// Test is the test of its first failure; Tests all the tests it
	// failed in, in the order first seen (one race may be reached from
	// several tests).
	Test  string
	Tests []string
	Count int
	// Share is Count over the group's failures.
	Share float64
	// Lo and Hi bound, at 95%, the per-trial rate of this signature.
	Lo, Hi     float64
	FirstTrial int
	Log        string
}

// Signatures returns the failure signatures of every group, most frequent
// first within a group.
func (s Summary) Signatures() []SignatureStat {
	var out []SignatureStat
	for _, g := range s.Groups {
		var sigs []SignatureStat
		index := map[string]int{}
		failures := 0
		for _, r := range s.Records {
			if r.Scenario != g.Scenario || r.Registry != g.Registry || r.Cell != g.Cell || !r.Detected || r.FailureSignature == "" {
				continue
			}
			failures++
			i, ok := index[r.FailureSignature]
			if !ok {
				i = len(sigs)
				index[r.FailureSignature] = i
				st := SignatureStat{Group: g.Name(), Signature: r.FailureSignature, Test: r.Test, FirstTrial: r.Trial}
				if r.Process != nil {
					st.Log = r.Process.Log
				}
				sigs = append(sigs, st)
			}
			sigs[i].Count++
			if r.Test != "" && !slices.Contains(sigs[i].Tests, r.Test) {
				sigs[i].Tests = append(sigs[i].Tests, r.Test)
			}
		}
		for i := range sigs {
			sigs[i].Share = float64(sigs[i].Count) / float64(failures)
			sigs[i].Lo, sigs[i].Hi = ClopperPearson(sigs[i].Count, g.Runs)
		}
		slices.SortStableFunc(sigs, func(a, b SignatureStat) int { return b.Count - a.Count })
		out = append(out, sigs...)
	}
	return out
}

// importDirs matches the directories of an import path before a function
// name: "github.com/racestress/racestress/examples/" in
// "github.com/racestress/racestress/examples/cleanupmap.(*Registry).Track".
var importDirs = regexp.MustCompile(`(?:[A-Za-z0-9_.~-]+/)+([A-Za-z0-9_~-]+\.)`)

// shortFuncs shortens the functions of a signature for a table, as Go's
// short form does: "cleanupmap.(*Registry).Track". The JSON report keeps
// the whole signature.
func shortFuncs(sig string) string { return importDirs.ReplaceAllString(sig, "$1") }

// signatureText is a signature as the reports show it: its functions in
// short form, after the tests it failed in when the signature does not
// name them already (a failure's names its test; a race's, a panic's and
// a hang's do not).
func signatureText(st SignatureStat) string {
	sig := shortFuncs(st.Signature)
	tests := st.Tests
	if len(tests) == 0 && st.Test != "" {
		tests = []string{st.Test}
	}
	if len(tests) == 1 && strings.Contains(sig, tests[0]) {
		return sig
	}
	if len(tests) > 0 {
		sig = strings.Join(tests, ", ") + ": " + sig
	}
	return sig
}

// signatureRows are the rows of the failure-signature table, the
// signature in full.
func signatureRows(sigs []SignatureStat) (header []string, rows [][]string) {
	header = []string{"group", "signature", "count", "share", "rate 95% CI", "first trial", "log"}
	for _, st := range sigs {
		log := st.Log
		if log == "" {
			log = "-"
		}
		rows = append(rows, []string{st.Group, signatureText(st), fmt.Sprint(st.Count), pct(st.Share), interval(st.Lo, st.Hi), fmt.Sprint(st.FirstTrial), log})
	}
	return header, rows
}

// tableWidth is the width the table format fits its failure signatures
// in.
const tableWidth = 80

// signatureKey is the short key of the i-th signature: "S1", "S2", ...
func signatureKey(i int) string { return fmt.Sprintf("S%d", i+1) }

// signatureKeyRows are the rows of the failure-signature table of the
// table format: each signature by its key, its text and log listed under
// the table (writeSignatureKeys), so that the table stays narrow.
func signatureKeyRows(sigs []SignatureStat) (header []string, rows [][]string) {
	header = []string{"key", "group", "count", "share", "rate 95% CI", "first trial"}
	for i, st := range sigs {
		rows = append(rows, []string{signatureKey(i), st.Group, fmt.Sprint(st.Count), pct(st.Share), interval(st.Lo, st.Hi), fmt.Sprint(st.FirstTrial)})
	}
	return header, rows
}

// writeSignatureKeys lists each signature under its key, wrapped to width
// columns, then the log of its first trial.
func writeSignatureKeys(w io.Writer, sigs []SignatureStat, width int) {
	indent := len(signatureKey(len(sigs)-1)) + 2
	for i, st := range sigs {
		key := signatureKey(i)
		lines := wrap(signatureText(st), width-indent)
		if st.Log != "" {
			lines = append(lines, wrap("log: "+st.Log, width-indent)...)
		}
		for j, l := range lines {
			lead := strings.Repeat(" ", indent)
			if j == 0 {
				lead = key + strings.Repeat(" ", indent-len(key))
			}
			fmt.Fprintf(w, "%s%s\n", lead, l)
		}
	}
}

// wrap breaks s into lines of at most width runes, at spaces where it
// can, within words where one is longer than a line.
func wrap(s string, width int) []string {
	width = max(width, 8)
	var lines []string
	var cur []rune
	for _, word := range strings.Fields(s) {
		rs := []rune(word)
		if len(cur) > 0 && len(cur)+1+len(rs) <= width {
			cur = append(append(cur, ' '), rs...)
			continue
		}
		if len(cur) > 0 {
			lines = append(lines, string(cur))
		}
		for len(rs) > width {
			lines = append(lines, string(rs[:width]))
			rs = rs[width:]
		}
		cur = rs
	}
	if len(cur) > 0 || len(lines) == 0 {
		lines = append(lines, string(cur))
	}
	return lines
}
