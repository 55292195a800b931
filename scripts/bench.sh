#!/usr/bin/env bash
# Benchmark suite: for each preset and chaos level, the unfixed registry's
# detection (rate with interval, time to first failure by Kaplan-Meier) and
# the fixed registry's forbidden outcomes (with the upper bound), objects/s,
# callbacks/s, peak RSS of a trial, the per-trial overhead of process and
# pool isolation, and the gate's rounds in a 30 s budget; every measurement
# is taken under each isolation in turn (process, then pool, then the next
# measurement), so both columns meet the same machine load; written as a
# Markdown table (to stdout and to $OUT/bench.md). Usable from a fresh clone.
#
# Sizes (environment): UNFIXED_RUNS (200), FIXED_RUNS (1000), FIXED_SECONDS
# (0.25: the length of a fixed trial), THROUGHPUT_RUNS (5 fixed trials of 4 s
# each, for objects/s and callbacks/s in steady state), PRESETS ("fast
# faithful"), CHAOS ("off low high"), ISOLATIONS ("process pool"), GATE_BUDGET
# (30s; empty: no gate runs), OUT (racestress-out/bench-<time>).
# SUBJECT_RUNS (200 weakcache delete trials); the weak cache's clean subject
# and the retry registry run FIXED_RUNS trials of FIXED_SECONDS each.
# Scaling: SCALING_THREADS ("2,4,8"; empty: none) by SCALING_PROCS ("1,2"),
# SCALING_RUNS (50) unfixed and SCALING_FIXED_RUNS (5) fixed 2 s trials a
# cell, under SCALING_ISOLATION (process).
# The full suite takes about 110 minutes on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
UNFIXED_RUNS=${UNFIXED_RUNS:-200}
FIXED_RUNS=${FIXED_RUNS:-1000}
FIXED_SECONDS=${FIXED_SECONDS:-0.25}
THROUGHPUT_RUNS=${THROUGHPUT_RUNS:-5}
PRESETS=${PRESETS:-"fast faithful"}
CHAOS=${CHAOS:-"off low high"}
ISOLATIONS=${ISOLATIONS:-"process pool"}
GATE_BUDGET=${GATE_BUDGET-30s}
OUT=${OUT:-racestress-out/bench-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
bin="$OUT/racestress"
go build -o "$bin" ./cmd/racestress

echo "bench: isolation overhead" >&2
bench=$(go test -run '^$' -bench PoolOverhead -benchtime 60x ./harness)
metric() { awk -v m="$1" '{ for (i = 1; i < NF; i++) if ($(i+1) == m) print $i }' <<<"$bench"; }
overhead=$(metric ms-process-overhead)
pool_overhead=$(metric ms-pool-overhead)

files=()
for preset in $PRESETS; do
  for chaos in $CHAOS; do
    for iso in $ISOLATIONS; do
      echo "bench: $preset chaos=$chaos $iso: $UNFIXED_RUNS unfixed trials" >&2
      "$bin" --preset "$preset" --chaos "$chaos" --isolate "$iso" --registry unfixed --runs "$UNFIXED_RUNS" --seed 1 \
        --quiet --format json --out "$OUT/$preset-$chaos-$iso-unfixed.jsonl" >/dev/null || true
    done
    for iso in $ISOLATIONS; do
      echo "bench: $preset chaos=$chaos $iso: $FIXED_RUNS fixed trials of ${FIXED_SECONDS}s" >&2
      "$bin" --preset "$preset" --chaos "$chaos" --isolate "$iso" --registry fixed --runs "$FIXED_RUNS" --seconds "$FIXED_SECONDS" --seed 1 \
        --quiet --format json --out "$OUT/$preset-$chaos-$iso-fixed.jsonl" >/dev/null || true
    done
    for iso in $ISOLATIONS; do
      echo "bench: $preset chaos=$chaos $iso: $THROUGHPUT_RUNS fixed trials of 4s for throughput" >&2
      "$bin" --preset "$preset" --chaos "$chaos" --isolate "$iso" --registry fixed --runs "$THROUGHPUT_RUNS" --seconds 4 --seed 1 \
        --quiet --format json --out "$OUT/$preset-$chaos-$iso-throughput.jsonl" >/dev/null || true
    done
    for iso in $ISOLATIONS; do
      files+=("$OUT/$preset-$chaos-$iso-unfixed.jsonl" "$OUT/$preset-$chaos-$iso-fixed.jsonl" "$OUT/$preset-$chaos-$iso-throughput.jsonl")
    done
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

# Scaling (issue 13): threads 2/4/8 by GOMAXPROCS 1/2 at the default preset,
# the unfixed registry's time to first failure and the fixed one's objects/s.
SCALING_THREADS=${SCALING_THREADS-2,4,8}
SCALING_PROCS=${SCALING_PROCS:-1,2}
SCALING_RUNS=${SCALING_RUNS:-50}
SCALING_FIXED_RUNS=${SCALING_FIXED_RUNS:-5}
SCALING_ISOLATION=${SCALING_ISOLATION:-process}
scaling=()
if [ -n "$SCALING_THREADS" ]; then
  echo "bench: scaling threads=$SCALING_THREADS procs=$SCALING_PROCS: $SCALING_RUNS unfixed, $SCALING_FIXED_RUNS fixed trials of 2s each ($SCALING_ISOLATION)" >&2
  "$bin" --sweep "threads=$SCALING_THREADS" --sweep "procs=$SCALING_PROCS" --isolate "$SCALING_ISOLATION" --registry unfixed \
    --runs "$SCALING_RUNS" --seed 1 --quiet --format json --out "$OUT/unfixed-scaling.jsonl" >/dev/null || true
  "$bin" --sweep "threads=$SCALING_THREADS" --sweep "procs=$SCALING_PROCS" --isolate "$SCALING_ISOLATION" --registry fixed \
    --runs "$SCALING_FIXED_RUNS" --seconds 2 --seed 1 --quiet --format json --out "$OUT/fixed-scaling.jsonl" >/dev/null || true
  scaling=("$OUT/unfixed-scaling.jsonl" "$OUT/fixed-scaling.jsonl")
fi

if [ -n "$GATE_BUDGET" ]; then
  for iso in $ISOLATIONS; do
    echo "bench: gate --budget $GATE_BUDGET $iso" >&2
    "$bin" gate --budget "$GATE_BUDGET" --isolate "$iso" --seed 1 --quiet --format json --out "$OUT/$iso-gate.jsonl" >/dev/null || true
    files+=("$OUT/$iso-gate.jsonl")
  done
fi

machine="Measured $(date -u +%Y-%m-%d) on $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(go version | cut -d' ' -f3)); reproduce with scripts/bench.sh."
go run ./scripts/benchtable -overhead "$overhead" -pool-overhead "$pool_overhead" -machine "$machine" "${files[@]}" "${subjects[@]}" "${scaling[@]}" | tee "$OUT/bench.md"
