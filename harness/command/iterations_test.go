package command

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// split feeds a saved test binary output line by line and returns the
// iterations in the order they came, and after which line each came.
func split(t *testing.T, name string, per int) (its []Iteration, at []int, s *Splitter) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	s = &Splitter{Per: per}
	n := 0
	for line := range bytes.Lines(b) {
		n++
		got := s.Feed(line)
		its = append(its, got...)
		for range got {
			at = append(at, n)
		}
	}
	for _, it := range s.Close() {
		its = append(its, it)
		at = append(at, -1)
	}
	return its, at, s
}

// The testdata files are real outputs of go1.26 test binaries (-test.v=test2json):
// iterations-race.txt: -test.count=2 -test.run 'TestA|TestB|TestRace', TestB failing, TestRace racing;
// iterations-parallel.txt: -test.count=2 with two t.Parallel tests among three others;
// iterations-panic.txt: -test.count=3 -test.run 'TestA|TestBoom', TestBoom (the first to run) panicking.

func TestSplitterCutsEveryPassOverTheTests(t *testing.T) {
	for _, per := range []int{0, 3} {
		its, _, s := split(t, "iterations-race.txt", per)
		require.Len(t, its, 2, "per=%d", per)
		for i, it := range its {
			assert.Equal(t, i, it.Index)
			assert.Equal(t, []string{"TestA", "TestB", "TestRace"}, it.Tests)
			assert.True(t, it.Complete)
		}
		assert.Equal(t, []string{"TestB", "TestRace"}, its[0].Failed)
		assert.Contains(t, string(its[0].Output), "WARNING: DATA RACE", "the race is the first iteration's")
		assert.Equal(t, []string{"TestB"}, its[1].Failed, "the detector reports a race once per process: the second pass is silent")
		assert.NotContains(t, string(its[1].Output), "DATA RACE")
		assert.True(t, strings.HasSuffix(string(its[1].Output), "\x16FAIL\n"), "a failed pass keeps what follows it")
		assert.Empty(t, s.Outside())
	}
}

func TestSplitterReturnsAPassingIterationWhenItsLastTestEnds(t *testing.T) {
	its, at, _ := split(t, "iterations-parallel.txt", 5)
	require.Len(t, its, 2)
	for _, it := range its {
		assert.Empty(t, it.Failed)
		assert.True(t, it.Complete)
		assert.ElementsMatch(t, []string{"TestP1", "TestP2", "TestBoom", "TestA", "TestB"}, it.Tests)
		assert.True(t, strings.HasSuffix(string(it.Output), "--- PASS: TestP1 (0.00s)\n"), "paused parallel tests end the pass")
	}
	assert.Equal(t, 23, at[0], "returned at the first pass's last --- PASS line, not when the next began")
}

func TestSplitterKeepsAPanicWithTheIterationItFailed(t *testing.T) {
	for _, per := range []int{0, 2} {
		its, _, _ := split(t, "iterations-panic.txt", per)
		require.Len(t, its, 1, "per=%d: the panic ended the process in its first pass", per)
		it := its[0]
		assert.Equal(t, []string{"TestBoom"}, it.Tests, "TestBoom runs first (p_test.go) and its panic ends the process")
		assert.Equal(t, []string{"TestBoom"}, it.Failed)
		assert.Contains(t, string(it.Output), "panic: boom", "the trace printed after --- FAIL is the failed iteration's")
		assert.Equal(t, per == 0, it.Complete, "with 2 tests per pass known, TestA never ran")
	}
}

func TestSplitterClosesAnIterationCutOff(t *testing.T) {
	s := &Splitter{Per: 1}
	assert.Empty(t, s.Feed([]byte("\x16=== RUN   TestX\n")))
	assert.Equal(t, []string{"TestX"}, s.Running())
	assert.Empty(t, s.Feed([]byte("SIGQUIT: quit\n")))
	its := s.Close()
	require.Len(t, its, 1)
	assert.False(t, its[0].Complete, "a test that never ended")
	assert.Contains(t, string(its[0].Output), "SIGQUIT")
	assert.Empty(t, s.Close(), "closed once")
}

func TestSplitterIgnoresUnframedLookalikes(t *testing.T) {
	s := &Splitter{Per: 1}
	s.Feed([]byte("\x16=== RUN   TestX\n"))
	assert.Empty(t, s.Feed([]byte("--- PASS: TestX (0.00s)\n")), "a test's own output that looks like framing")
	its := s.Feed([]byte("\x16--- PASS: TestX (0.01s)\n"))
	require.Len(t, its, 1)
	assert.Equal(t, "10ms", its[0].Elapsed.String())
}
