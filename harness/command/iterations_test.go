package command

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// These tests use no assertion library: testify brings in net/http and so
// cgo, which turns the runtime's deadlock detector off in this package's
// test binary, whose helper modes need it (TestClassify/deadlock).

func equal(t *testing.T, want, got any, what string) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Errorf("%s: got %#v, want %#v", what, got, want)
	}
}

func check(t *testing.T, ok bool, what string) {
	t.Helper()
	if !ok {
		t.Error(what)
	}
}

// split feeds a saved test binary output line by line and returns the
// iterations in the order they came, and after which line each came.
func split(t *testing.T, name string, per int) (its []Iteration, at []int, s *Splitter) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
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
		if len(its) != 2 {
			t.Fatalf("per=%d: %d iterations, want 2", per, len(its))
		}
		for i, it := range its {
			equal(t, i, it.Index, "index")
			equal(t, []string{"TestA", "TestB", "TestRace"}, it.Tests, "tests")
			check(t, it.Complete, "complete")
		}
		equal(t, []string{"TestB", "TestRace"}, its[0].Failed, "first pass failed")
		check(t, strings.Contains(string(its[0].Output), "WARNING: DATA RACE"), "the race is the first iteration's")
		equal(t, []string{"TestB"}, its[1].Failed, "second pass failed (the detector reports a race once per process: the second pass is silent)")
		check(t, !strings.Contains(string(its[1].Output), "DATA RACE"), "no race in the second pass")
		check(t, strings.HasSuffix(string(its[1].Output), "\x16FAIL\n"), "a failed pass keeps what follows it")
		equal(t, 0, len(s.Outside()), "outside")
	}
}

func TestSplitterReturnsAPassingIterationWhenItsLastTestEnds(t *testing.T) {
	its, at, _ := split(t, "iterations-parallel.txt", 5)
	if len(its) != 2 {
		t.Fatalf("%d iterations, want 2", len(its))
	}
	for _, it := range its {
		equal(t, 0, len(it.Failed), "failed")
		check(t, it.Complete, "complete")
		equal(t, []string{"TestP1", "TestP2", "TestBoom", "TestA", "TestB"}, it.Tests, "tests in the order they started")
		check(t, strings.HasSuffix(string(it.Output), "--- PASS: TestP1 (0.00s)\n"), "paused parallel tests end the pass")
	}
	equal(t, 23, at[0], "returned at the first pass's last --- PASS line, not when the next began")
}

func TestSplitterKeepsAPanicWithTheIterationItFailed(t *testing.T) {
	for _, per := range []int{0, 2} {
		its, _, _ := split(t, "iterations-panic.txt", per)
		if len(its) != 1 {
			t.Fatalf("per=%d: %d iterations, want 1: the panic ended the process in its first pass", per, len(its))
		}
		it := its[0]
		equal(t, []string{"TestBoom"}, it.Tests, "TestBoom runs first (p_test.go) and its panic ends the process")
		equal(t, []string{"TestBoom"}, it.Failed, "failed")
		check(t, strings.Contains(string(it.Output), "panic: boom"), "the trace printed after --- FAIL is the failed iteration's")
		equal(t, per == 0, it.Complete, "complete (with 2 tests per pass known, TestA never ran)")
	}
}

func TestSplitterClosesAnIterationCutOff(t *testing.T) {
	s := &Splitter{Per: 1}
	equal(t, 0, len(s.Feed([]byte("\x16=== RUN   TestX\n"))), "iterations after RUN")
	equal(t, []string{"TestX"}, s.Running(), "running")
	equal(t, 0, len(s.Feed([]byte("SIGQUIT: quit\n"))), "iterations after the dump")
	its := s.Close()
	if len(its) != 1 {
		t.Fatalf("%d iterations, want 1", len(its))
	}
	check(t, !its[0].Complete, "a test that never ended is not complete")
	check(t, strings.Contains(string(its[0].Output), "SIGQUIT"), "the dump is the iteration's")
	equal(t, 0, len(s.Close()), "closed once")
}

func TestSplitterIgnoresUnframedLookalikes(t *testing.T) {
	s := &Splitter{Per: 1}
	s.Feed([]byte("\x16=== RUN   TestX\n"))
	equal(t, 0, len(s.Feed([]byte("--- PASS: TestX (0.00s)\n"))), "a test's own output that looks like framing")
	its := s.Feed([]byte("\x16--- PASS: TestX (0.01s)\n"))
	if len(its) != 1 {
		t.Fatalf("%d iterations, want 1", len(its))
	}
	equal(t, "10ms", its[0].Elapsed.String(), "elapsed")
}
