package command

import (
	"bufio"
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
)

// This file reads what a Go program, the race detector, go test and
// test2json write.

// Line patterns, each anchored at a line's start.
var (
	panicLine     = regexp.MustCompile(`(?m)^panic: .*$`)
	fatalLine     = regexp.MustCompile(`(?m)^fatal error: .*$`)
	raceLine      = regexp.MustCompile(`(?m)^WARNING: DATA RACE\s*$`)
	runningHeader = regexp.MustCompile(`(?m)^goroutine \d+ (?:[^\[\n]* )?\[running`)
	failTestLine  = regexp.MustCompile(`(?m)^\s*--- FAIL: (\S+)`)
	buildFailed   = regexp.MustCompile(`(?m)^FAIL\s+\S+\s+\[(?:build|setup) failed\]\s*$`)
	testTimeout   = regexp.MustCompile(`(?m)^panic: test timed out after .*$`)
	deadlockLine  = regexp.MustCompile(`(?m)^fatal error: all goroutines are asleep - deadlock!`)

	goroutineHeader = regexp.MustCompile(`^goroutine \d+ (?:[^\[]* )?\[([^\]]*)\]:\s*$`)
	raceAccess      = regexp.MustCompile(`^((?:Previous )?[A-Za-z ]+?) at (?:0x[0-9a-fA-F]+ )?by (?:goroutine \d+|main goroutine|thread T\d+):\s*$`)
	testLogLine     = regexp.MustCompile(`^\s+\S+\.go:\d+: `)
	errorWord       = regexp.MustCompile(`(?i)error|fail|fatal|panic|cannot|can't|unable|denied|not found|no such|invalid|unexpected|assert`)
	summaryLine     = regexp.MustCompile(`^(?:(?:FAIL|ok)\s|FAIL$|exit status \d+$|PASS$)`)
)

// dumpMarkers start a goroutine dump in a Go program's output.
var dumpMarkers = []string{"SIGQUIT: quit", "panic: test timed out after", "fatal error: all goroutines are asleep"}

// dumpStart returns where the first goroutine dump starts in output, or -1.
func dumpStart(output string) int {
	first := -1
	for _, m := range dumpMarkers {
		if i := strings.Index(output, m); i >= 0 && (first < 0 || i < first) {
			first = i
		}
	}
	return first
}

// isHang reports whether output says the program hung by itself: the
// runtime's deadlock detector or go test's -timeout alarm.
func isHang(output string) bool {
	return deadlockLine.MatchString(output) || testTimeout.MatchString(output)
}

// testFrame is the byte (^V) with which -test.v=test2json marks go test's
// framing lines.
const testFrame = 0x16

// event is the part of a test2json event read here.
type event struct {
	Action string
	Test   string
	Output string
}

// plainText returns output as text: test2json events are replaced by their
// Output, other lines kept, -test.v=test2json's framing marks dropped. It also returns the tests that test2json events
// report failed, in order.
func plainText(output []byte) (text string, failed []string) {
	// A test binary run with -test.v=test2json frames its "=== RUN",
	// "--- FAIL" and summary lines with a leading ^V for test2json: the
	// lines are read here without it.
	if bytes.IndexByte(output, testFrame) >= 0 {
		output = bytes.ReplaceAll(output, []byte{testFrame}, nil)
	}
	if !bytes.Contains(output, []byte(`"Action"`)) {
		return string(output), nil
	}
	var b strings.Builder
	b.Grow(len(output))
	for line := range bytes.Lines(output) {
		t := bytes.TrimSpace(line)
		var e event
		if len(t) > 0 && t[0] == '{' && json.Unmarshal(t, &e) == nil && e.Action != "" {
			switch e.Action {
			case "output":
				b.WriteString(e.Output)
			case "fail":
				if e.Test != "" {
					failed = append(failed, e.Test)
				}
			}
			continue
		}
		b.Write(line)
	}
	return b.String(), failed
}

// failingTest returns the innermost failing test of the ones named by
// test2json events or by "--- FAIL: Name" lines: the first that has no
// failing subtest.
func failingTest(text string, failed []string) string {
	if len(failed) == 0 {
		for _, m := range failTestLine.FindAllStringSubmatch(text, -1) {
			failed = append(failed, m[1])
		}
	}
	return innermost(failed)
}

// unfinishedTest returns the innermost test that go test -v says started
// and never ended ("=== RUN" without "--- PASS", "--- FAIL" or "--- SKIP"),
// or that go test's timeout panic lists as running.
func unfinishedTest(text string) string {
	if names := runningTests(text); len(names) > 0 {
		return innermost(names)
	}
	var started []string
	ended := map[string]bool{}
	for l := range strings.Lines(text) {
		l = strings.TrimSpace(l)
		if name, ok := strings.CutPrefix(l, "=== RUN   "); ok {
			started = append(started, name)
		}
		for _, p := range []string{"--- PASS: ", "--- FAIL: ", "--- SKIP: "} {
			if rest, ok := strings.CutPrefix(l, p); ok {
				name, _, _ := strings.Cut(rest, " ")
				ended[name] = true
			}
		}
	}
	var open []string
	for _, n := range started {
		if !ended[n] {
			open = append(open, n)
		}
	}
	return innermost(open)
}

// runningTests returns the tests go test's timeout panic lists under
// "running tests:".
func runningTests(text string) []string {
	i := strings.Index(text, "running tests:\n")
	if i < 0 {
		return nil
	}
	var names []string
	for l := range strings.Lines(text[i+len("running tests:\n"):]) {
		if !strings.HasPrefix(l, "\t\t") {
			break
		}
		if f := strings.Fields(l); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

// innermost returns the first of names that has no subtest among them.
func innermost(names []string) string {
	for _, n := range names {
		leaf := true
		for _, o := range names {
			if strings.HasPrefix(o, n+"/") {
				leaf = false
				break
			}
		}
		if leaf {
			return n
		}
	}
	return ""
}

// testMessage returns the first t.Error/t.Log line ("file_test.go:12: ...")
// printed for test: under its "--- FAIL: test" line (go test without -v),
// or else between its "=== RUN" and its "--- FAIL" (with -v).
func testMessage(text, test string) string {
	lines := strings.Split(text, "\n")
	fail := slices.IndexFunc(lines, func(l string) bool {
		return strings.HasPrefix(strings.TrimSpace(l), "--- FAIL: "+test+" ")
	})
	if fail < 0 {
		return ""
	}
	indent := len(lines[fail]) - len(strings.TrimLeft(lines[fail], " "))
	for _, l := range lines[fail+1:] {
		if strings.TrimSpace(l) == "" || len(l)-len(strings.TrimLeft(l, " ")) <= indent {
			break
		}
		if testLogLine.MatchString(l) {
			return strings.TrimSpace(l)
		}
	}
	for i := fail - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "=== RUN   "+test {
			for _, m := range lines[i+1 : fail] {
				if testLogLine.MatchString(m) {
					return strings.TrimSpace(m)
				}
			}
			break
		}
	}
	return ""
}

// firstErrorLine returns the first line that reads like an error, else the
// last line that is not go test's or go run's summary.
func firstErrorLine(text string) string {
	last := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || summaryLine.MatchString(l) || strings.HasPrefix(l, "[racestress: ") {
			continue
		}
		if errorWord.MatchString(l) {
			return l
		}
		last = l
	}
	return last
}

// goroutine is one goroutine of a traceback.
type goroutine struct {
	state  string
	frames []string // function names, innermost first
}

// goroutines parses the goroutine tracebacks in text, in order.
func goroutines(text string) []goroutine {
	var gs []goroutine
	var cur *goroutine
	for l := range strings.Lines(text) {
		l = strings.TrimRight(l, "\r\n")
		if m := goroutineHeader.FindStringSubmatch(l); m != nil {
			gs = append(gs, goroutine{state: m[1]})
			cur = &gs[len(gs)-1]
			continue
		}
		if cur == nil {
			continue
		}
		switch {
		case l == "":
			cur = nil
		case l[0] == '\t' || l[0] == ' ' || strings.HasPrefix(l, "created by ") || strings.HasPrefix(l, "..."):
		default:
			cur.frames = append(cur.frames, funcName(l))
		}
	}
	return gs
}

// funcName strips a traceback frame's arguments: "main.(*T).f(0xc000, ...)"
// becomes "main.(*T).f".
func funcName(frame string) string {
	frame = strings.TrimSpace(frame)
	if strings.HasSuffix(frame, ")") {
		if i := strings.LastIndexByte(frame, '('); i > 0 {
			frame = frame[:i]
		}
	}
	return frame
}

// wrapper matches the functions the compiler makes for go and defer
// statements.
var wrapper = regexp.MustCompile(`\.(?:gowrap|deferwrap)\d+$`)

// userFrame reports whether a frame is the program's rather than the
// machinery of the runtime, of package sync or of package testing, or a
// compiler-made wrapper.
func userFrame(fn string) bool {
	switch {
	case fn == "panic", fn == "",
		strings.HasPrefix(fn, "runtime."), strings.HasPrefix(fn, "runtime/"),
		strings.HasPrefix(fn, "internal/"), strings.HasPrefix(fn, "testing."),
		strings.HasPrefix(fn, "sync."), strings.HasPrefix(fn, "sync/"),
		wrapper.MatchString(fn):
		return false
	}
	return true
}

// topFrames returns up to n of frames' user frames, innermost first.
func topFrames(frames []string, n int) []string {
	var top []string
	for _, f := range frames {
		if userFrame(f) {
			top = append(top, f)
			if len(top) == n {
				break
			}
		}
	}
	return top
}

// access is one memory access of a race report.
type access struct {
	kind   string   // "read", "write", "atomic write", ...
	frames []string // function names, innermost first
}

// raceAccesses returns the two accesses of the first race report in text.
func raceAccesses(text string) []access {
	i := raceLine.FindStringIndex(text)
	if i == nil {
		return nil
	}
	var out []access
	var cur *access
	for l := range strings.Lines(text[i[1]:]) {
		l = strings.TrimRight(l, "\r\n")
		if strings.HasPrefix(l, "==================") {
			break
		}
		if m := raceAccess.FindStringSubmatch(l); m != nil {
			if len(out) == 2 {
				break
			}
			out = append(out, access{kind: strings.ToLower(strings.TrimPrefix(m[1], "Previous "))})
			cur = &out[len(out)-1]
			continue
		}
		switch {
		case cur == nil:
		case strings.TrimSpace(l) == "" || !strings.HasPrefix(l, "  "):
			cur = nil
		case !strings.HasPrefix(l, "   "):
			cur.frames = append(cur.frames, funcName(l))
		}
	}
	return out
}
