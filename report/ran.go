package report

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/racestress/racestress/result"
)

// extraExec is the key of an exec run's description in a results header's
// Extra map (harness.ExtraExec; the harness is above this package).
const extraExec = "exec"

// Ran is what an exec or gotest run ran, as its results header records it
// (harness.ExecRun, whose JSON fields it reads).
type Ran struct {
	Commands []RanCommand `json:"targets"`
	// GoTest is set for a gotest run: the package whose test binary the
	// commands run.
	GoTest *RanGoTest `json:"gotest,omitempty"`
	// GoTests are set instead for a comparison of trees: one build a
	// command, in the commands' order.
	GoTests []RanGoTest `json:"gotests,omitempty"`
	// Batch is the iterations a test process ran (-test.count), when more
	// than one.
	Batch int `json:"batch,omitempty"`
}

// RanCommand is one command of the run: a subject.
type RanCommand struct {
	Name string      `json:"name"`
	Role result.Role `json:"role"`
	Argv []string    `json:"argv"`
	Dir  string      `json:"dir"`
}

// RanGoTest is the package a gotest run built, and how.
type RanGoTest struct {
	Package    string   `json:"package"`
	ImportPath string   `json:"import_path"`
	BuildFlags []string `json:"build_flags,omitempty"`
	// Tree and Revision, in a comparison of trees, are the tree as given
	// and the commit a revision resolved to.
	Tree     string `json:"tree,omitempty"`
	Revision string `json:"revision,omitempty"`
}

// RanOf returns what the run h describes ran; ok is false when h is nil or
// describes no exec or gotest run (a run of a built-in scenario), or its
// description cannot be read.
func RanOf(h *result.Header) (r Ran, ok bool) {
	if h == nil || h.Extra[extraExec] == nil {
		return r, false
	}
	// The entry is the harness's own type when the run is rendered by the
	// process that ran it, a decoded JSON object when read from a file:
	// both read alike through their JSON form.
	b, err := json.Marshal(h.Extra[extraExec])
	if err != nil || json.Unmarshal(b, &r) != nil || len(r.Commands) == 0 {
		return Ran{}, false
	}
	return r, true
}

// ranTestFlags are the test binary flags racestress gotest sets for every
// trial: they say nothing of what the user ran.
var ranTestFlags = regexp.MustCompile(`^-test\.(?:count|v|timeout)=`)

// TestRun returns the test pattern c runs (its -test.run), "" when it
// sets none.
func (c RanCommand) TestRun() string {
	for i, a := range c.Argv {
		if v, ok := strings.CutPrefix(a, "-test.run="); ok {
			return v
		}
		if (a == "-test.run" || a == "--test.run") && i+1 < len(c.Argv) {
			return c.Argv[i+1]
		}
	}
	return ""
}

// Line says what c runs as a command line a user could type: its argv,
// each word quoted for a shell where needed; for a gotest run, the go test
// command that runs the same tests (build flags, test flags but the ones
// racestress sets, the package).
func (r Ran) Line(c RanCommand) string {
	g := r.GoTest
	for i, d := range r.Commands {
		if d.Name == c.Name && i < len(r.GoTests) {
			g = &r.GoTests[i]
		}
	}
	if g == nil {
		return shellLine(c.Argv)
	}
	words := []string{"go", "test"}
	if r.Batch > 1 {
		words = append(words, fmt.Sprintf("-count=%d", r.Batch)) // the iterations of one process
	}
	words = append(words, g.BuildFlags...)
	for _, a := range c.Argv[min(1, len(c.Argv)):] {
		if ranTestFlags.MatchString(a) {
			continue
		}
		if rest, ok := strings.CutPrefix(a, "-test."); ok {
			a = "-" + rest
		}
		words = append(words, a)
	}
	pkg := g.ImportPath
	if pkg == "" {
		pkg = g.Package
	}
	line := shellLine(append(words, pkg))
	switch {
	case g.Revision != "":
		line += fmt.Sprintf(" at %s (%s)", g.Tree, g.Revision[:min(12, len(g.Revision))])
	case g.Tree != "":
		line += " in " + g.Tree
	}
	return line
}

// Lines say what the run ran: one line for one command (its Line), else a
// count, then one line per command, "name (role): Line".
func (r Ran) Lines() []string {
	if len(r.Commands) == 1 {
		return []string{r.Line(r.Commands[0])}
	}
	lines := []string{fmt.Sprintf("%d commands", len(r.Commands))}
	for _, c := range r.Commands {
		lines = append(lines, roleName(c.Name, c.Role)+": "+r.Line(c))
	}
	return lines
}

// command returns the command of the subject named name.
func (r Ran) command(name string) (RanCommand, bool) {
	for _, c := range r.Commands {
		if c.Name == name {
			return c, true
		}
	}
	return RanCommand{}, false
}

// safeWord matches a word a shell takes literally.
var safeWord = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./^-]+$`)

// shellLine joins argv into a line a POSIX shell splits back into argv:
// a word with any other character is single-quoted.
func shellLine(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		if safeWord.MatchString(a) {
			words[i] = a
			continue
		}
		words[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(words, " ")
}

// ran returns what the run ran when s's header describes an exec or
// gotest run of scenario sc.
func (s Summary) ran(sc string) (Ran, bool) {
	if s.Header == nil || s.Header.Scenario != sc {
		return Ran{}, false
	}
	return RanOf(s.Header)
}

// scenarioLines are what a report says after a scenario's name: what an
// exec or gotest run ran when its header says (see Ran.Lines), else
// knobs, the scenario's knobs line.
func (s Summary) scenarioLines(sc, knobs string) []string {
	if r, ok := s.ran(sc); ok {
		return r.Lines()
	}
	return []string{knobs}
}
