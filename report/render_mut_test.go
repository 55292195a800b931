package report

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/racestress/racestress/harness/result"
)

func TestReportsGoOnPastTheFailureSignatures(t *testing.T) {
	// A clean subject that failed with a signature, a control, a warning:
	// after the signature table come the effect, the warning and the
	// verdict, in that order, in the table and in Markdown.
	clean := trials("fixed", result.Clean, 20, 0, 0)
	fail(&clean[3], "panic: boom")
	clean[5].Warnings = []string{"the registry was not empty at teardown"}
	s := summary(Policy{}, trials("unfixed", result.Control, 20, 20, 0), clean)
	for _, format := range []string{"table", "markdown"} {
		out := string(render(t, format, s))
		last := -1
		for _, part := range []string{"failure signatures", "panic: boom", "effect", "not empty at teardown", "verdict", "FAIL regression"} {
			i := strings.Index(out[max(last, 0):], part)
			if !assert.GreaterOrEqual(t, i, 0, "%s: %q after the previous part", format, part) {
				break
			}
			last = max(last, 0) + i
		}
	}
}
