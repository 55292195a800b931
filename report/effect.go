package report

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// Effect says how much less often a clean subject fails than a control of
// the same scenario and cell: the fix's effect. Both bounds hold together
// at 95%: each side's rate is bounded one-sidedly at 97.5% (the
// Clopper–Pearson bounds per trial, the exact Poisson bounds per second of
// stress), so both hold with probability at least 95% (Bonferroni), and the
// ratio of the clean subject's upper bound to the control's lower bound is
// then an upper bound on the true ratio.
type Effect struct {
	Clean, Control Group
	// PerTrial and PerSecond are upper 95% bounds on the ratio of the clean
	// subject's failure rate to the control's detection rate, per trial and
	// per second of stress; +Inf when the control was never detected.
	PerTrial, PerSecond float64
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
			e := Effect{Clean: c, Control: k, PerTrial: ratio(hiClean, loControl)}
			e.PerSecond = ratio(poissonUpper(c.Detected, exposure(c)), poissonLower(k.Detected, exposure(k)))
			out = append(out, e)
		}
	}
	return out
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

// Statement says the effect in one sentence, rounding so that it claims no
// more than the bounds: "fixed fails at most 1/26 as often as unfixed per
// trial and at most 1/180 per second of stress (95%)".
func (e Effect) Statement() string {
	switch {
	case math.IsInf(e.PerTrial, 1) && math.IsInf(e.PerSecond, 1):
		return fmt.Sprintf("no bound on how often %s fails relative to %s: the control was never detected", columnName(e.Clean), columnName(e.Control))
	case e.PerTrial >= 1 && e.PerSecond >= 1:
		return fmt.Sprintf("%s is not shown to fail less often than %s: too few trials (at %s it may fail up to %s as often per trial)",
			columnName(e.Clean), columnName(e.Control), pct(Confidence), percent(e.PerTrial, roundUp))
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
	return percent(r, roundUp) // a ratio, not a proportion: it may pass 100%
}

// SignatureStat is one failure signature of a group: failures of the same
// kind (the same normalised first failure line and top frames).
type SignatureStat struct {
	Group     string
	Signature string
	Test      string
	Count     int
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

// signatureRows are the rows of the failure-signature table.
func signatureRows(sigs []SignatureStat) (header []string, rows [][]string) {
	header = []string{"group", "signature", "count", "share", "rate 95% CI", "first trial", "log"}
	for _, st := range sigs {
		sig := shortFuncs(st.Signature)
		if st.Test != "" {
			sig = st.Test + ": " + sig
		}
		log := st.Log
		if log == "" {
			log = "-"
		}
		rows = append(rows, []string{st.Group, sig, fmt.Sprint(st.Count), pct(st.Share), interval(st.Lo, st.Hi), fmt.Sprint(st.FirstTrial), log})
	}
	return header, rows
}
