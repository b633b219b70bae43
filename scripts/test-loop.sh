#!/usr/bin/env bash
# The whole test suite N times in a row (default 20), with missing runtimes
# turned into failures, as CI runs it. Prints one line per run and stops at the
# first failing run, keeping its log; the logs of passing runs are removed.
# Usage: scripts/test-loop.sh [N]   (as root, after scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
export DINDCHECK_REQUIRE_RUNTIMES=1
cargo test --no-run --quiet
logs=$(mktemp -d "${TMPDIR:-/tmp}/dindcheck-test-loop.XXXXXX")
for i in $(seq 1 "$n"); do
  started=$(date +%s)
  if cargo test --no-fail-fast > "$logs/run-$i.log" 2>&1; then
    passed=$(grep -h '^test result: ok' "$logs/run-$i.log" |
      awk '{p += $4; i += $8} END {print p " passed, " i " ignored"}')
    echo "run $i/$n: ok, $passed ($(($(date +%s) - started)) s)"
    rm -f "$logs/run-$i.log"
  else
    echo "run $i/$n: FAILED ($(($(date +%s) - started)) s); log: $logs/run-$i.log"
    grep -E '^(test .* FAILED|---- )' "$logs/run-$i.log" | head -20
    exit 1
  fi
done
rmdir "$logs"
echo "$n of $n runs passed"
