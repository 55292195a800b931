// Package report turns trial records into statistics and renders them. It is
// pure: every function here reads results and writes text; none runs a trial.
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
// (the schema below), "junit" (JUnit XML, see JUnit) and "html" (a
// self-contained page with SVG charts, see HTML). Warnings (Summary.Warnings)
// travel as data and print as footnotes in every format. Progress is the
// live status line of a running stress.
//
// # JSON schema, version 1
//
// The document is one object:
//
//	schema              1; changes only when a field is removed or changes meaning
//	confidence          0.95, the level of every interval
//	scenario            the scenarios, comma-separated, in order of appearance
//	groups[]            one per scenario × registry, in order of appearance:
//	  scenario, registry  names
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
//	warnings[]          problems that did not stop the run (omitted when none)
package report
