package stress

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/result"
)

// SplitCommand splits a command line into words as a POSIX shell would for
// simple quoting, without running a shell: words are separated by blanks;
// 'single quotes' keep everything literally; "double quotes" keep
// everything but a backslash before " \ $ ` or a newline; outside quotes a
// backslash keeps the next character literally ("\" and a newline join
// lines). Nothing is expanded: a shell's operators (| & ; < > ( ) $ `)
// outside quotes are refused rather than taken literally, since the user
// meant a shell; wrap such a command in sh -c '...'. Glob characters
// (* ? [) are kept literally, as a shell does when they match no file.
func SplitCommand(s string) ([]string, error) {
	var (
		words  []string
		cur    strings.Builder
		inWord bool
	)
	end := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == ' ' || r == '\t' || r == '\n':
			end()
		case r == '\'':
			inWord = true
			j := i + 1
			for j < len(rs) && rs[j] != '\'' {
				j++
			}
			if j == len(rs) {
				return nil, fmt.Errorf("unterminated ' in %q", s)
			}
			cur.WriteString(string(rs[i+1 : j]))
			i = j
		case r == '"':
			inWord = true
			j := i + 1
			for ; j < len(rs) && rs[j] != '"'; j++ {
				switch {
				case rs[j] == '\\' && j+1 < len(rs) && strings.ContainsRune("\"\\$`", rs[j+1]):
					j++
					cur.WriteRune(rs[j])
				case rs[j] == '\\' && j+1 < len(rs) && rs[j+1] == '\n':
					j++
				case rs[j] == '$' || rs[j] == '`':
					return nil, fmt.Errorf("%q: %c inside double quotes would be expanded by a shell; racestress runs no shell: quote it with '...' or use sh -c", s, rs[j])
				default:
					cur.WriteRune(rs[j])
				}
			}
			if j == len(rs) {
				return nil, fmt.Errorf("unterminated \" in %q", s)
			}
			i = j
		case r == '\\':
			if i+1 == len(rs) {
				return nil, fmt.Errorf("%q ends with a lone backslash", s)
			}
			i++
			if rs[i] != '\n' {
				inWord = true
				cur.WriteRune(rs[i])
			}
		case strings.ContainsRune("|&;<>()$`", r):
			return nil, fmt.Errorf("%q: %c is a shell operator, and racestress runs no shell: quote it, or wrap the command in sh -c '...'", s, r)
		default:
			inWord = true
			cur.WriteRune(r)
		}
	}
	end()
	if len(words) == 0 {
		return nil, fmt.Errorf("empty command")
	}
	return words, nil
}

// targetName is what a NAME= prefix must look like.
var targetName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ParseTarget parses a command target, [NAME=]COMMAND, with role: the
// command is split into words by SplitCommand; without a NAME= prefix the
// target is named by Prepare, after its program's base name.
func ParseTarget(s string, role result.Role) (harness.ExecTarget, error) {
	name, line, ok := strings.Cut(s, "=")
	if !ok || !targetName.MatchString(name) || strings.ContainsAny(name, " \t'\"") {
		name, line = "", s
	}
	argv, err := SplitCommand(line)
	if err != nil {
		return harness.ExecTarget{}, err
	}
	return harness.ExecTarget{Name: name, Role: role, Argv: argv}, nil
}

// resolveTargets names each unnamed target after its program, runs it in
// dir when it has no folder, and checks that its program can be found.
func resolveTargets(targets []harness.ExecTarget, dir string) error {
	if len(targets) == 0 {
		return usage("exec: no command: give one after the flags (racestress exec [flags] -- CMD ARGS...), or --clean/--control NAME=COMMAND")
	}
	for i := range targets {
		t := &targets[i]
		if t.Name == "" {
			t.Name = filepath.Base(t.Argv[0])
		}
		if t.Dir == "" {
			t.Dir = dir
		}
		if _, err := exec.LookPath(t.Argv[0]); err != nil {
			var ee *exec.Error
			if errors.As(err, &ee) { // without exec.Error's repetition of the program name
				err = fmt.Errorf("%s: %v", ee.Name, ee.Err)
			}
			return usage("exec: %s: %v", t.Name, err)
		}
	}
	return nil
}
