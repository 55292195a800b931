package harness_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// myRegistry is a user's own registry: here, the fixed one behind a mutex
// of its own, standing in for whatever the user wants to stress.
type myRegistry struct {
	mu sync.Mutex
	finalizer.Registry
}

func (r *myRegistry) Run(min finalizer.Priority) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Registry.Run(min)
}

// Stress your own registry through the same engine: declare it as a
// subject with its role and run a scenario on it in-process.
func ExampleRun() {
	mine := scenarios.RegistrySubject("mine", result.Clean, "my registry",
		func(opts ...finalizer.Option) finalizer.Registry {
			return &myRegistry{Registry: finalizer.NewFixed(opts...)}
		})
	k := scenarios.DefaultKnobs()
	k.Seconds = 0.1
	records, err := harness.Run(context.Background(), harness.Config{
		Scenario: scenarios.FinalizeOrder,
		Subjects: []scenarios.Subject{mine},
		Runs:     3,
		Knobs:    k,
	})
	if err != nil {
		panic(err)
	}
	for _, r := range records {
		fmt.Println(r.Trial, r.Registry, r.Outcome)
	}
	// Output:
	// 0 mine ok
	// 1 mine ok
	// 2 mine ok
}
