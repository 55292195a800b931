package report

import (
	"fmt"
	"math"
)

// The effect gate judges a fix by its effect rather than by each side's
// rate: it passes when the clean subject fails at most 1/R as often as the
// control, per trial, at a stated error rate, which a gate can show even
// when the control fails in only a few percent of its trials (where no
// per-trial power bound could pass).
//
// The test is sequential and exact. Let the control fail with probability
// p per trial and the clean subject with q ≥ p/R (the null hypothesis: the
// fix is no better than R-fold). The gate passes when the control has been
// detected k times and the clean subject has run, without a failure, at
// least as many trials N as the control needed for its k-th detection. N
// is negative binomial and independent of the clean subject's trials, so
//
//	P(pass) = E[(1-q)^N] = (p(1-q) / (1-(1-p)(1-q)))^k ≤ (p/(p+q))^k ≤ (R/(R+1))^k.
//
// The bound holds whenever the run is looked at and whenever it stops:
// the decision depends only on the order of the trials, not on when anyone
// looks, so no correction for repeated looks is needed. A failure of the
// clean subject fails the gate at once, as it does without the effect gate.

// DefaultAlpha is the effect gate's error rate: the probability at most
// that it passes a fix that is no better than the minimum effect.
const DefaultAlpha = 1 - Confidence

// MaxMinEffect bounds the minimum effect R a gate may ask: far beyond it
// the number of detections needed exceeds any run.
const MaxMinEffect = 1e6

// EffectDetections returns k, the control detections the effect gate
// needs for a minimum effect r ≥ 1 at error rate alpha in (0, 1): the
// smallest k with (r/(r+1))^k ≤ alpha.
func EffectDetections(r, alpha float64) int {
	if !(r >= 1) || !(alpha > 0 && alpha < 1) {
		return 0
	}
	k := int(math.Ceil(math.Log(alpha) / math.Log(r/(r+1))))
	// Rounding in the logarithms may leave k one short; step up until the
	// bound holds exactly as computed.
	for EffectError(r, k) > alpha {
		k++
	}
	for k > 1 && EffectError(r, k-1) <= alpha {
		k--
	}
	return k
}

// EffectError is the effect gate's error bound with k detections and
// minimum effect r: (r/(r+1))^k.
func EffectError(r float64, k int) float64 { return math.Pow(r/(r+1), float64(k)) }

// EffectState is where an effect test stands.
type EffectState int

// The states of an effect test.
const (
	EffectPending EffectState = iota // not decided: more trials are needed
	EffectShown                      // the clean subject's effect is shown
	EffectFailed                     // the clean subject failed
)

// EffectTest is the effect gate's test of one clean group against one
// control group of the same scenario and cell.
type EffectTest struct {
	Clean, Control Group
	// MinEffect is R: the test shows that the clean subject fails at most
	// 1/R as often as the control, per trial.
	MinEffect float64
	// Need is the control detections the test needs, Have those seen.
	Need, Have int
	// ControlTrials is the control's valid trials up to and including its
	// Need-th detection (0 until it has one); the clean subject must run
	// as many without a failure.
	ControlTrials int
	// Error is the test's error bound, (R/(R+1))^Need.
	Error float64
	State EffectState
}

// EffectTests returns, for every clean group, its effect test at minimum
// effect r and error rate alpha against each control group of the same
// scenario and cell. Groups' observations must be in trial order, as
// Summarize leaves them for records in trial order.
func (s Summary) EffectTests(r, alpha float64) []EffectTest {
	need := EffectDetections(r, alpha)
	var out []EffectTest
	for _, c := range s.Groups {
		if !c.IsClean() {
			continue
		}
		for _, k := range s.Groups {
			if k.IsClean() || k.Scenario != c.Scenario || k.Cell != c.Cell {
				continue
			}
			out = append(out, newEffectTest(c, k, r, need))
		}
	}
	return out
}

func newEffectTest(clean, control Group, r float64, need int) EffectTest {
	t := EffectTest{Clean: clean, Control: control, MinEffect: r, Need: need, Have: control.Detected, Error: EffectError(r, need)}
	hits := 0
	for i, o := range control.Samples {
		if o.Detected {
			hits++
			if hits == need {
				t.ControlTrials = i + 1
				break
			}
		}
	}
	switch {
	case clean.Detected > 0:
		t.State = EffectFailed
	case need > 0 && t.ControlTrials > 0 && clean.Runs >= t.ControlTrials:
		t.State = EffectShown
	}
	return t
}

// Missing says what an undecided test still needs, "" when it is decided.
func (t EffectTest) Missing() string {
	if t.State != EffectPending {
		return ""
	}
	if t.ControlTrials == 0 {
		return fmt.Sprintf("%s detected %d of the %d times needed", t.Control.Registry, t.Have, t.Need)
	}
	return fmt.Sprintf("%s ran %d of the %d trials needed", t.Clean.Registry, t.Clean.Runs, t.ControlTrials)
}

// Plan says how many trials of each side the test needs at the control's
// measured rate: its estimate, and the range its 95% interval gives
// (upper end +Inf when the control was never detected). They are
// estimates, not bounds on the run's length.
func (t EffectTest) Plan() (estimate, lo, hi float64) {
	k := t.Control
	lo95, hi95 := ClopperPearson(k.Detected, k.Runs)
	est := math.Inf(1)
	if k.Runs > 0 && k.Detected > 0 {
		est = float64(t.Need) * float64(k.Runs) / float64(k.Detected)
	}
	return est, float64(t.Need) / hi95, ratio(float64(t.Need), lo95)
}

// PlanText is the plan in one line: "the effect gate (at least 2x, error
// <= 3.9%) needs 8 detections of unfixed before any failure of fixed:
// about 400 trials each at unfixed's 2.0% [1.1%, 3.4%] per trial
// (235-728)".
func (t EffectTest) PlanText() string {
	est, lo, hi := t.Plan()
	lo95, hi95 := ClopperPearson(t.Control.Detected, t.Control.Runs)
	s := fmt.Sprintf("the effect gate (at least %sx, error <= %s) needs %d detections of %s before any failure of %s",
		formatFactor(t.MinEffect), pctUp(t.Error), t.Need, t.Control.Registry, t.Clean.Registry)
	if t.Control.Runs == 0 {
		return s + ": the control's rate is not known yet"
	}
	s += fmt.Sprintf(": %s detected in %d of %d trials (%s per trial, %s CI %s)", t.Control.Registry,
		t.Control.Detected, t.Control.Runs, pct(float64(t.Control.Detected)/float64(t.Control.Runs)), pct(Confidence), interval(lo95, hi95))
	if math.IsInf(est, 1) {
		return s + "; at least " + trialsText(lo) + " trials each"
	}
	return s + fmt.Sprintf("; about %s trials each at that rate (%s to %s)", trialsText(est), trialsText(lo), trialsText(hi))
}

func trialsText(n float64) string {
	if math.IsInf(n, 1) || n > maxRuns {
		return "unbounded"
	}
	return fmt.Sprintf("%d", int64(math.Ceil(n)))
}

func formatFactor(r float64) string {
	if r == math.Trunc(r) {
		return fmt.Sprintf("%d", int64(r))
	}
	return fmt.Sprintf("%g", r)
}

// effectPlans returns, under an effect gate, each test's plan
// (PlanText), with what an undecided one still misses.
func (s Summary) effectPlans() []string {
	if s.Policy.MinEffect <= 0 {
		return nil
	}
	var out []string
	for _, t := range s.EffectTests(s.Policy.MinEffect, DefaultAlpha) {
		line := t.PlanText()
		switch t.State {
		case EffectShown:
			line += ": shown"
		case EffectFailed:
			line += ": failed (" + t.Clean.Registry + " failed)"
		default:
			line += ": undecided (" + t.Missing() + ")"
		}
		out = append(out, line)
	}
	return out
}

// plainEffects are the effects a table or Markdown states: none under the
// effect gate, whose own test (effectPlans) is the run's statement of the
// fix's effect; two statements of one effect from two methods (a
// fixed-sample bound, a sequential test) would read as a contradiction
// where they differ.
func (s Summary) plainEffects() []Effect {
	if s.Policy.MinEffect > 0 {
		return nil
	}
	return s.Effects()
}
