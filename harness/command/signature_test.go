package command

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/racestress/racestress/result"
)

// bugProgram is a program with one bug per mode (its first argument); what
// it prints varies with the seed, how it fails does not.
const bugProgram = `package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
)

func main() {
	seed, _ := strconv.Atoi(os.Getenv("RACESTRESS_SEED"))
	switch os.Args[1] {
	case "index":
		index(seed)
	case "nilmap":
		nilmap(seed)
	case "mapwrites":
		runtime.GOMAXPROCS(2)
		m := map[int]int{}
		go writer(m)
		go writer(m)
		select {}
	case "counter":
		counter(seed)
	case "flag":
		flag()
	case "deadlock":
		var mu sync.Mutex
		mu.Lock()
		lock(&mu)
	case "exit":
		fmt.Fprintf(os.Stderr, "error: %d widgets missing in /tmp/run-%d/out\n", seed, seed)
		os.Exit(1)
	case "exit2":
		fmt.Fprintln(os.Stderr, "error: no gadgets")
		os.Exit(1)
	}
}

//go:noinline
func index(seed int) {
	s := make([]int, 3+seed%5)
	i := len(s) + seed%7
	fmt.Println(s[i])
}

//go:noinline
func nilmap(seed int) {
	var m map[int]int
	m[seed] = seed
}

//go:noinline
func writer(m map[int]int) {
	for i := 0; ; i++ {
		m[i%1024] = i
	}
}

func counter(seed int) {
	var n int
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 + seed {
				inc(&n)
			}
		}()
	}
	wg.Wait()
	fmt.Println(n)
}

//go:noinline
func inc(p *int) { *p++ }

func flag() {
	var done bool
	go set(&done)
	for !get(&done) {
		runtime.Gosched()
	}
}

//go:noinline
func set(p *bool) { *p = true }

//go:noinline
func get(p *bool) bool { return *p }

//go:noinline
func lock(mu *sync.Mutex) { mu.Lock() }
`

// bugTest is a test package with one bug per test.
const bugTest = `package bug

import (
	"os"
	"strconv"
	"testing"
	"time"
)

func seed() int { n, _ := strconv.Atoi(os.Getenv("RACESTRESS_SEED")); return n }

func TestOK(t *testing.T) { t.Log("fine") }

func TestSum(t *testing.T) {
	if got := 2000 - seed(); got != 2000 {
		t.Errorf("sum = %d, want 2000", got)
	}
}

func TestSign(t *testing.T) {
	t.Run("positive", func(t *testing.T) {})
	t.Run("negative", func(t *testing.T) { t.Fatalf("sign of %d is wrong", -seed()) })
}

func TestPanic(t *testing.T) {
	var m map[string]int
	m["x"] = seed()
}

func TestHang(t *testing.T) {
	for {
		time.Sleep(time.Hour)
	}
}
`

// lineOf returns the number of the line of src that holds s.
func lineOf(src, s string) int {
	i := strings.Index(src, s)
	if i < 0 {
		panic("no " + s)
	}
	return strings.Count(src[:i], "\n") + 1
}

// buildAll builds each kind of program ("prog", "race" and "test") twice,
// in two directories, so that paths differ between the two builds.
func buildAll(t *testing.T) map[string][2]string {
	t.Helper()
	gotool := goTool(t)
	kinds := []string{"prog", "race", "test"}
	bins := map[string][2]string{}
	dirs := map[string][2]string{}
	for _, k := range kinds {
		var b, d [2]string
		for i := range b {
			files := map[string]string{"main.go": bugProgram}
			if k == "test" {
				files = map[string]string{"bug_test.go": bugTest}
			}
			d[i] = writeModule(t, files)
			b[i] = filepath.Join(d[i], k+".bin")
		}
		bins[k], dirs[k] = b, d
	}
	var wg sync.WaitGroup
	errs := make(chan string, 2*len(kinds))
	for _, k := range kinds {
		for i := range 2 {
			wg.Go(func() {
				args := []string{"build", "-o", bins[k][i]}
				switch k {
				case "race":
					args = append(args, "-race")
				case "test":
					args = []string{"test", "-c", "-o", bins[k][i]}
				}
				cmd := exec.Command(gotool, append(args, ".")...)
				cmd.Dir = dirs[k][i]
				if out, err := cmd.CombinedOutput(); err != nil {
					errs <- k + ": " + err.Error() + "\n" + string(out)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		if strings.Contains(e, "requires cgo") || strings.Contains(e, "C compiler") {
			t.Skip("no race detector here:", e)
		}
		t.Fatal(e)
	}
	return bins
}

// trial runs one trial and returns its result and kept output.
func trial(t *testing.T, c Command, seed int64) (Result, string) {
	t.Helper()
	if c.Timeout == 0 {
		c.Timeout = long
	}
	c.LogDir, c.LogAll = t.TempDir(), true
	r := c.Run(context.Background(), 0, seed)
	out := ""
	if r.Log != "" {
		b, err := os.ReadFile(r.Log)
		if err != nil {
			t.Fatal(err)
		}
		out = string(b)
	}
	return r, out
}

// TestSignatures runs real failures twice, with different seeds and from
// builds in different directories, and checks that both runs give the same
// signature, the one expected, and that different bugs give different ones.
func TestSignatures(t *testing.T) {
	bins := buildAll(t)
	cases := []struct {
		name    string
		kind    string // of build
		args    []string
		outcome result.Outcome
		test    string
		want    string
		// tries bounds the runs made to see the outcome: more than one
		// where it is not certain.
		tries int
	}{
		{"index", "prog", []string{"index"}, result.Panic, "",
			"panic: runtime error: index out of range [N] with length N @ main.index < main.main", 1},
		{"nil map", "prog", []string{"nilmap"}, result.Panic, "",
			"panic: assignment to entry in nil map @ main.nilmap < main.main", 1},
		// Two goroutines writing one map without a lock end in "fatal
		// error: concurrent map writes" in every run seen (1000 of 1000
		// on a 2-core machine); the runtime's detection is best effort,
		// so another ending is possible. By the rule of three its chance
		// is below 0.3% per run (95%), and a run is tried again up to 4
		// times: (0.003)^4 < 1e-10 per run.
		{"concurrent map writes", "prog", []string{"mapwrites"}, result.Fatal, "",
			"fatal: concurrent map writes @ main.writer", 4},
		{"deadlock", "prog", []string{"deadlock"}, result.Hang, "",
			"hang: deadlock | sync.Mutex.Lock: main.lock", 1},
		{"exit status", "prog", []string{"exit"}, result.Fail, "",
			"fail: exit 1: error: N widgets missing in out", 1},
		{"another exit status", "prog", []string{"exit2"}, result.Fail, "",
			"fail: exit 1: error: no gadgets", 1},
		{"race on a counter", "race", []string{"counter"}, result.DataRace, "",
			fmt.Sprintf("data-race: main.inc (main.go:%[1]d) / main.inc (main.go:%[1]d)", lineOf(bugProgram, "func inc(")), 1},
		// The race detector misses the race on a flag in some runs: 26
		// of 300 (8.7%) at load 7 on 2 cores. Taking a miss to be at
		// most 1 in 2, four times that, a run fails all of 21 tries with
		// a chance of 2^-21, and one of the test's two runs does with
		// 2 × 2^-21 < 1e-6. A try costs one run of a small program, and
		// is made only after a miss.
		{"race on a flag", "race", []string{"flag"}, result.DataRace, "",
			fmt.Sprintf("data-race: main.get (main.go:%d) / main.set (main.go:%d)", lineOf(bugProgram, "func get("), lineOf(bugProgram, "func set(")), 21},
		{"failing test", "test", []string{"-test.run=^TestSum$"}, result.Fail, "TestSum",
			"fail: TestSum: bug_test.go:N: sum = N, want N", 1},
		{"failing test -v", "test", []string{"-test.v", "-test.run=^TestSum$"}, result.Fail, "TestSum",
			"fail: TestSum: bug_test.go:N: sum = N, want N", 1},
		{"failing subtest", "test", []string{"-test.run=^TestSign$"}, result.Fail, "TestSign/negative",
			"fail: TestSign/negative: bug_test.go:N: sign of -N is wrong", 1},
		{"failing subtest -v", "test", []string{"-test.v", "-test.run=^TestSign$"}, result.Fail, "TestSign/negative",
			"fail: TestSign/negative: bug_test.go:N: sign of -N is wrong", 1},
		{"panicking test", "test", []string{"-test.run=^TestPanic$"}, result.Panic, "TestPanic",
			"panic: assignment to entry in nil map [recovered, repanicked] @ example.com/bug.TestPanic", 1},
		{"go test -timeout", "test", []string{"-test.run=^TestHang$", "-test.timeout=500ms"}, result.Hang, "TestHang",
			"hang: test timed out (TestHang) | sleep: example.com/bug.TestHang", 1},
	}
	sigs := map[string]string{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := bins[tc.kind]
			var got [2]string
			for i, seed := range []int64{1, 2} {
				r, out := trial(t, Command{Path: b[i], Args: tc.args}, seed)
				for try := 1; try < tc.tries && (r.Outcome != tc.outcome || r.Signature != tc.want); try++ {
					t.Logf("run %d, try %d: %s, again", i, try, r.Message)
					r, out = trial(t, Command{Path: b[i], Args: tc.args}, seed)
				}
				if r.Outcome != tc.outcome || r.Test != tc.test {
					t.Fatalf("run %d: outcome %s test %q, want %s %q: %+v\n%s", i, r.Outcome, r.Test, tc.outcome, tc.test, r, out)
				}
				if s := Signature([]byte(out), r); s != r.Signature {
					t.Errorf("Signature from the log %q, Run said %q", s, r.Signature)
				}
				got[i] = r.Signature
			}
			if got[0] != got[1] {
				t.Errorf("two runs of one bug signed differently:\n%s\n%s", got[0], got[1])
			}
			if got[0] != tc.want {
				t.Errorf("signature\n got %s\nwant %s", got[0], tc.want)
			}
			if tc.name == "failing test -v" || tc.name == "failing subtest -v" {
				return // the same bugs as without -v
			}
			if other, ok := sigs[got[0]]; ok {
				t.Errorf("%s and %s sign alike: %s", tc.name, other, got[0])
			}
			sigs[got[0]] = tc.name
		})
	}
}

// TestGoTest runs go test itself as the command, with and without -json:
// the go command's own output around the test binary's must not change the
// outcome, the failing test or the signature.
func TestGoTest(t *testing.T) {
	gotool := goTool(t)
	dir := writeModule(t, map[string]string{"bug_test.go": bugTest})
	broken := writeModule(t, map[string]string{"bug_test.go": "package bug\n\nvar _ = nope\n"})
	cases := []struct {
		name    string
		dir     string
		args    []string
		outcome result.Outcome
		test    string
		want    string
	}{
		{"failing subtest", dir, []string{"-run=^TestSign$"}, result.Fail, "TestSign/negative",
			"fail: TestSign/negative: bug_test.go:N: sign of -N is wrong"},
		{"failing subtest, -json", dir, []string{"-json", "-run=^TestSign$"}, result.Fail, "TestSign/negative",
			"fail: TestSign/negative: bug_test.go:N: sign of -N is wrong"},
		{"panicking test, -json", dir, []string{"-json", "-run=^TestPanic$"}, result.Panic, "TestPanic",
			"panic: assignment to entry in nil map [recovered, repanicked] @ example.com/bug.TestPanic"},
		{"passing test, -json", dir, []string{"-json", "-v", "-run=^TestOK$"}, result.OK, "", ""},
		{"build failure", broken, nil, result.Error, "",
			"error: build failed: ./bug_test.go:N:N: undefined: nope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"test", "-count=1"}, tc.args...)
			c := Command{Path: gotool, Args: append(args, "."), Dir: tc.dir, Env: []string{"GOFLAGS=-buildvcs=false", "GOTOOLCHAIN=local"}}
			r, out := trial(t, c, 3)
			if r.Outcome != tc.outcome || r.Test != tc.test || r.Signature != tc.want {
				t.Errorf("got %s %q %q, want %s %q %q\n%+v\n%s", r.Outcome, r.Test, r.Signature, tc.outcome, tc.test, tc.want, r, out)
			}
		})
	}
}
