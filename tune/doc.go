// Package tune finds the settings at which a control (a subject with a
// known bug) is caught fastest on this machine, and keeps them as a preset
// file.
//
// # What is measured
//
// A cell is a point of the search space: for a built-in scenario its knobs
// and isolation (process or pool), for an exec or gotest target an
// environment, extra flags and a batch size. Each trial of a cell reports a
// Sample: whether it caught the bug (a hit) and the wall-clock time it
// cost, process start, build and teardown included. A cell's hazard is
//
//	hits / wall seconds spent on its trials
//
// the rate at which running that cell over and over catches the bug per
// second of a CI job. For a scenario, whose trial stops at its first
// failure, that is 1 / (mean time to first failure + overhead per trial);
// for a Go test, failures per iteration × iterations per second. Hits over
// exposure is the maximum-likelihood estimate of a Poisson rate, and the
// interval reported with it is the exact (Garwood) one: with k hits over t
// seconds, [Gamma⁻¹(α/2; k), Gamma⁻¹(1-α/2; k+1)] / t at α = 5%. The hits
// are counted as a Poisson process in wall time. Trials that end at their
// first hit make a renewal process instead, whose counts are about as
// dispersed: exactly as, for exponential times to failure and no overhead
// (the exponential is memoryless), and less, where a fixed overhead per
// trial dominates; so the interval is close to exact.
//
// # How the search works
//
// Search is successive halving. The cells start in one rung; after each
// rung the half with the lowest hazard (rounding the survivors up) leaves,
// until two are left for the last rung: 12 cells make rungs of 12, 6, 3
// and 2 cells. Each rung gets an equal share of the budget still left when
// it starts (less a sixteenth kept back for trials that run past their
// share), split equally between its cells as exposure (wall time of
// trials), so that a cell that lasts to the end has been measured far
// longer than one dropped early: with 12 cells, each of the six dropped at
// the first rung gets about 1/48 of the budget, each of the last two
// about 13/48.
// Hazards are compared on everything a cell has run so far. Within a rung
// the exposure is run in eight rounds; in each round every surviving cell,
// in a freshly shuffled order, runs trials until its exposure reaches the
// round's share, so that all the cells meet the machine in the same state
// (a warming CPU, a noisy neighbour) rather than one after the other. A
// trial may ask for its cell's next one right away (Sample.More): a Go
// test's batch of iterations, read one at a time from a warm process, is
// then run whole before another cell's trials, however short the round's
// share.
// Ties go to the earlier cell; put the defaults first. No trial starts once
// the budget is spent; the winner is then the best cell still in the race.
//
// The probability that the best cell is dropped falls exponentially in the
// exposure: two cells of hazards λ₁ > λ₂ measured over t seconds each swap
// places with probability at most exp(-t(√λ₁ - √λ₂)²) (a Chernoff bound on
// the difference of two Poisson counts); the tests size a simulated search
// with it.
//
// # Confirmation, presets and reports
//
// A winner picked from many noisy cells looks better than it is (the
// winner's curse), so the gain over the defaults is measured afresh:
// Interleave runs the defaults cell and the winner in alternation, and
// Confirm takes their samples
// and returns each hazard and their ratio, with the exact conditional
// interval (given k₁ and k₂ hits, k₁ is binomial in k₁+k₂; its
// Clopper–Pearson interval maps to the ratio), printed as "hazard 7.9× the
// defaults' [5.1×, 12×]" with the bounds rounded outwards.
//
// A Preset holds the target, the chosen cell, the confirmation, the search
// table and the machine; ReadPreset is strict, and Compare names each way
// another machine differs. ScenarioSpace and ExecSpace build the cells;
// Markdown and HTML render the search.
package tune
