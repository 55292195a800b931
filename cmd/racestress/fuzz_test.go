package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/stress"
)

// The seed corpora of these fuzz targets are checked in under
// testdata/fuzz and run, with the seeds added here, as ordinary tests.

// configure does what run and gate do with their arguments up to the run
// itself: parse, configure, check every bound.
func configure(args []string) (*options, *stress.Plan, error) {
	var o options
	gate := len(args) > 0 && args[0] == "gate"
	name := "racestress"
	if gate {
		name, args = "racestress gate", args[1:]
	}
	fs := newFlagSet(name, &o)
	if gate {
		fs.Float64Var(&o.cfg.MinPower, "min-power", stress.DefaultMinPower, "")
	}
	if err := o.parse(fs, args, io.Discard); err != nil || o.help {
		return &o, nil, err
	}
	if err := checkFormat(o.format); err != nil {
		return &o, nil, err
	}
	cfg := o.config(nil)
	cfg.Gate, cfg.MinPowerSet = gate, gate
	plan, err := stress.Prepare(cfg)
	return &o, plan, err
}

// FuzzRunFlags: no command line makes run or gate panic; one they refuse
// is refused by run with exit status 2, one line on stderr and nothing on
// stdout; one they accept asks for a run within every bound. Accepted
// lines are not run (a fuzzed --runs would take hours); refused ones are,
// with --out last so that nothing could land outside a temporary folder.
func FuzzRunFlags(f *testing.F) {
	for _, s := range []string{
		"--scenario\nfinalize-order\n--isolate\nnone\n--runs\n2",
		"gate\n--min-power\nNaN",
		"--seconds\n1e10", "--seconds\n9e9", "--seconds\nInf", "--sleep-scale\nInf", "--procs\n100000", "--threads\n100000",
		"--timeout\n1ms", "--memory-limit\n1KiB", "--sweep\ngogc=1,10\nprocs=1,2", "--sweep\nseconds=1e10", "--sweep\ngogc=1,1",
		"--seed\n77\n--runs\n2\n--shard\n3/4", "--shard\n1/2", "--budget\n1ns", "--registry\nracy\n--isolate\nnone", "extra",
		"--control\nfixed\n--clean\nfixed", "-h", "--", "--format\nxml", "--preset\nnope", "--chaos\nmax",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\n")
		if len(args) > 0 && slices.Contains([]string{"list", "report", "merge", "replay"}, args[0]) {
			return // not run's flags
		}
		args = append(args, "--out", filepath.Join(t.TempDir(), "r.jsonl"))
		o, plan, err := configure(args)
		if err == nil {
			if !o.help {
				checkAccepted(t, o, plan)
			}
			return
		}
		var out, errb bytes.Buffer
		code := exitCode(run(context.Background(), args, &out, &errb), &errb)
		if code != 2 || out.Len() != 0 || strings.Count(errb.String(), "\n") != 1 || !strings.HasPrefix(errb.String(), "racestress: ") {
			t.Fatalf("%q: exit %d, stdout %q, stderr %q (configure: %v)", args, code, out.String(), errb.String(), err)
		}
	})
}

// checkAccepted fails t unless cfg is a run within every bound.
func checkAccepted(t *testing.T, o *options, plan *stress.Plan) {
	t.Helper()
	cfg := plan.Engine()
	if cfg.Scenario == nil || len(cfg.Subjects) == 0 {
		t.Fatal("accepted a run of nothing")
	}
	cells := cfg.Cells
	if len(cells) == 0 {
		cells = []harness.Cell{{Knobs: cfg.Knobs}}
	}
	for _, c := range cells {
		if err := cfg.Scenario.CheckKnobs(c.Knobs); err != nil {
			t.Fatalf("accepted knobs out of bounds: %v", err)
		}
		if d := harness.DefaultTimeout(c.Knobs); d <= 0 || d > harness.MaxTimeout {
			t.Fatalf("default timeout %v for %+v", d, c.Knobs)
		}
		if o.cfg.Timeout > 0 && o.cfg.Timeout < harness.MinTimeout(c.Knobs) {
			t.Fatalf("accepted --timeout %v for a %gs trial", o.cfg.Timeout, c.Knobs.Seconds)
		}
	}
	switch {
	case cfg.Runs == 0 || cfg.Runs > stress.MaxRuns:
		t.Fatalf("accepted %d runs", cfg.Runs)
	case cfg.Shard.N > 1 && (cfg.Runs < 0 || !o.set["seed"]):
		t.Fatal("accepted a shard without its runs and seed")
	case o.cfg.Parallel < 1 || o.cfg.Parallel > stress.MaxParallel:
		t.Fatalf("accepted --parallel %d", o.cfg.Parallel)
	case !(plan.Verdict().MinPower >= 0 && plan.Verdict().MinPower < 1):
		t.Fatalf("accepted --min-power %g", o.cfg.MinPower)
	}
	for _, s := range cfg.Subjects {
		if !s.Role.Valid() {
			t.Fatalf("subject %s without a role", s.Name)
		}
	}
}
