package report

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

// trials makes n records of registry with role, the first hits of them
// counting for the role (detections for a control, failures for a clean
// one) and the next errors of them harness errors.
func trials(registry string, role result.Role, n, hits, errors int) []result.Record {
	var rs []result.Record
	for i := range n {
		r := result.Record{Trial: i, Scenario: "bpo24484", Registry: registry, Role: role, Outcome: result.OK, Grade: result.Acceptable, DurationNs: 1e9}
		switch {
		case i < hits && role == result.Control:
			r.Outcome, r.Grade, r.Detected, r.Signature, r.TTFFNanos = result.ChangedSize, result.Forbidden, true, true, 1e6
		case i < hits:
			r.Outcome, r.Grade, r.Detected, r.TTFFNanos = result.Contract, result.Forbidden, true, 1e6
			r.FirstError = "contract: Run 1 returned without calling finalizer (3, 9)"
		case i < hits+errors:
			r.Outcome, r.Grade = result.Error, result.Forbidden
			r.FirstError = "error: the watchdog limit 1ms is shorter than the trial"
		}
		rs = append(rs, r)
	}
	return rs
}

// policy is what a test's summary is judged under: the verdict policy and
// the run's facts the verdict reads besides it.
type policy struct {
	MinPower       float64
	RequireControl bool
	Subjects       []string
	Incomplete     string
}

func summary(p policy, parts ...[]result.Record) Summary {
	var rs []result.Record
	for _, p := range parts {
		for _, r := range p {
			r.Trial = len(rs)
			rs = append(rs, r)
		}
	}
	s := Summarize(rs)
	s.Policy = result.VerdictPolicy{MinPower: p.MinPower, RequireControl: p.RequireControl}
	s.Subjects, s.Incomplete = p.Subjects, p.Incomplete
	return s
}

func TestVerdict(t *testing.T) {
	gate := policy{MinPower: 0.5, RequireControl: true}
	cases := []struct {
		name   string
		s      Summary
		status Status
		line   string
	}{
		{"a fix that holds and a control caught pass, bounds rounded outwards",
			summary(gate, trials("unfixed", result.Control, 10, 10, 0), trials("fixed", result.Clean, 26, 0, 0)),
			Pass, "PASS unfixed detected 10/10 (power >= 69.1% at 95%); fixed clean in 26 trials (failure rate < 13.3% at 95%)"},
		{"harness errors on every trial are never detections: the run is invalid",
			summary(gate, trials("unfixed", result.Control, 5, 0, 5), trials("fixed", result.Clean, 5, 0, 5)),
			Invalid, "INVALID: unfixed: 5 of 5 trials ended in error, neither detections nor passes (first: error: the watchdog limit 1ms is shorter than the trial); fixed: 5 of 5 trials ended in error, neither detections nor passes (first: error: the watchdog limit 1ms is shorter than the trial)"},
		{"one harness error among passes still makes the run invalid",
			summary(gate, trials("unfixed", result.Control, 10, 9, 1), trials("fixed", result.Clean, 10, 0, 0)),
			Invalid, "INVALID: unfixed: 1 of 10 trials ended in error"},
		{"a clean subject's failure is a regression, before anything else",
			summary(gate, trials("unfixed", result.Control, 5, 0, 5), trials("fixed", result.Clean, 4, 1, 0)),
			Regression, "FAIL regression: fixed showed forbidden outcomes in 1 of 4 trials (failure rate 25%, 95% CI [0.63%, 80.6%]; first: contract: Run 1 returned without calling finalizer (3, 9))"},
		{"a control below the minimum power lost power",
			summary(gate, trials("unfixed", result.Control, 10, 4, 0), trials("fixed", result.Clean, 10, 0, 0)),
			LostPower, "FAIL lost power: unfixed detected in 4 of 10 trials: power >= 12.1% at 95% (lower bound), below the minimum 50%"},
		{"the gate refuses to pass with no control",
			summary(gate, trials("fixed", result.Clean, 10, 0, 0)),
			LostPower, "FAIL lost power: no control ran: nothing measured the harness's power to detect"},
		{"a plain run passes with no control",
			summary(policy{}, trials("fixed", result.Clean, 10, 0, 0)),
			Pass, "PASS fixed clean in 10 trials"},
		{"a control named by the run but never run is reported",
			summary(policy{Subjects: []string{"unfixed", "fixed"}}, trials("fixed", result.Clean, 3, 0, 0)),
			Invalid, "INVALID: unfixed ran no trial"},
		{"a never-detected control in a plain run lost power",
			summary(policy{}, trials("unfixed", result.Control, 3, 0, 0)),
			LostPower, "FAIL lost power: unfixed was never detected in 3 trials (detection rate < 70.8% at 95%)"},
		{"missing shards make the run incomplete",
			summary(policy{Incomplete: "shards 2/2 not given"}, trials("unfixed", result.Control, 3, 3, 0)),
			Invalid, "INVALID: incomplete: shards 2/2 not given"},
		{"no records is invalid", summary(policy{}), Invalid, "INVALID: no trial ran"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := c.s.Verdict()
			assert.Equal(t, c.status, v.Status)
			assert.True(t, strings.HasPrefix(v.Line, c.line), "%s\nwant prefix %s", v.Line, c.line)
			assertEveryFormatAgrees(t, c.s, v)
		})
	}
	t.Run("exit statuses", func(t *testing.T) {
		assert.Equal(t, []int{0, 1, 3, 4}, []int{Pass.ExitCode(), Regression.ExitCode(), LostPower.ExitCode(), Invalid.ExitCode()})
	})
}

// assertEveryFormatAgrees renders s in every format and checks that each
// carries v's verdict.
func assertEveryFormatAgrees(t *testing.T, s Summary, v Verdict) {
	t.Helper()
	for _, f := range Formats {
		out := string(render(t, f, s))
		switch f {
		case "table":
			assert.Contains(t, out, "verdict: "+v.Line+"\n", f)
		case "markdown":
			assert.Contains(t, out, "**verdict**: "+mdEscape(v.Line), f)
		case "html":
			assert.True(t, strings.Contains(out, `<p class="verdict"><strong>`+template.HTMLEscapeString(v.Line)+"</strong>"), "html has the verdict %q", v.Line)
		case "json":
			var doc struct {
				Verdict JSONVerdict `json:"verdict"`
			}
			require.NoError(t, json.Unmarshal([]byte(out), &doc))
			assert.Equal(t, JSONVerdict{Status: v.Status.String(), ExitCode: v.Status.ExitCode(), Line: v.Line, MinPower: s.Policy.MinPower}, doc.Verdict)
		case "junit":
			var doc struct {
				Suites []struct {
					Name       string `xml:"name,attr"`
					Properties []struct {
						Name  string `xml:"name,attr"`
						Value string `xml:"value,attr"`
					} `xml:"properties>property"`
					Testcases []struct {
						Failure *struct {
							Message string `xml:"message,attr"`
						} `xml:"failure"`
						Error *struct {
							Message string `xml:"message,attr"`
						} `xml:"error"`
					} `xml:"testcase"`
				} `xml:"testsuite"`
			}
			require.NoError(t, xml.Unmarshal([]byte(out), &doc))
			last := doc.Suites[len(doc.Suites)-1]
			require.Equal(t, "racestress verdict", last.Name)
			tc := last.Testcases[0]
			switch v.Status {
			case Pass:
				assert.Nil(t, tc.Failure)
				assert.Nil(t, tc.Error)
			case Invalid:
				require.NotNil(t, tc.Error)
				assert.Equal(t, v.Line, tc.Error.Message)
			default:
				require.NotNil(t, tc.Failure)
				assert.Equal(t, v.Line, tc.Failure.Message)
			}
			assert.Contains(t, fmt.Sprint(last.Properties), fmt.Sprintf("exit_code %d", v.Status.ExitCode()))
		}
	}
}
