package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

// annotationLines returns the ::error lines of a github rendering.
func annotationLines(t *testing.T, s Summary) []string {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(string(render(t, "github", s)), "\n") {
		if strings.HasPrefix(l, "::") {
			lines = append(lines, l)
		}
	}
	return lines
}

// failing returns n trials of a clean command, the first len(sigs)
// failed with those signatures.
func failing(name string, n int, sigs ...string) []result.Record {
	rs := trials(name, result.Clean, n, 0, 0)
	for i, sig := range sigs {
		rs[i].Scenario = "exec"
		rs[i].Outcome, rs[i].Grade, rs[i].Detected, rs[i].TTFFNanos = result.Fail, result.Forbidden, true, 1e6
		rs[i].FirstError, rs[i].FailureSignature, rs[i].Test = "fail: "+sig, sig, "TestX"
		rs[i].Process = &result.Process{Isolation: "exec", Log: fmt.Sprintf("logs/trial-%d.log", i)}
	}
	for i := len(sigs); i < n; i++ {
		rs[i].Scenario = "exec"
	}
	return rs
}

func TestGitHub(t *testing.T) {
	t.Run("a pass has a summary and no annotation", func(t *testing.T) {
		s := summary(policy{}, trials("unfixed", result.Control, 5, 5, 0), trials("fixed", result.Clean, 5, 0, 0))
		out := string(render(t, "github", s))
		assert.True(t, strings.HasPrefix(out, "### racestress: PASS\n"), out)
		assert.Contains(t, out, "**verdict**: PASS")
		assert.Empty(t, annotationLines(t, s))
	})
	t.Run("one annotation per signature of a failed clean group, escaped", func(t *testing.T) {
		s := summary(policy{}, failing("new", 10, "fail: 50% lost, at: x\nnext", "fail: 50% lost, at: x\nnext", "panic: boom"))
		lines := annotationLines(t, s)
		require.Len(t, lines, 2)
		assert.Equal(t, "::error title=racestress%3A exec/new failed in TestX::TestX: fail: 50%25 lost, at: x%0Anext: 2 of 10 trials (rate 95%25 CI [2.52%25, 55.7%25]), first in trial 0, log logs/trial-0.log", lines[0])
		assert.Contains(t, lines[1], "TestX: panic: boom: 1 of 10 trials")
		for _, l := range lines {
			title, _, ok := strings.Cut(strings.TrimPrefix(l, "::error title="), "::")
			require.True(t, ok, l)
			assert.NotContains(t, title, ":", "a property ends at an unescaped colon")
			assert.NotContains(t, title, ",")
		}
	})
	t.Run("a control that lost its power is one annotation with its verdict", func(t *testing.T) {
		s := summary(policy{}, trials("old", result.Control, 5, 0, 0), trials("new", result.Clean, 5, 0, 0))
		lines := annotationLines(t, s)
		require.Len(t, lines, 1)
		assert.Contains(t, lines[0], "old was never detected in 5 trials")
	})
	t.Run("a run that fails with no group to blame says why", func(t *testing.T) {
		s := summary(policy{RequireControl: true}, trials("new", result.Clean, 5, 0, 0))
		lines := annotationLines(t, s)
		require.Len(t, lines, 1)
		assert.Contains(t, lines[0], "no control ran")
	})
	t.Run("at most ten annotations, the last counting the rest", func(t *testing.T) {
		var sigs []string
		for i := range 14 {
			sigs = append(sigs, fmt.Sprintf("fail: kind %c", 'a'+i))
		}
		s := summary(policy{}, failing("new", 20, sigs...))
		lines := annotationLines(t, s)
		require.Len(t, lines, MaxAnnotations)
		assert.Contains(t, lines[9], "5 more failed groups or signatures")
	})
	t.Run("the job summary alone has no workflow command", func(t *testing.T) {
		s := summary(policy{}, failing("new", 10, "fail: x"))
		var b bytes.Buffer
		require.NoError(t, GitHubSummary(&b, s))
		assert.NotContains(t, b.String(), "::error")
		assert.Contains(t, b.String(), "### racestress: FAIL regression")
		assert.Contains(t, b.String(), "**failure signatures**")
	})
}

func TestShortFuncs(t *testing.T) {
	for in, want := range map[string]string{
		"fatal: concurrent map writes @ github.com/racestress/racestress/examples/cleanupmap.(*Registry).Track.func1 < github.com/a/b.TestX": "fatal: concurrent map writes @ cleanupmap.(*Registry).Track.func1 < b.TestX",
		"data-race: example.com/x/y.f / main.g":                     "data-race: y.f / main.g",
		"fail: exit 1: error: N widgets missing":                    "fail: exit 1: error: N widgets missing",
		"hang: watchdog | sync.Mutex.Lock: gopkg.in/yaml.v3.decode": "hang: watchdog | sync.Mutex.Lock: yaml.v3.decode",
	} {
		assert.Equal(t, want, shortFuncs(in))
	}
}
