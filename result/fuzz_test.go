package result_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// The fuzz targets' seed corpora are checked in under testdata/fuzz and
// run, with the seeds added here, as ordinary tests; go test -fuzz=Fuzz...
// explores from them.

const (
	fuzzHeader = `{"kind":"racestress-results","schema":2,"run_id":"r1","shard":{"k":1,"n":2},"verdict":{"min_power":0.5}}` + "\n"
	fuzzRecord = `{"trial":0,"scenario":"bpo24484","registry":"fixed","role":"clean","run_id":"r1","outcome":"ok","grade":"acceptable"}` + "\n"
)

// FuzzReadResults: the reader never panics, and what it accepts is a file
// of one run whose every record is valid, counted once.
func FuzzReadResults(f *testing.F) {
	f.Add([]byte(fuzzHeader + fuzzRecord))
	f.Add([]byte(fuzzHeader))
	f.Add([]byte(fuzzHeader + fuzzRecord + fuzzHeader + fuzzRecord))
	f.Add([]byte(fuzzHeader + fuzzRecord + `{"trial":1,"scen`))
	f.Add([]byte(`{"trial":0,"scenario":"bpo24484","registry":"unfixed","clean":false,"outcome":"panic","detected":true}` + "\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := result.ReadResults(bytes.NewReader(data))
		if err != nil {
			return
		}
		if res.Header == nil && len(res.Records) == 0 {
			t.Fatal("accepted a file with no header and no record")
		}
		if res.Header != nil {
			if err := res.Header.Validate(); err != nil {
				t.Fatalf("accepted an invalid header: %v", err)
			}
		}
		seen := map[int]bool{}
		for _, r := range res.Records {
			if err := r.Validate(); err != nil {
				t.Fatalf("accepted an invalid record: %v", err)
			}
			if seen[r.Trial] {
				t.Fatalf("accepted trial %d twice", r.Trial)
			}
			seen[r.Trial] = true
			run := res.Records[0].RunID
			if res.Header != nil {
				run = res.Header.RunID
			}
			if r.RunID != run {
				t.Fatalf("accepted trial %d of run %q in a file of run %q", r.Trial, r.RunID, run)
			}
			if r.LegacyClean != nil || !r.Role.Valid() {
				t.Fatalf("trial %d not upgraded: role %q", r.Trial, r.Role)
			}
		}
	})
}

// FuzzParseShard: K/N is accepted only within bounds, and says what it read.
func FuzzParseShard(f *testing.F) {
	for _, s := range []string{"", "1/1", "3/4", "5/4", "0/4", "1/0", "-1/2", "1/10000", "1/10001", "1/2/3", "a/b", "+1/2", " 1/2", "1/", "/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sh, err := harness.ParseShard(s)
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
		if sh.K < 1 || sh.K > sh.N || sh.N > harness.MaxShards {
			t.Fatalf("%q accepted as %d/%d", s, sh.K, sh.N)
		}
		back, err := harness.ParseShard(fmt.Sprintf("%d/%d", sh.K, sh.N))
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
		var sw harness.Sweep
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
			if want > harness.MaxSweepCells {
				t.Fatalf("%d cells accepted, more than %d", want, harness.MaxSweepCells)
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
