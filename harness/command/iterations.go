package command

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"time"
)

// A test binary run with -test.count=N runs every matching test N times:
// the outer loop is the count, the inner the tests, so iteration i is the
// i-th pass over the tests. Splitter cuts its -test.v=test2json output
// into those iterations as it streams, so that each can be classified and
// recorded on its own (racestress gotest's batched trials).

// Framing lines of -test.v=test2json, without their ^V.
var (
	frameRun  = regexp.MustCompile(`^=== RUN\s+(\S+)\s*$`)
	frameEnd  = regexp.MustCompile(`^--- (PASS|FAIL|SKIP): (\S+) \((\d+(?:\.\d+)?)s\)\s*$`)
	frameDone = regexp.MustCompile(`^(PASS|FAIL)\s*$`)
)

// Iteration is one pass of a test binary over its tests.
type Iteration struct {
	// Index counts the iterations of one process from 0.
	Index int
	// Output is everything the process wrote from the iteration's first
	// "=== RUN" to the line before the next iteration's, framing marks
	// included (classify reads it as it reads a whole run's output).
	Output []byte
	// Tests are the top-level tests that ran, in order, and Failed those
	// that ended "--- FAIL".
	Tests, Failed []string
	// Elapsed is the sum of the top-level tests' own times, as the test
	// binary reported them.
	Elapsed time.Duration
	// Complete is set when every test of the iteration ended ("--- PASS",
	// "--- FAIL" or "--- SKIP"); an iteration cut off by the process's end
	// is not.
	Complete bool
}

// Splitter cuts a test binary's output into iterations. Feed it lines in
// order; it returns each iteration once it is known to be over: when the
// next begins, or at Close. When Per is known, an iteration that passed is
// returned as soon as its last test ends; one that failed is held until
// the next begins or Close, so that it carries what the process wrote
// after its tests (a panic's trace follows the "--- FAIL" line).
type Splitter struct {
	// Per is the number of top-level tests an iteration runs, when known
	// (-test.list): then an iteration is returned as soon as its last test
	// ends. When zero, it is learnt when the second iteration begins.
	Per int

	cur     *Iteration
	seen    map[string]bool // top-level tests of the current iteration
	open    []string        // top-level tests started and not ended, in order
	next    int             // index of the next iteration
	outside []byte          // output outside every iteration
	// held is a complete iteration with a failure: it is returned when
	// the next begins or at Close, with what the process wrote after its
	// last test (the trace of a panic that failed it, which the test
	// binary prints after its "--- FAIL" line).
	held *Iteration
}

// Feed takes one line of output (with or without its newline) and returns
// the iterations it ended.
func (s *Splitter) Feed(line []byte) []Iteration {
	if !bytes.HasSuffix(line, []byte("\n")) {
		line = append(line[:len(line):len(line)], '\n')
	}
	text := strings.TrimRight(string(bytes.TrimPrefix(line, []byte{testFrame})), "\r\n")
	framed := len(line) > 0 && line[0] == testFrame
	var out []Iteration
	if m := frameRun.FindStringSubmatch(text); framed && m != nil && !strings.Contains(m[1], "/") {
		name := m[1]
		if s.held != nil {
			out = append(out, *s.held)
			s.held = nil
		}
		if s.cur != nil && s.seen[name] {
			if s.Per == 0 {
				s.Per = len(s.seen)
			}
			s.cur.Complete = len(s.open) == 0
			out = append(out, s.finish())
		}
		if s.cur == nil {
			s.start()
		}
		s.seen[name] = true
		s.cur.Tests = append(s.cur.Tests, name)
		s.open = append(s.open, name)
	}
	if s.cur == nil {
		if s.held != nil {
			s.held.Output = append(s.held.Output, line...)
		} else {
			s.outside = append(s.outside, line...)
		}
		return out
	}
	s.cur.Output = append(s.cur.Output, line...)
	if m := frameEnd.FindStringSubmatch(text); framed && m != nil && slices.Contains(s.open, m[2]) {
		s.open = slices.DeleteFunc(s.open, func(n string) bool { return n == m[2] })
		if m[1] == "FAIL" {
			s.cur.Failed = append(s.cur.Failed, m[2])
		}
		if d, err := time.ParseDuration(m[3] + "s"); err == nil {
			s.cur.Elapsed += d
		}
		if s.Per > 0 && len(s.cur.Tests) >= s.Per && len(s.open) == 0 {
			s.cur.Complete = true
			it := s.finish()
			if len(it.Failed) > 0 {
				s.held = &it
			} else {
				out = append(out, it)
			}
		}
	}
	return out
}

// Close ends the stream: it returns the iteration in progress, if any,
// Complete only when its every test ended and the process said nothing
// after them but its summary.
func (s *Splitter) Close() []Iteration {
	var out []Iteration
	if s.held != nil {
		out = append(out, *s.held)
		s.held = nil
	}
	if s.cur != nil {
		s.cur.Complete = len(s.open) == 0 && len(s.cur.Tests) > 0 && len(s.cur.Tests) >= s.Per
		out = append(out, s.finish())
	}
	return out
}

// Running returns the top-level tests started and not ended, in the order
// they started.
func (s *Splitter) Running() []string { return slices.Clone(s.open) }

// Outside returns what the process wrote outside every iteration: before
// the first, and between an iteration's last test and the next's first
// (its closing PASS or FAIL among them).
func (s *Splitter) Outside() []byte { return s.outside }

// Summary reports whether line is the test binary's closing PASS or FAIL.
func Summary(line []byte) bool {
	return len(line) > 0 && line[0] == testFrame && frameDone.Match(bytes.TrimRight(line[1:], "\r\n"))
}

func (s *Splitter) start() {
	s.cur = &Iteration{Index: s.next}
	s.next++
	s.seen = map[string]bool{}
	s.open = nil
}

func (s *Splitter) finish() Iteration {
	it := *s.cur
	s.cur = nil
	return it
}
