package harness

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/racestress/racestress/result"
)

// NewHeader returns the results-file header of cfg's run, started at
// started with command line args and verdict policy vp. A sharded run's id
// is derived from what defines the run (scenario, subjects and roles,
// knobs, cells, seed, rounds, shard count, extra), so that every shard of it,
// run anywhere, carries the same id; any other run gets a random one.
func NewHeader(cfg Config, args []string, vp result.VerdictPolicy, started time.Time) result.Header {
	h := result.Header{
		Kind: result.Kind, Schema: result.SchemaVersion,
		Version: Version(), Go: runtime.Version(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU(),
		Command: args, Knobs: cfg.Knobs, Seed: cfg.Seed, Rounds: cfg.Runs,
		Shard: result.HeaderShard{K: 1, N: 1}, Verdict: vp, Started: started.UTC(), Extra: cfg.Extra,
	}
	if cfg.Scenario != nil {
		h.Scenario = cfg.Scenario.Name
	}
	for _, s := range cfg.Subjects {
		h.Subjects = append(h.Subjects, result.HeaderSubject{Name: s.Name, Role: s.Role, Signature: s.Signature})
	}
	for _, c := range cfg.Cells {
		h.Cells = append(h.Cells, result.HeaderCell{Label: c.Label, Knobs: c.Knobs})
	}
	if cfg.Shard.N > 1 {
		h.Shard = result.HeaderShard{K: cfg.Shard.K, N: cfg.Shard.N}
		def, _ := json.Marshal(struct {
			S  string
			Su []result.HeaderSubject
			K  result.Knobs
			C  []result.HeaderCell
			Se int64
			R  int
			N  int
			V  result.VerdictPolicy
			E  map[string]any `json:",omitempty"`
		}{h.Scenario, h.Subjects, h.Knobs, h.Cells, h.Seed, h.Rounds, h.Shard.N, vp, h.Extra})
		sum := sha256.Sum256(def)
		h.RunID = "shards-" + hex.EncodeToString(sum[:8])
	} else {
		var b [8]byte
		_, _ = rand.Read(b[:])
		h.RunID = started.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:4])
	}
	return h
}

// Version returns racestress's version: the main module's version, or its
// VCS revision (with "+dirty" when modified), or "devel".
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		return rev + dirty
	}
	return "devel"
}
