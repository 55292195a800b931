package report

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/racestress/racestress/result"
)

func TestVerdictNamesTheSubjectsThatRanNoTrial(t *testing.T) {
	ran := func() []result.Record { return trials("fixed", result.Clean, 5, 0, 0) }
	control := func() []result.Record { return trials("unfixed", result.Control, 5, 5, 0) }
	cases := []struct {
		name     string
		subjects []string
		parts    [][]result.Record
		status   Status
		line     string
	}{
		{"every subject ran", []string{"unfixed", "fixed"}, [][]result.Record{control(), ran()}, Pass,
			"PASS unfixed detected 5/5 (power >= 47.8% at 95%); fixed clean in 5 trials (failure rate < 52.2% at 95%); " +
				"fixed's effect against unfixed is not shown: too few trials (see the effect line)"},
		{"a subject that never ran, after one that did", []string{"fixed", "ghost"}, [][]result.Record{control(), ran()}, Invalid,
			"INVALID: ghost ran no trial"},
		{"a subject whose every trial was a harness error has its own clause", []string{"unfixed", "fixed"},
			[][]result.Record{control(), trials("fixed", result.Clean, 2, 0, 2)}, Invalid,
			"INVALID: fixed: 2 of 2 trials ended in error, neither detections nor passes (first: error: the watchdog limit 1ms is shorter than the trial)"},
		{"a missing subject is named beside another's errors", []string{"unfixed", "ghost"},
			[][]result.Record{trials("unfixed", result.Control, 3, 2, 1)}, Invalid,
			"INVALID: unfixed: 1 of 3 trials ended in error, neither detections nor passes (first: error: the watchdog limit 1ms is shorter than the trial); ghost ran no trial"},
	}
	for _, c := range cases {
		v := summary(policy{Subjects: c.subjects}, c.parts...).Verdict()
		assert.Equal(t, c.status, v.Status, c.name)
		assert.Equal(t, c.line, v.Line, c.name)
	}
}

func TestMinPowerIsTheLowestAcceptableBound(t *testing.T) {
	// A control whose lower bound is exactly the minimum has enough power;
	// one a hair below it has not.
	lo, _ := ClopperPearson(10, 10)
	control := trials("unfixed", result.Control, 10, 10, 0)
	assert.Equal(t, Pass, summary(policy{MinPower: lo}, control).Verdict().Status)
	assert.Equal(t, LostPower, summary(policy{MinPower: math.Nextafter(lo, 1)}, control).Verdict().Status)
}
