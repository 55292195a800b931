package scenarios_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

func TestChaosLevelsParseAndPrint(t *testing.T) {
	for _, c := range []scenarios.Chaos{scenarios.ChaosOff, scenarios.ChaosLow, scenarios.ChaosHigh} {
		got, err := scenarios.ParseChaos(c.String())
		require.NoError(t, err)
		assert.Equal(t, c, got)
	}
	assert.Equal(t, []string{"off", "low", "high"}, []string{
		scenarios.ChaosOff.String(), scenarios.ChaosLow.String(), scenarios.ChaosHigh.String(),
	})
	_, err := scenarios.ParseChaos("max")
	assert.ErrorContains(t, err, `unknown chaos level "max"`)
	assert.Equal(t, "Chaos(7)", scenarios.Chaos(7).String())
	assert.Equal(t, "Chaos(3)", scenarios.Chaos(3).String(), "the first level past high")
	assert.Equal(t, "Chaos(-1)", scenarios.Chaos(-1).String())
}

func TestChaosHook(t *testing.T) {
	t.Run("off installs no hook", func(t *testing.T) {
		assert.Nil(t, scenarios.ChaosOff.Hook(1))
		assert.Nil(t, scenarios.Chaos(7).Hook(1), "an unknown level installs nothing either")
		assert.Nil(t, scenarios.Chaos(3).Hook(1), "nor does the first level past high")
		assert.Nil(t, scenarios.Chaos(-1).Hook(1))
	})
	t.Run("low and high are safe to call from many goroutines at every point", func(t *testing.T) {
		for _, c := range []scenarios.Chaos{scenarios.ChaosLow, scenarios.ChaosHigh} {
			h := c.Hook(42)
			require.NotNil(t, h)
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for i := range 2000 {
						h(finalizer.Point(1 + (g+i)%3))
					}
				})
			}
			wg.Wait()
		}
	})
	t.Run("it changes when a registry runs, never what it does", func(t *testing.T) {
		for _, name := range []string{"unfixed", "fixed", "locked"} {
			var calls []int
			v, _ := finalizer.Lookup(name)
			r := v.New(finalizer.WithHook(scenarios.ChaosHigh.Hook(7)))
			for i := range 500 {
				r.Register(nil, func() { calls = append(calls, i) }, finalizer.P(i%10))
			}
			r.Run(finalizer.NoPriority)
			require.Len(t, calls, 500, name)
			for j := 1; j < len(calls); j++ {
				a, b := calls[j-1], calls[j]
				// highest priority first, equal priorities in reverse creation order
				assert.True(t, a%10 > b%10 || (a%10 == b%10 && a > b), "%s: %d before %d", name, a, b)
			}
			assert.Zero(t, r.Len())
		}
	})
}

func TestChaosKeepsCleanRegistriesClean(t *testing.T) {
	for _, c := range []scenarios.Chaos{scenarios.ChaosLow, scenarios.ChaosHigh} {
		t.Run("finalize-order under chaos "+c.String(), func(t *testing.T) {
			for _, name := range []string{"unfixed", "fixed", "locked"} {
				obs := scenarios.FinalizeOrder.Trial(context.Background(), scenarios.Env{
					Subject: variant(t, name), Knobs: shortKnobs(), Hook: c.Hook(3),
				})
				assert.Equal(t, result.OK, obs.Outcome, "%s: %s", name, obs.FirstError)
			}
		})
		t.Run("bpo24484 on the fixed registry under chaos "+c.String(), func(t *testing.T) {
			k := shortKnobs()
			k.SleepScale = 0.05
			obs := scenarios.ThreadSafety.Trial(context.Background(), scenarios.Env{
				Subject: variant(t, "fixed"), Knobs: k, Seed: 5, Hook: c.Hook(5),
			})
			assert.Equal(t, result.OK, obs.Outcome, obs.FirstError)
			assert.Positive(t, obs.Counts.Objects)
			assert.Empty(t, obs.Warnings)
		})
	}
}
