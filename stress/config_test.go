package stress

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// scenarioRun is a valid configuration of a scenario run, as racestress's
// flags give it by default (but for the scenario and isolation).
func scenarioRun() Config {
	return Config{Scenario: scenarios.ThreadSafety.Name, Runs: 1, Isolation: "process", PoolTrials: harness.DefaultPoolTrials, Parallel: 1}
}

// execRun is a valid configuration of a command run, as racestress exec's
// flags give it by default.
func execRun(targets ...harness.ExecTarget) Config {
	if len(targets) == 0 {
		targets = []harness.ExecTarget{{Name: "true", Role: result.Clean, Argv: []string{"true"}, Dir: "/"}}
	}
	return Config{Exec: &Exec{Targets: targets}, Runs: 100, Timeout: 10 * time.Minute, Parallel: 1}
}

// refusal prepares cfg and returns its usage error's message.
func refusal(t *testing.T, cfg Config) string {
	t.Helper()
	_, err := Prepare(cfg)
	var se *Error
	require.True(t, errors.As(err, &se), "accepted: %v", err)
	assert.Equal(t, Usage, se.Kind)
	return se.Msg
}

func prepare(t *testing.T, cfg Config) *Plan {
	t.Helper()
	p, err := Prepare(cfg)
	require.NoError(t, err)
	return p
}

// pinMemory makes the machine's memory mem bytes for the test.
func pinMemory(t *testing.T, mem int64) {
	old := physicalMemory
	physicalMemory = func() int64 { return mem }
	t.Cleanup(func() { physicalMemory = old })
}

func TestEveryBoundIsCheckedOnce(t *testing.T) {
	pinMemory(t, 8<<30)
	type edit func(*Config)
	cases := []struct {
		name string
		edit edit
		want string
	}{
		{"zero runs", func(c *Config) { c.Runs = 0 }, "--runs must be between 1 and 1000000, got 0"},
		{"too many runs", func(c *Config) { c.Runs = MaxRuns + 1 }, "--runs must be between 1 and 1000000"},
		{"an unknown scenario", func(c *Config) { c.Scenario = "nope" }, "--scenario: "},
		{"an unknown preset", func(c *Config) { c.Preset = "nope" }, "--preset: "},
		{"a knob out of bounds names its flag", func(c *Config) { c.Set = []Setting{{"threads", "1", "threads"}} }, "--threads: "},
		{"an infinite length", func(c *Config) { c.Set = []Setting{{"seconds", "Inf", "seconds"}} }, "seconds wants a number, got +Inf"},
		{"an absurd length", func(c *Config) { c.Set = []Setting{{"seconds", "1e10", "seconds"}} }, "between 0.001 and 86400"},
		{"too many procs", func(c *Config) { c.Set = []Setting{{"procs", "100000", "procs"}} }, fmt.Sprintf("between 0 and %d", 4*runtime.NumCPU())},
		{"an unknown chaos", func(c *Config) { c.Set = []Setting{{"chaos", "max", "chaos"}} }, "--chaos: "},
		{"an unknown knob", func(c *Config) { c.Set = []Setting{{"color", "red", "knob"}} }, "--knob: "},
		{"min power of one", func(c *Config) { c.Gate, c.MinPower, c.MinPowerSet = true, 1, true }, "--min-power must be in [0, 1), got 1"},
		{"min power NaN", func(c *Config) { c.Gate, c.MinPowerSet = true, true; c.MinPower = nan() }, "[0, 1)"},
		{"a shard beyond its count", func(c *Config) { c.Seed, c.SeedSet, c.Shard = 1, true, "5/4" }, "--shard: want K/N"},
		{"too many shards", func(c *Config) { c.Seed, c.SeedSet, c.Shard = 1, true, "1/100000" }, "N <= 10000"},
		{"a shard without a seed", func(c *Config) { c.Shard = "1/2" }, "--shard needs --seed"},
		{"a shard without runs", func(c *Config) { c.Seed, c.SeedSet, c.Shard, c.Budget = 1, true, "1/2", time.Hour }, "--shard needs --runs"},
		{"a budget shorter than a trial", func(c *Config) { c.Budget = time.Nanosecond }, "--budget 1ns is shorter than one trial (4s)"},
		{"a budget over its bound", func(c *Config) { c.Budget = 100000 * time.Hour }, "168h0m0s"},
		{"a negative budget", func(c *Config) { c.Budget = -time.Second }, "--budget must be between 0 and"},
		{"a sweep out of bounds", func(c *Config) { c.Sweep = Dims{{Key: "seconds", Values: []string{"1e10"}}} }, "--sweep: "},
		{"an unknown isolation", func(c *Config) { c.Isolation = "vm" }, `--isolate must be process, pool or none, got "vm"`},
		{"no pool trials", func(c *Config) { c.PoolTrials = 0 }, "--pool-trials must be between 1"},
		{"a negative timeout", func(c *Config) { c.Timeout = -time.Second }, "--timeout must be between 0 (default) and"},
		{"a huge timeout", func(c *Config) { c.Timeout = 10000 * time.Hour }, "168h0m0s"},
		{"a watchdog shorter than the trial", func(c *Config) { c.Timeout = time.Millisecond }, "at least 5s"},
		{"a watchdog shorter than the longest cell", func(c *Config) {
			c.Timeout = 2 * time.Second
			c.Sweep = Dims{{Key: "seconds", Values: []string{"0.1", "5"}}}
		}, "at least 6s"},
		{"parallel of zero", func(c *Config) { c.Parallel = 0 }, "--parallel must be between 1 and 64, got 0"},
		{"parallel over its bound", func(c *Config) { c.Parallel = 1000 }, "and 64"},
		{"race in process", func(c *Config) { c.Race, c.Isolation = true, "none" }, "--race needs --isolate process or pool"},
		{"a bad memory limit", func(c *Config) { c.MemoryLimit = "lots" }, "--memory-limit: want a positive size"},
		{"a tiny memory limit", func(c *Config) { c.MemoryLimit = "1KiB" }, "below the 32 MiB"},
		{"a memory limit over the machine's", func(c *Config) { c.MemoryLimit = "9GiB" }, "more than the machine's 8192 MiB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := scenarioRun()
			c.edit(&cfg)
			assert.Contains(t, refusal(t, cfg), c.want)
		})
	}
	t.Run("the same bounds hold at their edges", func(t *testing.T) {
		cfg := scenarioRun()
		cfg.Runs, cfg.Parallel, cfg.PoolTrials, cfg.MemoryLimit = MaxRuns, MaxParallel, MaxRuns, "8GiB"
		cfg.Timeout, cfg.Budget = 5*time.Second, MaxBudget
		prepare(t, cfg)
	})
}

func nan() float64 { var z float64; return z / z }

func TestSubjectsAndRoles(t *testing.T) {
	names := func(p *Plan) (out []string) {
		for _, s := range p.Engine().Subjects {
			out = append(out, s.Name+":"+string(s.Role))
		}
		return out
	}
	t.Run("the scenario's defaults with their declared roles", func(t *testing.T) {
		assert.Equal(t, []string{"unfixed:control", "fixed:clean"}, names(prepare(t, scenarioRun())))
	})
	t.Run("a subject given a role is added to the defaults", func(t *testing.T) {
		cfg := scenarioRun()
		cfg.Control = []string{"retry"}
		assert.Equal(t, []string{"unfixed:control", "fixed:clean", "retry:control"}, names(prepare(t, cfg)))
	})
	t.Run("--control and --clean override the declared roles", func(t *testing.T) {
		cfg := scenarioRun()
		cfg.Registries, cfg.Control, cfg.Clean = []string{"fixed", "unfixed"}, []string{"fixed"}, []string{"unfixed"}
		assert.Equal(t, []string{"fixed:control", "unfixed:clean"}, names(prepare(t, cfg)))
	})
	for _, c := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"both roles", func(c *Config) { c.Control, c.Clean = []string{"fixed"}, []string{"fixed"} }, `"fixed" cannot be both --clean and --control`},
		{"a role for a subject not run", func(c *Config) { c.Registries, c.Control = []string{"fixed"}, []string{"unfixed"} }, `subject "unfixed" is given a role but not run`},
		{"an unknown control", func(c *Config) { c.Control = []string{"nope"} }, "--registry: "},
		{"no subject named", func(c *Config) { c.Registries = []string{} }, "--registry: no subject named (have "},
		{"a subject named twice", func(c *Config) { c.Registries = []string{"fixed", "fixed"} }, `--registry: "fixed" named twice`},
		{"a crashing subject in process", func(c *Config) { c.Registries, c.Isolation = []string{"racy"}, "none" }, "--registry racy kills or hangs its process: it needs --isolate process"},
	} {
		t.Run(c.name+" is refused", func(t *testing.T) {
			cfg := scenarioRun()
			c.edit(&cfg)
			assert.Contains(t, refusal(t, cfg), c.want)
		})
	}
	t.Run("a user's subjects keep their roles, and one without a role is refused", func(t *testing.T) {
		fixed, err := scenarios.FinalizeOrder.Subject("fixed")
		require.NoError(t, err)
		cfg := scenarioRun()
		cfg.Declared, cfg.Subjects = scenarios.FinalizeOrder, []scenarios.Subject{fixed}
		assert.Equal(t, []string{"fixed:clean"}, names(prepare(t, cfg)))
		cfg.Subjects = []scenarios.Subject{fixed.WithRole("")}
		assert.Contains(t, refusal(t, cfg), `subject "fixed" has no role`)
	})
}

func TestKnobs(t *testing.T) {
	t.Run("the preset's knobs, then each setting in order, then keep-going", func(t *testing.T) {
		cfg := scenarioRun()
		cfg.Preset = "fast"
		cfg.Set = []Setting{{"gogc", "7", "gogc"}, {"gogc", "9", "knob"}, {"chaos", "high", "chaos"}}
		cfg.KeepGoing = true
		k := prepare(t, cfg).Engine().Knobs
		preset, err := scenarios.ThreadSafety.Preset("fast")
		require.NoError(t, err)
		assert.Equal(t, preset.Knobs.Seconds, k.Seconds)
		assert.Equal(t, 9, k.GOGC)
		assert.Equal(t, "high", k.Chaos)
		assert.True(t, k.KeepGoing)
	})
	t.Run("given knobs replace the preset's, and are checked", func(t *testing.T) {
		cfg := scenarioRun()
		k := scenarios.ThreadSafety.DefaultKnobsOf()
		k.Seconds = 0.25
		cfg.Knobs = &k
		assert.Equal(t, 0.25, prepare(t, cfg).Engine().Knobs.Seconds)
		k.Threads = 1
		assert.Contains(t, refusal(t, cfg), "knobs: ")
	})
	t.Run("a sweep makes every combination a cell", func(t *testing.T) {
		cfg := scenarioRun()
		require.NoError(t, cfg.Sweep.Set("gogc=1,10"))
		require.NoError(t, cfg.Sweep.Set("chaos=off,high"))
		p := prepare(t, cfg)
		var labels []string
		for _, c := range p.Engine().Cells {
			labels = append(labels, c.Label)
		}
		assert.Equal(t, []string{"gogc=1 chaos=off", "gogc=1 chaos=high", "gogc=10 chaos=off", "gogc=10 chaos=high"}, labels)
		assert.Equal(t, 8, p.Planned(), "4 cells × 2 subjects × 1 round")
	})
}

func TestSweepRefusesWhatWouldMiscount(t *testing.T) {
	for _, arg := range []string{"gogc=1,1", "procs=2,2", "chaos=low,low", "gogc=", "gogc=1,", "=1"} {
		var s Dims
		assert.Error(t, s.Set(arg), arg)
		assert.Empty(t, s, arg)
	}
	sc := scenarios.ThreadSafety
	for _, arg := range []string{"seconds=Inf", "seconds=1,+Inf", "sleep-scale=Inf", "seconds=NaN", "seconds=1e10", "procs=100000", "threads=100000", "gogc=1000000000"} {
		var s Dims
		require.NoError(t, s.Set(arg), arg)
		_, err := s.Cells(sc, sc.DefaultKnobsOf())
		assert.Error(t, err, arg)
	}
	var s Dims
	require.NoError(t, s.Set("gogc=1,10"))
	cells, err := s.Cells(sc, sc.DefaultKnobsOf())
	require.NoError(t, err)
	assert.Len(t, cells, 2)
	assert.Equal(t, "gogc=1,10", s.String())
}

func TestSeedShardAndRounds(t *testing.T) {
	t.Run("a seed is random unless given", func(t *testing.T) {
		// Two draws of 40 bits agree with probability 2^-40 < 1e-12.
		a, b := prepare(t, scenarioRun()).Engine().Seed, prepare(t, scenarioRun()).Engine().Seed
		assert.NotEqual(t, a, b)
		cfg := scenarioRun()
		cfg.Seed, cfg.SeedSet = 0, true
		assert.Equal(t, int64(0), prepare(t, cfg).Engine().Seed)
	})
	t.Run("with a budget and no runs, rounds run until it is spent", func(t *testing.T) {
		cfg := scenarioRun()
		cfg.Budget = time.Minute
		p := prepare(t, cfg)
		assert.Equal(t, -1, p.Engine().Runs)
		assert.Equal(t, 0, p.Planned())
		cfg.RunsSet = true
		assert.Equal(t, 1, prepare(t, cfg).Engine().Runs, "given runs are kept")
	})
	t.Run("a shard holds its rounds", func(t *testing.T) {
		cfg := scenarioRun()
		cfg.Runs, cfg.RunsSet, cfg.Seed, cfg.SeedSet, cfg.Shard = 10, true, 11, true, "2/3"
		p := prepare(t, cfg)
		assert.Equal(t, harness.Shard{K: 2, N: 3}, p.Engine().Shard)
		assert.Equal(t, 3*2, p.Planned(), "rounds 1, 4, 7 of 10, two subjects each")
	})
	t.Run("an empty shard is a valid, empty part", func(t *testing.T) {
		h := result.Header{Rounds: 2, Shard: result.HeaderShard{K: 4, N: 4}}
		assert.Contains(t, emptyShard(h), "shard 4/4 holds no rounds: the run has 2, fewer than its 4 shards")
		h.Shard.K = 2
		assert.Empty(t, emptyShard(h))
		h.Shard, h.Rounds = result.HeaderShard{K: 4, N: 4}, -1
		assert.Empty(t, emptyShard(h), "a budgeted run's rounds are unknown")
		assert.Empty(t, emptyShard(result.Header{Shard: result.HeaderShard{K: 1, N: 1}, Rounds: 0}), "a run that is no shard and ran no trial stays invalid")
		assert.Empty(t, emptyShard(result.Header{Shard: result.HeaderShard{K: 2, N: 4}, Rounds: 2}), "shard 2/4 holds round 1")
		assert.NotEmpty(t, emptyShard(result.Header{Shard: result.HeaderShard{K: 3, N: 4}, Rounds: 2}))
	})
}

func TestVerdictPolicy(t *testing.T) {
	assert.Equal(t, result.VerdictPolicy{}, prepare(t, scenarioRun()).Verdict())
	cfg := scenarioRun()
	cfg.Gate = true
	assert.Equal(t, result.VerdictPolicy{MinPower: DefaultMinPower, RequireControl: true}, prepare(t, cfg).Verdict(), "the gate's default")
	cfg.MinPower, cfg.MinPowerSet = 0, true
	assert.Equal(t, result.VerdictPolicy{MinPower: 0, RequireControl: true}, prepare(t, cfg).Verdict(), "a given min power, even 0")
	cfg = scenarioRun()
	cfg.RequireControl, cfg.MinPower = true, 0.3
	assert.Equal(t, result.VerdictPolicy{MinPower: 0.3, RequireControl: true}, prepare(t, cfg).Verdict(), "Verify's options")
	x := execRun()
	x.MinPower, x.MinPowerSet = 0.5, true
	assert.Equal(t, "--min-power applies to --gate runs only", refusal(t, x))
	x.Gate = true
	assert.Equal(t, result.VerdictPolicy{MinPower: 0.5, RequireControl: true}, prepare(t, x).Verdict())

	x = execRun()
	x.Gate, x.MinEffect = true, 2
	assert.Equal(t, result.VerdictPolicy{RequireControl: true, MinEffect: 2}, prepare(t, x).Verdict(), "the effect gate replaces the per-trial power")
	x.MinPower, x.MinPowerSet = 0.1, true
	assert.Equal(t, result.VerdictPolicy{MinPower: 0.1, RequireControl: true, MinEffect: 2}, prepare(t, x).Verdict(), "unless one is given")
	for _, bad := range []float64{0.5, -1, 2e6, math.NaN(), math.Inf(1)} {
		x.MinEffect = bad
		assert.Contains(t, refusal(t, x), "--min-effect must be between 1 and 1e+06", bad)
	}
}

func TestExecRules(t *testing.T) {
	pinMemory(t, 8<<30)
	twins := []harness.ExecTarget{{Name: "a", Role: result.Control, Argv: []string{"false"}}, {Name: "a", Role: result.Clean, Argv: []string{"true"}}}
	for _, c := range []struct {
		name string
		cfg  Config
		edit func(*Config)
		want string
	}{
		{"a malformed --env", execRun(), func(c *Config) { c.Exec.Env = []string{"=x"} }, `--env: want KEY=V, got "=x"`},
		{"a go test's --runs past the bound, batched or not", execRun(), func(c *Config) {
			c.Exec.GoTest, c.Exec.Batch, c.Runs = &harness.GoTestBuild{}, 100, 50_000_000
		}, "--runs must be between 1 and 1000000, got 50000000"},
		{"two commands of one name", execRun(twins...), func(*Config) {}, `two commands are named "a": name them with NAME=COMMAND`},
		{"a bad memory limit", execRun(), func(c *Config) { c.MemoryLimit = "lots" }, "--memory-limit: "},
		{"a memory limit over the machine's", execRun(), func(c *Config) { c.MemoryLimit = "9GiB" }, "more than the machine's"},
		{"zero runs", execRun(), func(c *Config) { c.Runs = 0 }, "--runs must be between 1"},
		{"negative max-fails", execRun(), func(c *Config) { c.MaxFails = -1 }, "--max-fails must be between 0 (no limit) and 1000000"},
		{"a grace over an hour", execRun(), func(c *Config) { c.Exec.Grace = 2 * time.Hour }, "--grace must be between 0 (default) and 1h"},
		{"a bad --fail-on", execRun(), func(c *Config) { c.Exec.FailOn = "(" }, "fail-on: "},
		{"a negative timeout", execRun(), func(c *Config) { c.Timeout = -1 }, "--timeout must be between 0 (no watchdog) and"},
		{"parallel of zero", execRun(), func(c *Config) { c.Parallel = 0 }, "--parallel must be between 1"},
		{"a budget over its bound", execRun(), func(c *Config) { c.Budget = 100000 * time.Hour }, "--budget must be between 0 and"},
		{"a shard without a seed", execRun(), func(c *Config) { c.Shard = "1/2" }, "--shard needs --seed"},
	} {
		t.Run(c.name+" is refused", func(t *testing.T) {
			c.edit(&c.cfg)
			assert.Contains(t, refusal(t, c.cfg), c.want)
		})
	}
	t.Run("every command gets the environment, and a control the signature of every failure", func(t *testing.T) {
		cfg := execRun(harness.ExecTarget{Name: "bug", Role: result.Control, Argv: []string{"false"}}, harness.ExecTarget{Name: "fix", Role: result.Clean, Argv: []string{"true"}})
		cfg.Exec.Env = []string{"K=V"}
		p := prepare(t, cfg)
		assert.Equal(t, harness.ExecScenario, p.Engine().Scenario)
		x, ok, err := harness.ExecRunOf(&result.Header{Extra: p.Engine().Extra})
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, []string{"K=V"}, x.Targets[1].Env)
		assert.Equal(t, harness.ExecSignature, p.Engine().Subjects[0].Signature)
		assert.Empty(t, p.Engine().Subjects[1].Signature)
		assert.Equal(t, int64(10*time.Minute), x.TimeoutNs)
		assert.Equal(t, 200, p.Planned())
	})
	t.Run("a test binary's watchdog waits past its own -test.timeout alarm", func(t *testing.T) {
		cfg := execRun()
		cfg.Exec.GoTest = &harness.GoTestBuild{Package: "./x"}
		x, _, err := harness.ExecRunOf(&result.Header{Extra: prepare(t, cfg).Engine().Extra})
		require.NoError(t, err)
		assert.Equal(t, int64(10*time.Minute+GoTestBackstop), x.TimeoutNs)
	})
}

func TestDescribeAndDefaults(t *testing.T) {
	cfg := scenarioRun()
	assert.Equal(t, "2 trials", prepare(t, cfg).Describe())
	cfg.Budget = time.Minute
	assert.Equal(t, "trials for 1m0s", prepare(t, cfg).Describe())
	cfg.RunsSet = true
	assert.Equal(t, "up to 2 trials within 1m0s", prepare(t, cfg).Describe())
	cfg = scenarioRun()
	cfg.Gate = true
	assert.Equal(t, DefaultGateRuns, prepare(t, cfg).Engine().Runs, "a gate with neither runs nor budget")
	cfg.Runs, cfg.RunsSet = 3, true
	assert.Equal(t, 3, prepare(t, cfg).Engine().Runs)
	cfg = scenarioRun()
	cfg.Shard, cfg.Seed, cfg.SeedSet, cfg.RunsSet = "2/2", 1, true, true
	assert.Equal(t, "no trials", prepare(t, cfg).Describe(), "shard 2/2 of one round")
}

func TestSettingsFlag(t *testing.T) {
	var s Settings
	require.NoError(t, s.Set("gogc=5"))
	require.NoError(t, s.Set("chaos=high"))
	assert.Equal(t, Settings{{"gogc", "5", "knob"}, {"chaos", "high", "knob"}}, s)
	assert.Equal(t, "gogc=5 chaos=high", s.String())
	for _, bad := range []string{"gogc", "=5", "gogc="} {
		assert.Error(t, s.Set(bad), bad)
	}
	assert.Len(t, s, 2)
}

func TestCommandTargets(t *testing.T) {
	tg, err := ParseTarget(`old=./old.test -test.run 'Test(A|B)$'`, result.Control)
	require.NoError(t, err)
	assert.Equal(t, harness.ExecTarget{Name: "old", Role: result.Control, Argv: []string{"./old.test", "-test.run", "Test(A|B)$"}}, tg)
	tg, err = ParseTarget(`sh -c 'exit 1'`, result.Clean)
	require.NoError(t, err)
	assert.Equal(t, "", tg.Name, "no NAME= prefix: named by Prepare")
	tg, err = ParseTarget(`GOFLAGS=x go test`, result.Clean)
	require.NoError(t, err)
	assert.Equal(t, "GOFLAGS", tg.Name, "a NAME= prefix is a name")
	_, err = ParseTarget(`a | b`, result.Clean)
	assert.Error(t, err)

	cfg := execRun(harness.ExecTarget{Role: result.Clean, Argv: []string{"/bin/true"}})
	p := prepare(t, cfg)
	assert.Equal(t, "true", p.Engine().Subjects[0].Name, "named after its program")
	wd, err := os.Getwd()
	require.NoError(t, err)
	x, _, err := harness.ExecRunOf(&result.Header{Extra: p.Engine().Extra})
	require.NoError(t, err)
	assert.Equal(t, wd, x.Targets[0].Dir, "run in the working directory")
	assert.Contains(t, refusal(t, execRun(harness.ExecTarget{Role: result.Clean, Argv: []string{"no-such-program-racestress"}})), "exec: no-such-program-racestress: no-such-program-racestress: executable file not found")
	cfg = execRun()
	cfg.Exec.Targets = nil
	assert.Contains(t, refusal(t, cfg), "exec: no command: ")
	g := GoTestPackage{Package: "./x", Role: "maybe"}
	_, _, err = GoTest(t.Context(), g, "r.jsonl", time.Minute)
	assert.Equal(t, `--role must be clean or control, got "maybe"`, err.Error())
}
