package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

// readEvents parses a test2json stream: one event a line, nothing else.
func readEvents(t *testing.T, b []byte) []TestEvent {
	t.Helper()
	var evs []TestEvent
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var ev TestEvent
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&ev), "line %q", sc.Text())
		evs = append(evs, ev)
	}
	return evs
}

// outcomes checks that every test of every package runs once and ends
// once, and returns each test's final action in the last package, the
// package's under "".
func outcomes(t *testing.T, evs []TestEvent) map[string]string {
	t.Helper()
	var got map[string]string
	var running map[string]bool
	check := func() {
		for name := range running {
			assert.Contains(t, got, name, "%s never ends", name)
		}
	}
	for _, ev := range evs {
		switch ev.Action {
		case "start":
			check()
			got, running = map[string]string{}, map[string]bool{}
		case "run":
			assert.False(t, running[ev.Test], "%s runs twice", ev.Test)
			running[ev.Test] = true
		case "pass", "fail", "skip":
			_, done := got[ev.Test]
			assert.False(t, done, "%s ends twice", ev.Test)
			if ev.Test != "" {
				assert.True(t, running[ev.Test], "%s ends without running", ev.Test)
			}
			require.NotNil(t, ev.Elapsed, "%s: no elapsed time", ev.Test)
			got[ev.Test] = ev.Action
		}
	}
	check()
	return got
}

func TestTest2JSON(t *testing.T) {
	t.Run("a clean subject that failed fails its trial, its test and the package", func(t *testing.T) {
		rs := trials("fixed", result.Clean, 3, 1, 0)
		rs[0].Outcome, rs[0].FailureSignature, rs[0].Test = result.DataRace, "data-race: x (a.go:1) / y (a.go:2)", "TestX"
		rs[0].FirstError = "data-race: write at x, read at y\nmore"
		rs[0].Process = &result.Process{Log: "logs/trial-0.log"}
		s := summary(policy{}, rs)
		evs := readEvents(t, render(t, "test2json", s))
		assert.Equal(t, map[string]string{"": "fail", "fixed": "fail", "fixed/trial-0": "fail", "fixed/trial-1": "pass", "fixed/trial-2": "pass"}, outcomes(t, evs))
		var out strings.Builder
		for _, ev := range evs {
			if ev.Test == "fixed/trial-0" {
				out.WriteString(ev.Output)
			}
			assert.Equal(t, "racestress/bpo24484", ev.Package)
		}
		assert.Equal(t, "=== RUN   fixed/trial-0\n"+
			"    forbidden outcome: trial 0, seed 0: data-race after 1ms\n"+
			"    test: TestX\n"+
			"      data-race: write at x, read at y\n"+
			"      more\n"+
			"    signature: data-race: x (a.go:1) / y (a.go:2)\n"+
			"    log: logs/trial-0.log\n"+
			"    replay: racestress replay RESULTS.jsonl 0\n"+
			"    --- FAIL: fixed/trial-0 (1.00s)\n", out.String())
		last := evs[len(evs)-3:]
		assert.Equal(t, "FAIL\n", last[0].Output)
		assert.Equal(t, "FAIL\tracestress/bpo24484\t3.000s\n", last[1].Output, "no start times: the trials' total")
	})
	t.Run("a control that lost its power fails its test, not its trials; so does the package", func(t *testing.T) {
		s := summary(policy{MinPower: 0.5}, trials("unfixed", result.Control, 2, 0, 0), trials("fixed", result.Clean, 2, 0, 0))
		require.NotEqual(t, Pass, s.Verdict().Status)
		assert.Equal(t, map[string]string{"": "fail", "unfixed": "fail", "unfixed/trial-0": "pass", "unfixed/trial-1": "pass",
			"fixed": "pass", "fixed/trial-2": "pass", "fixed/trial-3": "pass"}, outcomes(t, readEvents(t, render(t, "test2json", s))))
	})
	t.Run("a harness error fails its trial whatever the subject", func(t *testing.T) {
		s := summary(policy{}, trials("unfixed", result.Control, 2, 1, 1))
		got := outcomes(t, readEvents(t, render(t, "test2json", s)))
		assert.Equal(t, "pass", got["unfixed/trial-0"], "caught")
		assert.Equal(t, "fail", got["unfixed/trial-1"], "harness error")
		assert.Equal(t, "fail", got[""], "the run is invalid")
	})
	t.Run("the package agrees with the verdict", func(t *testing.T) {
		for _, s := range []Summary{Summarize(fixture()), Summarize(sweepFixture()), execSummary(false)} {
			evs := readEvents(t, render(t, "test2json", s))
			want := "fail"
			if s.Verdict().Status == Pass {
				want = "pass"
			}
			assert.Equal(t, want, evs[len(evs)-1].Action, s.Verdict().Line)
			assert.Equal(t, "verdict: "+s.Verdict().Line+"\n", func() string {
				for _, ev := range evs {
					if strings.HasPrefix(ev.Output, "verdict: ") && ev.Test == "" {
						return ev.Output
					}
				}
				return ""
			}())
			outcomes(t, evs)
		}
	})
	t.Run("no trial: the verdict still has its package", func(t *testing.T) {
		s := Summarize(nil)
		evs := readEvents(t, render(t, "test2json", s))
		require.NotEmpty(t, evs)
		assert.Equal(t, "verdict: "+s.Verdict().Line+"\n", evs[1].Output)
		want := "fail"
		if s.Verdict().Status == Pass {
			want = "pass"
		}
		assert.Equal(t, map[string]string{"": want}, outcomes(t, evs))
	})
	t.Run("a gotest run's package is its import path", func(t *testing.T) {
		rs := trials("cache", result.Clean, 1, 0, 0)
		rs[0].Scenario = "exec"
		s := Summarize(rs)
		s.Header = &result.Header{Scenario: "exec", Extra: map[string]any{"exec": map[string]any{
			"targets": []any{map[string]any{"name": "cache", "role": "clean", "argv": []any{"cache.test"}}},
			"gotest":  map[string]any{"package": ".", "import_path": "example.com/cache"}}}}
		for _, ev := range readEvents(t, render(t, "test2json", s)) {
			assert.Equal(t, "example.com/cache", ev.Package)
		}
	})
}
