package report

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

// fail makes r a clean subject's failure with the given signature.
func fail(r *result.Record, sig string) {
	r.Outcome, r.Grade, r.Detected, r.TTFFNanos = result.Fail, result.Forbidden, true, 1e6
	r.FailureSignature = sig
}

func TestSignaturesKeepGroupsApart(t *testing.T) {
	a := trials("a", result.Clean, 4, 0, 0)
	fail(&a[1], "panic: x")
	fail(&a[2], "panic: y")
	fail(&a[3], "panic: y")
	b := trials("b", result.Clean, 3, 0, 0)
	fail(&b[2], "panic: z")
	s := summary(policy{}, a, b)
	type row struct {
		group, sig   string
		count, first int
	}
	var got []row
	for _, st := range s.Signatures() {
		got = append(got, row{st.Group, st.Signature, st.Count, st.FirstTrial})
	}
	// Within a group the most frequent signature comes first, even when
	// another was seen before it; a failure of another registry of the same
	// scenario is not the group's, and failures after passing trials count.
	assert.Equal(t, []row{
		{"bpo24484/a", "panic: y", 2, 2},
		{"bpo24484/a", "panic: x", 1, 1},
		{"bpo24484/b", "panic: z", 1, 6},
	}, got)
}

func TestSignaturesKeepCellsApart(t *testing.T) {
	c1 := trials("a", result.Clean, 2, 0, 0)
	c2 := trials("a", result.Clean, 2, 0, 0)
	for i := range c1 {
		c1[i].Cell, c2[i].Cell = "gogc=1", "gogc=100"
	}
	fail(&c1[0], "panic: one")
	fail(&c2[0], "panic: hundred")
	s := summary(policy{}, c1, c2)
	got := map[string][]string{}
	for _, st := range s.Signatures() {
		got[st.Group] = append(got[st.Group], st.Signature)
	}
	assert.Equal(t, map[string][]string{
		"bpo24484/a [gogc=1]":   {"panic: one"},
		"bpo24484/a [gogc=100]": {"panic: hundred"},
	}, got)
}

func TestSignatureTableNamesTheTestAndTheLog(t *testing.T) {
	rs := trials("cmd", result.Clean, 3, 0, 0)
	fail(&rs[0], "panic: in a test")
	rs[0].Test = "TestTrack"
	rs[0].Process = &result.Process{Log: "logs/trial-0.log"}
	fail(&rs[1], "panic: outside tests")
	out := string(render(t, "table", summary(policy{}, rs)))
	var inTest, outside string
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(l, "panic: in a test"):
			inTest = l
		case strings.Contains(l, "panic: outside tests"):
			outside = l
		}
	}
	assert.Contains(t, inTest, "TestTrack: panic: in a test")
	assert.Contains(t, inTest, "logs/trial-0.log")
	assert.NotContains(t, outside, ": panic: outside tests", "no test, no test name")
	assert.Regexp(t, `\|\s+-\s+\|?\s*$`, outside, "no log: a dash")
}

func TestEffectWithoutTimeAtRisk(t *testing.T) {
	// A control detected on every trial whose times to failure were not
	// recorded (0): per trial the bound stands, per second there is none,
	// and the statement says so rather than claiming the control was never
	// detected.
	control := trials("unfixed", result.Control, 300, 300, 0)
	for i := range control {
		control[i].TTFFNanos = 0
	}
	s := summary(policy{}, control, trials("fixed", result.Clean, 300, 0, 0))
	es := s.Effects()
	require.Len(t, es, 1)
	e := es[0]
	assert.InDelta(t, 0.01237, e.PerTrial, 1e-5)
	assert.True(t, math.IsInf(e.PerSecond, 1), "no time at risk: no bound per second, got %g", e.PerSecond)
	assert.Equal(t, "fixed (clean) fails at most 1/80 as often as unfixed (control) per trial and at most an unbounded share per second of stress (95%)", e.Statement())

	t.Run("nor on the clean side", func(t *testing.T) {
		clean := trials("fixed", result.Clean, 300, 0, 0)
		for i := range clean {
			clean[i].DurationNs = 0
		}
		e := summary(policy{}, trials("unfixed", result.Control, 300, 300, 0), clean).Effects()[0]
		assert.True(t, math.IsInf(e.PerSecond, 1))
		assert.Equal(t, "fixed (clean) fails at most 1/80 as often as unfixed (control) per trial and at most an unbounded share per second of stress (95%)", e.Statement())
	})
}

func TestEffectShownPerSecondOnly(t *testing.T) {
	// One clean trial that failed after 1000 s: per trial it may fail as
	// often as the control, per second of stress far less often.
	clean := trials("fixed", result.Clean, 1, 1, 0)
	clean[0].TTFFNanos = 1000e9
	e := summary(policy{}, trials("unfixed", result.Control, 300, 300, 0), clean).Effects()[0]
	assert.GreaterOrEqual(t, e.PerTrial, 1.0)
	assert.Less(t, e.PerSecond, 0.5)
	assert.Regexp(t, `^fixed \(clean\) fails at most 10[0-9.]*% as often as unfixed \(control\) per trial and at most 1/[0-9]+ per second of stress \(95%\)$`, e.Statement())
}

func TestEffectStatementAtItsBounds(t *testing.T) {
	clean := Group{Scenario: "bpo24484", Registry: "fixed", Role: result.Clean}
	control := Group{Scenario: "bpo24484", Registry: "unfixed", Role: result.Control}
	cases := []struct {
		perTrial, perSecond float64
		want                string
	}{
		// A bound of exactly 1 shows no effect on either scale.
		{1, 1, "fixed (clean) is not shown to fail less often than unfixed (control): too few trials (at 95% it may fail up to 100% as often per trial)"},
		{1, 2, "fixed (clean) is not shown to fail less often than unfixed (control): too few trials (at 95% it may fail up to 100% as often per trial)"},
		{2, 1, "fixed (clean) is not shown to fail less often than unfixed (control): too few trials (at 95% it may fail up to 200% as often per trial)"},
		// Shown on one scale is shown.
		{0.5, 2, "fixed (clean) fails at most 1/2 as often as unfixed (control) per trial and at most 200% per second of stress (95%)"},
		// Exact reciprocals print as themselves, not one less.
		{0.25, 0.125, "fixed (clean) fails at most 1/4 as often as unfixed (control) per trial and at most 1/8 per second of stress (95%)"},
		{0.5, 0.6, "fixed (clean) fails at most 1/2 as often as unfixed (control) per trial and at most 60% per second of stress (95%)"},
	}
	for _, c := range cases {
		e := Effect{Clean: clean, Control: control, PerTrial: c.perTrial, PerSecond: c.perSecond}
		assert.Equal(t, c.want, e.Statement(), "per trial %g, per second %g", c.perTrial, c.perSecond)
	}
}
