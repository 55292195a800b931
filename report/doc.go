// Package report turns trial records into statistics and renders them. It
// runs no trial: its functions read records and write text (LogHead alone
// reads a trial's log from disk).
//
// # Statistics
//
// A stress run is a sample, so every rate comes with its exact 95%
// Clopper–Pearson interval (ClopperPearson, Group.DetectionCI); with no
// failure at all the upper bound is stated as "failure rate < x% per trial
// at 95%" (Group.RateStatement). Group.RunsNeeded99 says how many trials give
// a 99% chance of at least one detection at the observed rate. Time to first
// failure is estimated with Kaplan–Meier (KaplanMeier, Curve): trials that
// never failed are censored at their length instead of being dropped, and
// its median, p90 and p99 are reported, or "> T" when the curve never gets
// there within the longest trial T. The raw minimum and maximum of the
// detected trials are kept beside them.
//
// # Formats
//
// Render writes a Summary in one of Formats: "table" (the side-by-side
// comparison), "markdown" (the same, to paste into a pull request), "json"
// (the schema below), "junit" (JUnit XML, see JUnit), "html" (a
// self-contained page with SVG charts, see HTML), "github" (GitHub
// Actions annotations, one per failure signature; GitHubSummary and
// AppendStepSummary write the job summary) and "test2json" (a go test -json
// event stream, one test per trial, see Test2JSON). Warnings
// (Summary.Warnings) travel as data and print as footnotes in every format.
// Given the run's results header (Summary.Header), every format says what
// an exec or gotest run ran: its command lines, or its go test command (see
// Ran). Progress is the live status line of a running stress; StatusLine
// and LogHead are the console lines of a trial that failed unexpectedly,
// TerminalColumns and IsTerminal what the console is. The subjects are
// whatever a run stressed: the finalizer registries, the weakcache caches,
// commands and Go test binaries (racestress exec and gotest); in-process,
// process or pool trials alike.
//
// # Verdict
//
// Summary.Verdict is racestress's one verdict: the run, the gate, report,
// merge, every format and stresstest.Verify take theirs from it. It reads
// Summary.Policy, the result.VerdictPolicy the run's results header recorded
// (the lowest acceptable lower bound of a control's detection rate, and
// whether a run with no control may pass), and the run's facts besides it:
// Summary.Subjects (the subjects it meant to run), Summary.Incomplete (a
// merge missing shards) and Summary.Empty (a shard that rightly holds no
// round). The fix's effect (Summary.Effects) compares each control with the
// clean subjects of its scenario.
//
// # Sweeps
//
// A sweep (racestress --sweep gogc=1,10 procs=1,2) labels each trial with
// its cell, "gogc=1 procs=2", and Summarize makes one group per scenario ×
// registry × cell. Every format names the cell beside the registry:
// "unfixed (control) [gogc=1 procs=2]" in tables and statements, the
// "cell" field in JSON, "<scenario>/<registry> [<cell>]" as JUnit suite
// name. ParseCell reads a label back into its key=value pairs, in label
// order, and Summary.Sweeps gives the matrix view of each swept scenario
// (Sweep): with exactly two swept keys a grid per registry, rows the values
// of the first key and columns those of the second; otherwise one row per
// cell and one column per registry. Each matrix cell shows the rate with its
// 95% interval and the Kaplan–Meier median time to first failure. The table
// format prints one comparison per cell, then the matrices last, where a
// terminal leaves them in view; markdown prints the matrices first, for a
// reader of a pull request; HTML shows them as a heat map (table cells
// coloured by the rate, light 0% to dark 100%), then the comparisons, and
// per registry a detection curve with one line per cell and a histogram of
// its times to first failure.
//
// # JSON schema, version 1
//
// The document is one object:
//
//	schema              1; changes only when a field is removed or changes meaning
//	confidence          0.95, the level of every interval
//	scenario            the scenarios, comma-separated, in order of appearance
//	groups[]            one per scenario × registry (× sweep cell), in order
//	                    of appearance:
//	  scenario, registry  names
//	  cell                the sweep cell, "gogc=1 procs=2"; omitted outside
//	                      sweeps
//	  clean               true when the registry must show no forbidden outcome
//	                      (then the rate is a failure rate), false for a control
//	                      (the rate is a detection rate)
//	  runs, detected      trials, and trials with a forbidden outcome
//	  detection_rate      detected / runs
//	  ci_low, ci_high     exact 95% Clopper–Pearson interval of detection_rate,
//	                      rounded to 6 decimals
//	  rate_statement      the same in words, e.g. "failure rate < 16.9% per
//	                      trial at 95% (0 of 20 trials)"
//	  runs_needed_99      trials giving a 99% chance of one detection at the
//	                      observed rate; null when nothing was detected
//	  outcomes            trials by outcome ("ok", "panic", ...)
//	  grade               the worst grade of its trials
//	  passed              the registry met its expectation
//	  ttff_ms             time to first failure, milliseconds from trial start:
//	    median, p90, min, max   over the detected trials only (linear
//	                            interpolation); null when none was detected
//	    km_median, km_p90, km_p99  Kaplan–Meier quantiles over all trials
//	                            (undetected ones censored at their length);
//	                            null when not reached: then "> km_horizon"
//	    km_horizon              the longest observed time
//	    censored                trials never detected
//	  detection_curve[]   the Kaplan–Meier steps of P(detected by t), by time:
//	    t_ms, p             a detection time and P(detected by t_ms)
//	    at_risk, detected   trials at risk just before t_ms, detected at t_ms
//	  objects_per_sec, callbacks_per_sec  per second of stress time
//	  mutations           changed-size panics by what they saw: "removed" and
//	                      "inserted" always, "removed+inserted" when seen
//	  knobs               the settings the trials ran with
//	matrix[]            the sweep view, one per swept scenario (omitted when
//	                    the run was no sweep):
//	  scenario            its name
//	  dims[]              the swept dimensions in label order:
//	    key, values[]       a knob and its values in order of appearance; a
//	                        single key "cell" holding the labels when they do
//	                        not all parse into the same keys
//	  grid                true for exactly two dims: rows dims[0], columns dims[1]
//	  cells[]             per cell (in order of appearance), per registry:
//	    cell                the label
//	    at                  the label as an object, {"gogc": "1", "procs": "2"}
//	    registry, clean     as in groups
//	    runs, detected, detection_rate, ci_low, ci_high   as in groups
//	    ttff_km_median_ms   the Kaplan–Meier median time to first failure;
//	                        null when not reached: then "> ttff_km_horizon_ms"
//	    ttff_km_horizon_ms  the longest observed time
//	warnings[]          problems that did not stop the run (omitted when none)
package report
