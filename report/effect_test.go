package report

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

func TestEffect(t *testing.T) {
	s := summary(policy{}, trials("unfixed", result.Control, 300, 300, 0), trials("fixed", result.Clean, 300, 0, 0))
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
		s := summary(policy{}, trials("unfixed", result.Control, 5, 0, 0), trials("fixed", result.Clean, 5, 0, 0))
		e := s.Effects()[0]
		assert.True(t, math.IsInf(e.PerTrial, 1))
		assert.Contains(t, e.Statement(), "no bound")
	})
	t.Run("too few trials claim nothing", func(t *testing.T) {
		s := summary(policy{}, trials("unfixed", result.Control, 3, 1, 0), trials("fixed", result.Clean, 3, 1, 0))
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
