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
	raceCreator     = regexp.MustCompile(`^Goroutine \d+ \([^)]*\) created at:\s*$`)
	emptyName       = regexp.MustCompile(`(?m)^=== NAME\s*\n`)
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
// Output, other lines kept, -test.v=test2json's framing marks and empty
// "=== NAME" lines dropped. It also returns the tests that test2json
// events report failed, in order.
func plainText(output []byte) (text string, failed []string) {
	// A test binary run with -test.v=test2json frames its "=== RUN",
	// "--- FAIL" and summary lines with a leading ^V for test2json: the
	// lines are read here without it.
	if bytes.IndexByte(output, testFrame) >= 0 {
		output = bytes.ReplaceAll(output, []byte{testFrame}, nil)
	}
	if !bytes.Contains(output, []byte(`"Action"`)) {
		return emptyName.ReplaceAllString(string(output), ""), nil
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
	return emptyName.ReplaceAllString(b.String(), ""), failed
}

// PlainText returns a test's or program's output as a person reads it:
// test2json events replaced by their output, the marks of
// -test.v=test2json dropped, and the empty "=== NAME" lines go test
// prints when output resumes outside any test left out. Excerpts of a
// trial's log are best shown through it.
func PlainText(output []byte) string {
	text, _ := plainText(output)
	return text
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
	files  []string // each frame's "file:line", "" when not given
}

// location returns the source location of the access: the innermost of
// its frames that is the program's (see userFrame), as "function (file:
// line)", the file named by its package's import path (see sourcePath);
// "" when it has none.
func (a access) location() string {
	for i, f := range a.frames {
		if userFrame(f) {
			if a.files[i] == "" {
				return f
			}
			return f + " (" + sourcePath(f, a.files[i]) + ")"
		}
	}
	return ""
}

// sourcePath returns the "file:line" of a frame of function fn with the
// file's directory replaced by the import path of fn's package, so that
// two builds of one module in different folders (two checkouts, two
// temporary directories) name it alike: "/home/u/src/cache/cache.go:22"
// in "example.com/cache.(*Cache).Size" is "example.com/cache/cache.go:22".
// A main package's files keep their base name only; an external test
// package's (pkg_test) are named by the package it tests, whose folder
// they share.
func sourcePath(fn, file string) string {
	file, _, _ = strings.Cut(strings.TrimSpace(file), " ") // " +0x1d"
	base := file[strings.LastIndexByte(file, '/')+1:]
	pkg := fn
	if i := strings.LastIndexByte(pkg, '/'); i >= 0 {
		if j := strings.IndexByte(pkg[i:], '.'); j >= 0 {
			pkg = pkg[:i+j]
		}
	} else if j := strings.IndexByte(pkg, '.'); j >= 0 {
		pkg = pkg[:j]
	}
	pkg = strings.TrimSuffix(pkg, "_test")
	if pkg == "main" || pkg == "" {
		return base
	}
	return pkg + "/" + base
}

// raceReport returns the accesses of the first race report in text (two,
// unless the report is cut), then the stacks that created their
// goroutines.
func raceReport(text string) (accesses, creators []access) {
	i := raceLine.FindStringIndex(text)
	if i == nil {
		return nil, nil
	}
	var cur *access
	for l := range strings.Lines(text[i[1]:]) {
		l = strings.TrimRight(l, "\r\n")
		if strings.HasPrefix(l, "==================") {
			break
		}
		if m := raceAccess.FindStringSubmatch(l); m != nil {
			if len(accesses) == 2 {
				break
			}
			accesses = append(accesses, access{kind: strings.ToLower(strings.TrimPrefix(m[1], "Previous "))})
			cur = &accesses[len(accesses)-1]
			continue
		}
		if raceCreator.MatchString(l) {
			creators = append(creators, access{kind: "created"})
			cur = &creators[len(creators)-1]
			continue
		}
		switch {
		case cur == nil:
		case strings.TrimSpace(l) == "" || !strings.HasPrefix(l, "  "):
			cur = nil
		case !strings.HasPrefix(l, "   "):
			cur.frames = append(cur.frames, funcName(l))
			cur.files = append(cur.files, "")
		case len(cur.files) > 0 && cur.files[len(cur.files)-1] == "":
			cur.files[len(cur.files)-1] = strings.TrimSpace(l)
		}
	}
	return accesses, creators
}

// raceAccesses returns the two accesses of the first race report in text.
func raceAccesses(text string) []access {
	a, _ := raceReport(text)
	return a
}

// testFunc matches a test function's name, as go test finds them, at the
// start of a function's name within its package: "TestX" in
// "TestX.func1".
var testFunc = regexp.MustCompile(`^(?:Test|Benchmark|Fuzz|Example)(?:[^a-z.][^.]*)?(?:\.|$)`)

// raceTest returns the test that the stacks of the first race report in
// text name: the innermost test function of the accesses' stacks, else of
// the stacks that created their goroutines; "" when none does. go test
// names no test for a race reported after its tests ended (at exit, or
// "outside of test execution"), though the race's stacks do.
func raceTest(text string) string {
	acc, created := raceReport(text)
	for _, a := range append(acc, created...) {
		for _, f := range a.frames {
			name := f[strings.LastIndexByte(f, '/')+1:]
			_, name, ok := strings.Cut(name, ".")
			if ok && testFunc.MatchString(name) {
				name, _, _ = strings.Cut(name, ".")
				return name
			}
		}
	}
	return ""
}
