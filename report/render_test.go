package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current output")

var knobs = result.Knobs{Threads: 2, Makers: 1, Runners: 1, Seconds: 4, GOGC: 5, SleepScale: 1, Slots: 32, PerSlot: 10, MaxPriority: 100}

// fixture returns fixed records: the bpo24484 scenario with an unfixed
// control detected in 17 of 20 trials and a fixed registry clean in 20, and
// a finalize-order scenario with a failing clean registry (a forbidden
// outcome, an error) and a control never detected, carrying a warning.
func fixture() []result.Record {
	start := time.Date(2025, 6, 24, 12, 0, 0, 0, time.UTC)
	trialLen := int64(4 * time.Second)
	var rs []result.Record
	next := func(r result.Record) {
		r.Trial = len(rs)
		r.Seed = 1000 + int64(r.Trial)
		r.Knobs = knobs
		r.Start = start.Add(time.Duration(r.Trial) * 5 * time.Second)
		rs = append(rs, r)
	}
	for i := range 20 {
		// unfixed: detected after 0.5ms * (i+1)^2, except every seventh trial.
		u := result.Record{Scenario: "bpo24484", Registry: "unfixed", Role: result.Control, Outcome: result.OK, Grade: result.Acceptable, DurationNs: trialLen,
			Counts: result.Counts{Objects: 4_000_000, CalledByGC: 3_000_000, CalledByRun: 900_000}}
		if i%7 != 3 {
			ttff := int64(500*time.Microsecond) * int64((i+1)*(i+1))
			u.Outcome, u.Grade, u.Detected, u.Signature, u.TTFFNanos, u.DurationNs = result.ChangedSize, result.Forbidden, true, true, ttff, ttff
			u.FirstError = "changed-size: registry changed size during iteration: removed 1\ngoroutine 7 [running]:\nfinalizer.(*Unfixed).Run(...)"
			u.Failures = map[result.Outcome]int{result.ChangedSize: 1}
			u.Mutations = map[string]int{"removed": 1}
			u.Counts = result.Counts{Objects: uint64(ttff / 1000), CalledByGC: uint64(ttff / 2000)}
		}
		next(u)
		next(result.Record{Scenario: "bpo24484", Registry: "fixed", Role: result.Clean, Outcome: result.OK, Grade: result.Acceptable, DurationNs: trialLen,
			Counts: result.Counts{Objects: 5_000_000, CalledByGC: 4_000_000, CalledByRun: 950_000, Skipped: 1200}})
	}
	for i := range 3 {
		next(result.Record{Scenario: "finalize-order", Registry: "unfixed", Role: result.Control, Outcome: result.OK, Grade: result.Acceptable, DurationNs: int64(time.Second),
			Counts: result.Counts{Objects: 7, CalledByRun: 7}})
		f := result.Record{Scenario: "finalize-order", Registry: "fixed", Role: result.Clean, Outcome: result.OK, Grade: result.Acceptable, DurationNs: int64(time.Second),
			Counts: result.Counts{Objects: 7, CalledByRun: 7}}
		switch i {
		case 1:
			f.Outcome, f.Grade, f.Detected, f.TTFFNanos, f.DurationNs = result.Order, result.Forbidden, true, int64(250*time.Millisecond), int64(250*time.Millisecond)
			f.FirstError = "order: got [a b d01] want [a b d10] <&> \x00 | *bold*"
			f.Warnings = []string{"GOGC was reset by the scenario"}
		case 2:
			f.Outcome, f.Grade = result.Error, result.Forbidden
			f.FirstError = "error: knobs need at least one maker"
			f.DurationNs = 0
		}
		next(f)
	}
	return rs
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./report/ -update to create it")
	if string(want) == string(got) {
		return
	}
	// Show the first differing line only: golden files are long.
	wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		w, g := "<end of file>", "<end of file>"
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			assert.Equal(t, w, g, "first difference from %s at line %d (go test ./report/ -update rewrites it)", path, i+1)
			return
		}
	}
}

func render(t *testing.T, format string, s Summary) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, Render(&buf, format, s))
	return buf.Bytes()
}

var svgElement = regexp.MustCompile(`(?s)<svg .*?</svg>`)

func TestRenderGolden(t *testing.T) {
	s := Summarize(fixture())
	for _, format := range Formats {
		t.Run(format+" output matches its golden file", func(t *testing.T) {
			got := render(t, format, s)
			name := format + ".golden"
			if format == "html" {
				// The SVG charts are checked in TestHTML; their exact bytes
				// depend on font metrics and floating point, so the golden
				// file keeps the page around them.
				got = svgElement.ReplaceAll(got, []byte("<svg><!-- chart --></svg>"))
			}
			golden(t, name, got)
		})
	}
	t.Run("an unknown format is an error naming the known ones", func(t *testing.T) {
		var buf bytes.Buffer
		err := Render(&buf, "yaml", s)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "table, markdown, json, junit, html")
		assert.Empty(t, buf.String())
	})
	t.Run("every format renders an empty summary", func(t *testing.T) {
		for _, format := range Formats {
			var buf bytes.Buffer
			assert.NoError(t, Render(&buf, format, Summary{}), format)
		}
	})
}

func TestRenderIsDeterministic(t *testing.T) {
	for _, format := range Formats {
		t.Run(format+" output is the same every time", func(t *testing.T) {
			a := render(t, format, Summarize(fixture()))
			b := render(t, format, Summarize(fixture()))
			assert.Equal(t, string(a), string(b))
		})
	}
}

func TestJSON(t *testing.T) {
	var doc map[string]any
	require.NoError(t, json.Unmarshal(render(t, "json", Summarize(fixture())), &doc))
	groups := doc["groups"].([]any)
	require.Len(t, groups, 4)
	group := func(i int) map[string]any { return groups[i].(map[string]any) }
	t.Run("the document is schema 2 at 95% confidence", func(t *testing.T) {
		assert.Equal(t, 2.0, doc["schema"])
		assert.Equal(t, 0.95, doc["confidence"])
		assert.Equal(t, "bpo24484,finalize-order", doc["scenario"])
	})
	t.Run("every rate carries its interval", func(t *testing.T) {
		for i := range groups {
			g := group(i)
			for _, k := range []string{"detection_rate", "ci_low", "ci_high", "runs_needed_99", "rate_statement"} {
				assert.Contains(t, g, k, "group %d", i)
			}
			assert.LessOrEqual(t, g["ci_low"].(float64), g["detection_rate"].(float64))
			assert.GreaterOrEqual(t, g["ci_high"].(float64), g["detection_rate"].(float64))
		}
		fixed := group(1)
		assert.Equal(t, 0.0, fixed["ci_low"])
		assert.InDelta(t, 0.1684, fixed["ci_high"], 5e-5)
		assert.Nil(t, fixed["runs_needed_99"])
	})
	t.Run("the existing field names are kept", func(t *testing.T) {
		g := group(0)
		for _, k := range []string{"scenario", "registry", "runs", "detected", "outcomes", "ttff_ms", "objects_per_sec", "callbacks_per_sec", "mutations"} {
			assert.Contains(t, g, k)
		}
		ttff := g["ttff_ms"].(map[string]any)
		for _, k := range []string{"median", "p90", "min", "max"} {
			assert.IsType(t, 0.0, ttff[k], k)
		}
		assert.Equal(t, map[string]any{"removed": 17.0, "inserted": 0.0}, g["mutations"])
	})
	t.Run("time to first failure carries Kaplan-Meier quantiles, null when not reached", func(t *testing.T) {
		ttff := group(0)["ttff_ms"].(map[string]any)
		assert.IsType(t, 0.0, ttff["km_median"])
		assert.Nil(t, ttff["km_p90"], "17 of 20 detected: the curve stops at 85%")
		assert.Nil(t, ttff["km_p99"])
		assert.Equal(t, 4000.0, ttff["km_horizon"])
		assert.Equal(t, 3.0, ttff["censored"])
		fixed := group(1)["ttff_ms"].(map[string]any)
		assert.Nil(t, fixed["median"])
		assert.Nil(t, fixed["km_median"])
	})
}

func TestJUnit(t *testing.T) {
	records := fixture()
	out := render(t, "junit", Summarize(records))
	var doc struct {
		XMLName xml.Name `xml:"testsuites"`
		Suites  []struct {
			Name      string `xml:"name,attr"`
			Tests     int    `xml:"tests,attr"`
			Failures  int    `xml:"failures,attr"`
			Errors    int    `xml:"errors,attr"`
			Testcases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Type    string `xml:"type,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
				Error *struct {
					Message string `xml:"message,attr"`
				} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(out, &doc), "the output parses as XML")
	require.Len(t, doc.Suites, 5, "one suite per scenario and registry, then the verdict's")
	t.Run("the last suite carries the run's verdict", func(t *testing.T) {
		v := doc.Suites[4]
		assert.Equal(t, "racestress verdict", v.Name)
		require.Len(t, v.Testcases, 1)
		require.NotNil(t, v.Testcases[0].Failure, "the fixture's clean registry failed: a regression")
		assert.Equal(t, xmlText(Summarize(fixture()).Verdict().Line), v.Testcases[0].Failure.Message)
	})
	doc.Suites = doc.Suites[:4]
	t.Run("there is one testcase per trial", func(t *testing.T) {
		trials := 0
		for _, s := range doc.Suites {
			for _, tc := range s.Testcases {
				if strings.HasPrefix(tc.Name, "trial ") {
					trials++
				}
			}
		}
		assert.Equal(t, len(records), trials)
	})
	t.Run("a clean registry with no forbidden outcome has no failures", func(t *testing.T) {
		s := doc.Suites[1]
		assert.Equal(t, "bpo24484/fixed", s.Name)
		assert.Equal(t, 20, s.Tests)
		assert.Zero(t, s.Failures)
		assert.Zero(t, s.Errors)
	})
	t.Run("a detected control passes, with one group-level testcase", func(t *testing.T) {
		s := doc.Suites[0]
		assert.Equal(t, "bpo24484/unfixed", s.Name)
		assert.Equal(t, 21, s.Tests)
		assert.Zero(t, s.Failures)
		assert.Equal(t, "unfixed detected", s.Testcases[20].Name)
	})
	t.Run("a forbidden outcome on a clean registry fails with its first error", func(t *testing.T) {
		s := doc.Suites[3]
		assert.Equal(t, "finalize-order/fixed", s.Name)
		assert.Equal(t, 1, s.Failures)
		assert.Equal(t, 1, s.Errors, "the trial that ended in error")
		f := s.Testcases[1].Failure
		require.NotNil(t, f)
		assert.Equal(t, "order", f.Type)
		assert.Equal(t, "order: got [a b d01] want [a b d10] <&> \uFFFD | *bold*", f.Message, "escaped, the NUL replaced")
		assert.Contains(t, f.Text, "seed ")
		require.NotNil(t, s.Testcases[2].Error)
	})
	t.Run("a control never detected fails its group-level testcase", func(t *testing.T) {
		s := doc.Suites[2]
		assert.Equal(t, "finalize-order/unfixed", s.Name)
		assert.Equal(t, 1, s.Failures)
		last := s.Testcases[len(s.Testcases)-1]
		assert.Equal(t, "unfixed detected", last.Name)
		require.NotNil(t, last.Failure)
		assert.Contains(t, last.Failure.Message, "never detected in 3 trials")
	})
}

func TestHTML(t *testing.T) {
	out := string(render(t, "html", Summarize(fixture())))
	svgs := svgElement.FindAllString(out, -1)
	t.Run("each scenario has its charts", func(t *testing.T) {
		// bpo24484: curve and histogram; finalize-order: curve and
		// histogram (one clean-registry failure was detected).
		assert.Len(t, svgs, 4)
	})
	t.Run("every chart is well-formed SVG", func(t *testing.T) {
		for i, svg := range svgs {
			d := xml.NewDecoder(strings.NewReader(svg))
			for {
				_, err := d.Token()
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err, "chart %d", i)
			}
		}
	})
	t.Run("the detection curve shows fixed and unfixed on one chart", func(t *testing.T) {
		assert.Contains(t, svgs[0], "Detection curve")
		assert.Contains(t, svgs[0], "unfixed (control): 17/20 detected")
		assert.Contains(t, svgs[0], "fixed (clean): 0/20 detected")
		assert.Contains(t, svgs[1], "Time to first failure")
	})
	t.Run("the page loads nothing from elsewhere", func(t *testing.T) {
		page := svgElement.ReplaceAllString(out, "")
		for _, ref := range []string{"<script", "<link", "src=", "@import", "url(", "http://", "https://"} {
			assert.NotContains(t, page, ref)
		}
		for i, svg := range svgs {
			for _, ref := range []string{"<script", "<image", "@import", "url(", "href="} {
				assert.NotContains(t, svg, ref, "chart %d", i)
			}
		}
	})
	t.Run("text from records is escaped", func(t *testing.T) {
		s := Summarize([]result.Record{{Scenario: "s<b>", Registry: "r&<i>", Outcome: result.OK, Grade: result.Acceptable, DurationNs: 1e9}})
		out := string(render(t, "html", s))
		assert.NotContains(t, out, "<b>")
		assert.NotContains(t, out, "<i>")
		assert.Contains(t, out, "s&lt;b&gt;")
	})
}
