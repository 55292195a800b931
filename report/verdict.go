package report

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/racestress/racestress/result"
)

// Status is a verdict's outcome.
type Status int

// The statuses, from best to worst but for precedence: Verdict picks
// Regression over Invalid over LostPower.
const (
	Pass       Status = iota // every clean subject clean, every control detected with power
	Regression               // a clean subject showed a forbidden outcome
	LostPower                // a control was not detected with the required power, or none ran
	Invalid                  // the harness could not judge: errors, harness limits, missing parts
)

// ExitCode is the status a command exits with for s: 0 pass, 1 regression,
// 3 lost power, 4 invalid.
func (s Status) ExitCode() int {
	switch s {
	case Pass:
		return 0
	case Regression:
		return 1
	case LostPower:
		return 3
	}
	return 4
}

// String returns "PASS", "FAIL regression", "FAIL lost power" or "INVALID".
func (s Status) String() string {
	switch s {
	case Pass:
		return "PASS"
	case Regression:
		return "FAIL regression"
	case LostPower:
		return "FAIL lost power"
	}
	return "INVALID"
}

// Verdict is a run's one judgement.
type Verdict struct {
	Status Status
	// Line is the verdict in one line, without a prefix: "PASS unfixed
	// detected 10/10 (power >= 69.1% at 95%); fixed clean in 10 trials
	// (failure rate < 30.9% at 95%)".
	Line string
	// Groups holds each group's judgement, in the order of Summary.Groups.
	Groups []GroupVerdict
}

// GroupVerdict is one group's part of a Verdict.
type GroupVerdict struct {
	Status Status
	// Cell is the group's short verdict, for a table cell: "PASS: clean",
	// "FAIL: never detected".
	Cell string
	// Text is the group's clause in the verdict line.
	Text string
}

// Verdict judges s under s.Policy, the verdict policy its run recorded,
// and s's Subjects, Incomplete and Empty. It is the one verdict of racestress:
// the run, the gate, report, merge, every format and the test helper all
// take theirs from here.
func (s Summary) Verdict() Verdict {
	p := s.Policy
	if s.Empty != "" && s.Incomplete == "" && len(s.Groups) == 0 {
		return Verdict{Status: Pass, Line: "EMPTY: " + s.Empty}
	}
	v := Verdict{Status: Pass}
	var byStatus [Invalid + 1][]string
	seen := map[string]bool{}
	controls := 0
	var tests []EffectTest
	if p.MinEffect > 0 {
		tests = s.EffectTests(p.MinEffect, DefaultAlpha)
	}
	for _, g := range s.Groups {
		gv := judge(p, g)
		if p.MinEffect > 0 && gv.Status == Pass && g.IsClean() {
			gv = judgeEffect(g, tests)
		}
		v.Groups = append(v.Groups, gv)
		byStatus[gv.Status] = append(byStatus[gv.Status], gv.Text)
		if g.Runs > 0 {
			seen[g.Registry] = true
		}
		if !g.IsClean() && g.Runs > 0 {
			controls++
		}
	}
	for _, name := range s.Subjects {
		if seen[name] || slices.ContainsFunc(s.Groups, func(g Group) bool { return g.Registry == name && g.Errors > 0 }) {
			continue
		}
		role := s.roleOf(name)
		st := Invalid
		if role == "control" {
			st = LostPower
		}
		byStatus[st] = append(byStatus[st], fmt.Sprintf("%s ran no trial", name))
	}
	if p.RequireControl && controls == 0 {
		byStatus[LostPower] = append(byStatus[LostPower], "no control ran: nothing measured the harness's power to detect")
	}
	if s.Incomplete != "" {
		byStatus[Invalid] = append(byStatus[Invalid], "incomplete: "+s.Incomplete)
	}
	if len(s.Groups) == 0 {
		byStatus[Invalid] = append(byStatus[Invalid], "no trial ran")
	}
	for _, st := range []Status{Regression, Invalid, LostPower} {
		if len(byStatus[st]) > 0 {
			v.Status = st
			v.Line = st.String() + ": " + strings.Join(byStatus[st], "; ")
			return v
		}
	}
	if p.MinEffect == 0 && !p.RequireControl {
		// A plain run: its pass says so when a comparison it ran cannot
		// show the fix's effect, so that a line which reads like a proof
		// of the fix does not stand alone.
		for _, e := range s.Effects() {
			if !e.Shown() {
				byStatus[Pass] = append(byStatus[Pass], fmt.Sprintf("%s's effect against %s is not shown: too few trials (see the effect line)",
					groupLabel(e.Clean), groupLabel(e.Control)))
			}
		}
	}
	v.Line = "PASS " + strings.Join(byStatus[Pass], "; ")
	return v
}

// groupLabel names a group in a verdict clause: its subject, and its cell
// in a sweep.
func groupLabel(g Group) string {
	if g.Cell != "" {
		return g.Registry + " [" + g.Cell + "]"
	}
	return g.Registry
}

// judgeEffect is the effect gate's judgement of a clean group that showed
// no forbidden outcome: it passes when its effect against a control of its
// scenario and cell is shown; until then the run has not shown the fix,
// which is the harness's missing power (status LostPower), with the plan
// of what it still needs.
func judgeEffect(g Group, tests []EffectTest) GroupVerdict {
	name := groupLabel(g)
	var mine []EffectTest
	for _, t := range tests {
		if t.Clean.Name() == g.Name() {
			mine = append(mine, t)
		}
	}
	if len(mine) == 0 {
		return GroupVerdict{LostPower, "FAIL: no control", fmt.Sprintf(
			"%s clean in %d trials, but no control of its scenario ran: the effect gate has nothing to measure its effect against", name, g.Runs)}
	}
	for _, t := range mine {
		if t.State == EffectShown {
			return GroupVerdict{Pass, "PASS: effect shown", fmt.Sprintf(
				"%s clean in %d trials: fails at most 1/%s as often as %s per trial (effect gate, error <= %s: %d detections of %s in its first %d trials, none of %s in %d)",
				name, g.Runs, formatFactor(t.MinEffect), t.Control.Registry, pctUp(t.Error), t.Need, t.Control.Registry, t.ControlTrials, g.Registry, g.Runs)}
		}
	}
	t := mine[0]
	for _, u := range mine[1:] {
		if u.Have > t.Have {
			t = u
		}
	}
	est, _, _ := t.Plan()
	more := ""
	if !math.IsInf(est, 1) {
		more = fmt.Sprintf("; about %s trials each in all at %s's rate", trialsText(est), t.Control.Registry)
	}
	return GroupVerdict{LostPower, "FAIL: effect undecided", fmt.Sprintf(
		"%s clean in %d trials, but its effect of at least %sx is not shown yet: %s%s",
		name, g.Runs, formatFactor(t.MinEffect), t.Missing(), more)}
}

// roleOf returns the role of the subject called name as the records give
// it, or "" when it has none.
func (s Summary) roleOf(name string) string {
	for _, g := range s.Groups {
		if g.Registry == name {
			return string(g.Role)
		}
	}
	return ""
}

// judge returns g's part of the verdict under p.
func judge(p result.VerdictPolicy, g Group) GroupVerdict {
	name := g.Registry
	if g.Cell != "" {
		name += " [" + g.Cell + "]"
	}
	lo, hi := g.DetectionCI()
	switch {
	case g.IsClean() && g.Detected > 0:
		return GroupVerdict{Regression, "FAIL: forbidden outcomes", fmt.Sprintf(
			"%s showed forbidden outcomes in %d of %d trials (failure rate %s, %s CI %s; first: %s)",
			name, g.Detected, g.Runs, pct(g.Rate()), pct(Confidence), interval(lo, hi), firstLine(g.FirstError))}
	case g.Errors > 0:
		return GroupVerdict{Invalid, "INVALID: harness errors", fmt.Sprintf(
			"%s: %d of %d trials ended in error, neither detections nor passes (first: %s)",
			name, g.Errors, g.Errors+g.Runs, firstLine(g.FirstInvalid))}
	case g.Runs == 0:
		return GroupVerdict{Invalid, "INVALID: no trial", name + " ran no trial"}
	case g.IsClean():
		return GroupVerdict{Pass, "PASS: clean", fmt.Sprintf("%s clean in %d trials (failure rate < %s at %s)",
			name, g.Runs, pctUp(hi), pct(Confidence))}
	case g.Detected == 0:
		return GroupVerdict{LostPower, "FAIL: never detected", fmt.Sprintf(
			"%s was never detected in %d trials (detection rate < %s at %s)", name, g.Runs, pctUp(hi), pct(Confidence))}
	case lo < p.MinPower && p.MinEffect == 0: // the effect gate asks for its detections instead
		return GroupVerdict{LostPower, "FAIL: power below minimum", fmt.Sprintf(
			"%s detected in %d of %d trials: power >= %s at %s (lower bound), below the minimum %s",
			name, g.Detected, g.Runs, pctDown(lo), pct(Confidence), pct(p.MinPower))}
	}
	return GroupVerdict{Pass, "PASS: detected", fmt.Sprintf("%s detected %d/%d (power >= %s at %s)",
		name, g.Detected, g.Runs, pctDown(lo), pct(Confidence))}
}

func firstLine(s string) string {
	if s == "" {
		return "-"
	}
	line, _, _ := strings.Cut(s, "\n")
	return line
}
