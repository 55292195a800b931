package stress

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/scenarios"
)

// The seed corpora of these fuzz targets are checked in under
// testdata/fuzz and run, with the seeds added here, as ordinary tests.

// FuzzParseSize: a size is accepted only positive and without overflow,
// and a refusal is one line.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"", "512MiB", "1GiB", "64MB", "1000000", "1KiB", "0", "-1MiB", "9999999999GiB", "8EiB", "1.5GiB", " 1MiB", "MiB", "1TiB", "9223372036854775807", "9223372036854775807B", "8388608TiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") || n != 0 {
				t.Fatalf("%q: %d, %q", s, n, err)
			}
			return
		}
		if s == "" {
			if n != 0 {
				t.Fatalf("no size is no limit, got %d", n)
			}
			return
		}
		if n <= 0 {
			t.Fatalf("%q accepted as %d", s, n)
		}
		back, err := ParseSize(strconv.FormatInt(n, 10))
		if err != nil || back != n {
			t.Fatalf("%q: %d does not read back: %d, %v", s, n, back, err)
		}
	})
}

// FuzzParseShard: K/N is accepted only within bounds, and says what it read.
func FuzzParseShard(f *testing.F) {
	for _, s := range []string{"", "1/1", "3/4", "5/4", "0/4", "1/0", "-1/2", "1/10000", "1/10001", "1/2/3", "a/b", "+1/2", " 1/2", "1/", "/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sh, err := ParseShard(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("a message of more than one line: %q", err)
			}
			return
		}
		if s == "" {
			if sh != (harness.Shard{}) {
				t.Fatalf("%q: %+v, want the whole run", s, sh)
			}
			return
		}
		if sh.K < 1 || sh.K > sh.N || sh.N > MaxShards {
			t.Fatalf("%q accepted as %d/%d", s, sh.K, sh.N)
		}
		back, err := ParseShard(fmt.Sprintf("%d/%d", sh.K, sh.N))
		if err != nil || back != sh {
			t.Fatalf("%q: %+v does not read back (%+v, %v)", s, sh, back, err)
		}
		covered := 0
		for r := range sh.N {
			if sh.Has(r) {
				covered++
			}
		}
		if covered != 1 {
			t.Fatalf("shard %d/%d holds %d of any %d consecutive rounds, want 1", sh.K, sh.N, covered, sh.N)
		}
	})
}

// FuzzSweepSet: a sweep is accepted only with known, distinct, valid
// values, and its cells are every combination, each labelled once and
// within its scenario's declared knobs.
func FuzzSweepSet(f *testing.F) {
	for _, s := range []string{"gogc=1,10", "procs=1,2\nthreads=2,4", "seconds=0.1,Inf", "sleep-scale=0,NaN", "gogc=1,01", "chaos=off,low,high",
		"gogc=1\ngogc=2", "color=red", "gogc", "gogc=", "seconds=1e10", "threads=1", "keys=1,2\nkeep=0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, args string) {
		var sw Dims
		want := 1
		for _, arg := range strings.Split(args, "\n") {
			before := len(sw)
			if err := sw.Set(arg); err != nil {
				if len(sw) != before {
					t.Fatalf("%q refused but added", arg)
				}
				continue
			}
			want *= len(sw[len(sw)-1].Values)
			if want > MaxSweepCells {
				t.Fatalf("%d cells accepted, more than %d", want, MaxSweepCells)
			}
		}
		for _, sc := range scenarios.All() {
			cells, err := sw.Cells(sc, sc.DefaultKnobsOf())
			if err != nil {
				if strings.Contains(err.Error(), "\n") {
					t.Fatalf("a message of more than one line: %q", err)
				}
				continue
			}
			if len(sw) > 0 && len(cells) != want {
				t.Fatalf("%s: %d cells, want %d", sc.Name, len(cells), want)
			}
			labels := map[string]bool{}
			for _, c := range cells {
				if labels[c.Label] {
					t.Fatalf("%s: cell %q twice", sc.Name, c.Label)
				}
				labels[c.Label] = true
				if err := sc.CheckKnobs(c.Knobs); err != nil {
					t.Fatalf("%s: cell %q out of bounds: %v", sc.Name, c.Label, err)
				}
			}
		}
	})
}
