package report

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"

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
	// The table lists each signature by its key; under it, the key, the
	// signature with its test, and the log.
	assert.Regexp(t, `(?m)^\| +S1 \| +bpo24484/cmd \| +1 \| +50% \|.*\| +0 \|$`, out)
	assert.Regexp(t, `(?m)^\| +S2 \| +bpo24484/cmd \| +1 \| +50% \|.*\| +1 \|$`, out)
	assert.Contains(t, out, "\nS1  TestTrack: panic: in a test\n    log: logs/trial-0.log\nS2  panic: outside tests\nverdict", "no test, no test name; no log, no log line")

	md := string(render(t, "markdown", summary(policy{}, rs)))
	assert.Regexp(t, `\| TestTrack: panic: in a test \| +1 \| +50% \|.*\| logs/trial-0.log \|`, md)
	assert.Regexp(t, `panic: outside tests \| +1 \|.*\| +1 \| +- \|`, md, "no log: a dash")
}

// TestSignatureTableFits80Columns renders the signatures of a gotest run
// as racestress classifies them: the table and the listing under it fit
// 80 columns, and a failure's test is named once.
func TestSignatureTableFits80Columns(t *testing.T) {
	rs := trials("cache", result.Clean, 20, 0, 0)
	race := "data-race: example.com/internal/cache.(*Cache).Put (example.com/internal/cache/cache.go:17) / example.com/internal/cache.(*Cache).Size (example.com/internal/cache/cache.go:22)"
	for _, i := range []int{3, 7, 11} {
		fail(&rs[i], race)
		rs[i].Outcome, rs[i].Test = result.DataRace, "TestReport"
		rs[i].Process = &result.Process{Log: "racestress-out/2026-12-05T10-00-00/logs/trial-3.log"}
	}
	fail(&rs[5], "fail: TestSum: cache_test.go:N: sum = N, want N")
	rs[5].Test = "TestSum"
	fail(&rs[6], "hang: test timed out (TestHang) | chan receive: example.com/internal/cache.Wait | semacquire: example.com/internal/cache.(*Cache).Lock")
	rs[6].Test = "TestHang"
	out := string(render(t, "table", summary(policy{}, rs)))
	i, j := strings.Index(out, "failure signatures"), strings.Index(out, "\nverdict: ")
	require.True(t, i >= 0 && j > i, out)
	for _, l := range strings.Split(out[i:j], "\n") {
		assert.LessOrEqual(t, utf8.RuneCountInString(l), 80, "%q", l)
	}
	assert.Contains(t, out, "S1  TestReport: data-race: cache.(*Cache).Put (cache.go:17) /\n    cache.(*Cache).Size (cache.go:22)\n    log: racestress-out/2026-12-05T10-00-00/logs/trial-3.log\n")
	assert.Contains(t, out, "S2  fail: TestSum: cache_test.go:N: sum = N, want N\n")
	assert.Contains(t, out, "S3  hang: test timed out (TestHang) | chan receive: cache.Wait | semacquire:\n    cache.(*Cache).Lock\n", "the signature names its test: not twice")
	assert.NotContains(t, out, "TestSum: fail: TestSum")
}

func TestWrap(t *testing.T) {
	assert.Equal(t, []string{""}, wrap("", 10))
	assert.Equal(t, []string{"aaa bbb", "ccc"}, wrap("aaa bbb ccc", 8))
	assert.Equal(t, []string{"abcdefgh", "ij k"}, wrap("abcdefghij k", 8), "a word longer than a line is cut")
	assert.Equal(t, []string{"abc def", "ghi"}, wrap("abc  def\nghi", 8), "runs of white space are one")
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
	s := summary(policy{}, timed(control), timed(trials("fixed", result.Clean, 300, 0, 0)))
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
		e := summary(policy{}, timed(trials("unfixed", result.Control, 300, 300, 0)), timed(clean)).Effects()[0]
		assert.True(t, math.IsInf(e.PerSecond, 1))
		assert.Equal(t, "fixed (clean) fails at most 1/80 as often as unfixed (control) per trial and at most an unbounded share per second of stress (95%)", e.Statement())
	})
}

func TestEffectShownPerSecondOnly(t *testing.T) {
	// One clean trial that failed after 1000 s: per trial it may fail as
	// often as the control, per second of stress far less often.
	clean := trials("fixed", result.Clean, 1, 1, 0)
	clean[0].TTFFNanos = 1000e9
	e := summary(policy{}, timed(trials("unfixed", result.Control, 300, 300, 0)), timed(clean)).Effects()[0]
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
