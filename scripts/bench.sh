#!/usr/bin/env bash
# Benchmark suite: for each preset and chaos level, the unfixed registry's
# detection (rate with interval, time to first failure by Kaplan-Meier) and
# the fixed registry's forbidden outcomes (with the upper bound), objects/s,
# callbacks/s, peak RSS of a trial, and the per-trial overhead of process
# isolation; all measured side by side in one run, written as a Markdown
# table (to stdout and to $OUT/bench.md). Usable from a fresh clone.
#
# Sizes (environment): UNFIXED_RUNS (200), FIXED_RUNS (1000), FIXED_SECONDS
# (0.25: the length of a fixed trial), THROUGHPUT_RUNS (5 fixed trials of 4 s
# each, for objects/s and callbacks/s in steady state), PRESETS ("fast
# faithful"), CHAOS ("off low high"), OUT (racestress-out/bench-<time>).
# SUBJECT_RUNS (200 weakcache delete trials); the weak cache's clean subject
# and the retry registry run FIXED_RUNS trials of FIXED_SECONDS each.
# The full suite takes about 70 minutes on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
UNFIXED_RUNS=${UNFIXED_RUNS:-200}
FIXED_RUNS=${FIXED_RUNS:-1000}
FIXED_SECONDS=${FIXED_SECONDS:-0.25}
THROUGHPUT_RUNS=${THROUGHPUT_RUNS:-5}
PRESETS=${PRESETS:-"fast faithful"}
CHAOS=${CHAOS:-"off low high"}
OUT=${OUT:-racestress-out/bench-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
bin="$OUT/racestress"
go build -o "$bin" ./cmd/racestress

echo "bench: isolation overhead" >&2
overhead=$(go test -run '^$' -bench IsolationOverhead -benchtime 40x ./harness | awk '/ms-overhead/ { for (i = 1; i < NF; i++) if ($(i+1) == "ms-overhead") print $i }')

for preset in $PRESETS; do
  for chaos in $CHAOS; do
    echo "bench: $preset chaos=$chaos: $UNFIXED_RUNS unfixed trials" >&2
    "$bin" --preset "$preset" --chaos "$chaos" --registry unfixed --runs "$UNFIXED_RUNS" --seed 1 \
      --quiet --format json --out "$OUT/$preset-$chaos-unfixed.jsonl" >/dev/null || true
    echo "bench: $preset chaos=$chaos: $FIXED_RUNS fixed trials of ${FIXED_SECONDS}s" >&2
    "$bin" --preset "$preset" --chaos "$chaos" --registry fixed --runs "$FIXED_RUNS" --seconds "$FIXED_SECONDS" --seed 1 \
      --quiet --format json --out "$OUT/$preset-$chaos-fixed.jsonl" >/dev/null || true
    echo "bench: $preset chaos=$chaos: $THROUGHPUT_RUNS fixed trials of 4s for throughput" >&2
    "$bin" --preset "$preset" --chaos "$chaos" --registry fixed --runs "$THROUGHPUT_RUNS" --seconds 4 --seed 1 \
      --quiet --format json --out "$OUT/$preset-$chaos-throughput.jsonl" >/dev/null || true
  done
done

# Other subjects (issue 11): the weak cache's delete control and
# compare-and-delete clean subject, and bpo-24484's third fix, retry, clean at
# every preset and chaos level.
SUBJECT_RUNS=${SUBJECT_RUNS:-200}
echo "bench: weakcache: $SUBJECT_RUNS delete trials, $FIXED_RUNS compare-and-delete trials of ${FIXED_SECONDS}s" >&2
"$bin" --scenario weakcache --registry delete --runs "$SUBJECT_RUNS" --seed 1 \
  --quiet --format json --out "$OUT/weakcache-delete-subjects.jsonl" >/dev/null || true
"$bin" --scenario weakcache --registry compare-and-delete --runs "$FIXED_RUNS" --seconds "$FIXED_SECONDS" --seed 1 \
  --quiet --format json --out "$OUT/weakcache-cad-subjects.jsonl" >/dev/null || true
subjects=("$OUT/weakcache-delete-subjects.jsonl" "$OUT/weakcache-cad-subjects.jsonl")
for preset in $PRESETS; do
  for chaos in $CHAOS; do
    echo "bench: $preset chaos=$chaos: $FIXED_RUNS retry trials of ${FIXED_SECONDS}s" >&2
    "$bin" --preset "$preset" --chaos "$chaos" --registry retry --runs "$FIXED_RUNS" --seconds "$FIXED_SECONDS" --seed 1 \
      --quiet --format json --out "$OUT/$preset-$chaos-retry-subjects.jsonl" >/dev/null || true
    subjects+=("$OUT/$preset-$chaos-retry-subjects.jsonl")
  done
done

machine="Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(go version | cut -d' ' -f3)); reproduce with scripts/bench.sh."
files=()
for preset in $PRESETS; do for chaos in $CHAOS; do
  files+=("$OUT/$preset-$chaos-unfixed.jsonl" "$OUT/$preset-$chaos-fixed.jsonl" "$OUT/$preset-$chaos-throughput.jsonl")
done; done
go run ./scripts/benchtable -overhead "$overhead" -machine "$machine" "${files[@]}" "${subjects[@]}" | tee "$OUT/bench.md"
