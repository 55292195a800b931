package report

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/racestress/racestress/harness/result"
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
	s := summary(Policy{}, a, b)
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
	s := summary(Policy{}, c1, c2)
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
	out := string(render(t, "table", summary(Policy{}, rs)))
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
