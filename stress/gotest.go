package stress

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

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
}

// GoTest resolves g (go list) into the target that runs its test binary,
// to be built into the folder of the results file out, each trial with
// -test.count=1 -test.v=test2json and timeout as -test.timeout in the
// package's folder, as go test would; and the build that Plan.Run makes
// before the first trial (Exec.GoTest).
func GoTest(ctx context.Context, g GoTestPackage, out string, timeout time.Duration) (harness.ExecTarget, *harness.GoTestBuild, error) {
	var t harness.ExecTarget
	if !g.Role.Valid() {
		return t, nil, usage("--role must be %s or %s, got %q", result.Clean, result.Control, g.Role)
	}
	importPath, pkgDir, err := goList(ctx, g.Package, g.BuildFlags)
	if err != nil {
		return t, nil, err
	}
	bin, err := filepath.Abs(filepath.Join(filepath.Dir(out), filepath.Base(importPath)+".test"))
	if err != nil {
		return t, nil, invalid("gotest: %v", err)
	}
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
	t = harness.ExecTarget{Name: filepath.Base(importPath), Role: g.Role, Argv: argv, Dir: pkgDir}
	return t, &harness.GoTestBuild{Package: g.Package, ImportPath: importPath, Binary: bin, BuildFlags: g.BuildFlags}, nil
}

// goList returns pkg's import path and folder; it refuses a pattern that
// names no package or several.
func goList(ctx context.Context, pkg string, build []string) (importPath, dir string, err error) {
	args := []string{"list", "-f", "{{.ImportPath}}\t{{.Dir}}"}
	for _, f := range build {
		if strings.HasPrefix(f, "-tags=") || strings.HasPrefix(f, "-mod=") || strings.HasPrefix(f, "-modfile=") || strings.HasPrefix(f, "-overlay=") {
			args = append(args, f)
		}
	}
	cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", "", usage("gotest: go list %s: %s", pkg, firstLineOf(errb.String(), err))
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 || lines[0] == "" {
		return "", "", usage("gotest: %s names %d packages; give one", pkg, len(lines))
	}
	importPath, dir, _ = strings.Cut(lines[0], "\t")
	return importPath, dir, nil
}

// buildTest builds b's test binary with go test -c. A package without
// test files gets no binary: that is a usage error, as there is nothing
// to stress.
func buildTest(ctx context.Context, b *harness.GoTestBuild) error {
	dir := filepath.Dir(b.Binary)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return invalid("gotest: the run's folder: %v", err)
	}
	args := append([]string{"test", "-c", "-o", b.Binary}, b.BuildFlags...)
	cmd := exec.CommandContext(ctx, "go", append(args, b.Package)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		os.Remove(dir) // only when empty
		if ctx.Err() != nil {
			return &Error{Kind: Interrupted, Msg: "interrupted while building the test binary"}
		}
		return usage("gotest: go test -c %s failed: %s", b.Package, firstLineOf(out.String(), err))
	}
	if _, err := os.Stat(b.Binary); err != nil {
		os.Remove(dir)
		return usage("gotest: package %s has no test files: go test -c wrote no test binary, so there is nothing to stress", b.ImportPath)
	}
	return nil
}

// firstLineOf returns the first line of a tool's output that says what
// went wrong, else err's text.
func firstLineOf(out string, err error) string {
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "FAIL") {
			continue
		}
		return l
	}
	return err.Error()
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
