package report

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

// timed makes records' trials stress for a set time, one second, as the
// built-in scenarios' do: the effect is then bounded per second of stress
// too.
func timed(rs []result.Record) []result.Record {
	for i := range rs {
		rs[i].Knobs.Seconds = 1
	}
	return rs
}

func TestEffect(t *testing.T) {
	s := summary(policy{}, timed(trials("unfixed", result.Control, 300, 300, 0)), timed(trials("fixed", result.Clean, 300, 0, 0)))
	es := s.Effects()
	require.Len(t, es, 1)
	e := es[0]
	// 0 of 300 and 300 of 300: the exact bounds are 1-0.025^(1/300) and
	// 0.025^(1/300), whose ratio is 0.01237: at most 1/80 as often.
	want := (1 - math.Pow(0.025, 1.0/300)) / math.Pow(0.025, 1.0/300)
	assert.InDelta(t, want, e.PerTrial, 1e-9)
	assert.Contains(t, e.Statement(), "fixed (clean) fails at most 1/80 as often as unfixed (control) per trial")
	// Per second: the control's 300 detections at 1 ms each are 0.3 s at
	// risk, the clean subject's 300 trials 300 s; the clean bound (0 events)
	// is -ln(0.025)/300 s, the control's the 0.025 quantile of Gamma(300).
	assert.Less(t, e.PerSecond, e.PerTrial, "per second of stress the control fails far faster")
	assert.Greater(t, e.PerSecond, 0.0)

	t.Run("a control never detected gives no bound", func(t *testing.T) {
		s := summary(policy{}, timed(trials("unfixed", result.Control, 5, 0, 0)), timed(trials("fixed", result.Clean, 5, 0, 0)))
		e := s.Effects()[0]
		assert.True(t, math.IsInf(e.PerTrial, 1))
		assert.Contains(t, e.Statement(), "no bound")
	})
	t.Run("too few trials claim nothing", func(t *testing.T) {
		s := summary(policy{}, timed(trials("unfixed", result.Control, 3, 1, 0)), timed(trials("fixed", result.Clean, 3, 1, 0)))
		assert.Contains(t, s.Effects()[0].Statement(), "is not shown to fail less often")
	})
}

func TestSignatures(t *testing.T) {
	rs := trials("cmd", result.Clean, 10, 0, 0)
	for i, sig := range []string{"panic: boom", "panic: boom", "fatal error: concurrent map writes"} {
		rs[i].Outcome, rs[i].Grade, rs[i].Detected, rs[i].FailureSignature = result.Fail, result.Forbidden, true, sig
		rs[i].Process = &result.Process{Log: "logs/trial-" + string(rune('0'+i)) + ".log"}
	}
	s := summary(policy{}, rs)
	sigs := s.Signatures()
	require.Len(t, sigs, 2)
	assert.Equal(t, "panic: boom", sigs[0].Signature)
	assert.Equal(t, 2, sigs[0].Count)
	assert.InDelta(t, 2.0/3, sigs[0].Share, 1e-12)
	assert.Equal(t, 0, sigs[0].FirstTrial)
	assert.Equal(t, "logs/trial-0.log", sigs[0].Log)
	lo, hi := ClopperPearson(2, 10)
	assert.Equal(t, [2]float64{lo, hi}, [2]float64{sigs[0].Lo, sigs[0].Hi})
	assert.Contains(t, string(render(t, "table", s)), "fatal error: concurrent map writes")
}

// TestEffectTimeBasis checks that the effect is stated per second of
// stress only where a second means the same for both sides, and that it
// says why not otherwise, once.
func TestEffectTimeBasis(t *testing.T) {
	// run returns n trials of a command that run to completion in length
	// when they pass, the first hits failing after failAfter by outcome o.
	run := func(registry string, role result.Role, n, hits int, length, failAfter time.Duration, o result.Outcome) []result.Record {
		rs := trials(registry, role, n, hits, 0)
		for i := range rs {
			rs[i].Scenario = "exec"
			rs[i].DurationNs = int64(length)
			if i < hits {
				rs[i].Outcome, rs[i].DurationNs, rs[i].TTFFNanos = o, int64(failAfter), int64(failAfter)
			}
		}
		return rs
	}
	cases := []struct {
		name           string
		control, clean []result.Record
		why            string // "" when compared per second
	}{
		{"the control's failures are hangs at its timeout",
			run("old", result.Control, 40, 36, 80*time.Millisecond, 500*time.Millisecond, result.Hang),
			run("new", result.Clean, 40, 0, 80*time.Millisecond, 0, result.OK),
			"36 of old's trials hung, and a hang lasts as long as its timeout, not as the bug takes to show"},
		{"the clean side hangs",
			run("old", result.Control, 40, 36, 80*time.Millisecond, 60*time.Millisecond, result.DataRace),
			run("new", result.Clean, 40, 1, 80*time.Millisecond, 500*time.Millisecond, result.Hang),
			"1 of new's trials hung, and a hang lasts as long as its timeout, not as the bug takes to show"},
		{"trials that run to completion last much longer on one side",
			run("old", result.Control, 40, 20, 300*time.Millisecond, 60*time.Millisecond, result.DataRace),
			run("new", result.Clean, 40, 0, 100*time.Millisecond, 0, result.OK),
			"old's trials ran to completion in 300ms (median), new's in 100ms"},
		{"every control trial failed: its length is unknown",
			run("old", result.Control, 40, 40, 100*time.Millisecond, 60*time.Millisecond, result.DataRace),
			run("new", result.Clean, 40, 0, 100*time.Millisecond, 0, result.OK),
			"every trial of old failed, so how long one runs to completion is unknown"},
		{"trials of about one length: compared per second",
			run("old", result.Control, 40, 20, 120*time.Millisecond, 60*time.Millisecond, result.DataRace),
			run("new", result.Clean, 40, 0, 100*time.Millisecond, 0, result.OK),
			""},
		{"trials that stress for a set time: compared per second",
			timed(run("old", result.Control, 40, 40, time.Second, 60*time.Millisecond, result.DataRace)),
			timed(run("new", result.Clean, 40, 0, time.Second, 0, result.OK)),
			""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i := range tc.control {
				tc.control[i].Grade, tc.control[i].Signature = result.Forbidden, tc.control[i].Detected
			}
			es := summary(policy{}, tc.control, tc.clean).Effects()
			require.Len(t, es, 1)
			e := es[0]
			assert.Equal(t, tc.why, e.NotPerSecond)
			st := e.Statement()
			if tc.why == "" {
				assert.False(t, math.IsNaN(e.PerSecond))
				assert.Contains(t, st, "per second of stress (95%)")
				return
			}
			assert.True(t, math.IsNaN(e.PerSecond), "no bound per second: %g", e.PerSecond)
			assert.Regexp(t, `^new \(clean\) fails at most 1/\d+ as often as old \(control\) per trial \(95%\); not compared per second of stress: `, st)
			assert.True(t, strings.HasSuffix(st, tc.why), st)
			assert.Equal(t, 1, strings.Count(st, "per second"), "said once: %s", st)
		})
	}
	t.Run("not shown per trial, nor compared per second: both said", func(t *testing.T) {
		control := run("old", result.Control, 3, 1, 80*time.Millisecond, 500*time.Millisecond, result.Hang)
		control[0].Grade, control[0].Signature = result.Forbidden, true
		e := summary(policy{}, control, run("new", result.Clean, 3, 0, 80*time.Millisecond, 0, result.OK)).Effects()[0]
		assert.Equal(t, "new (clean) is not shown to fail less often than old (control): too few trials (at 95% it may fail up to 8430% as often per trial); not compared per second of stress: 1 of old's trials hung, and a hang lasts as long as its timeout, not as the bug takes to show", e.Statement())
	})
}
