#!/usr/bin/env bash
# The suite's standard tier on one machine: every phase runs as N shard processes (one run
# at a time each, so no process start per run), phase after phase, then the report.
# Resumable: rerun the same command after an interruption; finished runs are skipped.
#
#   bash benchmarks/suite_standard.sh runs/suite_standard 2
#   MANIFEST=configs/suite_v2/suite.yaml bash benchmarks/suite_standard.sh runs/suite_v2 1
#
# Commit finished runs as they come (compact copies) with, beside it:
#   python -m benchmarks.suite_campaign --src runs/suite_standard --dest benchmarks/results/suite
set -uo pipefail
DIR=${1:-runs/suite_standard}
N=${2:-2}
TIER=${TIER:-standard}
FADE_RL=${FADE_RL:-fade-rl}
MANIFEST=${MANIFEST:-configs/suite/suite.yaml}
PHASES="references tuning held_out sensitivity"
if grep -q '^kind: levels' "$MANIFEST"; then  # the many-level suite: floors, no references
    PHASES="floors tuning held_out sensitivity"
fi
mkdir -p "$DIR/logs"
for phase in $PHASES; do
    echo "$(date +%H:%M:%S) phase $phase: $N shards"
    pids=()
    for ((k = 0; k < N; k++)); do
        $FADE_RL suite --manifest "$MANIFEST" --tier "$TIER" -f "$DIR" --phase "$phase" \
            --shard "$k/$N" --no-progress \
            >"$DIR/logs/${phase}_$k.log" 2>&1 &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || echo "$(date +%H:%M:%S) a $phase shard exited with $? (see $DIR/logs)"
    done
done
echo "$(date +%H:%M:%S) report"
$FADE_RL suite --manifest "$MANIFEST" --tier "$TIER" -f "$DIR" --phase report --no-progress
