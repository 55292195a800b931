package report

import (
	"encoding/json"
	"io"
	"math"
	"strings"
	"time"

	"github.com/racestress/racestress/result"
)

// SchemaVersion is the version of the JSON document JSON writes; see the
// package documentation for the schema. It changes only when a field is
// removed or changes meaning; new fields may appear within a version.
const SchemaVersion = 2

// JSONReport is the document --format json prints.
type JSONReport struct {
	Schema     int     `json:"schema"`
	Confidence float64 `json:"confidence"`
	Scenario   string  `json:"scenario"`
	// Ran says what an exec or gotest run ran, from its results header;
	// omitted for runs of the built-in scenarios.
	Ran    *JSONRan    `json:"ran,omitempty"`
	Groups []JSONGroup `json:"groups"`
	// Matrix is the sweep view, one entry per swept scenario; omitted when
	// the run was no sweep.
	Matrix   []JSONSweep `json:"matrix,omitempty"`
	Warnings []string    `json:"warnings,omitempty"`
	Verdict  JSONVerdict `json:"verdict"`
	// Effects bound, per clean subject and control, how much less often
	// the clean one fails (see Effect).
	Effects []JSONEffect `json:"effects,omitempty"`
	// Signatures are the failure signatures of every group.
	Signatures []JSONSignature `json:"signatures,omitempty"`
}

// JSONRan is what an exec or gotest run ran: its commands (name, role,
// argv, dir), for gotest the package built and its build flags, and Lines,
// what the other formats print (see Ran.Lines).
type JSONRan struct {
	Ran
	Lines []string `json:"lines"`
}

// JSONEffect is one Effect: upper 95% bounds on the ratio of failure rates;
// null when unbounded (the control was never detected).
type JSONEffect struct {
	Clean     string   `json:"clean"`
	Control   string   `json:"control"`
	Cell      string   `json:"cell,omitempty"`
	PerTrial  *float64 `json:"ratio_per_trial_upper"`
	PerSecond *float64 `json:"ratio_per_second_upper"`
	// NotPerSecond says why the effect is not bounded per second of
	// stress (ratio_per_second_upper is then null); omitted when it is.
	NotPerSecond string `json:"not_per_second,omitempty"`
	Statement    string `json:"statement"`
}

// JSONSignature is one failure signature of a group.
type JSONSignature struct {
	Group     string `json:"group"`
	Signature string `json:"signature"`
	Test      string `json:"test,omitempty"`
	// Tests are all the tests it failed in, when more than one.
	Tests      []string `json:"tests,omitempty"`
	Count      int      `json:"count"`
	Share      float64  `json:"share"`
	CILow      float64  `json:"ci_low"`
	CIHigh     float64  `json:"ci_high"`
	FirstTrial int      `json:"first_trial"`
	Log        string   `json:"log,omitempty"`
}

func finitePtr(x float64) *float64 {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return nil
	}
	v := round6(x)
	return &v
}

// JSONVerdict is the run's verdict (Summary.Verdict).
type JSONVerdict struct {
	Status   string  `json:"status"`    // "PASS", "FAIL regression", "FAIL lost power", "INVALID"
	ExitCode int     `json:"exit_code"` // what racestress exits with
	Line     string  `json:"line"`
	MinPower float64 `json:"min_power"`
	// MinEffect is the effect gate's R (0: none), and EffectGate each
	// clean subject's plan under it.
	MinEffect  float64  `json:"min_effect,omitempty"`
	EffectGate []string `json:"effect_gate,omitempty"`
}

// JSONSweep is the matrix view of one scenario's sweep.
type JSONSweep struct {
	Scenario string    `json:"scenario"`
	Dims     []JSONDim `json:"dims"`
	// Grid is true when there are exactly two dimensions: rows are the
	// values of dims[0], columns those of dims[1].
	Grid  bool           `json:"grid"`
	Cells []JSONCellStat `json:"cells"`
}

// JSONDim is one swept dimension: a knob and its values, in label order.
type JSONDim struct {
	Key    string   `json:"key"`
	Values []string `json:"values"`
}

// JSONCellStat is one registry in one cell of a sweep.
type JSONCellStat struct {
	Cell          string            `json:"cell"`
	At            map[string]string `json:"at"`
	Registry      string            `json:"registry"`
	Role          string            `json:"role"`
	Clean         bool              `json:"clean"`
	Runs          int               `json:"runs"`
	Detected      int               `json:"detected"`
	DetectionRate float64           `json:"detection_rate"`
	CILow         float64           `json:"ci_low"`
	CIHigh        float64           `json:"ci_high"`
	KMMedianMs    *float64          `json:"ttff_km_median_ms"`
	KMHorizonMs   float64           `json:"ttff_km_horizon_ms"`
}

// JSONGroup is one group in a JSONReport.
type JSONGroup struct {
	Scenario        string         `json:"scenario"`
	Registry        string         `json:"registry"`
	Cell            string         `json:"cell,omitempty"`
	Role            string         `json:"role"`
	Clean           bool           `json:"clean"`
	Runs            int            `json:"runs"`
	Detected        int            `json:"detected"`
	Errors          int            `json:"errors"`
	Other           int            `json:"other_failures"`
	Verdict         string         `json:"verdict"`
	DetectionRate   float64        `json:"detection_rate"`
	CILow           float64        `json:"ci_low"`
	CIHigh          float64        `json:"ci_high"`
	RateStatement   string         `json:"rate_statement"`
	RunsNeeded99    *int           `json:"runs_needed_99"`
	Outcomes        map[string]int `json:"outcomes"`
	Grade           string         `json:"grade"`
	Passed          bool           `json:"passed"`
	TTFFMs          JSONQuantiles  `json:"ttff_ms"`
	DetectionCurve  []JSONStep     `json:"detection_curve"`
	ObjectsPerSec   float64        `json:"objects_per_sec"`
	CallbacksPerSec float64        `json:"callbacks_per_sec"`
	Mutations       map[string]int `json:"mutations"`
	Knobs           result.Knobs   `json:"knobs"`
}

// JSONQuantiles are times to first failure in milliseconds. Median, P90, Min
// and Max are over the detected trials only (null when none was); the KM
// quantiles are Kaplan–Meier estimates over all trials, null when the curve
// never reaches them: the quantile is then longer than KMHorizon.
type JSONQuantiles struct {
	Median    *float64 `json:"median"`
	P90       *float64 `json:"p90"`
	Min       *float64 `json:"min"`
	Max       *float64 `json:"max"`
	KMMedian  *float64 `json:"km_median"`
	KMP90     *float64 `json:"km_p90"`
	KMP99     *float64 `json:"km_p99"`
	KMHorizon float64  `json:"km_horizon"`
	Censored  int      `json:"censored"`
}

// JSONStep is one step of the Kaplan–Meier detection curve.
type JSONStep struct {
	TMs      float64 `json:"t_ms"`
	P        float64 `json:"p"`
	AtRisk   int     `json:"at_risk"`
	Detected int     `json:"detected"`
}

// JSON renders s as one JSON object of schema SchemaVersion.
func JSON(w io.Writer, s Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(NewJSONReport(s))
}

// NewJSONReport returns the document JSON writes for s.
func NewJSONReport(s Summary) JSONReport {
	v := s.Verdict()
	doc := JSONReport{Schema: SchemaVersion, Confidence: Confidence, Groups: []JSONGroup{}, Warnings: s.Warnings,
		Verdict: JSONVerdict{Status: v.Status.String(), ExitCode: v.Status.ExitCode(), Line: v.Line, MinPower: s.Policy.MinPower,
			MinEffect: s.Policy.MinEffect, EffectGate: s.effectPlans()}}
	if names := scenarios(s); len(names) > 0 {
		doc.Scenario = strings.Join(names, ",")
		if r, ok := s.ran(doc.Scenario); ok {
			doc.Ran = &JSONRan{Ran: r, Lines: r.Lines()}
		}
	}
	for i, g := range s.Groups {
		lo, hi := g.DetectionCI()
		jg := JSONGroup{
			Verdict:  v.Groups[i].Cell,
			Scenario: g.Scenario, Registry: g.Registry, Cell: g.Cell, Role: string(g.Role), Clean: g.IsClean(), Runs: g.Runs, Detected: g.Detected, Errors: g.Errors, Other: g.Other,
			DetectionRate: g.Rate(), CILow: round6(lo), CIHigh: round6(hi), RateStatement: g.RateStatement(),
			Outcomes: map[string]int{}, Grade: string(g.Grade), Passed: g.Passed(),
			DetectionCurve: []JSONStep{},
			ObjectsPerSec:  g.ObjectsPerSec(), CallbacksPerSec: g.CallbacksPerSec(),
			Mutations: map[string]int{"removed": g.Mutations["removed"], "inserted": g.Mutations["inserted"]},
			Knobs:     g.Knobs,
		}
		if n, ok := g.RunsNeeded99(); ok {
			jg.RunsNeeded99 = &n
		}
		for o, n := range g.Outcomes {
			jg.Outcomes[string(o)] = n
		}
		for k, n := range g.Mutations {
			if n > 0 {
				jg.Mutations[k] = n
			}
		}
		if len(g.TTFF) > 0 {
			raw := func(q float64) *float64 { d, _ := g.TTFFQuantile(q); return msPtr(d) }
			jg.TTFFMs.Median, jg.TTFFMs.P90, jg.TTFFMs.Min, jg.TTFFMs.Max = raw(0.5), raw(0.9), raw(0), raw(1)
		}
		curve := g.KaplanMeier()
		km := func(q float64) *float64 {
			if d, ok := curve.Quantile(q); ok {
				return msPtr(d)
			}
			return nil
		}
		jg.TTFFMs.KMMedian, jg.TTFFMs.KMP90, jg.TTFFMs.KMP99 = km(0.5), km(0.9), km(0.99)
		jg.TTFFMs.KMHorizon, jg.TTFFMs.Censored = ms(curve.Horizon), curve.Censored
		for _, st := range curve.Steps {
			jg.DetectionCurve = append(jg.DetectionCurve, JSONStep{TMs: ms(st.T), P: round6(st.P), AtRisk: st.AtRisk, Detected: st.Detected})
		}
		doc.Groups = append(doc.Groups, jg)
	}
	for _, e := range s.Effects() {
		doc.Effects = append(doc.Effects, JSONEffect{Clean: e.Clean.Registry, Control: e.Control.Registry, Cell: e.Clean.Cell,
			PerTrial: finitePtr(e.PerTrial), PerSecond: finitePtr(e.PerSecond), NotPerSecond: e.NotPerSecond, Statement: e.Statement()})
	}
	for _, st := range s.Signatures() {
		js := JSONSignature{Group: st.Group, Signature: st.Signature, Test: st.Test, Count: st.Count,
			Share: round6(st.Share), CILow: round6(st.Lo), CIHigh: round6(st.Hi), FirstTrial: st.FirstTrial, Log: st.Log}
		if len(st.Tests) > 1 {
			js.Tests = st.Tests
		}
		doc.Signatures = append(doc.Signatures, js)
	}
	for _, sw := range s.Sweeps() {
		js := JSONSweep{Scenario: sw.Scenario, Grid: sw.Grid(), Cells: []JSONCellStat{}}
		for _, d := range sw.Dims {
			js.Dims = append(js.Dims, JSONDim{Key: d.Key, Values: d.Values})
		}
		for _, label := range sw.Labels {
			at := map[string]string{}
			for i, v := range sw.Values(label) {
				at[sw.Dims[i].Key] = v
			}
			for _, reg := range sw.Registries {
				g, ok := sw.Group(reg, label)
				if !ok {
					continue
				}
				lo, hi := g.DetectionCI()
				c := JSONCellStat{Cell: label, At: at, Registry: reg, Role: string(g.Role), Clean: g.IsClean(), Runs: g.Runs, Detected: g.Detected,
					DetectionRate: g.Rate(), CILow: round6(lo), CIHigh: round6(hi)}
				curve := g.KaplanMeier()
				if d, ok := curve.Quantile(0.5); ok {
					c.KMMedianMs = msPtr(d)
				}
				c.KMHorizonMs = ms(curve.Horizon)
				js.Cells = append(js.Cells, c)
			}
		}
		doc.Matrix = append(doc.Matrix, js)
	}
	return doc
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func msPtr(d time.Duration) *float64 { v := ms(d); return &v }

// round6 rounds a probability to six decimals, so that documents do not
// carry the last-bit noise of a numeric method.
func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }
