package report

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/harness/result"
)

func TestAGroupWithAHarnessErrorDidNotPass(t *testing.T) {
	// Four clean trials and one the harness could not run: not a pass,
	// neither in the group nor in the JSON report.
	s := summary(Policy{}, trials("fixed", result.Clean, 5, 0, 1), trials("unfixed", result.Control, 5, 4, 1))
	doc := NewJSONReport(s)
	require.Len(t, doc.Groups, 2)
	for i, g := range s.Groups {
		assert.Equal(t, 4, g.Runs)
		assert.Equal(t, 1, g.Errors)
		assert.False(t, g.Passed(), g.Registry)
		assert.False(t, doc.Groups[i].Passed, g.Registry)
	}
	assert.Equal(t, Invalid, s.Verdict().Status)
}
