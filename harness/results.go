package harness

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/racestress/racestress/harness/result"
)

// ResultsFile appends records to a results file, one JSON line each. Every
// line is written whole with a single write and synced to disk before Append
// returns, so a harness killed at any moment leaves only whole lines, one
// per completed trial.
type ResultsFile struct {
	f *os.File
}

// CreateResults creates (or appends to) the results file at path, making its
// directory.
func CreateResults(path string) (*ResultsFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &ResultsFile{f: f}, nil
}

// Path returns the file's name.
func (w *ResultsFile) Path() string { return w.f.Name() }

// Append writes rec as one line and syncs it.
func (w *ResultsFile) Append(rec result.Record) error {
	b, err := json.Marshal(rec)
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

// ReadResults reads a results file. A last line without its newline (a write
// cut short) is skipped with a warning; any other line that does not parse
// as a valid record makes the file corrupt.
func ReadResults(r io.Reader) (records []result.Record, warnings []string, err error) {
	br := bufio.NewReader(r)
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
		var rec result.Record
		if err := json.Unmarshal(line, &rec); err != nil {
			return records, warnings, fmt.Errorf("%w: line %d: %v", ErrCorrupt, n, err)
		}
		if err := rec.Validate(); err != nil {
			return records, warnings, fmt.Errorf("%w: line %d: %v", ErrCorrupt, n, err)
		}
		records = append(records, rec)
	}
	if len(records) == 0 {
		return nil, warnings, fmt.Errorf("%w: no records", ErrCorrupt)
	}
	return records, warnings, nil
}

// ReadResultsFile reads the results file at path.
func ReadResultsFile(path string) ([]result.Record, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return ReadResults(f)
}
