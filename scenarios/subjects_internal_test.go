package scenarios

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

func TestSubjectsAreBuiltFromTheVariantsARoleNames(t *testing.T) {
	// A scenario declares roles for some variants: it gets those, in the
	// variants' order, and no others.
	regs := registries(map[string]Subject{"locked": {Role: result.Control}, "fixed": {Role: result.Clean}})
	require.Len(t, regs, 2)
	assert.Equal(t, []string{"fixed", "locked"}, []string{regs[0].Name, regs[1].Name})
	assert.Equal(t, result.Control, regs[1].Role)
	assert.NotNil(t, regs[0].New)
	cs := caches(map[string]Subject{"plain-map": {Role: result.Control}})
	require.Len(t, cs, 1)
	assert.Equal(t, "plain-map", cs[0].Name)
	assert.NotNil(t, cs[0].New)
}
