#!/usr/bin/env bash
# Mutation testing (issue 14): how many deliberate bugs do the tests catch?
#
#   scripts/mutation.sh [PACKAGE...]   # default: finalizer report result scenarios
#
# Installs gremlins at a pinned version (into racestress-out/tools/, which git
# ignores, unless GREMLINS names a binary), runs it without -race on each
# package (operators: gremlins' defaults plus --invert-logical and
# --invert-loopctrl), then checks and completes what gremlins v0.6.0 reports:
#
#   - "go test" exits 1 when the mutated package does not compile, so
#     gremlins counts such a mutant as killed: each killed mutant is built
#     again, and one that does not compile is not viable, not killed.
#   - Go's coverage blocks leave out the expressions of a switch's cases,
#     what follows a function literal in a statement (the block ends where
#     the literal begins) and package-level declarations, so gremlins calls
#     their mutants "not covered" and never runs them: those in a switch or
#     a statement that runs, and those at package level, are applied here
#     one by one, the package's tests run on them (a mutant that does not
#     compile is not viable), and the file restored.
#   - scripts/mutation-equivalent.txt lists mutants that no test can or
#     should kill (equivalent, or only changing timing), one a line:
#     FILE:LINE:COLUMN OPERATOR REASON. They leave the count; an entry that
#     matches no mutant is named under "Notes" (the code moved: update the
#     list), and so is a listed mutant that a test kills.
#
# It prints a Markdown table (also written to racestress-out/mutation-<time>/
# with gremlins' JSON and logs), lists the survivors, and exits 1 when a
# package is below its threshold, 2 on a setup error. Thresholds, in percent:
# efficacy = killed / (killed + lived), default finalizer 90, report 90,
# result 85, scenarios 75, any other 90; mutation coverage = share of
# viable mutants a test reached, default 90. Override one package with
# MUTATION_EFFICACY_<PKG> / MUTATION_COVERAGE_<PKG> (path upper-cased, "/" as
# "_": MUTATION_EFFICACY_HARNESS_RESULT=80), all with MUTATION_EFFICACY /
# MUTATION_COVERAGE. Other knobs: MUTATION_WORKERS (gremlins workers,
# default 1), MUTATION_TIMEOUT_COEFFICIENT (a mutant's tests may take this
# many times the unmutated run, compile included; default 10; the second
# pass's runs get at least a minute), MUTATION_NICE (default 10: the machine is shared), MUTATION_OUT,
# MUTATION_EXCLUDE (space-separated regular expressions, matched against a
# file's path within its package, of files gremlins leaves alone, e.g.
# 'stats\.go$ plots\.go$' to measure the rest of a package; the table then
# covers only the other files).
#
# The sources are copied (tracked and untracked, not ignored, files) to a
# temporary directory first: the work tree is never mutated.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

gremlins_version=v0.6.0
if [ "$#" -eq 0 ]; then
  set -- finalizer report result scenarios
fi
for pkg in "$@"; do
  pkg=${pkg#./}
  if ! ls "$pkg"/*.go >/dev/null 2>&1; then
    echo "mutation: $pkg: no Go package there" >&2
    exit 2
  fi
done

gremlins=${GREMLINS:-}
if [ -z "$gremlins" ]; then
  gobin=$root/racestress-out/tools/gremlins-$gremlins_version
  gremlins=$gobin/gremlins
  if [ ! -x "$gremlins" ]; then
    echo "mutation: installing gremlins $gremlins_version into $gobin" >&2
    GOBIN=$gobin go install "github.com/go-gremlins/gremlins/cmd/gremlins@$gremlins_version"
  fi
fi

out=${MUTATION_OUT:-$root/racestress-out/mutation-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/src
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    if [ -f "$f" ]; then printf '%s\0' "$f"; fi
  done | tar --null -T - -cf - | tar -xf - -C "$src"
else
  tar --exclude=./racestress-out --exclude=./.git -cf - . | tar -xf - -C "$src"
fi

nice=(nice -n "${MUTATION_NICE:-10}")
coefficient=${MUTATION_TIMEOUT_COEFFICIENT:-10}
# -count=1: gremlins times its coverage run to set each mutant's timeout; a
# cached test result would make that time, and every timeout, nearly zero.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-count=1"
exclude=()
for re in ${MUTATION_EXCLUDE:-}; do
  exclude+=(--exclude-files "$re")
done
for pkg in "$@"; do
  pkg=${pkg#./}
  slug=${pkg//\//_}
  echo "mutation: $pkg ..." >&2
  if ! (cd "$src" && "${nice[@]}" "$gremlins" unleash --invert-logical --invert-loopctrl \
      --timeout-coefficient "$coefficient" --workers "${MUTATION_WORKERS:-1}" \
      "${exclude[@]}" -o "$out/$slug.json" "./$pkg") >"$out/$slug.log" 2>&1; then
    echo "mutation: gremlins failed on $pkg; its log:" >&2
    tail -n 40 "$out/$slug.log" >&2
    exit 2
  fi
done

# The report: a small Go program, so that it needs nothing but Go.
mkdir -p "$tmp/mutreport"
printf 'module mutreport\n\ngo 1.26\n' >"$tmp/mutreport/go.mod"
cat >"$tmp/mutreport/main.go" <<'GO'
// mutreport turns gremlins' JSON reports into racestress's mutation table.
// It re-tests what gremlins v0.6.0 gets wrong (see scripts/mutation.sh),
// takes the listed equivalent mutants out of the count, prints the table
// and the survivors, and exits 1 when a package is below its threshold.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// mutations is gremlins v0.6.0's table (internal/engine/mappings.go) for
// the operators the script enables.
var mutations = map[string]map[token.Token]token.Token{
	"ARITHMETIC_BASE":       {token.ADD: token.SUB, token.MUL: token.QUO, token.QUO: token.MUL, token.REM: token.MUL, token.SUB: token.ADD},
	"CONDITIONALS_BOUNDARY": {token.GEQ: token.GTR, token.GTR: token.GEQ, token.LEQ: token.LSS, token.LSS: token.LEQ},
	"CONDITIONALS_NEGATION": {token.EQL: token.NEQ, token.GEQ: token.LSS, token.GTR: token.LEQ, token.LEQ: token.GTR, token.LSS: token.GEQ, token.NEQ: token.EQL},
	"INCREMENT_DECREMENT":   {token.DEC: token.INC, token.INC: token.DEC},
	"INVERT_NEGATIVES":      {token.SUB: token.ADD},
	"INVERT_LOGICAL":        {token.LAND: token.LOR, token.LOR: token.LAND},
	"INVERT_LOOPCTRL":       {token.BREAK: token.CONTINUE, token.CONTINUE: token.BREAK},
}

type report struct {
	Files []struct {
		Name      string `json:"file_name"`
		Mutations []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
			Line   int    `json:"line"`
			Column int    `json:"column"`
		} `json:"mutations"`
	} `json:"files"`
}

type mutant struct {
	file      string // relative to the module root
	line, col int
	op        string
	status    string // KILLED, LIVED, TIMED OUT, NOT COVERED, NOT VIABLE
	note      string // what the second pass did
	reason    string // why it is excluded, if it is
}

func (m *mutant) id() string { return fmt.Sprintf("%s:%d:%d %s", m.file, m.line, m.col, m.op) }

type exclusion struct {
	where, op, reason string
	lineNo            int
	used              bool
}

var (
	src         = flag.String("src", ".", "the module copy gremlins ran on (it is mutated and restored)")
	out         = flag.String("out", ".", "the directory holding <package>.json")
	equivFile   = flag.String("equivalents", "", "the list of equivalent and timing-only mutants")
	coefficient = flag.Int("coefficient", 10, "timeout of a mutant's test run, in runs of the unmutated tests")
)

func main() {
	flag.Parse()
	code, err := run(flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutation:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func slug(pkg string) string { return strings.ReplaceAll(pkg, "/", "_") }

func envName(kind, pkg string) string {
	return "MUTATION_" + kind + "_" + strings.ToUpper(strings.NewReplacer("/", "_", "-", "_", ".", "_").Replace(pkg))
}

func threshold(kind, pkg string, def float64) (float64, error) {
	for _, name := range []string{envName(kind, pkg), "MUTATION_" + kind} {
		if v := os.Getenv(name); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, fmt.Errorf("%s=%q: not a number", name, v)
			}
			return f, nil
		}
	}
	return def, nil
}

var defaultEfficacy = map[string]float64{"finalizer": 90, "report": 90, "result": 85, "scenarios": 75}

func run(pkgs []string) (int, error) {
	excl, err := readExclusions(*equivFile)
	if err != nil {
		return 0, err
	}
	type row struct {
		pkg                                                       string
		viable, killed, lived, timedOut, notCovered, excluded, nv int
		retested, retestKilled                                    int
		eff, cov                                                  float64
		effMin, covMin                                            float64
		ok                                                        bool
	}
	var rows []row
	var survivors, uncovered, notes, all []string
	code := 0
	for _, pkg := range pkgs {
		ms, err := readReport(pkg)
		if err != nil {
			return 0, err
		}
		prof, base, err := coverage(pkg)
		if err != nil {
			return 0, err
		}
		// At least a minute: a mutant's run compiles the package again,
		// which the cached unmutated run may not have.
		timeout := max(time.Duration(*coefficient)*base, time.Minute)
		fmt.Fprintf(os.Stderr, "mutation: %s: checking %d mutants (a build of each killed one, a test run of each hidden one; timeout %v)\n", pkg, len(ms), timeout.Round(time.Second))
		r := row{pkg: pkg}
		for _, m := range ms {
			switch m.status {
			case "NOT COVERED":
				if hidden, why := coveredAfterAll(m, prof); hidden {
					r.retested++
					st, err := test(m, pkg, timeout)
					if err != nil {
						return 0, err
					}
					m.status, m.note = st, "second pass: "+why
					if st == "KILLED" || st == "TIMED OUT" {
						r.retestKilled++
					}
				}
			case "KILLED":
				// go test exits 1 when the package does not build, so
				// gremlins counts a mutant that does not compile as killed.
				ok, err := builds(m, pkg)
				if err != nil {
					return 0, err
				}
				if !ok {
					m.status, m.note = "NOT VIABLE", "does not compile"
				}
			}
			for _, e := range excl {
				if e.where == fmt.Sprintf("%s:%d:%d", m.file, m.line, m.col) && e.op == m.op {
					e.used, m.reason = true, e.reason
					if m.status == "KILLED" {
						notes = append(notes, fmt.Sprintf("listed as equivalent but killed, take it off the list: %s (%s)", m.id(), e.reason))
					}
				}
			}
			all = append(all, strings.Join(strings.Fields(m.status+" "+describe(m)+" "+m.reason), " "))
			switch {
			case m.status == "NOT VIABLE":
				r.nv++
				continue
			case m.reason != "":
				r.excluded++
				continue
			}
			r.viable++
			switch m.status {
			case "KILLED":
				r.killed++
			case "LIVED":
				r.lived++
				survivors = append(survivors, describe(m))
			case "TIMED OUT":
				r.timedOut++
			case "NOT COVERED":
				r.notCovered++
				uncovered = append(uncovered, describe(m))
			default:
				return 0, fmt.Errorf("%s: unknown status %q", m.id(), m.status)
			}
		}
		r.eff, r.cov = 100, 100
		if r.killed+r.lived > 0 {
			r.eff = 100 * float64(r.killed) / float64(r.killed+r.lived)
		}
		if r.viable > 0 {
			r.cov = 100 * float64(r.viable-r.notCovered) / float64(r.viable)
		}
		if r.effMin, err = threshold("EFFICACY", pkg, orDefault(defaultEfficacy, pkg, 90)); err != nil {
			return 0, err
		}
		if r.covMin, err = threshold("COVERAGE", pkg, 90); err != nil {
			return 0, err
		}
		r.ok = r.eff >= r.effMin && r.cov >= r.covMin
		if !r.ok {
			code = 1
		}
		rows = append(rows, r)
	}
	for _, e := range excl {
		if !e.used && selected(e.where, pkgs) {
			notes = append(notes, fmt.Sprintf("%s:%d: %s %s matches no mutant: the code moved, update the list", filepath.Base(*equivFile), e.lineNo, e.where, e.op))
		}
	}

	var b strings.Builder
	fmt.Fprintln(&b, "| package | viable | killed | lived | timed out | not covered | excluded | efficacy | mutation coverage | threshold |")
	fmt.Fprintln(&b, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
	for _, r := range rows {
		verdict := "pass"
		if !r.ok {
			verdict = "**FAIL**"
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %s | %s | %s (efficacy ≥ %g%%, coverage ≥ %g%%) |\n",
			r.pkg, r.viable, r.killed, r.lived, r.timedOut, r.notCovered, r.excluded, pct(r.eff), pct(r.cov), verdict, r.effMin, r.covMin)
	}
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "Efficacy is killed / (killed + lived); mutation coverage is the share of viable mutants a test reached (killed, lived or timed out); both rounded down.")
	fmt.Fprintln(&b, "Viable leaves out mutants that do not compile and those excluded by "+filepath.Base(*equivFile)+" (equivalent or timing-only).")
	for _, r := range rows {
		if r.nv > 0 || r.retested > 0 {
			fmt.Fprintf(&b, "- %s: %d not viable (gremlins counted them killed); %d that gremlins called not covered were in switch cases, statements or declarations that run, re-tested: %d killed or timed out\n",
				r.pkg, r.nv, r.retested, r.retestKilled)
		}
	}
	list := func(title string, xs []string) {
		if len(xs) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s (%d):\n\n", title, len(xs))
		for _, x := range xs {
			fmt.Fprintln(&b, "- "+x)
		}
	}
	list("Survivors", survivors)
	list("Not covered", uncovered)
	list("Notes", notes)
	if err := os.WriteFile(filepath.Join(*out, "mutants.txt"), []byte(strings.Join(all, "\n")+"\n"), 0o644); err != nil {
		return 0, err
	}
	os.Stdout.WriteString(b.String())
	if err := os.WriteFile(filepath.Join(*out, "mutation.md"), []byte(b.String()), 0o644); err != nil {
		return 0, err
	}
	return code, nil
}

func orDefault(m map[string]float64, k string, def float64) float64 {
	if v, ok := m[k]; ok {
		return v
	}
	return def
}

// pct formats p rounded down to one decimal, so that it never claims more
// than was measured.
func pct(p float64) string { return strconv.FormatFloat(math.Floor(p*10+1e-9)/10, 'f', 1, 64) + "%" }

func selected(where string, pkgs []string) bool {
	for _, p := range pkgs {
		if filepath.Dir(strings.SplitN(where, ":", 2)[0]) == p {
			return true
		}
	}
	return false
}

func readExclusions(name string) ([]*exclusion, error) {
	if name == "" {
		return nil, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var xs []*exclusion
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 3 || strings.Count(fields[0], ":") != 2 || mutations[fields[1]] == nil {
			return nil, fmt.Errorf("%s:%d: want FILE:LINE:COLUMN OPERATOR REASON, got %q", name, n, line)
		}
		xs = append(xs, &exclusion{where: fields[0], op: fields[1], reason: strings.Join(fields[2:], " "), lineNo: n})
	}
	return xs, sc.Err()
}

func readReport(pkg string) ([]*mutant, error) {
	data, err := os.ReadFile(filepath.Join(*out, slug(pkg)+".json"))
	if err != nil {
		return nil, err
	}
	var rep report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("%s: %v", pkg, err)
	}
	var ms []*mutant
	for _, f := range rep.Files {
		for _, m := range f.Mutations {
			ms = append(ms, &mutant{file: filepath.ToSlash(filepath.Join(pkg, f.Name)), line: m.Line, col: m.Column, op: m.Type, status: m.Status})
		}
	}
	sort.Slice(ms, func(i, j int) bool {
		a, b := ms[i], ms[j]
		if a.file != b.file {
			return a.file < b.file
		}
		if a.line != b.line {
			return a.line < b.line
		}
		if a.col != b.col {
			return a.col < b.col
		}
		return a.op < b.op
	})
	return ms, nil
}

type block struct{ l1, c1, l2, c2 int }

// coverage runs the package's tests once, unmutated, and returns the blocks
// they executed by file, and how long the run took.
func coverage(pkg string) (map[string][]block, time.Duration, error) {
	mod, err := modulePath()
	if err != nil {
		return nil, 0, err
	}
	prof := filepath.Join(*out, slug(pkg)+".cover")
	start := time.Now()
	cmd := exec.Command("go", "test", "-count=1", "-coverprofile", prof, "./"+pkg)
	cmd.Dir = *src
	if outp, err := cmd.CombinedOutput(); err != nil {
		return nil, 0, fmt.Errorf("the unmutated tests of %s fail: %v\n%s", pkg, err, outp)
	}
	base := time.Since(start)
	f, err := os.Open(prof)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	blocks := map[string][]block{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "mode:") {
			continue
		}
		// file:l1.c1,l2.c2 statements count
		colon := strings.LastIndex(line, ":")
		var b block
		var stmts, count int
		if _, err := fmt.Sscanf(line[colon+1:], "%d.%d,%d.%d %d %d", &b.l1, &b.c1, &b.l2, &b.c2, &stmts, &count); err != nil {
			return nil, 0, fmt.Errorf("%s: %q: %v", prof, line, err)
		}
		if count > 0 {
			file := strings.TrimPrefix(line[:colon], mod+"/")
			blocks[file] = append(blocks[file], b)
		}
	}
	return blocks, base, sc.Err()
}

func modulePath() (string, error) {
	data, err := os.ReadFile(filepath.Join(*src, "go.mod"))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
			return f[1], nil
		}
	}
	return "", errors.New("go.mod names no module")
}

func covers(bs []block, line, col int) bool {
	for _, b := range bs {
		after := line > b.l1 || line == b.l1 && col >= b.c1
		before := line < b.l2 || line == b.l2 && col <= b.c2
		if after && before {
			return true
		}
	}
	return false
}

// coveredAfterAll reports whether a mutant gremlins called not covered is
// in code the tests run: Go's coverage blocks leave out the expressions of
// a switch's cases (gremlins then sees no block), what follows a function
// literal in a statement (its block ends at the literal) and package-level
// declarations, which have no blocks.
func coveredAfterAll(m *mutant, prof map[string][]block) (bool, string) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join(*src, m.file), nil, 0)
	if err != nil {
		return false, ""
	}
	var stack []ast.Node
	var found []ast.Node
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return false
		}
		p, e := fset.Position(n.Pos()), fset.Position(n.End())
		in := (m.line > p.Line || m.line == p.Line && m.col >= p.Column) && (m.line < e.Line || m.line == e.Line && m.col < e.Column)
		if !in {
			return false
		}
		stack = append(stack, n)
		if found == nil || len(stack) > len(found) {
			found = append([]ast.Node(nil), stack...)
		}
		return true
	})
	stmtSeen := false
	for i := len(found) - 1; i >= 0; i-- {
		if st, ok := found[i].(ast.Stmt); ok && !stmtSeen {
			stmtSeen = true
			// A statement's coverage block ends where its first function
			// literal begins: what follows the literal in the statement has
			// no block, yet runs whenever the statement does.
			if lit := firstFuncLit(st); lit != nil && fset.Position(lit.End()).Line <= m.line {
				end := fset.Position(lit.End())
				if end.Line < m.line || end.Column <= m.col {
					pos := fset.Position(st.Pos())
					if covers(prof[m.file], pos.Line, pos.Column) {
						return true, fmt.Sprintf("after a function literal in the statement at line %d, which runs", pos.Line)
					}
				}
			}
		}
		switch n := found[i].(type) {
		case *ast.FuncDecl, *ast.FuncLit:
			return false, "" // in a function: its blocks are right
		case *ast.CaseClause:
			if i < 2 || i+1 >= len(found) {
				continue
			}
			sw, ok := found[i-2].(*ast.SwitchStmt)
			if !ok {
				continue
			}
			for _, x := range n.List {
				if found[i+1] == x {
					pos := fset.Position(sw.Pos())
					if covers(prof[m.file], pos.Line, pos.Column) {
						return true, fmt.Sprintf("a case of the switch at line %d, which runs", pos.Line)
					}
					return false, ""
				}
			}
		}
	}
	return true, "a package-level declaration"
}

// firstFuncLit returns the first function literal in n, or nil.
func firstFuncLit(n ast.Node) *ast.FuncLit {
	var lit *ast.FuncLit
	ast.Inspect(n, func(x ast.Node) bool {
		if l, ok := x.(*ast.FuncLit); ok && lit == nil {
			lit = l
		}
		return lit == nil
	})
	return lit
}

// mutate applies m to its file and returns a function that restores it.
func mutate(m *mutant) (restore func() error, err error) {
	name := filepath.Join(*src, m.file)
	orig, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	tf := fset.AddFile(name, -1, len(orig))
	var s scanner.Scanner
	s.Init(tf, orig, nil, 0)
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			return nil, fmt.Errorf("%s: no %s operator there: the source is not what gremlins saw", m.id(), m.op)
		}
		p := fset.Position(pos)
		if p.Line != m.line || p.Column != m.col {
			continue
		}
		to, ok := mutations[m.op][tok]
		if !ok {
			continue
		}
		text := tok.String()
		if lit != "" {
			text = lit
		}
		off := tf.Offset(pos)
		mutated := append(append(append([]byte(nil), orig[:off]...), to.String()...), orig[off+len(text):]...)
		if err := os.WriteFile(name, mutated, 0o644); err != nil {
			return nil, err
		}
		return func() error { return os.WriteFile(name, orig, 0o644) }, nil
	}
}

func builds(m *mutant, pkg string) (bool, error) {
	restore, err := mutate(m)
	if err != nil {
		return false, err
	}
	cmd := exec.Command("go", "build", "-o", os.DevNull, "./"+pkg)
	cmd.Dir = *src
	err = cmd.Run()
	if rerr := restore(); rerr != nil {
		return false, rerr
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return false, err
	}
	return err == nil, nil
}

// test runs the package's tests on m, as gremlins does, and returns its
// status.
func test(m *mutant, pkg string, timeout time.Duration) (string, error) {
	restore, err := mutate(m)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-failfast", "-timeout", timeout.String(), "./"+pkg)
	cmd.Dir = *src
	var outp bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outp, &outp
	err = cmd.Run()
	if rerr := restore(); rerr != nil {
		return "", rerr
	}
	text := outp.String()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return "LIVED", nil
	case ctx.Err() != nil || strings.Contains(text, "panic: test timed out"):
		return "TIMED OUT", nil
	case strings.Contains(text, "[build failed]") || strings.Contains(text, "[setup failed]"):
		return "NOT VIABLE", nil
	case errors.As(err, &exit):
		return "KILLED", nil
	}
	return "", err
}

// describe names a mutant with its source line.
func describe(m *mutant) string {
	s := m.id()
	if f, err := os.Open(filepath.Join(*src, m.file)); err == nil {
		defer f.Close()
		r := bufio.NewReader(f)
		for i := 1; ; i++ {
			line, err := r.ReadString('\n')
			if i == m.line {
				s += ": `" + strings.TrimSpace(line) + "`"
				break
			}
			if err == io.EOF {
				break
			}
		}
	}
	if m.note != "" {
		s += " (" + m.note + ")"
	}
	return s
}
GO
(cd "$tmp/mutreport" && GOFLAGS= go build -o "$tmp/mutreport/mutreport" .)
status=0
"${nice[@]}" "$tmp/mutreport/mutreport" -src "$src" -out "$out" -coefficient "$coefficient" \
  -equivalents "$root/scripts/mutation-equivalent.txt" "${@#./}" || status=$?
echo "mutation: details in $out" >&2
exit "$status"
