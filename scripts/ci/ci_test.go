// Package ci holds no code: its test checks the CI files beside it (a
// GitHub Actions workflow and a Kubernetes Indexed Job for running
// racestress shards, and the weekly mutation-testing workflow), which no
// engine runs on a developer's machine. It
// parses them as YAML, checks the facts the shard/merge arithmetic depends
// on, and runs their shell scripts against a fake racestress.
package ci

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

type step struct {
	Name  string            `yaml:"name"`
	Uses  string            `yaml:"uses"`
	Run   string            `yaml:"run"`
	If    string            `yaml:"if"`
	Shell string            `yaml:"shell"`
	Env   map[string]string `yaml:"env"`
	With  map[string]string `yaml:"with"`
}

type workflow struct {
	Name string            `yaml:"name"`
	On   map[string]any    `yaml:"on"`
	Env  map[string]string `yaml:"env"`
	Jobs map[string]struct {
		Needs          any `yaml:"needs"`
		TimeoutMinutes int `yaml:"timeout-minutes"`
		Strategy       struct {
			FailFast *bool `yaml:"fail-fast"`
			Matrix   struct {
				Shard []int `yaml:"shard"`
			} `yaml:"matrix"`
		} `yaml:"strategy"`
		Steps []step `yaml:"steps"`
	} `yaml:"jobs"`
}

func readWorkflow(t *testing.T) workflow { return readWorkflowFile(t, "github-actions.yml") }

func readWorkflowFile(t *testing.T, name string) workflow {
	t.Helper()
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	var wf workflow
	require.NoError(t, yaml.Unmarshal(b, &wf), "the workflow is valid YAML")
	return wf
}

func TestGitHubActionsWorkflow(t *testing.T) {
	wf := readWorkflow(t)
	require.Contains(t, wf.Jobs, "shard")
	require.Contains(t, wf.Jobs, "merge")
	shard, merge := wf.Jobs["shard"], wf.Jobs["merge"]

	t.Run("the shard job is a matrix of shards numbered 1 to N", func(t *testing.T) {
		shards := shard.Strategy.Matrix.Shard
		require.NotEmpty(t, shards)
		for i, k := range shards {
			assert.Equal(t, i+1, k)
		}
		require.NotNil(t, shard.Strategy.FailFast)
		assert.False(t, *shard.Strategy.FailFast, "a failing shard must not cancel the others")
	})
	t.Run("each shard runs with the shared seed, its shard of N and its own results file", func(t *testing.T) {
		run := stepRunning(t, shard.Steps, "--shard")
		assert.Contains(t, run, `--shard "${{ matrix.shard }}/${{ strategy.job-total }}"`)
		assert.Contains(t, run, `--seed "$SEED"`)
		assert.Contains(t, run, `--out "results/shard-${{ matrix.shard }}.jsonl"`)
		assert.Contains(t, run, "--quiet")
		assert.Contains(t, wf.Env["SEED"], "github.run_id", "one seed per workflow run, the same in every shard")
	})
	t.Run("each shard uploads its results under its own artifact name", func(t *testing.T) {
		up := stepUsing(t, shard.Steps, "actions/upload-artifact@")
		assert.Equal(t, "shard-${{ matrix.shard }}", up.With["name"])
		assert.Equal(t, "always()", up.If, "results of a failed shard are uploaded too")
	})
	t.Run("the merge job needs the shards, merges them to HTML and uploads the report", func(t *testing.T) {
		assert.Equal(t, "shard", merge.Needs)
		down := stepUsing(t, merge.Steps, "actions/download-artifact@")
		assert.Equal(t, "shard-*", down.With["pattern"])
		assert.Equal(t, "true", down.With["merge-multiple"])
		html := stepRunning(t, merge.Steps, "--format html")
		assert.Regexp(t, `racestress merge --format html results/shard-\*\.jsonl > report\.html`, html)
		up := stepUsing(t, merge.Steps, "actions/upload-artifact@")
		assert.Equal(t, "report.html", up.With["path"])
		last := merge.Steps[len(merge.Steps)-1]
		assert.Equal(t, "go run ./cmd/racestress merge results/shard-*.jsonl", strings.TrimSpace(last.Run), "the table and the verdict end the log")
	})
	t.Run("every action is pinned to a major version", func(t *testing.T) {
		for _, job := range wf.Jobs {
			for _, s := range job.Steps {
				if s.Uses != "" {
					assert.Regexp(t, `^[\w-]+/[\w-]+@v\d+$`, s.Uses)
				}
			}
		}
	})
	t.Run("the shard script passes its shard and hands in results whatever the verdict", func(t *testing.T) {
		script := stepRunning(t, shard.Steps, "--shard")
		script = strings.NewReplacer("${{ matrix.shard }}", "3", "${{ strategy.job-total }}", strconv.Itoa(len(shard.Strategy.Matrix.Shard))).Replace(script)
		env := []string{"SEED=4242", "RUNS=200", "RACESTRESS_FLAGS=" + wf.Env["RACESTRESS_FLAGS"]}
		for status, want := range map[int]int{0: 0, 1: 0, 3: 0, 2: 2, 130: 130} {
			args, code := runWithFakeRacestress(t, "bin/racestress", []string{"bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"}, script, env, status)
			assert.Equal(t, want, code, "racestress exiting %d", status)
			assert.Contains(t, args, "--seed 4242 --runs 200 --shard 3/4 --out results/shard-3.jsonl --quiet")
			assert.Contains(t, args, "--scenario bpo24484")
		}
	})
}

func TestMutationWorkflow(t *testing.T) {
	wf := readWorkflowFile(t, "mutation.yml")
	require.Contains(t, wf.Jobs, "mutation")
	job := wf.Jobs["mutation"]

	t.Run("it runs weekly", func(t *testing.T) {
		sched, ok := wf.On["schedule"].([]any)
		require.True(t, ok, "a schedule: %v", wf.On)
		require.Len(t, sched, 1)
		cron := strings.Fields(sched[0].(map[string]any)["cron"].(string))
		require.Len(t, cron, 5)
		assert.Equal(t, []string{"*", "*"}, cron[2:4], "every month, any day of the month")
		assert.Regexp(t, `^[0-6]$`, cron[4], "one day of the week")
		assert.Regexp(t, `^\d+$`, cron[0])
		assert.Regexp(t, `^\d+$`, cron[1])
		assert.Contains(t, wf.On, "workflow_dispatch", "and by hand")
	})
	t.Run("it runs the script on the default packages and keeps the job's time bounded", func(t *testing.T) {
		run := stepRunning(t, job.Steps, "scripts/mutation.sh")
		assert.Regexp(t, `(?m)^\s*scripts/mutation\.sh \|`, run, "no package list: the script's defaults and thresholds")
		assert.Positive(t, job.TimeoutMinutes)
		up := stepUsing(t, job.Steps, "actions/upload-artifact@")
		assert.Equal(t, "always()", up.If, "the reports of a failing run are uploaded too")
		for _, s := range job.Steps {
			if strings.Contains(s.Run, "scripts/mutation.sh") {
				assert.Equal(t, strings.TrimSuffix(up.With["path"], "/"), s.Env["MUTATION_OUT"], "the upload takes what the script wrote")
			}
		}
	})
	t.Run("every action is pinned to a major version", func(t *testing.T) {
		for _, s := range job.Steps {
			if s.Uses != "" {
				assert.Regexp(t, `^[\w-]+/[\w-]+@v\d+$`, s.Uses)
			}
		}
	})
	t.Run("the script's exit status is the job's", func(t *testing.T) {
		var s step
		for _, x := range job.Steps {
			if strings.Contains(x.Run, "scripts/mutation.sh") {
				s = x
			}
		}
		require.Equal(t, "bash", s.Shell, "GitHub runs shell: bash as bash --noprofile --norc -eo pipefail")
		for _, status := range []int{0, 1, 2} {
			_, code := runWithFakeRacestress(t, "scripts/mutation.sh", []string{"bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"}, s.Run,
				[]string{"GITHUB_STEP_SUMMARY=summary.md"}, status)
			assert.Equal(t, status, code, "scripts/mutation.sh exiting %d", status)
		}
	})
}

type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		CompletionMode string `yaml:"completionMode"`
		Completions    int    `yaml:"completions"`
		Parallelism    int    `yaml:"parallelism"`
		Template       struct {
			Spec struct {
				RestartPolicy string `yaml:"restartPolicy"`
				Containers    []struct {
					Image   string   `yaml:"image"`
					Command []string `yaml:"command"`
					Args    []string `yaml:"args"`
					Env     []struct {
						Name  string `yaml:"name"`
						Value string `yaml:"value"`
					} `yaml:"env"`
					VolumeMounts []struct {
						Name      string `yaml:"name"`
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
				} `yaml:"containers"`
				Volumes []struct {
					Name                  string `yaml:"name"`
					PersistentVolumeClaim struct {
						ClaimName string `yaml:"claimName"`
					} `yaml:"persistentVolumeClaim"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

func readManifest(t *testing.T) []k8sObject {
	t.Helper()
	f, err := os.Open("k8s-indexed-job.yaml")
	require.NoError(t, err)
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var objs []k8sObject
	for {
		var o k8sObject
		err := dec.Decode(&o)
		if err != nil {
			require.Equal(t, "EOF", err.Error(), "the manifest is valid YAML")
			break
		}
		objs = append(objs, o)
	}
	return objs
}

func TestKubernetesIndexedJob(t *testing.T) {
	objs := readManifest(t)
	var job, pvc *k8sObject
	for i := range objs {
		switch objs[i].Kind {
		case "Job":
			job = &objs[i]
		case "PersistentVolumeClaim":
			pvc = &objs[i]
		}
	}
	require.NotNil(t, job, "the manifest holds a Job")
	require.NotNil(t, pvc, "and the volume its pods write to")
	spec := job.Spec.Template.Spec
	require.Len(t, spec.Containers, 1)
	c := spec.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}

	t.Run("the Job is Indexed with one completion per shard", func(t *testing.T) {
		assert.Equal(t, "Indexed", job.Spec.CompletionMode)
		assert.Equal(t, strconv.Itoa(job.Spec.Completions), env["SHARDS"])
		assert.Positive(t, job.Spec.Parallelism)
		assert.LessOrEqual(t, job.Spec.Parallelism, job.Spec.Completions)
		assert.Equal(t, "Never", spec.RestartPolicy)
		assert.NotEmpty(t, env["SEED"], "one seed shared by every pod")
	})
	t.Run("results go to the shared volume", func(t *testing.T) {
		require.Len(t, c.VolumeMounts, 1)
		require.Len(t, spec.Volumes, 1)
		assert.Equal(t, c.VolumeMounts[0].Name, spec.Volumes[0].Name)
		assert.Equal(t, pvc.Metadata.Name, spec.Volumes[0].PersistentVolumeClaim.ClaimName)
		assert.Contains(t, strings.Join(c.Args, "\n"), `out="`+c.VolumeMounts[0].MountPath+`/shard-$shard.jsonl"`)
	})
	t.Run("each pod runs shard JOB_COMPLETION_INDEX+1 of SHARDS", func(t *testing.T) {
		require.Equal(t, []string{"/bin/sh", "-c"}, c.Command)
		require.Len(t, c.Args, 1)
		script := strings.ReplaceAll(c.Args[0], "/results/", "results/") // the volume, here a directory
		vars := []string{"SHARDS=" + env["SHARDS"], "SEED=" + env["SEED"], "RUNS=" + env["RUNS"]}
		for index := range job.Spec.Completions {
			args, code := runWithFakeRacestress(t, "racestress", []string{"sh", "-c"}, script, append(vars, "JOB_COMPLETION_INDEX="+strconv.Itoa(index)), 0)
			require.Equal(t, 0, code)
			k := strconv.Itoa(index + 1)
			assert.Contains(t, args, "--seed "+env["SEED"]+" --runs "+env["RUNS"]+" --shard "+k+"/"+env["SHARDS"]+" --out results/shard-"+k+".jsonl --quiet")
		}
	})
	t.Run("a shard's verdict does not fail its pod but a usage error does", func(t *testing.T) {
		vars := []string{"SHARDS=8", "SEED=1", "RUNS=8", "JOB_COMPLETION_INDEX=0"}
		script := strings.ReplaceAll(c.Args[0], "/results/", "results/")
		for status, want := range map[int]int{1: 0, 3: 0, 2: 2} {
			_, code := runWithFakeRacestress(t, "racestress", []string{"sh", "-c"}, script, vars, status)
			assert.Equal(t, want, code, "racestress exiting %d", status)
		}
	})
}

// runWithFakeRacestress runs script with shell in a fresh directory where
// racestress (at path bin, on PATH when bin has no slash; or any other
// program named by bin) is a fake that records its arguments and exits with
// status. It returns the arguments
// and the script's exit code.
func runWithFakeRacestress(t *testing.T, bin string, shell []string, script string, env []string, status int) (args string, code int) {
	t.Helper()
	if _, err := exec.LookPath(shell[0]); err != nil {
		t.Skipf("no %s here: %v", shell[0], err)
	}
	dir := t.TempDir()
	fake := filepath.Join(dir, bin)
	if !strings.Contains(bin, "/") {
		fake = filepath.Join(dir, "path", bin)
	}
	require.NoError(t, os.MkdirAll(filepath.Dir(fake), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "results"), 0o755))
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\necho \"$*\" > \"$FAKE_ARGS\"\nexit $FAKE_STATUS\n"), 0o755))
	cmd := exec.Command(shell[0], append(shell[1:], script)...)
	cmd.Dir = dir
	cmd.Env = append(env, "PATH="+filepath.Join(dir, "path")+":/usr/bin:/bin",
		"FAKE_ARGS="+filepath.Join(dir, "args"), "FAKE_STATUS="+strconv.Itoa(status))
	out, err := cmd.CombinedOutput()
	code = 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		require.True(t, ok, "%v: %s", err, out)
		code = ee.ExitCode()
	}
	b, err := os.ReadFile(filepath.Join(dir, "args"))
	require.NoError(t, err, "racestress was not run: %s", out)
	return spaces.ReplaceAllString(strings.TrimSpace(string(b)), " "), code
}

var spaces = regexp.MustCompile(`\s+`)

func stepRunning(t *testing.T, steps []step, text string) string {
	t.Helper()
	for _, s := range steps {
		if strings.Contains(s.Run, text) {
			return s.Run
		}
	}
	require.Failf(t, "no step runs "+text, "steps: %+v", steps)
	return ""
}

func stepUsing(t *testing.T, steps []step, action string) step {
	t.Helper()
	for _, s := range steps {
		if strings.HasPrefix(s.Uses, action) {
			return s
		}
	}
	require.Failf(t, "no step uses "+action, "steps: %+v", steps)
	return step{}
}
