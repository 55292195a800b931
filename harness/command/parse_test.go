package command

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/racestress/racestress/result"
)

// TestCapture writes random amounts in random pieces and checks that the
// capture keeps exactly the head and the tail. The seed is fixed: the test
// is deterministic.
func TestCapture(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 500 {
		keep := 1 + rng.IntN(64)
		c := newCapture(keep)
		var all []byte
		for range rng.IntN(20) {
			p := make([]byte, rng.IntN(3*keep))
			for i := range p {
				p[i] = byte('a' + rng.IntN(26))
			}
			if n, err := c.Write(p); n != len(p) || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
			all = append(all, p...)
		}
		want := all
		if len(all) > 2*keep {
			want = fmt.Appendf(nil, "%s\n[racestress: %d bytes of output cut here; kept the first and the last %d]\n%s",
				all[:keep], len(all)-2*keep, keep, all[len(all)-keep:])
		}
		if got := c.Bytes(); !bytes.Equal(got, want) {
			t.Fatalf("round %d, keep %d, %d bytes: got\n%q\nwant\n%q", round, keep, len(all), got, want)
		}
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"panic: boom at 0xc000012345 in goroutine 17":                          "panic: boom at 0x? in goroutine N",
		"open /tmp/TestX123/001/trial-4.log: no such file":                     "open trial-N.log: no such file",
		"/home/u/go/src/x/main.go:12 +0x1d":                                    "main.go:N +0x?",
		"error: pid 4242 (exit  3)\tfailed":                                    "error: pid N (exit N) failed",
		"ratio a/b stays; (/usr/lib/x.so) goes":                                "ratio a/b stays; (x.so) goes",
		"--- FAIL: TestX/case_1 (0.03s)":                                       "--- FAIL: TestX/case_N (N.Ns)",
		"fatal error: concurrent map iteration and map write":                  "fatal error: concurrent map iteration and map write",
		"sign of -7 is wrong [recovered, repanicked] path=/var/tmp/go-b1/x.go": "sign of -N is wrong [recovered, repanicked] path=x.go",
	} {
		if got := normalize(in); got != want {
			t.Errorf("normalize(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}

// TestClassifyText checks the endings that are not worth a real process:
// it sets how the process ended and gives the output.
func TestClassifyText(t *testing.T) {
	cases := []struct {
		name    string
		exit    int
		signal  string
		out     string
		outcome result.Outcome
		test    string
		sig     string
	}{
		{"exit 66 without a report (cut)", 66, "", "lots of output\n", result.DataRace, "",
			"data-race: exit status N, no report"},
		{"a race report with exit 0 is the command's business", 0, "", "==================\nWARNING: DATA RACE\n", result.OK, "", ""},
		{"out of memory", 2, "", "fatal error: runtime: out of memory\n\ngoroutine 1 [running]:\nmain.grow()\n\t/x/main.go:9 +0x1\n", result.Crash, "",
			"crash: runtime: out of memory @ main.grow"},
		{"panic text without a traceback", 1, "", "panic: not really\n", result.Fail, "",
			"fail: exit 1: panic: not really"},
		{"test2json events", 1, "",
			`{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"output","Package":"p","Test":"TestA","Output":"    a_test.go:7: want 3, got 4\n"}
{"Action":"output","Package":"p","Test":"TestA","Output":"--- FAIL: TestA (0.00s)\n"}
{"Action":"fail","Package":"p","Test":"TestA","Elapsed":0}
{"Action":"fail","Package":"p","Elapsed":0.01}
`, result.Fail, "TestA", "fail: TestA: a_test.go:N: want N, got N"},
		{"-test.v=test2json framing", 1, "",
			"\x16=== RUN   TestB\n\x16=== RUN   TestB/sub\n    a_test.go:4: bad 3\n\x16--- FAIL: TestB/sub (0.00s)\n\x16=== NAME  TestB\n\x16--- FAIL: TestB (0.00s)\n\x16=== NAME  \n\x16FAIL\n",
			result.Fail, "TestB/sub", "fail: TestB/sub: a_test.go:N: bad N"},
		{"a test binary killed by a fatal error names the test it was running", 2, "",
			"\x16=== RUN   TestA\n\x16--- PASS: TestA (0.00s)\n\x16=== RUN   TestR\nfatal error: concurrent map writes\n\ngoroutine 7 [running]:\np.(*R).Track.func1(0x1)\n\t/x/r.go:9 +0x1\n",
			result.Fatal, "TestR", "fatal: concurrent map writes @ p.(*R).Track.func1"},
		{"killed, with a Go traceback", -1, "aborted", "SIGABRT: abort\nPC=0x1 m=0\n\ngoroutine 1 [running]:\nmain.spin()\n\t/x/main.go:3 +0x1\n", result.Crash, "",
			"crash: signal aborted @ main.spin"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Result{ExitCode: tc.exit, Signal: tc.signal}
			classify(&r, []byte(tc.out), nil, nil, 0)
			if r.Outcome != tc.outcome || r.Test != tc.test || r.Signature != tc.sig {
				t.Errorf("got %s %q %q, want %s %q %q (%s)", r.Outcome, r.Test, r.Signature, tc.outcome, tc.test, tc.sig, r.Message)
			}
		})
	}
}

// TestSavedOutputs classifies saved outputs of a race-enabled test binary
// (testdata/outputs, see its README): one race reached by different
// callers, from different tests, and after the tests ended, signs as one;
// a hang signs as the blocked code under test only; a failure names its
// test once. Each output is also read as if built in another folder: the
// signature must not change.
func TestSavedOutputs(t *testing.T) {
	const race = "data-race: example.com/cache.(*Cache).Put (example.com/cache/cache.go:17) / example.com/cache.(*Cache).Size (example.com/cache/cache.go:22)"
	cases := []struct {
		file    string
		exit    int
		outcome result.Outcome
		test    string
		sig     string
	}{
		{"race-Report.out", 1, result.DataRace, "TestReport", race},
		{"race-Full.json", 1, result.DataRace, "TestFull", race},
		{"race-outside.out", 66, result.DataRace, "TestLeak", race},
		{"race-early.out", 1, result.DataRace, "TestMain", race},
		{"hang.out", 2, result.Hang, "TestHang", "hang: test timed out (TestHang) | chan receive: example.com/cache.Wait"},
		{"fail.out", 1, result.Fail, "TestSum", "fail: TestSum: cache_test.go:N: sum = N, want N"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			out, err := os.ReadFile(filepath.Join("testdata", "outputs", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			moved := bytes.ReplaceAll(out, []byte("/tmp/racepkg/"), []byte("/home/u/src/cache-v2/"))
			for i, o := range [][]byte{out, moved} {
				r := Result{ExitCode: tc.exit}
				text := classify(&r, o, nil, nil, 0)
				if r.Outcome != tc.outcome || r.Test != tc.test || r.Signature != tc.sig {
					t.Errorf("build %d: got %s %q\n%s\nwant %s %q\n%s", i, r.Outcome, r.Test, r.Signature, tc.outcome, tc.test, tc.sig)
				}
				if strings.Contains(text, "=== NAME") && regexp.MustCompile(`(?m)^=== NAME\s*$`).MatchString(text) {
					t.Errorf("build %d: the text keeps an empty === NAME line:\n%s", i, text)
				}
			}
		})
	}
}

// TestHangWithoutProgramFrames checks a watchdog's dump whose goroutines
// are all the runtime's and the standard library's (a program stopped
// while it started up): it is a dump, but of no code of the program's.
func TestHangWithoutProgramFrames(t *testing.T) {
	out := "SIGQUIT: quit\nPC=0x1 m=0 sigcode=0\n\ngoroutine 1 gp=0x1 m=0 mp=0x1 [running]:\nruntime.doInit1(0x1)\n\t/usr/local/go/src/runtime/proc.go:7350 +0x1\nruntime.main()\n\t/usr/local/go/src/runtime/proc.go:250 +0x1\n\ngoroutine 2 [sleep]:\ntime.Sleep(0x1)\n\t/usr/local/go/src/runtime/time.go:363 +0x1\nos/signal.loop()\n\t/usr/local/go/src/os/signal/signal_unix.go:23 +0x1\n"
	r := Result{ExitCode: 2, TimedOut: true}
	classify(&r, []byte(out), nil, nil, 0)
	if want := "hang: watchdog | no goroutine in the program's code"; r.Signature != want {
		t.Errorf("signature %q, want %q", r.Signature, want)
	}
}
