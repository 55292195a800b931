package report

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/result"
)

// execRace is the signature racestress gives the fixture's race, one race
// reached from two tests.
const execRace = "data-race: example.com/cache.(*Cache).Put (example.com/cache/cache.go:17) / example.com/cache.(*Cache).Size (example.com/cache/cache.go:22)"

// execFixture returns the records and header of an exec run comparing two
// builds of a test binary, as racestress exec --control old=... --clean
// new=... records them: old races in 6 of 30 trials, through two tests,
// fails an assertion in 2, and hangs into the test's own timeout in 1;
// new passes all 30. The header's exec entry is given as the harness
// writes it (asStruct) or as it is read back from a results file.
func execFixture(asStruct bool) ([]result.Record, *result.Header) {
	start := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	var rs []result.Record
	for i := range 30 {
		for _, name := range []string{"old", "new"} {
			r := result.Record{Trial: len(rs), Seed: 7000 + int64(len(rs)), Scenario: "exec", Registry: name, Role: result.Clean,
				Outcome: result.OK, Grade: result.Acceptable, DurationNs: int64(90*time.Millisecond + time.Duration(i%7)*time.Millisecond),
				Start: start.Add(time.Duration(len(rs)) * 100 * time.Millisecond)}
			r.Process = &result.Process{Isolation: "exec", WallNanos: r.DurationNs}
			if name == "old" {
				r.Role = result.Control
				failed := func(o result.Outcome, test, sig, msg string, after time.Duration) {
					r.Outcome, r.Grade, r.Detected, r.Signature = o, result.Forbidden, true, true
					r.Test, r.FailureSignature, r.FirstError = test, sig, msg
					r.DurationNs, r.TTFFNanos, r.Process.WallNanos = int64(after), int64(after), int64(after)
					r.Failures = map[result.Outcome]int{o: 1}
					r.Process.ExitCode = 1
					r.Process.Log = fmt.Sprintf("logs/trial-%d.log", r.Trial)
				}
				switch {
				case i%5 == 1:
					test := []string{"TestReport", "TestFull"}[i%2]
					failed(result.DataRace, test, execRace, "data-race: write at example.com/cache.(*Cache).Put, read at example.com/cache.(*Cache).Size (in "+test+")", 70*time.Millisecond)
				case i == 8 || i == 18:
					failed(result.Fail, "TestSum", "fail: TestSum: cache_test.go:N: sum = N, want N", "fail: --- FAIL: TestSum: cache_test.go:57: sum = 1999, want 2000", 60*time.Millisecond)
				case i == 27:
					failed(result.Hang, "TestHang", "hang: test timed out (TestHang) | chan receive: example.com/cache.Wait", "hang: test timed out after 500ms (go test -timeout) (in TestHang)", 500*time.Millisecond)
					r.Process.ExitCode = 2
				}
			}
			rs = append(rs, r)
		}
	}
	run := harness.ExecRun{
		Targets: []harness.ExecTarget{
			{Name: "old", Role: result.Control, Argv: []string{"./old.test", "-test.run", "^Test(Report|Full|Sum|Hang)$", "-test.timeout=500ms"}, Dir: "/src/cache"},
			{Name: "new", Role: result.Clean, Argv: []string{"./new.test", "-test.run", "^Test(Report|Full|Sum|Hang)$", "-test.timeout=500ms"}, Dir: "/src/cache"},
		},
		TimeoutNs: int64(10 * time.Second),
	}
	h := &result.Header{Kind: result.Kind, Schema: result.SchemaVersion, RunID: "fixture", Scenario: "exec", Started: start,
		Subjects: []result.HeaderSubject{{Name: "old", Role: result.Control}, {Name: "new", Role: result.Clean}},
		Extra:    run.Extra()}
	if !asStruct {
		h.Extra = decoded(h.Extra)
	}
	return rs, h
}

// decoded returns extra as a results file reads it back: JSON objects.
func decoded(extra map[string]any) map[string]any {
	b, err := json.Marshal(extra)
	if err != nil {
		panic(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

func execSummary(asStruct bool) Summary {
	rs, h := execFixture(asStruct)
	s := Summarize(rs)
	s.Policy = result.VerdictPolicy{MinPower: 0.05}
	s.Subjects = []string{"old", "new"}
	s.Header = h
	return s
}

// TestExecGolden renders an exec run in every format: each says what ran
// (the command lines), and carries the failure signatures; the effect is
// stated per trial only (old's failures include a hang).
func TestExecGolden(t *testing.T) {
	s := execSummary(false)
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			got := render(t, format, s)
			if format == "html" {
				got = svgElement.ReplaceAll(got, []byte("<svg><!-- chart --></svg>"))
			}
			golden(t, "exec-"+format+".golden", got)
			assert.Equal(t, string(got), string(maybeStripSVG(format, render(t, format, execSummary(true)))),
				"the header as the harness writes it reads as the one from a file")
			if format == "table" {
				assert.Contains(t, string(got), "./old.test -test.run '^Test(Report|Full|Sum|Hang)$' -test.timeout=500ms")
				assert.NotContains(t, string(got), "no knobs")
			}
		})
	}
	t.Run("json carries the commands", func(t *testing.T) {
		var doc JSONReport
		require.NoError(t, json.Unmarshal(render(t, "json", s), &doc))
		require.NotNil(t, doc.Ran)
		assert.Equal(t, []string{"./new.test", "-test.run", "^Test(Report|Full|Sum|Hang)$", "-test.timeout=500ms"}, doc.Ran.Commands[1].Argv)
		assert.Len(t, doc.Ran.Lines, 3)
		require.Len(t, doc.Effects, 1)
		assert.Nil(t, doc.Effects[0].PerSecond)
		assert.Contains(t, doc.Effects[0].NotPerSecond, "hung")
	})
	t.Run("junit names each suite's command", func(t *testing.T) {
		var doc struct {
			Suites []struct {
				Name  string `xml:"name,attr"`
				Props []struct {
					Name  string `xml:"name,attr"`
					Value string `xml:"value,attr"`
				} `xml:"properties>property"`
			} `xml:"testsuite"`
		}
		require.NoError(t, xml.Unmarshal(render(t, "junit", s), &doc))
		found := 0
		for _, su := range doc.Suites {
			for _, p := range su.Props {
				if p.Name == "command" {
					found++
					assert.Equal(t, "./"+strings.TrimPrefix(su.Name, "exec/")+".test -test.run '^Test(Report|Full|Sum|Hang)$' -test.timeout=500ms", p.Value)
				}
			}
		}
		assert.Equal(t, 2, found)
	})
	t.Run("the table fits 80 columns from the signatures on", func(t *testing.T) {
		out := string(render(t, "table", s))
		i := strings.Index(out, "failure signatures")
		j := strings.Index(out, "\neffect: ")
		require.True(t, i >= 0 && j > i, out)
		for _, l := range strings.Split(out[i:j], "\n") {
			assert.LessOrEqual(t, len([]rune(l)), 80, l)
		}
		assert.Equal(t, 1, strings.Count(out, "data-race: cache.(*Cache).Put"), "one race through two tests: one signature")
	})
}

func maybeStripSVG(format string, b []byte) []byte {
	if format == "html" {
		return svgElement.ReplaceAll(b, []byte("<svg><!-- chart --></svg>"))
	}
	return b
}

// TestGoTestRan checks what a gotest run's reports say ran: the go test
// command that runs the same tests, with its build flags and package.
func TestGoTestRan(t *testing.T) {
	rs := trials("cache", result.Clean, 3, 0, 0)
	for i := range rs {
		rs[i].Scenario = "exec"
	}
	run := harness.ExecRun{
		Targets: []harness.ExecTarget{{Name: "cache", Role: result.Clean, Dir: "/src/cache",
			Argv: []string{"/tmp/run/cache.test", "-test.run=^TestX$", "-test.short", "-test.count=1", "-test.v=test2json", "-test.timeout=10m0s", "-v2"}}},
		GoTest: &harness.GoTestBuild{Package: ".", ImportPath: "example.com/cache", Binary: "/tmp/run/cache.test", BuildFlags: []string{"-race", "-tags", "a b"}},
	}
	s := Summarize(rs)
	s.Header = &result.Header{Scenario: "exec", Extra: decoded(run.Extra())}
	const want = "go test -race -tags 'a b' '-run=^TestX$' -short -v2 example.com/cache"
	assert.Contains(t, string(render(t, "table", s)), "scenario exec: "+want+"\n")
	assert.Contains(t, string(render(t, "markdown", s)), "**scenario exec**: "+mdEscape(want)+"\n")
	assert.Contains(t, string(render(t, "html", s)), "<p class=\"knobs\">go test -race -tags &#39;a b&#39; &#39;-run=^TestX$&#39; -short -v2 example.com/cache</p>")
	r, ok := RanOf(s.Header)
	require.True(t, ok)
	assert.Equal(t, "^TestX$", r.Commands[0].TestRun())

	t.Run("a header of another scenario, or none, changes nothing", func(t *testing.T) {
		s.Header.Scenario = "bpo24484"
		assert.Contains(t, string(render(t, "table", s)), "scenario exec: no knobs\n")
		s.Header = nil
		assert.Contains(t, string(render(t, "table", s)), "scenario exec: no knobs\n")
	})
}

func TestShellLine(t *testing.T) {
	assert.Equal(t, `a -x=1 '' 'b c' '^T$' 'it'\''s' 'ü'`, shellLine([]string{"a", "-x=1", "", "b c", "^T$", "it's", "ü"}))
}

func TestRanSaysWhichTreeAndBatch(t *testing.T) {
	h := &result.Header{Extra: map[string]any{"exec": map[string]any{
		"targets": []any{
			map[string]any{"name": "old", "role": "control", "argv": []any{"/r/old.test", "-test.run=^TestX$", "-test.count=1", "-test.v=test2json"}, "dir": "/r/x"},
			map[string]any{"name": "new", "role": "clean", "argv": []any{"/r/new.test", "-test.run=^TestX$", "-test.count=1", "-test.v=test2json"}, "dir": "/w/x"},
		},
		"gotests": []any{
			map[string]any{"package": ".", "import_path": "example.com/x", "build_flags": []any{"-race=true"}, "tree": "HEAD~1", "revision": "0123456789abcdef"},
			map[string]any{"package": ".", "import_path": "example.com/x", "build_flags": []any{"-race=true"}, "tree": "../fixed"},
		},
		"batch": 100,
	}}}
	r, ok := RanOf(h)
	require.True(t, ok)
	assert.Equal(t, []string{"2 commands",
		"old (control): go test -count=100 -race=true '-run=^TestX$' example.com/x at HEAD~1 (0123456789ab)",
		"new (clean): go test -count=100 -race=true '-run=^TestX$' example.com/x in ../fixed"}, r.Lines())
}
