package gotest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repo makes a git repository with a module whose package sub/p has a
// test that fails at the first commit and passes at the second; it
// returns the repository and the first commit's hash.
func repo(t *testing.T) (dir, first string) {
	t.Helper()
	for _, tool := range []string{"git", "go", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not on PATH", tool)
		}
	}
	dir = t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
		return strings.TrimSpace(string(out))
	}
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	}
	run("init", "-q")
	write("go.mod", "module example.com/m\n\ngo 1.26\n")
	write("sub/p/p.go", "package p\n\nfunc Answer() int { return 41 }\n")
	write("sub/q/q.go", "package q\n")
	write("sub/p/p_test.go", "package p\n\nimport \"testing\"\n\nfunc TestAnswer(t *testing.T) {\n\tif Answer() != 42 {\n\t\tt.Fatal(\"wrong\")\n\t}\n}\n\nfunc TestOther(t *testing.T) {}\n\nfunc BenchmarkX(b *testing.B) {}\n")
	run("add", ".")
	run("commit", "-q", "-m", "buggy")
	first = run("rev-parse", "HEAD")
	write("sub/p/p.go", "package p\n\nfunc Answer() int { return 42 }\n")
	run("commit", "-q", "-am", "fixed")
	return dir, first
}

func TestBuildTwoRevisionsFromASubfolder(t *testing.T) {
	dir, first := repo(t)
	ctx := context.Background()
	b := &Builder{WorkDir: filepath.Join(dir, "sub"), Temp: t.TempDir()}
	out := t.TempDir()

	old, err := b.Resolve(ctx, "HEAD~1")
	require.NoError(t, err)
	assert.Equal(t, first, old.Revision)
	assert.Equal(t, "sub", filepath.Base(old.Dir), "the export keeps the working directory's place")
	cur, err := b.Resolve(ctx, "HEAD")
	require.NoError(t, err)

	bad, err := b.Build(ctx, old, "./p", []string{"-tags=x"}, filepath.Join(out, "old.test"))
	require.NoError(t, err)
	good, err := b.Build(ctx, cur, "./p", nil, filepath.Join(out, "new.test"))
	require.NoError(t, err)
	assert.Equal(t, "example.com/m/sub/p", bad.ImportPath)
	assert.True(t, strings.HasPrefix(bad.Dir, old.Dir), "the test runs in the revision's own package folder")

	runTest := func(p Package) error {
		cmd := exec.Command(p.Binary, "-test.run=^TestAnswer$")
		cmd.Dir = p.Dir
		return cmd.Run()
	}
	assert.Error(t, runTest(bad), "the first revision's test fails")
	assert.NoError(t, runTest(good), "the second's passes")

	names, err := Tests(ctx, good, "", "")
	require.NoError(t, err)
	assert.Equal(t, []string{"TestAnswer", "TestOther"}, names, "benchmarks do not run in an iteration")
	names, err = Tests(ctx, good, "Test", "Other/x")
	require.NoError(t, err)
	assert.Equal(t, []string{"TestAnswer"}, names)

	status, err := exec.Command("git", "-C", dir, "status", "--porcelain").Output()
	require.NoError(t, err)
	assert.Empty(t, string(status), "the user's tree is untouched")
	exports := b.exports
	require.NoError(t, b.Close())
	for _, e := range exports {
		assert.NoDirExists(t, e)
	}
}

func TestResolveADirectoryAndRefuseWhatIsNeither(t *testing.T) {
	dir, _ := repo(t)
	ctx := context.Background()
	b := &Builder{WorkDir: dir, Temp: t.TempDir()}
	src, err := b.Resolve(ctx, "sub")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "sub"), src.Dir)
	assert.Empty(t, src.Revision)

	_, err = b.Resolve(ctx, "no-such-rev")
	assert.ErrorContains(t, err, "no-such-rev is neither a directory nor a revision of")

	outside := &Builder{WorkDir: t.TempDir()}
	_, err = outside.Resolve(ctx, "HEAD")
	assert.ErrorContains(t, err, "HEAD is neither a directory nor, outside a git repository, a revision")

	_, err = b.Build(ctx, src, "./...", nil, filepath.Join(t.TempDir(), "x.test"))
	assert.ErrorContains(t, err, "./... names 2 packages; give one")
	_, err = b.Build(ctx, src, "./q", nil, filepath.Join(t.TempDir(), "q.test"))
	assert.ErrorContains(t, err, "package example.com/m/sub/q in sub has no test files")
}

func TestCompileTestPattern(t *testing.T) {
	m, err := compileTestPattern("TestA[/]x/sub")
	require.NoError(t, err)
	assert.True(t, m("TestA/x"), "a slash in brackets is part of the element")
	m, err = compileTestPattern("^TestB$/x")
	require.NoError(t, err)
	assert.True(t, m("TestB"))
	assert.False(t, m("TestBB"))
	_, err = compileTestPattern("(")
	assert.Error(t, err)
}
