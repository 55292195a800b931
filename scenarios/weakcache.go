package scenarios

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/weakcache"
)

// CacheFunc builds a fresh weak-pointer cache with the options a scenario
// passes (its observer and chaos hook).
type CacheFunc func(opts ...weakcache.Option) weakcache.Cache

// CacheSubject declares a weak-pointer cache as a subject of WeakCache: the
// way to stress your own cache.
func CacheSubject(name string, role result.Role, doc string, newCache CacheFunc, signature ...result.Outcome) Subject {
	return Subject{Name: name, Role: role, Doc: doc, New: newCache, Signature: signature}
}

func cacheFunc(s Subject) (CacheFunc, bool) {
	switch f := s.New.(type) {
	case CacheFunc:
		return f, f != nil
	case func(...weakcache.Option) weakcache.Cache:
		return f, f != nil
	}
	return nil, false
}

// WeakCache stresses the Go blog's weak-pointer cache: goroutines look up
// values under a small key space, keeping a few alive and dropping the
// rest, under an aggressive GC, so that values die, their entries are
// eagerly deleted and new ones installed while old cleanups are pending. A
// Checker (weakcache.Checker) verifies canonicalisation from what the cache
// reports: a lookup that finds an entry returns the live canonical value
// for its key; no entry is removed while its value is alive; two live
// values never exist for one key.
var WeakCache = &Scenario{
	Name: "weakcache",
	Doc:  "the Go blog's weak cache: lookups and inserts under a small key space and an aggressive GC; canonicalisation checked",
	Outcomes: map[result.Outcome]Expect{
		result.OK:       {result.Acceptable, "every lookup canonical"},
		result.Canon:    {result.Forbidden, "canonicalisation broken: two live values for a key, an entry removed while its value was alive, or a lookup that returned another value than the canonical one"},
		result.Panic:    {result.Forbidden, "the cache panicked"},
		result.DataRace: {result.Forbidden, "the race detector reported a race on the cache"},
		result.Fatal:    {result.Forbidden, "the Go runtime killed the process (concurrent map access)"},
		result.Crash:    {result.Forbidden, "the trial's process was killed"},
		result.Hang:     {result.Forbidden, "the trial did not finish"},
		result.Error:    {result.Forbidden, "the trial could not run; never a pass"},
	},
	Subjects: caches(map[string]Subject{
		"delete":             {Role: result.Control, Signature: []result.Outcome{result.Canon}},
		"compare-and-delete": {Role: result.Clean},
		"plain-map":          {Role: result.Control, Signature: []result.Outcome{result.Fatal, result.DataRace}, Crashes: true},
	}),
	Defaults: []string{"delete", "compare-and-delete"},
	Knobs: []Knob{
		{Name: "threads", Doc: "goroutines calling Get", Default: 4, Min: 1, Max: 1024, Integer: true},
		{Name: "keys", Doc: "keys 0..keys-1, drawn uniformly", Default: 256, Min: 1, Max: 1000000, Integer: true},
		{Name: "keep", Doc: "values each goroutine keeps alive (a ring); the others become garbage", Default: 2, Min: 0, Max: 65536, Integer: true},
		{Name: "garbage", Doc: "bytes of garbage allocated per Get, so that the GC runs", Default: 256, Min: 0, Max: 1048576, Integer: true},
	},
	Trial: weakCacheTrial,
}

// caches builds WeakCache's subjects from the weakcache package's variants
// with their roles and signatures.
func caches(roles map[string]Subject) []Subject {
	var out []Subject
	for _, v := range weakcache.Variants() {
		s, ok := roles[v.Name]
		if !ok {
			continue
		}
		s.Name, s.New, s.Doc = v.Name, CacheFunc(v.New), v.Doc
		out = append(out, s)
	}
	return out
}

// weakSink keeps the garbage a Get allocates from being optimised away.
var weakSink atomic.Pointer[[]byte]

func weakCacheTrial(ctx context.Context, env Env) Observation {
	k := env.Knobs
	param := func(name string) int { v, _ := k.Get(name); return int(v) }
	threads, keys, keep, garbage := param("threads"), param("keys"), param("keep"), param("garbage")
	if threads < 1 || keys < 1 || keep < 0 || garbage < 0 {
		return errorObservation(fmt.Errorf("knobs need at least one thread and one key, got threads %d, keys %d", threads, keys))
	}
	newCache, ok := cacheFunc(env.Subject)
	if !ok {
		return errorObservation(fmt.Errorf("subject %q is not a weak cache (its New is %T, want a scenarios.CacheFunc)", env.Subject.Name, env.Subject.New))
	}
	defer debug.SetGCPercent(debug.SetGCPercent(k.GOGC))

	start := env.now()
	ctx, cancel := context.WithTimeout(ctx, k.Duration())
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	var stop atomic.Bool
	context.AfterFunc(gctx, func() { stop.Store(true) })
	mon := newMonitor(env, cancel)
	mon.start = start

	chk := weakcache.NewChecker()
	opts := []weakcache.Option{weakcache.WithObserver(chk)}
	if env.Hook != nil {
		// The chaos hook's priorities are by step point; the cache's points
		// take the registry's numbering.
		opts = append(opts, weakcache.WithHook(func(p weakcache.Point) { env.Hook(finalizer.Point(p)) }))
	}
	c := newCache(opts...)
	if c == nil {
		return errorObservation(fmt.Errorf("subject %q built a nil cache", env.Subject.Name))
	}
	var gets atomic.Uint64
	reported := 0
	check := func() {
		if n := chk.Count(); n > reported {
			vs := chk.Violations()
			for _, v := range vs[min(reported, len(vs)):] {
				mon.fail(result.Canon, "canon: "+v.Error())
			}
			// Violations found since Count are in vs, and reported now:
			// counting them here keeps the next check from reporting them
			// again.
			reported = max(n, len(vs))
		}
	}
	gc0 := gcCycles()
	for w := range threads {
		rng := rand.New(rand.NewPCG(uint64(env.Seed), uint64(w)))
		g.Go(func() error {
			ring := make([]*weakcache.Value, keep)
			mon.guard("Get", func() {
				for i := 0; !stop.Load(); i++ {
					key := rng.IntN(keys)
					v := c.Get(key)
					chk.Got(key, v)
					if keep > 0 {
						ring[i%keep] = v
					}
					if garbage > 0 {
						b := make([]byte, garbage)
						weakSink.Store(&b)
					}
					gets.Add(1)
				}
			})
			return nil
		})
	}
	// One goroutine turns the checker's findings into failures as they
	// come, so that a trial stops at its first.
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				check()
			}
		}
	}()
	_ = g.Wait()
	close(done)
	<-exited
	duration := env.now().Sub(start)
	check()
	cnt := result.Counts{Runs: gets.Load(), GCCycles: gcCycles() - gc0}
	if src, ok := c.(weakcache.StatsSource); ok {
		st := src.Stats()
		cnt.Objects, cnt.Cleanups, cnt.CalledByGC = st.Created, st.Cleanups, st.CleanupDeletes
		cnt.CalledExplicit = st.EagerDeletes
	}
	return mon.observation(duration, cnt)
}
