package scenarios_test

import (
	"context"
	"testing"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
	"github.com/racestress/racestress/weakcache"
)

// forgetful is a user's cache, written outside the weakcache package,
// that never remembers a value: every Get makes a new one. It reports what
// it does as the weakcache Options ask.
type forgetfulCache struct{ opts weakcache.Options }

func (c *forgetfulCache) Get(key int) *weakcache.Value {
	v := weakcache.NewValue(key)
	c.opts.Observe(weakcache.Event{Kind: weakcache.Created, Key: key, Serial: v.Serial, Weak: weak.Make(v)})
	c.opts.Observe(weakcache.Event{Kind: weakcache.Installed, Key: key, Serial: v.Serial})
	return v
}

func (c *forgetfulCache) Len() int { return 0 }

func weakKnobs(t *testing.T, set map[string]string) result.Knobs {
	t.Helper()
	k := scenarios.WeakCache.DefaultKnobsOf()
	k.Seconds = 0.2
	for n, v := range set {
		var err error
		k, err = scenarios.WeakCache.SetKnob(k, n, v)
		require.NoError(t, err)
	}
	return k
}

func TestWeakCacheScenario(t *testing.T) {
	t.Run("a cache that is not canonical is caught, deterministically", func(t *testing.T) {
		// One key and a ring of two: the second Get makes a second value
		// while the first is still held, whatever the GC does.
		sub := scenarios.CacheSubject("forgetful", result.Clean, "", func(opts ...weakcache.Option) weakcache.Cache {
			return &forgetfulCache{opts: weakcache.NewOptions(opts...)}
		})
		obs := scenarios.WeakCache.Trial(context.Background(), scenarios.Env{Subject: sub, Knobs: weakKnobs(t, map[string]string{"keys": "1", "threads": "1"}), Seed: 1})
		require.Equal(t, result.Canon, obs.Outcome, obs.FirstError)
		assert.Contains(t, obs.FirstError, "canon: two-live: key 0")
	})
	t.Run("the blog's cache stays clean and its counts are reported", func(t *testing.T) {
		sub, err := scenarios.WeakCache.Subject("compare-and-delete")
		require.NoError(t, err)
		obs := scenarios.WeakCache.Trial(context.Background(), scenarios.Env{Subject: sub, Knobs: weakKnobs(t, nil), Seed: 2})
		assert.Equal(t, result.OK, obs.Outcome, obs.FirstError)
		assert.Positive(t, obs.Counts.Runs, "gets")
		assert.Positive(t, obs.Counts.Objects, "values created")
	})
	t.Run("a subject of another kind is a harness error, never a pass", func(t *testing.T) {
		obs := scenarios.WeakCache.Trial(context.Background(), scenarios.Env{Subject: variant(t, "fixed"), Knobs: weakKnobs(t, nil)})
		assert.Equal(t, result.Error, obs.Outcome)
		assert.Contains(t, obs.FirstError, "is not a weak cache")
	})
	t.Run("roles and signatures are declared by the scenario", func(t *testing.T) {
		d, err := scenarios.WeakCache.Subject("delete")
		require.NoError(t, err)
		assert.Equal(t, result.Control, d.Role)
		assert.Equal(t, []result.Outcome{result.Canon}, d.Signature)
		p, err := scenarios.WeakCache.Subject("plain-map")
		require.NoError(t, err)
		assert.True(t, p.Crashes)
		assert.True(t, p.IsSignature(result.Fatal))
	})
}

func TestKnobDeclarations(t *testing.T) {
	sc := scenarios.WeakCache
	t.Run("a declared knob is checked against its bounds", func(t *testing.T) {
		for _, bad := range []struct{ name, v, msg string }{
			{"keys", "0", "keys must be between 1 and 1000000, got 0"},
			{"keys", "1.5", "keys wants a whole number"},
			{"keys", "NaN", "keys wants a number"},
			{"garbage", "Inf", "garbage wants a number"},
			{"seconds", "1e10", "seconds must be between"},
			{"slots", "3", `scenario weakcache has no knob "slots"`},
			{"chaos", "wild", "unknown chaos level"},
		} {
			_, err := sc.SetKnob(sc.DefaultKnobsOf(), bad.name, bad.v)
			assert.ErrorContains(t, err, bad.msg, "%s=%s", bad.name, bad.v)
		}
	})
	t.Run("setting a knob leaves the original knobs as they were", func(t *testing.T) {
		base := sc.DefaultKnobsOf()
		k, err := sc.SetKnob(base, "keys", "64")
		require.NoError(t, err)
		got, _ := k.Get("keys")
		was, _ := base.Get("keys")
		assert.Equal(t, 64.0, got)
		assert.Equal(t, 256.0, was)
	})
	t.Run("threads split into makers and runners in the registry scenarios", func(t *testing.T) {
		k, err := scenarios.ThreadSafety.SetKnob(scenarios.ThreadSafety.DefaultKnobsOf(), "threads", "5")
		require.NoError(t, err)
		assert.Equal(t, [3]int{5, 2, 3}, [3]int{k.Threads, k.Makers, k.Runners})
	})
	t.Run("every scenario's defaults are within its declaration", func(t *testing.T) {
		for _, s := range scenarios.All() {
			assert.NoError(t, s.CheckKnobs(s.DefaultKnobsOf()), s.Name)
			for _, p := range s.Presets {
				assert.NoError(t, s.CheckKnobs(p.Knobs), s.Name+"/"+p.Name)
			}
		}
	})
}
