package stress

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/racestress/racestress/gotest"
	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/result"
)

// GoTestPackage is a Go package whose test binary a run builds once and
// runs as its trials (racestress gotest).
type GoTestPackage struct {
	// Package is the package as given (one package, not a pattern that
	// names several); BuildFlags are go test -c's flags (-race=true ...).
	Package    string
	BuildFlags []string
	// Role is the package's: clean (its tests must never fail) or control.
	Role result.Role
	// Run, Skip and CPU are -test.run, -test.skip and -test.cpu; Short is
	// -test.short; Args are the test binary's own further arguments.
	Run, Skip, CPU string
	Short          bool
	Args           []string
	// Trees, when set, compare the package in several trees (racestress
	// gotest --control/--clean NAME=REV_OR_DIR): each is a directory or a
	// git revision of the repository holding the working directory
	// (exported beside the results file, so the user's tree and
	// repository are only read), with Package resolved in each as in the
	// working directory. Role is then each tree's.
	Trees []GoTestTree
}

// GoTestTree is one tree of a comparison: a name, a role and a directory
// or git revision.
type GoTestTree struct {
	Name   string
	Role   result.Role
	Source string
}

// ParseTree parses NAME=REV_OR_DIR for role.
func ParseTree(s string, role result.Role) (GoTestTree, error) {
	name, src, ok := strings.Cut(s, "=")
	if !ok || !targetName.MatchString(name) || src == "" {
		return GoTestTree{}, fmt.Errorf("want NAME=REV_OR_DIR, got %q", s)
	}
	return GoTestTree{Name: name, Role: role, Source: src}, nil
}

// GoTest resolves g into the targets that run its test binaries (one, or
// one per tree), each to be built into the folder of the results file out
// and run with -test.count=1 -test.v=test2json and timeout as
// -test.timeout in its package's folder, as go test would; and the builds
// that Plan.Run makes before the first trial (Exec.GoTest or GoTests).
func GoTest(ctx context.Context, g GoTestPackage, out string, timeout time.Duration) ([]harness.ExecTarget, []harness.GoTestBuild, error) {
	trees := g.Trees
	if len(trees) == 0 {
		if !g.Role.Valid() {
			return nil, nil, usage("--role must be %s or %s, got %q", result.Clean, result.Control, g.Role)
		}
		trees = []GoTestTree{{Role: g.Role}}
	}
	if g.Package == "" {
		g.Package = "."
	}
	runDir, err := filepath.Abs(filepath.Dir(out))
	if err != nil {
		return nil, nil, invalid("gotest: %v", err)
	}
	b := &gotest.Builder{Temp: runDir}
	var targets []harness.ExecTarget
	var builds []harness.GoTestBuild
	for _, tr := range trees {
		if tr.Source != "" {
			if err := os.MkdirAll(runDir, 0o755); err != nil {
				return nil, nil, invalid("gotest: the run's folder: %v", err)
			}
		}
		src, err := b.Resolve(ctx, tr.Source)
		if err != nil {
			return nil, nil, usage("gotest: --%s %s=%s: %v", tr.Role, tr.Name, tr.Source, err)
		}
		importPath, pkgDir, err := b.List(ctx, src, g.Package, g.BuildFlags)
		if err != nil {
			return nil, nil, usage("gotest: %v", err)
		}
		name := tr.Name
		if name == "" {
			name = filepath.Base(importPath)
		}
		bin := filepath.Join(runDir, name+".test")
		argv := []string{bin}
		for _, f := range [][2]string{{"run", g.Run}, {"skip", g.Skip}, {"cpu", g.CPU}} {
			if f[1] != "" {
				argv = append(argv, "-test."+f[0]+"="+f[1])
			}
		}
		if g.Short {
			argv = append(argv, "-test.short")
		}
		argv = append(argv, "-test.count=1", "-test.v=test2json", "-test.timeout="+timeout.String())
		argv = append(argv, g.Args...)
		targets = append(targets, harness.ExecTarget{Name: name, Role: tr.Role, Argv: argv, Dir: pkgDir})
		build := harness.GoTestBuild{Package: g.Package, ImportPath: importPath, Binary: bin, BuildFlags: g.BuildFlags,
			Run: g.Run, Skip: g.Skip}
		if tr.Source != "" {
			build.Name, build.Tree, build.Revision, build.Dir = name, tr.Source, src.Revision, src.Dir
		}
		if g.CPU != "" {
			build.Tests = -1 // -test.cpu runs each test once per value: learnt from the output
		}
		builds = append(builds, build)
	}
	return targets, builds, nil
}

// buildTest builds b's test binary with go test -c (in b.Dir, a tree of a
// comparison, when set) and counts the top-level tests an iteration runs.
// A package without test files gets no binary: that is a usage error, as
// there is nothing to stress.
func buildTest(ctx context.Context, b *harness.GoTestBuild) error {
	gb := &gotest.Builder{}
	src, err := gb.Resolve(ctx, "")
	if err != nil {
		return invalid("gotest: %v", err)
	}
	if b.Dir != "" {
		src = gotest.Source{Spec: b.Tree, Dir: b.Dir, Revision: b.Revision}
	}
	pkg, err := gb.Build(ctx, src, b.Package, b.BuildFlags, b.Binary)
	if err != nil {
		os.Remove(filepath.Dir(b.Binary)) // only when empty: a failed build leaves nothing behind
		if ctx.Err() != nil {
			return &Error{Kind: Interrupted, Msg: "interrupted while building the test binary"}
		}
		return usage("gotest: %v", err)
	}
	if b.Tests == 0 {
		if names, err := gotest.Tests(ctx, pkg, b.Run, b.Skip); err == nil {
			b.Tests = len(names)
		}
	}
	return nil
}

// AddGoBuildFlags defines in fs the go test build flags racestress gotest
// passes to go test -c, each appended to into as -name=value.
func AddGoBuildFlags(fs *flag.FlagSet, into *[]string) {
	for _, n := range goBuildValueFlags {
		fs.Var(goFlag{name: n, into: into}, n, "go test -c -"+n+" `VALUE`")
	}
	for _, n := range goBuildBoolFlags {
		fs.Var(goFlag{name: n, isBool: true, into: into}, n, "go test -c -"+n)
	}
}

// goBuildFlags are the go test build flags gotest passes to go test -c:
// those taking a value, and the boolean ones.
var (
	goBuildValueFlags = []string{"tags", "ldflags", "gcflags", "asmflags", "covermode", "coverpkg", "mod", "modfile", "overlay", "pgo", "buildvcs"}
	goBuildBoolFlags  = []string{"race", "cover", "trimpath", "msan", "asan", "a"}
)

// raceBuild reports whether flags (AddGoBuildFlags') build with the race
// detector, the last -race winning.
func raceBuild(flags []string) bool {
	on := false
	for _, f := range flags {
		switch f {
		case "-race=true":
			on = true
		case "-race=false":
			on = false
		}
	}
	return on
}

// goFlag is a go test flag passed through as -name=value.
type goFlag struct {
	name   string
	isBool bool
	into   *[]string
}

func (f goFlag) String() string   { return "" }
func (f goFlag) IsBoolFlag() bool { return f.isBool }
func (f goFlag) Set(v string) error {
	if f.isBool && v != "true" && v != "false" {
		return fmt.Errorf("want true or false, got %q", v)
	}
	*f.into = append(*f.into, "-"+f.name+"="+v)
	return nil
}
