package result_test

import (
	"bytes"
	"testing"

	"github.com/racestress/racestress/result"
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
