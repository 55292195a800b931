package command

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/racestress/racestress/result"
)

// raceExitCode is the race detector's exit status.
const raceExitCode = 66

// frameCount is how many user frames a signature keeps.
const frameCount = 3

// classify sets r's Outcome, Message, Test and Signature from how the
// process ended (r's ExitCode, Signal, TimedOut, OverMemory, Interrupted)
// and its output, then applies ignore. It returns the output as text (see
// plainText).
//
// The rules, first match wins: interrupted → error; over the memory limit →
// crash; the watchdog fired → hang; exit 0 → ok, or fail if failOn matches;
// go test's "[build failed]" → error; the runtime's deadlock detector or go
// test's -timeout alarm → hang; a race report or exit status 66 →
// data-race; "fatal error: " → fatal (crash if out of memory); "panic: "
// with a running goroutine's traceback → panic; killed by a signal →
// crash; any other exit status → fail.
func classify(r *Result, output []byte, failOn, ignore *regexp.Regexp, timeout time.Duration) string {
	text, failed := plainText(output)
	r.Test = failingTest(text, failed)
	if r.Test == "" && (r.TimedOut || isHang(text) || r.ExitCode != 0 || r.Signal != "") {
		// A test binary that died (a fatal error, a signal) or hung
		// reports no failed test: the one it was running is named, as
		// test2json does.
		r.Test = unfinishedTest(text)
	}
	if r.Test == "" && (r.ExitCode != 0 || r.Signal != "") && raceLine.MatchString(text) {
		// A race reported after the tests ended (at exit, or "outside of
		// test execution") fails no test, but its stacks name one.
		r.Test = raceTest(text)
	}
	in := ""
	if r.Test != "" {
		in = " (in " + r.Test + ")"
	}
	set := func(o result.Outcome, msg string) {
		r.Outcome, r.Message = o, clip(msg)
	}
	exited0 := r.ExitCode == 0 && r.Signal == ""
	switch {
	case r.Interrupted:
		set(result.Error, "error: interrupted")
	case r.OverMemory:
		set(result.Crash, "crash: memory limit exceeded (resident set past twice the limit); killed")
	case r.TimedOut:
		what := "no dump"
		if dumpStart(text) >= 0 {
			what = "goroutine dump kept"
		}
		set(result.Hang, fmt.Sprintf("hang: still running after %v (watchdog: SIGQUIT, then SIGKILL); %s%s", timeout, what, in))
	case exited0:
		if failOn != nil {
			if loc := failOn.FindStringIndex(text); loc != nil {
				set(result.Fail, "fail: output matched the fail-on pattern: "+lineAt(text, loc[0]))
				break
			}
		}
		set(result.OK, "ok")
	case buildFailed.MatchString(text):
		set(result.Error, "error: build failed: "+firstErrorLine(text))
	case deadlockLine.MatchString(text):
		set(result.Hang, "hang: deadlock: all goroutines are asleep (runtime detector)"+in)
	case testTimeout.MatchString(text):
		set(result.Hang, "hang: "+strings.TrimPrefix(testTimeout.FindString(text), "panic: ")+" (go test -timeout)"+in)
	case raceLine.MatchString(text):
		var acc []string
		for _, a := range raceAccesses(text) {
			acc = append(acc, a.kind+" at "+strings.Join(topFrames(a.frames, 1), ""))
		}
		set(result.DataRace, "data-race: "+strings.Join(acc, ", ")+in)
	case r.ExitCode == raceExitCode:
		set(result.DataRace, "data-race: exit status 66 (the race detector's), no report in the output kept"+in)
	case fatalLine.MatchString(text):
		msg := fatalLine.FindString(text)
		if strings.Contains(msg, "out of memory") {
			set(result.Crash, "crash: "+msg+in)
			break
		}
		set(result.Fatal, msg+in)
	case panicLine.MatchString(text) && runningHeader.MatchString(text):
		set(result.Panic, panicLine.FindString(text)+in)
	case r.Signal != "":
		set(result.Crash, "crash: killed by signal: "+r.Signal+in)
	case r.Test != "":
		msg := testMessage(text, r.Test)
		if msg != "" {
			msg = ": " + msg
		}
		set(result.Fail, "fail: --- FAIL: "+r.Test+msg)
	default:
		msg := fmt.Sprintf("fail: exit status %d", r.ExitCode)
		if l := firstErrorLine(text); l != "" {
			msg += ": " + l
		}
		set(result.Fail, msg)
	}
	if r.Outcome != result.OK {
		r.Signature = signature(text, *r)
	}
	if ignore != nil && r.Outcome != result.OK && r.Outcome != result.Error && !r.OverMemory {
		if loc := ignore.FindStringIndex(text); loc != nil {
			r.Ignored = true
			r.Message = clip("ignored (" + lineAt(text, loc[0]) + "): " + r.Message)
			r.Outcome = result.OK
		}
	}
	return text
}

// Signature returns a normalised signature of a failed trial, which groups
// failures of one kind: the outcome, then what failed and where.
//
//   - panic, fatal: the panic's or fatal error's line, then " @ " and the
//     top frames (up to three) of the goroutine that failed, innermost
//     first, joined by " < ";
//   - data-race: the source locations of both accesses of the first
//     report, each the innermost frame of its stack that is the
//     program's, as "function (file:line)", sorted, joined by " / ": not
//     the kinds of access (the two sides of a race on x++ are reported as
//     read or write, in either order), nor the callers that reached them
//     (one race reached from several callers is one bug). The file is
//     named by its package's import path, not its folder, and its line
//     number is kept;
//   - hang: what saw it (deadlock, test timed out, watchdog), then the set
//     of the program's blocked goroutines, each as its wait state and
//     innermost frame outside the standard library, sorted, joined by
//     " | ": goroutines with no such frame (the runtime's, the testing
//     package's, a test binary's main waiting for its tests) are left out;
//   - fail: the failing test and its first t.Error line, or the FailOn
//     line, or the exit status and the first line that reads like an error;
//   - crash: the signal, or the memory limit.
//
// Frames are function names without arguments, addresses or offsets, and
// the runtime's, package sync's, package testing's and the compiler's
// wrappers are skipped. In the lines, hexadecimal numbers become "0x?", the
// directories of absolute paths are dropped, and every other number
// (goroutine ids, PIDs, line numbers, counts, durations) becomes "N". So two
// runs of one bug sign alike, even from builds in different temporary
// directories, and different bugs differently. One limit: a fatal error
// that either of two goroutines can detect ("concurrent map writes") signs
// after the one that did.
//
// Signature reads r's Outcome, ExitCode, Signal, OverMemory, TimedOut, Test
// and Message as Run set them, and returns "" for outcome ok: for an
// ignored trial, Run's r.Signature holds the signature of the failure that
// was ignored.
func Signature(output []byte, r Result) string {
	if r.Outcome == result.OK {
		return ""
	}
	text, _ := plainText(output)
	return signature(text, r)
}

func signature(text string, r Result) string {
	head := string(r.Outcome) + ": "
	withFrames := func(line string, g *goroutine) string {
		s := head + normalize(line)
		if g != nil {
			if top := topFrames(g.frames, frameCount); len(top) > 0 {
				s += " @ " + strings.Join(top, " < ")
			}
		}
		return s
	}
	switch r.Outcome {
	case result.Error:
		if buildFailed.MatchString(text) {
			return head + "build failed: " + normalize(firstErrorLine(text))
		}
		return head + normalize(strings.TrimPrefix(r.Message, "error: "))
	case result.Hang:
		return head + hangSignature(text, r)
	case result.DataRace:
		// The accesses' locations, not their kinds (the two sides of a
		// race on x++ are reported as read or write, in either order),
		// nor the callers that reached them: one race reached from
		// several places is one bug.
		var acc []string
		for _, a := range raceAccesses(text) {
			acc = append(acc, a.location())
		}
		if len(acc) == 0 {
			return head + "exit status N, no report"
		}
		slices.Sort(acc)
		return head + strings.Join(acc, " / ")
	case result.Fatal:
		line, at := first(fatalLine, text)
		return withFrames(strings.TrimPrefix(line, "fatal error: "), failingGoroutine(text, at))
	case result.Panic:
		line, at := first(panicLine, text)
		return withFrames(strings.TrimPrefix(line, "panic: "), failingGoroutine(text, at))
	case result.Crash:
		if r.OverMemory {
			return head + "memory limit exceeded"
		}
		if line, at := first(fatalLine, text); line != "" {
			return withFrames(strings.TrimPrefix(line, "fatal error: "), failingGoroutine(text, at))
		}
		return withFrames("signal "+r.Signal, failingGoroutine(text, 0))
	}
	// result.Fail and anything else.
	switch {
	case r.ExitCode == 0 && r.Signal == "":
		return head + "fail-on: " + normalize(strings.TrimPrefix(r.Message, "fail: output matched the fail-on pattern: "))
	case r.Test != "":
		s := head + r.Test
		if m := testMessage(text, r.Test); m != "" {
			s += ": " + normalize(m)
		}
		return s
	}
	if line := normalize(firstErrorLine(text)); line != "" {
		return fmt.Sprintf("%sexit %d: %s", head, r.ExitCode, line)
	}
	return fmt.Sprintf("%sexit %d", head, r.ExitCode)
}

// hangSignature names what hung: which detector saw it, the tests go test
// says were running, and the set of goroutines as "state: top frame".
func hangSignature(text string, r Result) string {
	var parts []string
	switch {
	case deadlockLine.MatchString(text):
		parts = append(parts, "deadlock")
	case testTimeout.MatchString(text):
		s := "test timed out"
		if names := runningTests(text); len(names) > 0 {
			s += " (" + strings.Join(names, ", ") + ")"
		}
		parts = append(parts, s)
	case r.TimedOut:
		parts = append(parts, "watchdog")
	}
	seen := map[string]bool{}
	var gs []string
	for _, g := range goroutines(text) {
		top := programFrame(g.frames)
		if top == "main.main" && slices.ContainsFunc(g.frames, func(f string) bool { return strings.HasPrefix(f, "testing.") }) {
			continue // a test binary's main, waiting for its tests
		}
		if top == "" {
			continue
		}
		s := normalizeState(g.state) + ": " + top
		if !seen[s] {
			seen[s] = true
			gs = append(gs, s)
		}
	}
	slices.Sort(gs)
	if len(gs) > 8 {
		gs = append(gs[:8], "...")
	}
	switch {
	case len(gs) > 0 || !r.TimedOut:
	case dumpStart(text) < 0:
		gs = append(gs, "no goroutine dump")
	default:
		// Stopped before it ran any code of its own (starting up), or
		// blocked in the standard library's only.
		gs = append(gs, "no goroutine in the program's code")
	}
	return strings.Join(append(parts, gs...), " | ")
}

// programFrame returns a blocked goroutine's innermost frame outside the
// standard library (whose wait state says what it waits for already); ""
// when it has none: the goroutine is the runtime's or the standard
// library's, not the program's.
func programFrame(frames []string) string {
	for _, f := range frames {
		if userFrame(f) && !stdFrame(f) {
			return f
		}
	}
	return ""
}

// stdFrame reports whether a function seems to be the standard library's:
// its import path's first element has no dot and is not "main".
func stdFrame(fn string) bool {
	first, _, _ := strings.Cut(fn, "/")
	if i := strings.IndexByte(first, '.'); i >= 0 && !strings.Contains(fn, "/") {
		first = first[:i] // "time.Sleep": the package is "time"
	} else if strings.Contains(first, ".") {
		return false
	}
	return first != "main"
}

// normalizeState reduces a goroutine's wait state to its kind: "chan
// receive, 2 minutes" becomes "chan receive"; running and runnable are one.
func normalizeState(s string) string {
	s, _, _ = strings.Cut(s, ",")
	switch s = strings.TrimSpace(s); s {
	case "runnable", "preempted":
		return "running"
	}
	return normalize(s)
}

// first returns the first match of re in text and where it starts; "" and
// -1 when none.
func first(re *regexp.Regexp, text string) (string, int) {
	loc := re.FindStringIndex(text)
	if loc == nil {
		return "", -1
	}
	return text[loc[0]:loc[1]], loc[0]
}

// failingGoroutine returns the goroutine that failed: the first running one
// traced after position at in text, else the first one after it.
func failingGoroutine(text string, at int) *goroutine {
	if at < 0 {
		at = 0
	}
	gs := goroutines(text[at:])
	for i := range gs {
		if strings.HasPrefix(gs[i].state, "running") {
			return &gs[i]
		}
	}
	if len(gs) > 0 {
		return &gs[0]
	}
	return nil
}

// lineAt returns the line of text holding position i, trimmed.
func lineAt(text string, i int) string {
	start := strings.LastIndexByte(text[:i], '\n') + 1
	end := strings.IndexByte(text[i:], '\n')
	if end < 0 {
		end = len(text) - i
	}
	return strings.TrimSpace(text[start : i+end])
}

// maxLine bounds messages and a signature's parts.
const maxLine = 200

func clip(s string) string {
	if len(s) > maxLine {
		return s[:maxLine] + "..."
	}
	return s
}

var (
	hexNumber   = regexp.MustCompile(`0x[0-9a-fA-F]+`)
	absPath     = regexp.MustCompile(`(?:^|[\s(\["'=])(/[^\s:()\[\]"',]*/)`)
	number      = regexp.MustCompile(`\d+`)
	whitespaces = regexp.MustCompile(`\s+`)
)

// normalize strips what differs between two runs of one failure from a
// line: hexadecimal numbers (addresses), the directories of absolute paths
// (temporary directories), then every other number (goroutine ids, PIDs,
// line numbers, offsets, sizes, durations), and runs of white space.
func normalize(s string) string {
	s = hexNumber.ReplaceAllString(s, "\x00") // kept from the numbers below
	s = absPath.ReplaceAllStringFunc(s, func(m string) string {
		if m[0] != '/' {
			return m[:1] // the separator before the path
		}
		return ""
	})
	s = number.ReplaceAllString(s, "N")
	s = strings.ReplaceAll(s, "\x00", "0x?")
	s = whitespaces.ReplaceAllString(strings.TrimSpace(s), " ")
	return clip(s)
}
