package report

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/racestress/racestress/result"
)

// StatusLine is the console line of a trial that failed unexpectedly (a
// clean subject's failure, a control's failure other than its signature,
// a harness error): its number, scenario, subject, role, cell, seed, and
// outcome with its time to failure and first error.
func StatusLine(r result.Record) string {
	what := string(r.Outcome)
	if r.Detected || r.Invalid() {
		if r.Detected {
			what += " after " + FormatDuration(r.TTFF())
		}
		if r.FirstError != "" {
			what += ": " + r.FirstError
		}
	}
	name := r.Scenario + "/" + r.Registry + " (" + string(r.Role) + ")"
	if r.Cell != "" {
		name += " [" + r.Cell + "]"
	}
	return fmt.Sprintf("racestress: trial %d %s seed %d: %s", r.Trial, name, r.Seed, what)
}

// headBytes is how much of a failed child's log the console shows.
const headBytes = 2048

// LogHead returns the path and the first 2 KiB of a failed trial's child
// log, read from disk and indented, or "" when there is none to show.
// Its paths are resolved against resultsPath, the file r belongs to. plain,
// when set, turns the log's bytes into the text a person reads (for a test
// binary's log, command.PlainText drops go test's framing marks and empty
// "=== NAME" lines).
func LogHead(r result.Record, resultsPath string, plain func([]byte) string) string {
	if r.Process == nil || r.Process.Log == "" || r.Outcome == result.OK {
		return ""
	}
	log := result.LogPath(resultsPath, r.Process.Log)
	b, err := os.ReadFile(log)
	if err != nil {
		return ""
	}
	if plain != nil {
		b = []byte(plain(b))
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "    log: %s", log)
	if r.Process.Dump != "" {
		fmt.Fprintf(&sb, "  goroutine dump: %s", result.LogPath(resultsPath, r.Process.Dump))
	}
	sb.WriteString("\n")
	if len(b) > headBytes {
		b = append(b[:headBytes:headBytes], "\n    ...\n"...)
	}
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "" {
			sb.WriteString("    | " + line)
		}
	}
	if !strings.HasSuffix(sb.String(), "\n") {
		sb.WriteString("\n")
	}
	return sb.String()
}

// AppendStepSummary appends s's job summary (GitHubSummary) to the file
// $GITHUB_STEP_SUMMARY names, when it is set, as GitHub Actions expects of
// a step; in one write, so that a summary is appended whole.
func AppendStepSummary(s Summary) error {
	path := os.Getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("GITHUB_STEP_SUMMARY: %v", err)
	}
	var b bytes.Buffer
	if err := GitHubSummary(&b, s); err != nil {
		f.Close()
		return err
	}
	_, err = f.Write(b.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("GITHUB_STEP_SUMMARY: %v", err)
	}
	return nil
}

// IsTerminal reports whether w is a terminal (a character device).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
