package stress

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// orderRun is a quick, deterministic run in this process: finalize-order,
// where every registry passes, for runs rounds.
func orderRun(out string, runs int) Config {
	return Config{Scenario: scenarios.FinalizeOrder.Name, Runs: runs, RunsSet: true, Seed: 11, SeedSet: true, Isolation: "none",
		PoolTrials: harness.DefaultPoolTrials, Parallel: 1, Out: out, Args: []string{"racestress", "test"},
		Set: []Setting{{"seconds", "0.05", "seconds"}}}
}

func kindOf(err error) Kind {
	var se *Error
	if errors.As(err, &se) {
		return se.Kind
	}
	return -1
}

func TestRunWritesEveryRecordBeforeItsHook(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.jsonl")
	p := prepare(t, orderRun(out, 2))
	var started bool
	var seen int
	res, err := p.Run(context.Background(), Hooks{
		Started: func() {
			started = true
			_, err := os.Stat(out)
			assert.NoError(t, err, "the results file exists before the first trial")
		},
		Record: func(r result.Record) {
			assert.True(t, started)
			seen++
			got, err := result.ReadResultsFile(out)
			require.NoError(t, err)
			assert.Len(t, got.Records, seen, "the record is on disk when the hook sees it")
		},
	})
	require.NoError(t, err)
	require.NoError(t, res.Err)
	assert.Equal(t, 4, seen, "2 rounds × 2 default subjects")
	assert.Len(t, res.Records, 4)
	assert.Equal(t, []string{"racestress", "test"}, res.Header.Command)
	assert.Equal(t, int64(11), res.Header.Seed)
	assert.Equal(t, report.Pass, res.Summary.Verdict().Status)
	assert.Contains(t, res.Summary.Warnings, NoControlWarning)
	assert.NoDirExists(t, filepath.Join(filepath.Dir(out), "logs"), "in process: no log folder")
	saved, err := Load(out)
	require.NoError(t, err)
	assert.Equal(t, res.Summary.Verdict(), saved.Verdict(), "the saved run renders with the verdict it ended with")
}

func TestRunFailuresAreNamed(t *testing.T) {
	dir := t.TempDir()
	t.Run("an existing results file is a usage error and is left as it was", func(t *testing.T) {
		out := filepath.Join(dir, "exists.jsonl")
		require.NoError(t, os.WriteFile(out, []byte("x\n"), 0o644))
		_, err := prepare(t, orderRun(out, 1)).Run(context.Background(), Hooks{})
		assert.Equal(t, Usage, kindOf(err))
		assert.Contains(t, err.Error(), "--out: ")
		b, _ := os.ReadFile(out)
		assert.Equal(t, "x\n", string(b))
	})
	t.Run("a results folder that cannot be made is invalid", func(t *testing.T) {
		file := filepath.Join(dir, "file")
		require.NoError(t, os.WriteFile(file, nil, 0o644))
		_, err := prepare(t, orderRun(filepath.Join(file, "x", "r.jsonl"), 1)).Run(context.Background(), Hooks{})
		assert.Equal(t, Invalid, kindOf(err))
		assert.Contains(t, err.Error(), "results file: ")
	})
	t.Run("results not all on disk make the run invalid", func(t *testing.T) {
		if _, err := os.Stat("/dev/full"); err != nil {
			t.Skip("no /dev/full")
		}
		res, err := prepare(t, orderRun("/dev/full", 1)).Run(context.Background(), Hooks{})
		if err != nil { // the header itself could not be written
			assert.Equal(t, Invalid, kindOf(err))
			return
		}
		assert.Equal(t, Invalid, kindOf(res.Err))
		assert.Contains(t, res.Err.Error(), "results file")
	})
	t.Run("an interrupted run says how far it got", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res, err := prepare(t, orderRun(filepath.Join(dir, "int.jsonl"), 3)).Run(ctx, Hooks{})
		require.NoError(t, err)
		assert.Equal(t, Interrupted, kindOf(res.Err))
		assert.Contains(t, res.Err.Error(), "interrupted after 0 trials; results in ")
	})
	t.Run("an empty shard is no failure, and says what it is", func(t *testing.T) {
		cfg := orderRun(filepath.Join(dir, "empty.jsonl"), 2)
		cfg.Shard = "4/4"
		res, err := prepare(t, cfg).Run(context.Background(), Hooks{})
		require.NoError(t, err)
		assert.NoError(t, res.Err)
		assert.Contains(t, res.Summary.Verdict().Line, "EMPTY: shard 4/4 holds no rounds")
	})
	t.Run("no records kept: a run in memory", func(t *testing.T) {
		res, err := prepare(t, orderRun("", 1)).Run(context.Background(), Hooks{})
		require.NoError(t, err)
		require.NoError(t, res.Err)
		assert.Len(t, res.Records, 2)
	})
}

func TestShardsMerge(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for _, s := range []string{"1/2", "2/2"} {
		cfg := orderRun(filepath.Join(dir, s[:1]+".jsonl"), 3)
		cfg.Shard = s
		res, err := prepare(t, cfg).Run(context.Background(), Hooks{})
		require.NoError(t, err)
		require.NoError(t, res.Err)
		paths = append(paths, cfg.Out)
	}
	sum, err := Merge(paths)
	require.NoError(t, err)
	assert.Empty(t, sum.Incomplete)
	assert.Len(t, sum.Records, 6)
	part, err := Merge(paths[:1])
	require.NoError(t, err)
	assert.NotEmpty(t, part.Incomplete, "a missing shard")
	assert.Equal(t, report.Invalid, part.Verdict().Status)
	_, err = Merge([]string{paths[0], paths[0]})
	assert.Error(t, err, "a shard twice")
	_, err = Merge([]string{filepath.Join(dir, "missing.jsonl")})
	assert.ErrorContains(t, err, "missing.jsonl: ")
}

func TestReplay(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.jsonl")
	res, err := prepare(t, orderRun(out, 2)).Run(context.Background(), Hooks{})
	require.NoError(t, err)
	require.NoError(t, res.Err)
	replayOf := func(trial int, given ...string) (*Plan, error) {
		return Replay(ReplayConfig{File: out, Trial: trial, Given: given, Config: Config{Isolation: "none", PoolTrials: 1, Out: filepath.Join(dir, "replay-"+t.Name()+".jsonl")}})
	}
	t.Run("a trial reruns with its recorded seed, knobs, role and verdict policy", func(t *testing.T) {
		p, err := replayOf(3)
		require.NoError(t, err)
		rr, err := p.Run(context.Background(), Hooks{})
		require.NoError(t, err)
		require.Len(t, rr.Records, 1)
		orig := res.Records[3]
		got := rr.Records[0]
		assert.Equal(t, orig.Trial, got.Trial)
		assert.Equal(t, orig.Seed, got.Seed)
		assert.Equal(t, orig.Knobs, got.Knobs)
		assert.Equal(t, orig.Role, got.Role)
		line, agree, err := p.Replayed(rr)
		require.NoError(t, err)
		assert.True(t, agree)
		assert.Equal(t, "replay of trial 3 (finalize-order/"+orig.Registry+", seed 12): recorded ok, replayed ok: they agree", line)
	})
	t.Run("what does not apply to one trial is refused", func(t *testing.T) {
		for _, f := range notReplayed {
			_, err := replayOf(0, f)
			assert.Equal(t, "replay: --"+f+" does not apply to replaying one trial", err.Error())
		}
	})
	t.Run("a trial that is not there", func(t *testing.T) {
		_, err := replayOf(7)
		assert.Equal(t, Usage, kindOf(err))
		assert.Contains(t, err.Error(), "has no trial 7")
	})
	t.Run("a replay that left no record is invalid", func(t *testing.T) {
		p, err := replayOf(0)
		require.NoError(t, err)
		_, _, err = p.Replayed(&Result{})
		assert.Equal(t, Invalid, kindOf(err))
	})
}

func TestReplayOfACommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.jsonl")
	cfg := execRun(harness.ExecTarget{Name: "t", Role: result.Clean, Argv: []string{"true"}, Dir: dir})
	cfg.Runs, cfg.Out = 2, out
	res, err := prepare(t, cfg).Run(context.Background(), Hooks{})
	require.NoError(t, err)
	require.NoError(t, res.Err)
	for _, f := range notExecReplayed {
		_, err := Replay(ReplayConfig{File: out, Trial: 1, Given: []string{f}, Config: Config{Isolation: "process", PoolTrials: 1}})
		assert.Equal(t, "replay: --"+f+" does not apply to an exec run", err.Error())
	}
	p, err := Replay(ReplayConfig{File: out, Trial: 1, Config: Config{Isolation: "process", PoolTrials: 1, Out: filepath.Join(dir, "replay.jsonl")}})
	require.NoError(t, err)
	rr, err := p.Run(context.Background(), Hooks{})
	require.NoError(t, err)
	line, agree, err := p.Replayed(rr)
	require.NoError(t, err)
	assert.True(t, agree, line)
	assert.Equal(t, 1, rr.Records[0].Trial)
	assert.Equal(t, res.Records[1].Seed, rr.Records[0].Seed)
}

// TestTheEffectGateStopsWhenDecided runs a control that fails in every
// third round (by its trial number: deterministic) against a clean command
// under the effect gate with a budget and no rounds: it stops once the
// effect is shown (R = 1 needs 5 detections), long before its budget.
func TestTheEffectGateStopsWhenDecided(t *testing.T) {
	dir := t.TempDir()
	control := harness.ExecTarget{Name: "bug", Role: result.Control, Argv: []string{"sh", "-c", "test $((RACESTRESS_TRIAL % 6)) -ne 0"}, Dir: dir}
	clean := harness.ExecTarget{Name: "fix", Role: result.Clean, Argv: []string{"true"}, Dir: dir}
	cfg := execRun(control, clean)
	cfg.Runs, cfg.RunsSet, cfg.Budget = 100, false, 10*time.Minute // rounds until the budget ends
	cfg.Gate, cfg.MinEffect = true, 1
	cfg.Out = filepath.Join(dir, "r.jsonl")
	res, err := prepare(t, cfg).Run(context.Background(), Hooks{})
	require.NoError(t, err)
	require.NoError(t, res.Err)
	v := res.Summary.Verdict()
	assert.Equal(t, report.Pass, v.Status, v.Line)
	// The control fails in rounds 0, 3, 6, 9, 12 (trials 0, 6, ...): its
	// 5th detection is its 13th trial; the clean command needs 13 too.
	assert.Len(t, res.Records, 26, "13 rounds, then decided")
	assert.Contains(t, v.Line, "5 detections of bug in its first 13 trials, none of fix in 13")
}

// TestTheEffectGateStopsAsSoonAsTheCleanSideCatchesUp batches the rounds:
// the control (failing in every trial) runs its whole batch before the
// clean command starts, and the run stops once the clean command has run
// as many trials as the control needed for its 5 detections, not at the
// end of its batch. The clean subject's first records must be watched
// although no effect test knew it before them.
func TestTheEffectGateStopsAsSoonAsTheCleanSideCatchesUp(t *testing.T) {
	w := &effectWatch{minEffect: 1}
	rec := func(trial int, name string, role result.Role, hit bool) result.Record {
		o := result.OK
		if hit {
			o = result.Fail
		}
		return result.Record{Trial: trial, Scenario: "exec", Registry: name, Role: role, Outcome: o, Detected: hit, Signature: hit && role == result.Control}
	}
	trial := 0
	for range 20 {
		w.add(rec(trial, "bug", result.Control, true))
		trial++
	}
	assert.False(t, w.decided(), "the clean side has not run")
	n := 0
	for !w.decided() && n < 20 {
		w.add(rec(trial, "fix", result.Clean, false))
		trial++
		n++
	}
	assert.Equal(t, 5, n, "decided at the clean side's 5th trial (the control's 5th detection was its 5th)")
	assert.True(t, w.controlDone("bug"), "the control's further trials change nothing")
	assert.False(t, w.controlDone("fix"), "not a control")
	w2 := &effectWatch{minEffect: 1}
	w2.add(rec(0, "bug", result.Control, true))
	w2.add(rec(1, "fix", result.Clean, false))
	w2.decided()
	assert.False(t, w2.controlDone("bug"), "1 of the 5 detections needed")
}
