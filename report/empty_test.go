package report

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/racestress/racestress/result"
)

func TestAnEmptyPartIsNoPassOfAnything(t *testing.T) {
	empty := Summary{Empty: "shard 3/4 holds no rounds", Subjects: []string{"unfixed", "fixed"}}
	v := empty.Verdict()
	assert.Equal(t, Pass, v.Status)
	assert.Equal(t, "EMPTY: shard 3/4 holds no rounds", v.Line, "it claims nothing about a subject")

	empty.Incomplete = "shards 1/4 not given"
	assert.Equal(t, Invalid, empty.Verdict().Status, "an incomplete merge stays invalid")

	ran := Summarize([]result.Record{{Trial: 0, Scenario: "s", Registry: "fixed", Role: result.Clean, Outcome: result.OK, Grade: result.Acceptable}})
	ran.Empty = "ignored"
	assert.Contains(t, ran.Verdict().Line, "PASS fixed clean in 1 trials", "a part with trials is judged by them")

	assert.Equal(t, Invalid, Summary{}.Verdict().Status, "no trial and no reason stays invalid")
}
