// Package gotest builds a Go package's test binary for racestress gotest:
// from the working tree, from another directory, or from a git revision,
// which is exported into a temporary directory (git archive) so that the
// user's tree and repository are only read.
//
// It runs the go command (go list, go test -c) and git; both must be on
// PATH. Modules come from the module cache as for any build.
package gotest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// Source is where a package's code comes from: a directory, or a git
// revision of the repository that holds the working directory.
type Source struct {
	// Spec is what the user gave: a directory or a revision (a commit, a
	// branch, a tag, HEAD~1...). Empty means the working tree.
	Spec string
	// Dir is the tree the package path is resolved in: the directory, or
	// the revision's export, at the working directory's place in it.
	Dir string
	// Revision is the commit a revision resolved to, "" for a directory.
	Revision string
}

// Package is a package's test binary, built.
type Package struct {
	Source     Source
	ImportPath string
	// Dir is the package's folder: a test runs there, as under go test.
	Dir string
	// Binary is the test binary's path.
	Binary string
	// Flags are the build flags it was built with.
	Flags []string
}

// Builder builds test binaries.
type Builder struct {
	// WorkDir is the directory a relative package path or directory is
	// resolved against, and whose repository a revision is read from; the
	// current directory when empty.
	WorkDir string
	// Temp holds the exports of revisions; os.TempDir when empty. Call
	// Close to remove them.
	Temp string
	// Go and Git are the programs run; "go" and "git" when empty.
	Go, Git string

	exports []string
}

// Resolve turns spec into a Source: an existing directory (relative to
// WorkDir) is one; anything else is taken for a git revision of the
// repository holding WorkDir, and exported. The export keeps WorkDir's
// place: with WorkDir at repo/sub and a revision, Dir is export/sub, so a
// package path means in every tree what it means in the working tree.
func (b *Builder) Resolve(ctx context.Context, spec string) (Source, error) {
	wd, err := b.workDir()
	if err != nil {
		return Source{}, err
	}
	if spec == "" {
		return Source{Dir: wd}, nil
	}
	if d := b.abs(wd, spec); isDir(d) {
		return Source{Spec: spec, Dir: d}, nil
	}
	top, err := b.git(ctx, wd, "rev-parse", "--show-toplevel")
	if err != nil {
		return Source{}, fmt.Errorf("%s is neither a directory nor, outside a git repository, a revision: %v", spec, err)
	}
	rev, err := b.git(ctx, wd, "rev-parse", "--verify", "--quiet", spec+"^{commit}")
	if err != nil || rev == "" {
		return Source{}, fmt.Errorf("%s is neither a directory nor a revision of %s", spec, top)
	}
	rel, err := filepath.Rel(top, wd)
	if err != nil || strings.HasPrefix(rel, "..") {
		return Source{}, fmt.Errorf("the working directory %s is not inside its repository %s", wd, top)
	}
	dir, err := os.MkdirTemp(b.Temp, "racestress-"+rev[:min(12, len(rev))]+"-")
	if err != nil {
		return Source{}, err
	}
	b.exports = append(b.exports, dir)
	if err := b.export(ctx, top, rev, dir); err != nil {
		return Source{}, fmt.Errorf("exporting revision %s: %v", spec, err)
	}
	return Source{Spec: spec, Dir: filepath.Join(dir, rel), Revision: rev}, nil
}

// export writes revision rev of the repository at top into dir.
func (b *Builder) export(ctx context.Context, top, rev, dir string) error {
	archive := exec.CommandContext(ctx, b.gitPath(), "-C", top, "archive", "--format=tar", rev)
	untar := exec.CommandContext(ctx, "tar", "-x", "-C", dir)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return err
	}
	var aerr, terr bytes.Buffer
	archive.Stderr, untar.Stderr, untar.Stdin = &aerr, &terr, pipe
	if err := archive.Start(); err != nil {
		return err
	}
	if err := untar.Run(); err != nil {
		archive.Wait()
		return fmt.Errorf("tar: %v: %s", err, firstLine(terr.String()))
	}
	if err := archive.Wait(); err != nil {
		return fmt.Errorf("git archive: %v: %s", err, firstLine(aerr.String()))
	}
	return nil
}

// Build builds pkg's test binary from src into out, with the go test
// build flags. pkg is resolved in src.Dir; it must name one package with
// test files.
func (b *Builder) Build(ctx context.Context, src Source, pkg string, flags []string, out string) (Package, error) {
	importPath, dir, err := b.list(ctx, src.Dir, pkg, flags)
	if err != nil {
		return Package{}, err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return Package{}, err
	}
	args := append([]string{"test", "-c", "-o", out}, flags...)
	cmd := exec.CommandContext(ctx, b.goPath(), append(args, pkg)...)
	cmd.Dir = src.Dir
	var o bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &o
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return Package{}, ctx.Err()
		}
		return Package{}, fmt.Errorf("go test -c %s%s failed: %s", pkg, where(src), firstLine(o.String()))
	}
	if _, err := os.Stat(out); err != nil {
		return Package{}, fmt.Errorf("package %s%s has no test files: go test -c wrote no test binary, so there is nothing to stress", importPath, where(src))
	}
	return Package{Source: src, ImportPath: importPath, Dir: dir, Binary: out, Flags: flags}, nil
}

// List returns the import path and folder of pkg resolved in src; it
// refuses a pattern that names no package or several.
func (b *Builder) List(ctx context.Context, src Source, pkg string, flags []string) (importPath, dir string, err error) {
	return b.list(ctx, src.Dir, pkg, flags)
}

// list returns pkg's import path and folder; it refuses a pattern that
// names no package or several.
func (b *Builder) list(ctx context.Context, dir, pkg string, flags []string) (importPath, pkgDir string, err error) {
	args := []string{"list", "-f", "{{.ImportPath}}\t{{.Dir}}"}
	for _, f := range flags {
		for _, p := range []string{"-tags=", "-mod=", "-modfile=", "-overlay="} {
			if strings.HasPrefix(f, p) {
				args = append(args, f)
			}
		}
	}
	cmd := exec.CommandContext(ctx, b.goPath(), append(args, pkg)...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", "", fmt.Errorf("go list %s: %s", pkg, firstLine(errb.String()+err.Error()))
	}
	var lines []string
	for _, l := range strings.Split(out.String(), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		return "", "", fmt.Errorf("%s names %d packages; give one", pkg, len(lines))
	}
	importPath, pkgDir, _ = strings.Cut(lines[0], "\t")
	return importPath, pkgDir, nil
}

// Tests returns the top-level tests, examples and fuzz targets (whose seed
// corpus runs as a test) that p's binary runs with -test.run run and
// -test.skip skip: what one iteration of -test.count runs. Benchmarks are
// left out: they run only with -test.bench.
func Tests(ctx context.Context, p Package, run, skip string) ([]string, error) {
	if run == "" {
		run = "."
	}
	args := []string{"-test.list=" + run}
	cmd := exec.CommandContext(ctx, p.Binary, args...)
	cmd.Dir = p.Dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s -test.list: %v: %s", filepath.Base(p.Binary), err, firstLine(errb.String()))
	}
	var skipRE func(string) bool
	if skip != "" {
		re, err := compileTestPattern(skip)
		if err != nil {
			return nil, fmt.Errorf("-skip: %v", err)
		}
		skipRE = re
	}
	var names []string
	for _, l := range strings.Split(out.String(), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "Benchmark") || strings.HasPrefix(l, "ok ") {
			continue
		}
		if skipRE != nil && skipRE(l) {
			continue
		}
		names = append(names, l)
	}
	return names, nil
}

// Close removes the revisions' exports.
func (b *Builder) Close() error {
	var errs []error
	for _, d := range b.exports {
		errs = append(errs, os.RemoveAll(d))
	}
	b.exports = nil
	return errors.Join(errs...)
}

func (b *Builder) workDir() (string, error) {
	if b.WorkDir != "" {
		return filepath.Abs(b.WorkDir)
	}
	return os.Getwd()
}

func (b *Builder) abs(wd, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(wd, p)
}

func (b *Builder) git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, b.gitPath(), append([]string{"-C", dir}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if s := firstLine(errb.String()); s != "" {
			return "", errors.New(s)
		}
		return "", err
	}
	return strings.TrimSpace(out.String()), nil
}

func (b *Builder) goPath() string  { return cmpOr(b.Go, "go") }
func (b *Builder) gitPath() string { return cmpOr(b.Git, "git") }

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func where(src Source) string {
	switch {
	case src.Revision != "":
		return " at " + src.Spec
	case src.Spec != "":
		return " in " + src.Spec
	}
	return ""
}

// firstLine returns the first line of a tool's output that says what went
// wrong: not blank, not a "#" package header, not a FAIL summary.
func firstLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "FAIL") {
			continue
		}
		return l
	}
	return strings.TrimSpace(out)
}

// compileTestPattern compiles the top-level element of a -test.skip
// pattern (go test splits patterns at unbracketed slashes, one element per
// level of subtests).
func compileTestPattern(p string) (func(string) bool, error) {
	depth := 0
	for i, c := range p {
		if c == '[' {
			depth++
		} else if c == ']' && depth > 0 {
			depth--
		} else if c == '/' && depth == 0 {
			p = p[:i]
			break
		}
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	return re.MatchString, nil
}
