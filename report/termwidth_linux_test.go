package report

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Only a terminal has a width: a pipe, a file and a buffer have none, so
// the status line falls back to COLUMNS.
func TestTerminalWidthOfWhatIsNoTerminal(t *testing.T) {
	assert.Zero(t, TerminalColumns(&bytes.Buffer{}))
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	assert.Zero(t, TerminalColumns(w))
	f, err := os.Create(t.TempDir() + "/log")
	require.NoError(t, err)
	defer f.Close()
	assert.Zero(t, TerminalColumns(f))
}
