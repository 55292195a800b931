package report

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

func TestGitHubAnnotatesEachGroupWithItsOwnSignatures(t *testing.T) {
	s := summary(policy{}, failing("first", 5, "panic: one"), failing("second", 5, "panic: two", "panic: two"))
	lines := annotationLines(t, s)
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], "exec/first failed in TestX::TestX: panic: one: 1 of 5 trials")
	assert.Contains(t, lines[1], "exec/second failed in TestX::TestX: panic: two: 2 of 5 trials")
}

func TestGitHubAnnotatesAnUnderpoweredControlWithItsVerdict(t *testing.T) {
	// A control detected once in 10 trials, its failure signature known:
	// the annotation is its verdict (not enough power), not a failure.
	control := trials("old", result.Control, 10, 1, 0)
	control[0].FailureSignature = "panic: boom"
	s := summary(policy{MinPower: 0.5}, control, trials("new", result.Clean, 10, 0, 0))
	require.Equal(t, LostPower, s.Verdict().Status)
	lines := annotationLines(t, s)
	require.Len(t, lines, 1)
	assert.Equal(t, "::error title=racestress%3A bpo24484/old%3A FAIL%3A power below minimum::old detected in 1 of 10 trials: power >= 0.252%25 at 95%25 (lower bound), below the minimum 50%25", lines[0])
}

func TestGitHubAnnotatesOnlyAGroupsOwnFailures(t *testing.T) {
	// Records that mix runs: a control's trial of the same name, not a
	// detection, among a clean subject's trials, one of which the harness
	// could not run. The clean subject did not fail: its annotation is its
	// verdict (invalid), not the control's failure signature.
	rs := trials("x", result.Clean, 3, 0, 0)
	rs[1].Role = result.Control
	rs[1].Outcome, rs[1].Grade, rs[1].Detected, rs[1].FailureSignature = result.Fail, result.Forbidden, true, "panic: p"
	rs[2].Outcome, rs[2].Grade, rs[2].FirstError = result.Error, result.Forbidden, "error: watchdog"
	s := summary(policy{}, rs)
	require.Equal(t, 0, s.Groups[0].Detected)
	lines := annotationLines(t, s)
	require.Len(t, lines, 1)
	assert.Equal(t, "::error title=racestress%3A bpo24484/x%3A INVALID%3A harness errors::x: 1 of 3 trials ended in error, neither detections nor passes (first: error: watchdog)", lines[0])
}

func TestGitHubWritesExactlyMaxAnnotationsInFull(t *testing.T) {
	var sigs []string
	for i := range MaxAnnotations {
		sigs = append(sigs, fmt.Sprintf("fail: kind %c", 'a'+i))
	}
	lines := annotationLines(t, summary(policy{}, failing("new", 20, sigs...)))
	require.Len(t, lines, MaxAnnotations)
	for i, l := range lines {
		assert.Contains(t, l, fmt.Sprintf("TestX: fail: kind %c: 1 of 20 trials", 'a'+i), "ten signatures fit: none is cut for a count of the rest")
	}
}
