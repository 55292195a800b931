package report

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

func TestReportsGoOnPastTheFailureSignatures(t *testing.T) {
	// A clean subject that failed with a signature, a control, a warning:
	// after the signature table come the effect, the warning and the
	// verdict, in that order, in the table and in Markdown.
	clean := trials("fixed", result.Clean, 20, 0, 0)
	fail(&clean[3], "panic: boom")
	clean[5].Warnings = []string{"the registry was not empty at teardown"}
	s := summary(policy{}, trials("unfixed", result.Control, 20, 20, 0), clean)
	for _, format := range []string{"table", "markdown"} {
		out := string(render(t, format, s))
		last := -1
		for _, part := range []string{"failure signatures", "panic: boom", "effect", "not empty at teardown", "verdict", "FAIL regression"} {
			i := strings.Index(out[max(last, 0):], part)
			if !assert.GreaterOrEqual(t, i, 0, "%s: %q after the previous part", format, part) {
				break
			}
			last = max(last, 0) + i
		}
	}
}

func TestMarkdownLeavesOutWhatARunDidNotHave(t *testing.T) {
	// No effect (no control), no warning: no empty list, no heading of
	// none, no run of blank lines.
	s := summary(policy{}, trials("fixed", result.Clean, 5, 0, 0))
	require.Empty(t, s.Effects())
	require.Empty(t, s.Warnings)
	for _, format := range []string{"markdown", "github"} {
		out := string(render(t, format, s))
		assert.NotContains(t, out, "Warnings", format)
		assert.NotContains(t, out, "\n\n\n", "%s: two blank lines in a row", format)
		assert.Contains(t, out, "\n\n**verdict**: PASS", format)
	}
}

func TestMdEscapeOpensNoHTMLTag(t *testing.T) {
	for in, want := range map[string]string{
		"error: got <nil>, want 3 < 4":      "error: got &lt;nil>, want 3 < 4",
		"<b>bold</b> stays text":            "&lt;b>bold&lt;/b> stays text",
		"a<!-- comment --> and <?xml":       "a&lt;!-- comment --> and &lt;?xml",
		"x<1 and 1<b":                       "x<1 and 1&lt;b",
		"ends in <":                         "ends in <",
		"<a <z <A <Z":                       "&lt;a &lt;z &lt;A &lt;Z",
		"<@ <[ <{ <` <0":                    "<@ <[ <{ <\\` <0",
		"`code` *em* _em_ a|b \\ new\nline": "\\`code\\` \\*em\\* \\_em\\_ a\\|b \\\\ new line",
	} {
		assert.Equal(t, want, mdEscape(in), "%q", in)
	}
}

func TestComparisonShowsThroughputRowsOnlyForSubjectsThatCount(t *testing.T) {
	rowNames := func(rs []result.Record) []string {
		_, rows := comparison(summary(policy{}, rs).Groups, columnName, result.VerdictPolicy{})
		var names []string
		for _, r := range rows {
			if r[0] == "objects/s" || r[0] == "callbacks/s" || r[0] == "mutations seen" {
				names = append(names, r[0])
			}
		}
		return names
	}
	all := []string{"objects/s", "callbacks/s", "mutations seen"}
	// An external command counts nothing: the rows would say nothing.
	assert.Empty(t, rowNames(trials("cmd", result.Clean, 2, 0, 0)))
	objects := trials("fixed", result.Clean, 2, 0, 0)
	objects[1].Counts.Objects = 1000
	assert.Equal(t, all, rowNames(objects), "objects counted, none called back")
	callbacks := trials("fixed", result.Clean, 2, 0, 0)
	callbacks[1].Counts.CalledByGC = 1000
	assert.Equal(t, all, rowNames(callbacks), "callbacks counted")
	mutations := trials("fixed", result.Clean, 2, 0, 0)
	mutations[1].Mutations = map[string]int{"removed": 1}
	assert.Equal(t, all, rowNames(mutations), "a mutation seen")
}

func TestKnobsLineShowsTheKnobsAScenarioSet(t *testing.T) {
	for _, c := range []struct {
		k    result.Knobs
		want string
	}{
		{result.Knobs{Threads: 2, Makers: 1, Runners: 1, Seconds: 4, GOGC: 5, SleepScale: 1, Slots: 32, PerSlot: 10, MaxPriority: 100},
			"threads 2 (1 makers, 1 runners), 4s, GOGC 5, sleep-scale 1, 32 slots x 10 objects, priorities 1..100"},
		{result.Knobs{Threads: 8, Seconds: 2, GOGC: 100}, "threads 8, 2s, GOGC 100"},
		{result.Knobs{Seconds: 2, GOGC: 100, Params: map[string]float64{"depth": 3}}, "2s, GOGC 100, depth 3"},
		{result.Knobs{Seconds: 1, Procs: 2, Chaos: "low"}, "1s, GOGC 0, GOMAXPROCS 2, chaos low"},
		{result.Knobs{Threads: 4, Seconds: 1, GOGC: 10, Reentrant: true, Preset: "ci"}, "preset ci: threads 4, 1s, GOGC 10, reentrant callbacks"},
		{result.Knobs{}, "no knobs"},
	} {
		assert.Equal(t, c.want, knobsLine(c.k))
	}
}
