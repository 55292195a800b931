package scenarios_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// workerEnv makes the test binary a worker ("process" or "pool") that runs
// trials of handy's subjects, so that the wrong registries are tested in
// the isolation a run uses, under its watchdog.
const workerEnv = "RACESTRESS_SCENARIOS_WORKER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(workerEnv); mode != "" {
		os.Exit(worker(mode))
	}
	os.Exit(m.Run())
}

func worker(mode string) int {
	exec := harness.InProcess{Subjects: handySubjects()}
	out := os.NewFile(3, "result")
	var err error
	switch mode {
	case "process":
		err = harness.Worker(context.Background(), os.Stdin, out, exec)
	case "pool":
		var cfg harness.PoolWorkerConfig
		if cfg, err = harness.PoolWorkerConfigFromEnv(); err == nil {
			err = harness.PoolWorker(context.Background(), os.Stdin, out, os.Stderr, exec, cfg)
		}
	default:
		err = fmt.Errorf("unknown worker mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// workerProcess runs trials in a child of the test binary, under the
// harness's default watchdog.
func workerProcess(t *testing.T, mode string) harness.Processes {
	return harness.Processes{Path: os.Args[0], Env: []string{workerEnv + "=" + mode}, LogDir: t.TempDir()}
}

func TestAWrongRegistryIsNamedInEveryIsolation(t *testing.T) {
	// The cases of TestAWrongRegistryIsNamedForWhatItDoes, each in a child
	// process and in a pool worker, under the executors' default watchdog:
	// every one graded for what it is, none a hang. The spec carries the
	// watchdog, as the executors fill it (WatchdogNs).
	if testing.Short() {
		t.Skip("starts a process per trial")
	}
	pool := &harness.Pool{Process: workerProcess(t, "pool")}
	t.Cleanup(func() { pool.Close() })
	executors := []struct {
		name string
		exec harness.Executor
	}{{"process", workerProcess(t, "process")}, {"pool", pool}}
	for _, e := range executors {
		for _, seconds := range []float64{4, 0.5} {
			for i, c := range wrongCases() {
				sub := handySubject(c.bug)
				t.Run(fmt.Sprintf("%s/%s/%s/%v", e.name, c.scenario.Name, c.bug, seconds), func(t *testing.T) {
					k := knobsOf(t, "", seconds)
					spec := harness.Spec{
						Trial: i, Scenario: c.scenario.Name, Registry: sub.Name, Role: result.Control,
						Signature: []result.Outcome{c.outcome}, Seed: 1, Knobs: k,
						WatchdogNs: int64(harness.DefaultTimeout(k)),
					}
					rec, ok := e.exec.Execute(context.Background(), spec)
					require.True(t, ok)
					t.Logf("%s after %v: %s", rec.Outcome, time.Duration(rec.TTFFNanos).Round(time.Microsecond), rec.FirstError)
					require.Equal(t, c.outcome, rec.Outcome, rec.FirstError)
					assert.True(t, rec.Detected)
					assert.True(t, rec.Signature)
					for _, m := range c.message {
						assert.Contains(t, rec.FirstError, m)
					}
				})
			}
		}
	}
}

func TestALostCallbackIsLostUnderTheShortestWatchdog(t *testing.T) {
	// A registry that loses every callback of its GC cleanups, in a trial
	// whose deadline is the shortest watchdog the harness accepts (the
	// trial's length plus a second), counted from the trial's start: still
	// graded lost, its teardown fitted into what is left.
	k := knobsOf(t, "", 0.5)
	sub := handySubject(cleanupNoCall)
	for _, sc := range []*scenarios.Scenario{scenarios.ThreadSafety, scenarios.FinalizeOrder} {
		env := scenarios.Env{Subject: sub, Knobs: k, Seed: 2, Deadline: time.Now().Add(harness.MinTimeout(k))}
		obs := sc.Trial(context.Background(), env)
		assert.Equal(t, result.Lost, obs.Outcome, "%s: %s", sc.Name, obs.FirstError)
	}
}
