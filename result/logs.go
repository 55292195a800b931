package result

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// maxLogDirs bounds the log folders of one run id beside one results file.
const maxLogDirs = 1000

// CreateLogDir creates the folder of a run's child logs beside its results
// file: logs-<run id>, or logs-<run id>-2, -3, ... when that exists. The
// folder is created here, exclusively, so that no two runs write into one:
// the shards of a run share its id, and two runs of the same shard into two
// results files of one folder must not overwrite each other's logs.
func CreateLogDir(resultsPath, runID string) (string, error) {
	base := filepath.Join(filepath.Dir(resultsPath), "logs-"+runID)
	for i := 1; i <= maxLogDirs; i++ {
		dir := base
		if i > 1 {
			dir = fmt.Sprintf("%s-%d", base, i)
		}
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("%s: %d log folders of run %s exist already", base, maxLogDirs, runID)
}

// LogPath returns where a record's log or dump path p is, for the results
// file at resultsPath: the file's records (schema 2) store them relative
// to its folder, so that a results file and its logs can move together.
// An absolute p is returned as it is; "" stays "".
func LogPath(resultsPath, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(resultsPath), p)
}
