package report

import (
	"fmt"
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
	for _, g := range s.Groups {
		gv := judge(p, g)
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
	v.Line = "PASS " + strings.Join(byStatus[Pass], "; ")
	return v
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
	case lo < p.MinPower:
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
