package result_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

func testHeader(runID string) result.Header {
	return result.Header{Kind: result.Kind, Schema: result.SchemaVersion, RunID: runID, Shard: result.HeaderShard{K: 1, N: 1}}
}

func rec(run string, trial int) result.Record {
	return result.Record{Trial: trial, Scenario: "bpo24484", Registry: "fixed", Role: result.Clean, RunID: run, Outcome: result.OK}
}

func TestResultsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "results.jsonl")
	w, err := result.CreateResults(path, testHeader("r1"))
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, w.Append(rec("r1", i)))
	}
	require.NoError(t, w.Close())

	t.Run("the header and every appended record read back", func(t *testing.T) {
		res, err := result.ReadResultsFile(path)
		require.NoError(t, err)
		require.NotNil(t, res.Header)
		assert.Equal(t, "r1", res.Header.RunID)
		assert.Len(t, res.Records, 3)
		assert.Empty(t, res.Warnings)
	})
	t.Run("a second run never appends into the file", func(t *testing.T) {
		_, err := result.CreateResults(path, testHeader("r2"))
		assert.ErrorIs(t, err, result.ErrExists)
		res, err := result.ReadResultsFile(path)
		require.NoError(t, err)
		assert.Len(t, res.Records, 3, "nothing already recorded is lost")
	})
	t.Run("a partial last line is skipped with a warning and nothing else is lost", func(t *testing.T) {
		b, _ := os.ReadFile(path)
		res, err := result.ReadResults(bytes.NewReader(append(b, `{"trial":3,"scen`...)))
		require.NoError(t, err)
		assert.Len(t, res.Records, 3)
		require.Len(t, res.Warnings, 1)
		assert.Contains(t, res.Warnings[0], "partial last line")
	})
	t.Run("a corrupt line in the middle makes the file corrupt", func(t *testing.T) {
		b, _ := os.ReadFile(path)
		lines := strings.SplitAfter(string(b), "\n")
		bad := lines[0] + "{not json}\n" + lines[1]
		_, err := result.ReadResults(strings.NewReader(bad))
		assert.ErrorIs(t, err, result.ErrCorrupt)
		assert.ErrorContains(t, err, "line 2")
	})
	t.Run("a file concatenated with itself is refused, never double-counted", func(t *testing.T) {
		b, _ := os.ReadFile(path)
		_, err := result.ReadResults(bytes.NewReader(append(b, b...)))
		assert.ErrorIs(t, err, result.ErrCorrupt)
		assert.ErrorContains(t, err, "second run's header")
	})
	t.Run("a record of another run is refused", func(t *testing.T) {
		b, _ := os.ReadFile(path)
		line, _ := json.Marshal(rec("r2", 9))
		_, err := result.ReadResults(bytes.NewReader(append(b, append(line, '\n')...)))
		assert.ErrorContains(t, err, `belongs to run "r2"`)
	})
	t.Run("a trial number seen twice is refused", func(t *testing.T) {
		line, _ := json.Marshal(rec("", 1))
		two := string(line) + "\n" + string(line) + "\n"
		_, err := result.ReadResults(strings.NewReader(two))
		assert.ErrorContains(t, err, "trial 1 is also on line 1")
	})
	t.Run("a record with an unknown outcome is corrupt", func(t *testing.T) {
		_, err := result.ReadResults(strings.NewReader(`{"trial":0,"scenario":"s","registry":"r","role":"clean","outcome":"weird"}` + "\n"))
		assert.ErrorIs(t, err, result.ErrCorrupt)
	})
	t.Run("a schema-1 record gets its role from the old clean flag", func(t *testing.T) {
		res, err := result.ReadResults(strings.NewReader(`{"trial":0,"scenario":"bpo24484","registry":"unfixed","clean":false,"outcome":"panic","detected":true}` + "\n"))
		require.NoError(t, err)
		assert.Nil(t, res.Header)
		assert.Equal(t, result.Control, res.Records[0].Role)
		assert.True(t, res.Records[0].Hit())
	})
	t.Run("an empty file is corrupt", func(t *testing.T) {
		_, err := result.ReadResults(strings.NewReader(""))
		assert.ErrorIs(t, err, result.ErrCorrupt)
	})
	t.Run("a header alone is a valid, empty part of its run", func(t *testing.T) {
		line, _ := json.Marshal(testHeader("r3"))
		res, err := result.ReadResults(bytes.NewReader(append(line, '\n')))
		require.NoError(t, err)
		assert.Empty(t, res.Records)
	})
}
