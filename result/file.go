package result

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ResultsFile appends records to a results file, one JSON line each. Every
// line is written whole with a single write and synced to disk before Append
// returns, so a harness killed at any moment leaves only whole lines, one
// per completed trial.
type ResultsFile struct {
	f *os.File
}

// ErrExists is returned by CreateResults for a results file that already
// holds another run: a run never appends into another run's file.
var ErrExists = errors.New("results file already holds a run")

// CreateResults creates the results file at path, making its directory,
// and writes h as its first line. It refuses (ErrExists) a file that
// exists and is not empty.
func CreateResults(path string, h Header) (*ResultsFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || st.Size() > 0 {
		f.Close()
		if err == nil {
			err = fmt.Errorf("%w: %s (choose another --out, or remove it)", ErrExists, path)
		}
		return nil, err
	}
	w := &ResultsFile{f: f}
	if err := w.writeLine(h); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// Path returns the file's name.
func (w *ResultsFile) Path() string { return w.f.Name() }

// Append writes rec as one line and syncs it.
func (w *ResultsFile) Append(rec Record) error { return w.writeLine(rec) }

func (w *ResultsFile) writeLine(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := w.f.Write(append(b, '\n')); err != nil {
		return err
	}
	return w.f.Sync()
}

// Close closes the file.
func (w *ResultsFile) Close() error { return w.f.Close() }

// RunDir returns a fresh run folder name under base: base/<UTC time>.
func RunDir(base string, now time.Time) string {
	return filepath.Join(base, now.UTC().Format("20060102-150405.000"))
}

// ErrCorrupt marks a results file that cannot be trusted.
var ErrCorrupt = errors.New("corrupt results file")

// Results is what a results file holds.
type Results struct {
	// Header describes the run; nil for a schema-1 file, which had none.
	Header   *Header
	Records  []Record
	Warnings []string
}

// ReadResults reads a results file: its header line (schema 2 on), then
// one record per line. A last line without its newline (a write cut short)
// is skipped with a warning; any other line that does not parse as a valid
// record, a record of another run, a trial number seen twice, or a header
// anywhere but first makes the file corrupt. A file with a header and no
// record is a valid, empty part of its run (a shard with no rounds).
func ReadResults(r io.Reader) (Results, error) {
	var res Results
	records, warnings, err := readResults(r, &res.Header)
	res.Records, res.Warnings = records, warnings
	return res, err
}

func readResults(r io.Reader, header **Header) (records []Record, warnings []string, err error) {
	br := bufio.NewReader(r)
	seen := map[int]int{}
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(bytes.TrimSpace(line)) > 0 {
				warnings = append(warnings, fmt.Sprintf("line %d: skipped a partial last line (%d bytes)", n, len(line)))
			}
			break
		}
		if err != nil {
			return records, warnings, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if isHeader(line) {
			if n != 1 {
				return records, warnings, fmt.Errorf("%w: line %d: a second run's header (runs appended into one file)", ErrCorrupt, n)
			}
			var h Header
			if err := json.Unmarshal(line, &h); err != nil {
				return records, warnings, fmt.Errorf("%w: line %d: header: %v", ErrCorrupt, n, err)
			}
			if err := h.Validate(); err != nil {
				return records, warnings, fmt.Errorf("%w: line %d: %v", ErrCorrupt, n, err)
			}
			*header = &h
			continue
		}
		var rec Record
		if err := json.Unmarshal(line, &rec); err != nil {
			return records, warnings, fmt.Errorf("%w: line %d: %v", ErrCorrupt, n, err)
		}
		rec.Upgrade()
		if err := rec.Validate(); err != nil {
			return records, warnings, fmt.Errorf("%w: line %d: %v", ErrCorrupt, n, err)
		}
		if h := *header; h != nil && rec.RunID != h.RunID {
			return records, warnings, fmt.Errorf("%w: line %d: trial %d belongs to run %q, the file's header to run %q", ErrCorrupt, n, rec.Trial, rec.RunID, h.RunID)
		}
		if *header == nil && len(records) > 0 && rec.RunID != records[0].RunID {
			return records, warnings, fmt.Errorf("%w: line %d: trial %d belongs to another run than line 1's", ErrCorrupt, n, rec.Trial)
		}
		if at, dup := seen[rec.Trial]; dup {
			return records, warnings, fmt.Errorf("%w: line %d: trial %d is also on line %d (runs appended into one file, or a file concatenated with itself)", ErrCorrupt, n, rec.Trial, at)
		}
		seen[rec.Trial] = n
		records = append(records, rec)
	}
	if len(records) == 0 && *header == nil {
		return nil, warnings, fmt.Errorf("%w: no header and no records", ErrCorrupt)
	}
	return records, warnings, nil
}

// isHeader reports whether a line is a results file's header.
func isHeader(line []byte) bool {
	var probe struct {
		Kind string `json:"kind"`
	}
	return json.Unmarshal(line, &probe) == nil && probe.Kind != ""
}

// ReadResultsFile reads the results file at path.
func ReadResultsFile(path string) (Results, error) {
	f, err := os.Open(path)
	if err != nil {
		return Results{}, err
	}
	defer f.Close()
	return ReadResults(f)
}

// Part is one results file given to Merge.
type Part struct {
	Path    string
	Results Results
}

// Merged is what Merge makes of a run's parts.
type Merged struct {
	Header   *Header // the run's header, its shard 1/1; nil for schema-1 parts
	Records  []Record
	Warnings []string
	// Missing, when set, names the shards that were not given: the merged
	// statistics are those of what is there, but the run is incomplete.
	Missing string
}

// Merge combines the results files of one run's shards. It refuses parts of
// different runs (headers that differ other than by the shard index), a
// shard given twice, a trial in two parts, and a mix of schema-1 and later
// files; shards not given are reported in Missing.
func Merge(parts []Part) (Merged, error) {
	var m Merged
	if len(parts) == 0 {
		return m, errors.New("no results files")
	}
	first := parts[0].Results.Header
	from := map[int]string{}
	shards := map[int]string{}
	for _, p := range parts {
		h := p.Results.Header
		switch {
		case (h == nil) != (first == nil):
			return m, fmt.Errorf("%s and %s: one has a run header and the other none (files of different racestress versions)", parts[0].Path, p.Path)
		case h != nil:
			if diff := first.SameRun(*h); diff != "" {
				return m, fmt.Errorf("%s and %s are not shards of one run: their %s differ", parts[0].Path, p.Path, diff)
			}
			if other, dup := shards[h.Shard.K]; dup {
				return m, fmt.Errorf("shard %d/%d given twice: %s and %s", h.Shard.K, h.Shard.N, other, p.Path)
			}
			shards[h.Shard.K] = p.Path
			if diff := first.SameMachine(*h); diff != "" {
				m.Warnings = append(m.Warnings, fmt.Sprintf("%s and %s ran on different machines (%s): their timing, and detection rates, may differ", parts[0].Path, p.Path, diff))
			}
		}
		for _, w := range p.Results.Warnings {
			m.Warnings = append(m.Warnings, p.Path+": "+w)
		}
		for _, r := range p.Results.Records {
			if other, dup := from[r.Trial]; dup {
				return m, fmt.Errorf("trial %d is in both %s and %s: shards overlap", r.Trial, other, p.Path)
			}
			from[r.Trial] = p.Path
			m.Records = append(m.Records, r)
		}
	}
	sort.SliceStable(m.Records, func(i, j int) bool { return m.Records[i].Trial < m.Records[j].Trial })
	if first != nil {
		h := *first
		var missing []string
		for k := 1; k <= h.Shard.N; k++ {
			if _, ok := shards[k]; !ok {
				missing = append(missing, fmt.Sprintf("%d/%d", k, h.Shard.N))
			}
		}
		if len(missing) > 0 {
			m.Missing = "shards " + strings.Join(missing, ", ") + " not given"
		}
		h.Shard = HeaderShard{K: 1, N: 1}
		m.Header = &h
	}
	return m, nil
}
