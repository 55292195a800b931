package ci

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests here run the real commands the CI files hold, with the real
// racestress binary, on a 2-round run split into more shards than rounds:
// every shard, empty or not, must hand in a valid part, and merging them
// must give the whole run. A wrapper in front of the binary adds knobs
// that make a trial take milliseconds (the deterministic finalize-order
// scenario, in process): flags given last win, so the CI files' own flags
// are all parsed and only the scenario, isolation and length are replaced.

const tinyKnobs = "--scenario finalize-order --isolate none --seconds 0.01"

// buildRacestress builds the racestress binary and a wrapper script at
// wrapper that runs it with tinyKnobs added to runs (not to merge).
func buildRacestress(t *testing.T, wrapper string) (real string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds racestress and runs every shard")
	}
	for _, tool := range []string{"sh", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s here", tool)
		}
	}
	real = filepath.Join(t.TempDir(), "racestress-real")
	out, err := exec.Command("go", "build", "-o", real, "github.com/racestress/racestress/cmd/racestress").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.NoError(t, os.MkdirAll(filepath.Dir(wrapper), 0o755))
	script := "#!/bin/sh\ncase \"$1\" in merge|report|replay|list) exec " + real + " \"$@\" ;; esac\nexec " + real + " \"$@\" " + tinyKnobs + "\n"
	require.NoError(t, os.WriteFile(wrapper, []byte(script), 0o755))
	return real
}

// runScript runs script with shell (its last element takes the script) in
// dir with env, and returns its combined output and exit status.
func runScript(t *testing.T, dir string, shell []string, script string, env []string) (string, int) {
	t.Helper()
	cmd := exec.Command(shell[0], append(shell[1:], script)...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	require.NoError(t, err, "%s", out)
	return string(out), 0
}

type mergedDoc struct {
	Groups []struct {
		Registry string         `json:"registry"`
		Runs     int            `json:"runs"`
		Outcomes map[string]int `json:"outcomes"`
	} `json:"groups"`
	Verdict struct {
		ExitCode int    `json:"exit_code"`
		Line     string `json:"line"`
	} `json:"verdict"`
}

// checkResults checks the shards in dir/results: all valid, the non-empty
// ones the run's 2 rounds, and their merge the whole run (real, unwrapped,
// run with the same flags and seed).
func checkResults(t *testing.T, real, dir string, shards int, seed string, flags []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "results", "shard-*.jsonl"))
	require.NoError(t, err)
	require.Len(t, files, shards, "every shard handed in its results file")
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		k, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "shard-"), ".jsonl"))
		lines := strings.Count(string(b), "\n")
		if k > 2 {
			assert.Equal(t, 1, lines, "shard %d of a 2-round run is its header alone", k)
		} else {
			assert.Equal(t, 3, lines, "shard %d: its header and one round of two subjects", k)
		}
	}
	merge := exec.Command(real, append([]string{"merge", "--format", "json"}, files...)...)
	out, err := merge.Output()
	require.NoError(t, err, "merge: %s", out)
	var merged mergedDoc
	require.NoError(t, json.Unmarshal(out, &merged))

	whole := filepath.Join(t.TempDir(), "whole.jsonl")
	args := append(append(append([]string{}, flags...), strings.Fields(tinyKnobs)...), "--seed", seed, "--runs", "2", "--quiet", "--out", whole)
	b, err := exec.Command(real, args...).CombinedOutput()
	require.NoError(t, err, "the unsharded run: %s", b)
	out, err = exec.Command(real, "report", whole, "--format", "json").Output()
	require.NoError(t, err)
	var want mergedDoc
	require.NoError(t, json.Unmarshal(out, &want))
	assert.Equal(t, want, merged, "the merged shards are the whole run")
	require.Len(t, merged.Groups, 2)
	for _, g := range merged.Groups {
		assert.Equal(t, 2, g.Runs, "%s ran both rounds", g.Registry)
	}
}

func TestGitHubActionsShardsMergeToTheWholeRun(t *testing.T) {
	wf := readWorkflow(t)
	shardJob, mergeJob := wf.Jobs["shard"], wf.Jobs["merge"]
	work := t.TempDir()
	real := buildRacestress(t, filepath.Join(work, "bin", "racestress"))
	n := len(shardJob.Strategy.Matrix.Shard)
	require.Greater(t, n, 2, "more shards than the test's 2 rounds")
	seed := "77"
	env := []string{"PATH=/usr/bin:/bin", "SEED=" + seed, "RUNS=2", "RACESTRESS_FLAGS=" + wf.Env["RACESTRESS_FLAGS"]}
	// GitHub runs a step's script with bash -e, and with shell: bash as
	// bash --noprofile --norc -eo pipefail.
	bash := []string{"bash", "-e", "-c"}

	// Each shard job runs on a machine of its own; the download step
	// (merge-multiple) puts every shard's results/ into one.
	merged := filepath.Join(t.TempDir(), "merge")
	require.NoError(t, os.MkdirAll(filepath.Join(merged, "results"), 0o755))
	script := stepRunning(t, shardJob.Steps, "--shard")
	for _, k := range shardJob.Strategy.Matrix.Shard {
		machine := filepath.Join(t.TempDir(), "shard")
		require.NoError(t, os.MkdirAll(filepath.Join(machine, "bin"), 0o755))
		require.NoError(t, os.Symlink(filepath.Join(work, "bin", "racestress"), filepath.Join(machine, "bin", "racestress")))
		s := strings.NewReplacer("${{ matrix.shard }}", strconv.Itoa(k), "${{ strategy.job-total }}", strconv.Itoa(n)).Replace(script)
		out, code := runScript(t, machine, bash, s, env)
		require.Equal(t, 0, code, "shard %d: %s", k, out)
		assert.Contains(t, out, "shard "+strconv.Itoa(k)+": racestress exited 0")
		entries, err := os.ReadDir(filepath.Join(machine, "results"))
		require.NoError(t, err)
		for _, e := range entries {
			require.NoError(t, os.Rename(filepath.Join(machine, "results", e.Name()), filepath.Join(merged, "results", e.Name())))
		}
	}
	checkResults(t, real, merged, n, seed, strings.Fields(wf.Env["RACESTRESS_FLAGS"]))

	// The merge job's steps, with go run ./cmd/racestress as the binary.
	goRun := strings.NewReplacer("go run ./cmd/racestress", real)
	summary := filepath.Join(merged, "summary.md")
	mergeEnv := append(env, "GITHUB_STEP_SUMMARY="+summary)
	report := stepRunning(t, mergeJob.Steps, "--format html")
	out, code := runScript(t, merged, bash, goRun.Replace(report), mergeEnv)
	require.Equal(t, 0, code, out)
	page, err := os.ReadFile(filepath.Join(merged, "report.html"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(page), "<!DOCTYPE html>"))
	assert.True(t, strings.HasSuffix(strings.TrimSpace(string(page)), "</html>"), "the page ends as a page, no verdict line after it")
	md, err := os.ReadFile(summary)
	require.NoError(t, err)
	assert.Contains(t, string(md), "**verdict**: PASS unfixed clean in 2 trials")
	last := mergeJob.Steps[len(mergeJob.Steps)-1]
	out, code = runScript(t, merged, bash, goRun.Replace(last.Run), mergeEnv)
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "racestress: PASS unfixed clean in 2 trials")
}

// k8sMerge is the merge command the manifest's comment tells users to run.
var k8sMerge = regexp.MustCompile(`"command": \["/bin/sh", "-c", "([^"]+)"\]`)

func TestKubernetesShardsMergeToTheWholeRun(t *testing.T) {
	objs := readManifest(t)
	var job *k8sObject
	for i := range objs {
		if objs[i].Kind == "Job" {
			job = &objs[i]
		}
	}
	require.NotNil(t, job)
	c := job.Spec.Template.Spec.Containers[0]
	vars := map[string]string{}
	for _, e := range c.Env {
		vars[e.Name] = e.Value
	}
	shards, err := strconv.Atoi(vars["SHARDS"])
	require.NoError(t, err)
	require.Greater(t, shards, 2, "more shards than the test's 2 rounds")
	work := t.TempDir()
	real := buildRacestress(t, filepath.Join(work, "path", "racestress"))
	// Every pod mounts one volume at /results; here it is one folder.
	volume := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(volume, "results"), 0o755))
	script := strings.ReplaceAll(c.Args[0], "/results/", "results/")
	env := []string{"PATH=" + filepath.Join(work, "path") + ":/usr/bin:/bin", "SHARDS=" + vars["SHARDS"], "SEED=" + vars["SEED"], "RUNS=2"}
	for index := range job.Spec.Completions {
		out, code := runScript(t, volume, []string{"sh", "-c"}, script, append(env, "JOB_COMPLETION_INDEX="+strconv.Itoa(index)))
		require.Equal(t, 0, code, "pod %d: %s", index, out)
		assert.Contains(t, out, "racestress exited 0")
	}
	flags := regexp.MustCompile(`racestress (--scenario \S+ --registry \S+ --seconds \S+)`).FindStringSubmatch(script)
	require.NotNil(t, flags, "the pod's racestress flags")
	checkResults(t, real, volume, shards, vars["SEED"], strings.Fields(flags[1]))

	b, err := os.ReadFile("k8s-indexed-job.yaml")
	require.NoError(t, err)
	m := k8sMerge.FindStringSubmatch(string(b))
	require.NotNil(t, m, "the manifest shows how to merge")
	out, code := runScript(t, volume, []string{"sh", "-c"}, strings.ReplaceAll(m[1], "/results/", "results/"), env)
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "racestress: PASS unfixed clean in 2 trials")
	page, err := os.ReadFile(filepath.Join(volume, "results", "report.html"))
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(strings.TrimSpace(string(page)), "</html>"))
}
