package harness_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/harness/command"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

func execSpec(name string, role result.Role) harness.Spec {
	s := harness.Spec{Trial: 3, Scenario: harness.ExecScenario.Name, Registry: name, Role: role, Seed: 7}
	if role == result.Control {
		s.Signature = harness.ExecSignature
	}
	return s
}

func TestCommandRecord(t *testing.T) {
	wall := 25 * time.Millisecond
	for _, o := range []result.Outcome{result.Fail, result.Panic, result.DataRace, result.Fatal, result.Crash, result.Hang} {
		t.Run(string(o)+" fails a clean command and detects a control", func(t *testing.T) {
			res := command.Result{Outcome: o, Message: string(o) + ": it broke", Signature: string(o) + ": sig", Test: "TestX",
				ExitCode: 1, Wall: wall, PeakRSS: 1 << 20, Log: "/tmp/run/logs/trial-3.log", TimedOut: o == result.Hang}
			for _, role := range []result.Role{result.Clean, result.Control} {
				spec := execSpec("cmd", role)
				rec := harness.CommandRecord(harness.ExecScenario, spec, result.Record{Trial: 3, Scenario: "exec", Registry: "cmd"}, res, "/tmp/run")
				require.NoError(t, rec.Validate())
				assert.Equal(t, o, rec.Outcome)
				assert.Equal(t, result.Forbidden, rec.Grade)
				assert.True(t, rec.Detected)
				assert.True(t, rec.Hit(), "%s: a clean command's failure, a control's detection", role)
				assert.Equal(t, role == result.Control, rec.Signature)
				assert.Equal(t, int64(wall), rec.TTFFNanos)
				assert.Equal(t, int64(wall), rec.DurationNs)
				assert.Equal(t, string(o)+": it broke", rec.FirstError)
				assert.Equal(t, string(o)+": sig", rec.FailureSignature)
				assert.Equal(t, "TestX", rec.Test)
				require.NotNil(t, rec.Process)
				assert.Equal(t, "exec", rec.Process.Isolation)
				assert.Equal(t, filepath.Join("logs", "trial-3.log"), rec.Process.Log, "relative to the results file's folder")
				assert.Equal(t, o == result.Hang, rec.Process.TimedOut)
				assert.Equal(t, map[result.Outcome]int{o: 1}, rec.Failures)
			}
		})
	}
	t.Run("ok passes", func(t *testing.T) {
		rec := harness.CommandRecord(harness.ExecScenario, execSpec("cmd", result.Clean), result.Record{Scenario: "exec", Registry: "cmd"},
			command.Result{Outcome: result.OK, Message: "ok", Wall: wall}, "")
		assert.Equal(t, result.Acceptable, rec.Grade)
		assert.False(t, rec.Detected)
		assert.Zero(t, rec.TTFFNanos)
		assert.Empty(t, rec.FirstError)
		assert.Equal(t, int64(wall), rec.DurationNs)
	})
	t.Run("an ignored failure passes and says what was ignored", func(t *testing.T) {
		rec := harness.CommandRecord(harness.ExecScenario, execSpec("cmd", result.Clean), result.Record{Scenario: "exec", Registry: "cmd"},
			command.Result{Outcome: result.OK, Ignored: true, Message: "ignored (flaky): fail: exit status 1", Signature: "fail: exit 1", Wall: wall}, "")
		assert.False(t, rec.Detected)
		assert.Equal(t, "ignored (flaky): fail: exit status 1", rec.FirstError)
		assert.Empty(t, rec.FailureSignature, "an ignored failure is in no signature's count")
	})
	t.Run("a command that cannot start is a harness error, for either role", func(t *testing.T) {
		for _, role := range []result.Role{result.Clean, result.Control} {
			rec := harness.CommandRecord(harness.ExecScenario, execSpec("cmd", role), result.Record{Scenario: "exec", Registry: "cmd"},
				command.Result{Outcome: result.Error, Message: "error: cannot start: no such file", ExitCode: -1}, "")
			require.NoError(t, rec.Validate())
			assert.True(t, rec.Invalid())
			assert.False(t, rec.Detected)
			assert.False(t, rec.Hit())
			assert.Equal(t, "error: cannot start: no such file", rec.FirstError)
		}
	})
}

func TestCommandsExecutor(t *testing.T) {
	dir := t.TempDir()
	x := harness.ExecRun{Targets: []harness.ExecTarget{
		{Name: "odd-seed", Role: result.Clean, Argv: []string{"sh", "-c", `echo "trial $RACESTRESS_TRIAL seed $RACESTRESS_SEED"; test $((RACESTRESS_SEED % 2)) -eq 0`}},
		{Name: "missing", Role: result.Clean, Argv: []string{filepath.Join(dir, "no-such-program")}},
	}}
	subs, err := x.Subjects()
	require.NoError(t, err)
	cfg := harness.Config{Scenario: harness.ExecScenario, Subjects: subs, Runs: 2, Seed: 100,
		Executor: harness.Commands{Subjects: subs, LogDir: filepath.Join(dir, "logs"), LogBase: dir}}
	recs, err := harness.Run(context.Background(), cfg)
	require.NoError(t, err)
	require.Len(t, recs, 4)
	// Round r runs odd-seed then missing: trials 2r and 2r+1, seed 100+r.
	assert.Equal(t, result.OK, recs[0].Outcome)
	assert.Equal(t, result.Error, recs[1].Outcome, "a program that cannot start: %s", recs[1].FirstError)
	assert.True(t, recs[1].Invalid())
	assert.Equal(t, result.Fail, recs[2].Outcome)
	assert.Equal(t, int64(101), recs[2].Seed)
	require.NotNil(t, recs[2].Process)
	assert.Equal(t, 1, recs[2].Process.ExitCode)
	b, err := os.ReadFile(filepath.Join(dir, recs[2].Process.Log))
	require.NoError(t, err, "the failed trial's log, relative to LogBase")
	assert.Equal(t, "trial 2 seed 101\n", string(b))
	assert.Empty(t, recs[0].Process.Log, "a passing trial keeps no log")
}

func TestExecRunDescribesItself(t *testing.T) {
	x := harness.ExecRun{Targets: []harness.ExecTarget{{Name: "a", Role: result.Control, Argv: []string{"a.test", "-test.run", "X"}, Dir: "/w", Env: []string{"K=V"}}},
		TimeoutNs: int64(time.Second), FailOn: "WARN", Ignore: "flaky"}
	cfg := harness.Config{Scenario: harness.ExecScenario, Extra: x.Extra(), Subjects: []scenarios.Subject{{Name: "a", Role: result.Control}}, Runs: 2, Seed: 1, Shard: harness.Shard{K: 1, N: 2}}
	h := harness.NewHeader(cfg, nil, result.VerdictPolicy{}, time.Now())
	got, ok, err := harness.ExecRunOf(&h)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, x.Targets, got.Targets)
	assert.Equal(t, x.TimeoutNs, got.TimeoutNs)

	t.Run("shards of other commands are other runs", func(t *testing.T) {
		y := x
		y.Targets = []harness.ExecTarget{{Name: "a", Role: result.Control, Argv: []string{"b.test"}}}
		other := cfg
		other.Extra = y.Extra()
		assert.NotEqual(t, h.RunID, harness.NewHeader(other, nil, result.VerdictPolicy{}, time.Now()).RunID)
		assert.Equal(t, h.RunID, harness.NewHeader(cfg, nil, result.VerdictPolicy{}, time.Now()).RunID)
	})
	t.Run("a header without one is no exec run", func(t *testing.T) {
		_, ok, err := harness.ExecRunOf(&result.Header{})
		assert.False(t, ok)
		assert.NoError(t, err)
	})
	t.Run("subjects carry their command, controls the exec signature", func(t *testing.T) {
		subs, err := x.Subjects()
		require.NoError(t, err)
		require.Len(t, subs, 1)
		c, ok := subs[0].New.(command.Command)
		require.True(t, ok)
		assert.Equal(t, "a.test", c.Path)
		assert.Equal(t, []string{"-test.run", "X"}, c.Args)
		assert.Equal(t, "/w", c.Dir)
		assert.Equal(t, time.Second, c.Timeout)
		assert.True(t, c.FailOn.MatchString("WARN"))
		assert.Equal(t, harness.ExecSignature, subs[0].Signature)
	})
	t.Run("bad patterns and duplicate names are refused", func(t *testing.T) {
		bad := x
		bad.FailOn = "("
		_, err := bad.Subjects()
		assert.Error(t, err)
		dup := x
		dup.Targets = append(dup.Targets, dup.Targets[0])
		_, err = dup.Subjects()
		assert.Error(t, err)
	})
}

func TestStopAfter(t *testing.T) {
	x := harness.ExecRun{Targets: []harness.ExecTarget{{Name: "false", Role: result.Clean, Argv: []string{"false"}}}}
	subs, err := x.Subjects()
	require.NoError(t, err)
	for _, parallel := range []int{1, 2} {
		adm := harness.NewGatekeeper(0, false, nil).StopAfter(3)
		cfg := harness.Config{Scenario: harness.ExecScenario, Subjects: subs, Runs: 20, Parallel: parallel, Admit: adm.Admit,
			Executor: harness.Commands{Subjects: subs}, OnRecord: func(r result.Record) error { adm.Record(r); return nil }}
		recs, err := harness.Run(context.Background(), cfg)
		require.NoError(t, err)
		// A trial is admitted only when a worker is free and has handed in
		// its record: with P workers at most P-1 trials are still running
		// when the third failure comes in.
		assert.GreaterOrEqual(t, len(recs), 3)
		assert.LessOrEqual(t, len(recs), 3+parallel-1, "parallel %d", parallel)
	}
}
