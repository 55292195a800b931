package report

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

// A group whose every trial was a harness error has no rate: the table
// shows "-", not "0%", and the statement says the rate is unknown.
func TestAGroupOfHarnessErrorsClaimsNoRate(t *testing.T) {
	recs := []result.Record{
		{Registry: "fixed", Role: result.Clean, Outcome: result.Error, FirstError: "error: no worker"},
		{Registry: "fixed", Role: result.Clean, Outcome: result.Error, FirstError: "error: no worker"},
	}
	s := Summarize(recs)
	require.Len(t, s.Groups, 1)
	g := s.Groups[0]
	assert.Equal(t, 0, g.Runs)
	assert.Equal(t, 2, g.Errors)
	assert.Equal(t, "failure rate unknown: no trial gave a result (2 harness errors)", g.RateStatement())

	var b bytes.Buffer
	require.NoError(t, Render(&b, "table", s))
	out := b.String()
	assert.Regexp(t, `detection rate +\| +- +\|`, out)
	assert.Regexp(t, `ttff median \(KM\) +\| +- +\|`, out)
	assert.NotContains(t, out, "> 0ns")
	assert.Contains(t, out, "failure rate unknown")
}
