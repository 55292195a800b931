package result_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

// validHeader is a header of a whole run that Validate accepts.
func validHeader() result.Header {
	return result.Header{
		Kind: result.Kind, Schema: result.SchemaVersion, RunID: "r1", Version: "v1", Go: "go1.26",
		GOOS: "linux", GOARCH: "amd64", CPUs: 2, Scenario: "bpo24484",
		Subjects: []result.HeaderSubject{{Name: "unfixed", Role: result.Control}, {Name: "fixed", Role: result.Clean}},
		Knobs:    result.Knobs{Threads: 2, Seconds: 4},
		Cells:    []result.HeaderCell{{Label: "threads=2", Knobs: result.Knobs{Threads: 2}}},
		Seed:     1, Rounds: 20, Shard: result.HeaderShard{K: 1, N: 1},
		Verdict: result.VerdictPolicy{MinPower: 0.5},
	}
}

func TestHeaderValidate(t *testing.T) {
	require.NoError(t, validHeader().Validate())
	ok := []func(*result.Header){
		func(h *result.Header) { h.Shard = result.HeaderShard{K: 3, N: 3} },
		func(h *result.Header) { h.Shard = result.HeaderShard{K: 1, N: 4} },
		func(h *result.Header) { h.Verdict.MinPower = 0 },
		func(h *result.Header) { h.Verdict.MinPower = 0.999 },
		func(h *result.Header) { h.Subjects = nil },
	}
	for i, edit := range ok {
		h := validHeader()
		edit(&h)
		assert.NoError(t, h.Validate(), "case %d", i)
	}
	bad := map[string]func(*result.Header){
		`header: kind "results", want "racestress-results"`:              func(h *result.Header) { h.Kind = "results" },
		"header: schema 1, this racestress reads headers of schema 2 to": func(h *result.Header) { h.Schema = 1 },
		"header: schema 3,":      func(h *result.Header) { h.Schema = result.SchemaVersion + 1 },
		"header: no run id":      func(h *result.Header) { h.RunID = "" },
		"header: shard 0/1":      func(h *result.Header) { h.Shard = result.HeaderShard{K: 0, N: 1} },
		"header: shard 1/0":      func(h *result.Header) { h.Shard = result.HeaderShard{K: 1, N: 0} },
		"header: shard 3/2":      func(h *result.Header) { h.Shard = result.HeaderShard{K: 3, N: 2} },
		"header: min power 1":    func(h *result.Header) { h.Verdict.MinPower = 1 },
		"header: min power -0.1": func(h *result.Header) { h.Verdict.MinPower = -0.1 },
		`header: subject "" with role "control"`: func(h *result.Header) {
			h.Subjects = append(h.Subjects, result.HeaderSubject{Role: result.Control})
		},
		`header: subject "x" with role "maybe"`: func(h *result.Header) {
			h.Subjects = append(h.Subjects, result.HeaderSubject{Name: "x", Role: "maybe"})
		},
	}
	for msg, edit := range bad {
		h := validHeader()
		edit(&h)
		err := h.Validate()
		if assert.Error(t, err, msg) {
			assert.Contains(t, err.Error(), msg)
		}
	}
}

func TestHeaderSameRun(t *testing.T) {
	base := validHeader()
	other := base
	other.Shard = result.HeaderShard{K: 1, N: 1}
	other.Started = base.Started.Add(1)
	other.Command = []string{"racestress", "--shard", "1/1"}
	assert.Empty(t, base.SameRun(other), "only the shard index, the start and the command may differ")
	assert.Empty(t, base.SameRun(base))

	differ := map[string]func(*result.Header){
		"run ids r1 and r2":            func(h *result.Header) { h.RunID = "r2" },
		"shard counts 1 and 2":         func(h *result.Header) { h.Shard.N = 2 },
		"seeds 1 and 2":                func(h *result.Header) { h.Seed = 2 },
		"scenarios bpo24484 and other": func(h *result.Header) { h.Scenario = "other" },
		"knobs":                        func(h *result.Header) { h.Knobs.Threads = 4 },
		"rounds 20 and 21":             func(h *result.Header) { h.Rounds = 21 },
		"subjects or roles": func(h *result.Header) {
			h.Subjects = []result.HeaderSubject{{Name: "unfixed", Role: result.Clean}, {Name: "fixed", Role: result.Clean}}
		},
		"verdict policy":                func(h *result.Header) { h.Verdict.RequireControl = true },
		"racestress versions v1 and v2": func(h *result.Header) { h.Version = "v2" },
		"Go versions go1.26 and go1.27": func(h *result.Header) { h.Go = "go1.27" },
	}
	for want, edit := range differ {
		o := base
		o.Subjects = append([]result.HeaderSubject(nil), base.Subjects...)
		edit(&o)
		assert.Equal(t, want, base.SameRun(o), want)
		assert.NotEmpty(t, o.SameRun(base), want)
	}

	cells := map[string][]result.HeaderCell{
		"one cell more":    append(append([]result.HeaderCell(nil), base.Cells...), result.HeaderCell{Label: "threads=4"}),
		"another label":    {{Label: "threads=8", Knobs: result.Knobs{Threads: 2}}},
		"other cell knobs": {{Label: "threads=2", Knobs: result.Knobs{Threads: 8}}},
		"no cells":         nil,
	}
	for name, c := range cells {
		o := base
		o.Cells = c
		assert.Equal(t, "sweep cells", base.SameRun(o), name)
	}
}

func TestHeaderSameMachine(t *testing.T) {
	base := validHeader()
	assert.Empty(t, base.SameMachine(base))
	for name, edit := range map[string]func(*result.Header){
		"os":   func(h *result.Header) { h.GOOS = "darwin" },
		"arch": func(h *result.Header) { h.GOARCH = "arm64" },
		"cpus": func(h *result.Header) { h.CPUs = 8 },
	} {
		o := base
		edit(&o)
		assert.NotEmpty(t, base.SameMachine(o), name)
	}
	o := base
	o.CPUs = 8
	assert.Equal(t, "linux/amd64 with 2 CPUs and linux/amd64 with 8 CPUs", base.SameMachine(o))
}

func TestKnobsWithAndEqual(t *testing.T) {
	k := result.Knobs{Threads: 2, Seconds: 4}
	assert.True(t, k.Equal(k))
	r := k.With("reentrant", 1)
	assert.True(t, r.Reentrant)
	assert.False(t, r.With("reentrant", 0).Reentrant)
	assert.False(t, k.Equal(r))

	a := k.With("keys", 256)
	assert.Equal(t, map[string]float64{"keys": 256}, a.Params)
	assert.Nil(t, k.Params, "With copies Params: the original is left alone")
	b := a.With("keep", 2)
	assert.Equal(t, map[string]float64{"keys": 256, "keep": 2}, b.Params)
	assert.Equal(t, map[string]float64{"keys": 256}, a.Params)
	v, ok := b.Get("keep")
	assert.True(t, ok)
	assert.Equal(t, 2.0, v)

	assert.True(t, a.Equal(k.With("keys", 256)))
	assert.False(t, a.Equal(k), "a param more")
	assert.False(t, k.Equal(a), "a param fewer")
	assert.False(t, a.Equal(k.With("keys", 255)), "another value")
	assert.False(t, a.Equal(k.With("other", 256)), "another name, same count")
	assert.False(t, a.Equal(a.With("threads", 3)), "same params, other fields")
}

func TestRecordHitInvalidAndUpgrade(t *testing.T) {
	assert.True(t, result.Record{Role: result.Control, Signature: true, Detected: true}.Hit())
	assert.False(t, result.Record{Role: result.Control, Detected: true}.Hit(), "a control's non-signature failure is no detection")
	assert.True(t, result.Record{Role: result.Clean, Detected: true}.Hit())
	assert.False(t, result.Record{Role: result.Clean, Signature: true}.Hit())
	assert.True(t, result.Record{Outcome: result.Error}.Invalid())
	assert.False(t, result.Record{Outcome: result.Hang}.Invalid())
	assert.False(t, result.Record{Outcome: result.OK}.Invalid())

	clean, notClean := true, false
	r := result.Record{Outcome: result.ChangedSize, Detected: true, LegacyClean: &notClean}
	r.Upgrade()
	assert.Equal(t, result.Control, r.Role)
	assert.True(t, r.Signature, "a schema-1 control's detection was its signature")
	assert.Nil(t, r.LegacyClean)

	r = result.Record{Outcome: result.Panic, Detected: true, LegacyClean: &clean}
	r.Upgrade()
	assert.Equal(t, result.Clean, r.Role)
	assert.False(t, r.Signature)
	assert.True(t, r.Detected)

	r = result.Record{Outcome: result.Error, Detected: true, LegacyClean: &notClean}
	r.Upgrade()
	assert.False(t, r.Detected, "a harness error was never a detection")
	assert.False(t, r.Signature)

	r = result.Record{Role: result.Clean, Outcome: result.OK, LegacyClean: &notClean}
	r.Upgrade()
	assert.Equal(t, result.Clean, r.Role, "a schema-2 role wins over a stray legacy field")
	assert.Nil(t, r.LegacyClean)
}
