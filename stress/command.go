package stress

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/harness/command"
	"github.com/racestress/racestress/result"
)

// targetName is what a NAME= prefix must look like.
var targetName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ParseTarget parses a command target, [NAME=]COMMAND, with role: the
// command is split into words as sh -c would split it (command.Split); without a NAME= prefix the
// target is named by Prepare, after its program's base name.
func ParseTarget(s string, role result.Role) (harness.ExecTarget, error) {
	name, line, ok := strings.Cut(s, "=")
	if !ok || !targetName.MatchString(name) || strings.ContainsAny(name, " \t'\"") {
		name, line = "", s
	}
	argv, err := command.Split(line)
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
