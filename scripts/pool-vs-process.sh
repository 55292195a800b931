#!/usr/bin/env bash
# Issue 13's comparison of --isolate pool against --isolate process, side
# by side in one run: every measurement alternates between the two modes
# in small batches, so both meet the same machine load.
#
#   per-trial overhead    BenchmarkPoolOverhead (finalize-order, in-process
#                         vs process vs pool, interleaved per iteration) and
#                         BenchmarkPoolNullTrial (a pool's whole cost)
#   unfixed TTFF          racestress --registry unfixed at the default
#                         preset, BATCHES x BATCH trials per mode
#   gate rounds           racestress gate --budget GATE_BUDGET, GATES per mode,
#                         at the default trial length and at GATE_SECONDS
#   fixed                 objects/s over THROUGHPUT_RUNS trials of 4 s per
#                         mode; forbidden outcomes in FIXED_RUNS pooled
#                         trials of FIXED_SECONDS
#
# Environment: BATCHES (10), BATCH (20), GATE_BUDGET (30s), GATES (2),
# GATE_SECONDS (0.05; empty: none),
# THROUGHPUT_RUNS (5), FIXED_RUNS (1000), FIXED_SECONDS (0.25),
# OUT (racestress-out/pool-<time>).
set -euo pipefail
cd "$(dirname "$0")/.."
BATCHES=${BATCHES:-10}
BATCH=${BATCH:-20}
GATE_BUDGET=${GATE_BUDGET:-30s}
GATES=${GATES:-2}
GATE_SECONDS=${GATE_SECONDS-0.05}
THROUGHPUT_RUNS=${THROUGHPUT_RUNS:-5}
FIXED_RUNS=${FIXED_RUNS:-1000}
FIXED_SECONDS=${FIXED_SECONDS:-0.25}
OUT=${OUT:-racestress-out/pool-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
bin="$OUT/racestress"
go build -o "$bin" ./cmd/racestress
echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/load"

echo "pool-vs-process: overhead benchmarks" >&2
go test -run '^$' -bench 'PoolOverhead|PoolNullTrial' -benchtime 100x -count 5 ./harness | tee "$OUT/bench.txt" >&2

for b in $(seq 1 "$BATCHES"); do
  for iso in process pool; do
    echo "pool-vs-process: unfixed batch $b $iso" >&2
    "$bin" --registry unfixed --runs "$BATCH" --isolate "$iso" --quiet --format json \
      --out "$OUT/unfixed-$iso-$b.jsonl" >/dev/null || true
  done
done
for g in $(seq 1 "$GATES"); do
  for iso in process pool; do
    echo "pool-vs-process: gate $g $iso" >&2
    "$bin" gate --budget "$GATE_BUDGET" --isolate "$iso" --quiet --format json --out "$OUT/gate-$iso-$g.jsonl" >/dev/null || true
    if [ -n "$GATE_SECONDS" ]; then
      "$bin" gate --budget "$GATE_BUDGET" --seconds "$GATE_SECONDS" --isolate "$iso" --quiet --format json \
        --out "$OUT/gateshort-$iso-$g.jsonl" >/dev/null || true
    fi
  done
done
for t in $(seq 1 "$THROUGHPUT_RUNS"); do
  for iso in process pool; do
    echo "pool-vs-process: fixed throughput $t $iso" >&2
    "$bin" --registry fixed --runs 1 --seconds 4 --isolate "$iso" --quiet --format json \
      --out "$OUT/throughput-$iso-$t.jsonl" >/dev/null || true
  done
done
echo "pool-vs-process: $FIXED_RUNS pooled fixed trials of ${FIXED_SECONDS}s" >&2
"$bin" --registry fixed --runs "$FIXED_RUNS" --seconds "$FIXED_SECONDS" --isolate pool --quiet --format json \
  --out "$OUT/fixed-pool.jsonl" >/dev/null || true
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load"
go run ./scripts/benchtable -pool-compare "$OUT" | tee "$OUT/pool.md"
