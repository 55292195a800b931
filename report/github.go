package report

import (
	"fmt"
	"io"
	"strings"
)

// MaxAnnotations is the most ::error annotations GitHub renders: the
// format writes no more.
const MaxAnnotations = 10

// GitHub renders s for a GitHub Actions step: the Markdown job summary
// (GitHubSummary), then at most MaxAnnotations "::error" workflow commands
// (GitHubAnnotations), which GitHub reads from the step's standard output
// and shows as annotations. Appending the summary to the file named by
// $GITHUB_STEP_SUMMARY is the caller's part.
func GitHub(w io.Writer, s Summary) error {
	if err := GitHubSummary(w, s); err != nil {
		return err
	}
	return GitHubAnnotations(w, s)
}

// GitHubSummary writes the job summary: a heading with the verdict's
// status, then the Markdown report.
func GitHubSummary(w io.Writer, s Summary) error {
	if _, err := fmt.Fprintf(w, "### racestress: %s\n\n", s.Verdict().Status); err != nil {
		return err
	}
	if err := Markdown(w, s); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w)
	return err
}

// annotation is one ::error workflow command.
type annotation struct{ title, message string }

// Annotations returns the run's error annotations: for a clean group that
// failed, one per failure signature (or one for the group when its
// failures have none); for any other group that did not pass, one with
// its verdict; for a run that did not pass with no group to blame (no
// control ran, shards missing), one with the verdict line. Past
// MaxAnnotations the last one says how many more there are.
func (s Summary) annotations() []annotation {
	v := s.Verdict()
	sigs := s.Signatures()
	var out []annotation
	for i, g := range s.Groups {
		gv := v.Groups[i]
		if gv.Status == Pass {
			continue
		}
		n := 0
		if g.IsClean() && g.Detected > 0 {
			for _, st := range sigs {
				if st.Group != g.Name() {
					continue
				}
				what := signatureText(st)
				msg := fmt.Sprintf("%s: %d of %d trials (rate %s CI %s), first in trial %d", what, st.Count, g.Runs, pct(Confidence), interval(st.Lo, st.Hi), st.FirstTrial)
				if st.Log != "" {
					msg += ", log " + st.Log
				}
				title := g.Name() + " failed"
				if st.Test != "" {
					title += " in " + st.Test
				}
				out = append(out, annotation{"racestress: " + title, msg})
				n++
			}
		}
		if n == 0 {
			out = append(out, annotation{"racestress: " + g.Name() + ": " + gv.Cell, gv.Text})
		}
	}
	if v.Status != Pass && len(out) == 0 {
		out = append(out, annotation{"racestress: " + v.Status.String(), v.Line})
	}
	if len(out) > MaxAnnotations {
		more := len(out) - (MaxAnnotations - 1)
		out = append(out[:MaxAnnotations-1], annotation{"racestress: more failures",
			fmt.Sprintf("%d more failed groups or signatures: see the job summary", more)})
	}
	return out
}

// GitHubAnnotations writes the run's ::error annotations, at most
// MaxAnnotations lines; none for a run that passed.
func GitHubAnnotations(w io.Writer, s Summary) error {
	for _, a := range s.annotations() {
		if _, err := fmt.Fprintf(w, "::error title=%s::%s\n", escapeProperty(a.title), escapeData(a.message)); err != nil {
			return err
		}
	}
	return nil
}

// escapeData escapes a workflow command's message as GitHub's toolkit
// does: %, CR and LF.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command's property value: as data,
// and also : and , which end a property.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
