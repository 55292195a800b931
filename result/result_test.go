package result_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/racestress/racestress/result"
)

func TestTheWorseOutcomeWins(t *testing.T) {
	assert.Equal(t, result.Panic, result.Worse(result.OK, result.Panic))
	assert.Equal(t, result.Fatal, result.Worse(result.Fatal, result.Lost))
	assert.Equal(t, result.Error, result.Worse(result.Hang, result.Error))
	assert.Equal(t, result.Outcome("weird"), result.Worse(result.Error, "weird"), "an unknown outcome ranks worst")
	for i := 1; i < len(result.Outcomes); i++ {
		assert.Less(t, result.Outcomes[i-1].Severity(), result.Outcomes[i].Severity())
	}
}

func TestGradesRank(t *testing.T) {
	assert.Less(t, result.Acceptable.Rank(), result.Interesting.Rank())
	assert.Less(t, result.Interesting.Rank(), result.Forbidden.Rank())
}

func TestValidate(t *testing.T) {
	ok := result.Record{Scenario: "bpo24484", Registry: "fixed", Role: result.Clean, Outcome: result.OK}
	assert.NoError(t, ok.Validate())
	for name, r := range map[string]result.Record{
		"no scenario":                     {Registry: "fixed", Role: result.Clean, Outcome: result.OK},
		"an unknown outcome":              {Scenario: "s", Registry: "r", Role: result.Clean, Outcome: "weird"},
		"a negative length":               {Scenario: "s", Registry: "r", Role: result.Clean, Outcome: result.OK, DurationNs: -1},
		"no role":                         {Scenario: "s", Registry: "r", Outcome: result.OK},
		"an error counted as a detection": {Scenario: "s", Registry: "r", Role: result.Control, Outcome: result.Error, Detected: true},
		"a signature that is no failure":  {Scenario: "s", Registry: "r", Role: result.Control, Outcome: result.OK, Signature: true},
	} {
		assert.Error(t, r.Validate(), name)
	}
}
