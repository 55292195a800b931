package result_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/racestress/racestress/result"
)

func TestOnlyTheListedOutcomesAreValid(t *testing.T) {
	for _, o := range result.Outcomes {
		assert.True(t, o.Valid(), o)
	}
	for _, o := range []result.Outcome{"", "OK", "weird"} {
		assert.False(t, o.Valid(), o)
		assert.Equal(t, len(result.Outcomes), o.Severity(), "%q ranks above every known outcome", o)
	}
	assert.Zero(t, result.OK.Severity(), "ok is the least severe")
}

func TestAmongEquallySevereOutcomesTheFirstStays(t *testing.T) {
	for _, o := range result.Outcomes {
		assert.Equal(t, o, result.Worse(o, o))
	}
	// Two unknown outcomes rank alike: the one already held is kept.
	assert.Equal(t, result.Outcome("first"), result.Worse("first", "second"))
	assert.Equal(t, result.Lost, result.Worse(result.Lost, result.Order), "a less severe later outcome does not replace it")
}

func TestAnUnknownGradeRanksAsForbidden(t *testing.T) {
	assert.Equal(t, 0, result.Acceptable.Rank())
	assert.Equal(t, 1, result.Interesting.Rank())
	assert.Equal(t, 2, result.Forbidden.Rank())
	assert.Equal(t, result.Forbidden.Rank(), result.Grade("bogus").Rank())
}

func TestRoles(t *testing.T) {
	assert.True(t, result.Control.Valid())
	assert.True(t, result.Clean.Valid())
	for _, r := range []result.Role{"", "Control", "dirty"} {
		assert.False(t, r.Valid(), "%q", r)
	}
}

func TestDurationsAndTotals(t *testing.T) {
	assert.Equal(t, 1500*time.Millisecond, result.Knobs{Seconds: 1.5}.Duration())
	assert.Equal(t, 250*time.Millisecond, result.Knobs{Seconds: 0.25}.Duration())
	assert.Equal(t, uint64(7), result.Counts{CalledByGC: 1, CalledByRun: 2, CalledExplicit: 4, Skipped: 8, Dropped: 16}.Callbacks(),
		"callbacks are the calls by anyone, not skips or drops")
	r := result.Record{TTFFNanos: 1234, DurationNs: 5678}
	assert.Equal(t, 1234*time.Nanosecond, r.TTFF())
	assert.Equal(t, 5678*time.Nanosecond, r.Duration())
}

func TestValidateSaysWhatIsWrong(t *testing.T) {
	good := result.Record{Trial: 4, Scenario: "bpo24484", Registry: "fixed", Role: result.Clean, Outcome: result.OK}
	assert.NoError(t, good.Validate(), "zero durations are valid: a trial may fail at once")
	for _, c := range []struct {
		change func(*result.Record)
		msg    string
	}{
		{func(r *result.Record) { r.Scenario = "" }, "trial 4: missing scenario or registry"},
		{func(r *result.Record) { r.Registry = "" }, "trial 4: missing scenario or registry"},
		{func(r *result.Record) { r.Outcome = "weird" }, `trial 4: unknown outcome "weird"`},
		{func(r *result.Record) { r.Outcome = "" }, `trial 4: unknown outcome ""`},
		{func(r *result.Record) { r.DurationNs = -1 }, "trial 4: negative duration"},
		{func(r *result.Record) { r.TTFFNanos = -1 }, "trial 4: negative duration"},
		{func(r *result.Record) { r.Role = "" }, `trial 4: unknown role ""`},
		{func(r *result.Record) { r.Trial = -1 }, "trial -1: negative trial number"},
		{func(r *result.Record) { r.Outcome, r.Detected = result.Error, true }, "trial 4: a harness error counted as a detection"},
		{func(r *result.Record) { r.Signature = true }, "trial 4: a signature outcome that is no failure"},
	} {
		r := good
		c.change(&r)
		assert.EqualError(t, r.Validate(), c.msg)
	}
	for _, o := range result.Outcomes {
		r := good
		r.Outcome = o
		r.DurationNs, r.TTFFNanos = 1, 1
		assert.NoError(t, r.Validate(), o)
	}
}
