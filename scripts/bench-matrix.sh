#!/usr/bin/env bash
# Times the design matrix (16 cells: 8 dockerd configurations x 2 runsc) with
# --jobs 1 and with the default (one per core), using hyperfine, then reads
# the per-cell overhead of the harness from one run's JSON report:
#   overhead = time to verdict - dockerd's own start -> "API listen on" (its log).
# Usage: scripts/bench-matrix.sh [RUNS]   (as root, after scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
old=/usr/bin/runsc
new=${DINDCHECK_CACHE:-/var/cache/dindcheck}/trixie/usr/bin/runsc
cargo build --release --quiet
bin=target/release/dindcheck
out=$(mktemp -d /tmp/dindcheck-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT
matrix="$bin run scenarios/devices-cgroup.yaml --runsc $old --runsc $new -q --format json"
hyperfine --warmup 1 --runs "$runs" --export-json "$out/hyperfine.json" \
  -n 'jobs=1' "$matrix --jobs 1 --out $out/j1 > /dev/null" \
  -n "jobs=default ($(nproc))" "$matrix --out $out/jd > /dev/null"
python3 - "$out/hyperfine.json" "$out/j1/report.json" "$out/jd/report.json" <<'PY'
import json, statistics, sys
bench = json.load(open(sys.argv[1]))["results"]
med = {r["command"]: statistics.median(r["times"]) for r in bench}
for name, m in med.items():
    print(f"matrix wall time, {name}: median {m:.2f} s")
names = list(med)
print(f"speed-up default/jobs=1: {med[names[0]] / med[names[1]]:.2f}x")
for label, path in (("jobs=1", sys.argv[2]), ("default", sys.argv[3])):
    cells = json.load(open(path))["cells"]
    ready = [c for c in cells if c["timings_ms"]["dockerd_log_to_api_listen"] is not None]
    failed = [c for c in cells if c["timings_ms"]["dockerd_start_to_exit"] is not None]
    t = lambda c, k: c["timings_ms"][k]
    if ready:
        med = lambda f: statistics.median(f(c) for c in ready)
        over = med(lambda c: t(c, "verdict") - t(c, "dockerd_log_to_api_listen"))
        print(f"[{label}] ready cells: {len(ready)}; medians: verdict {med(lambda c: t(c, 'verdict'))} ms, "
              f"dockerd's own start->API listen (its log) {med(lambda c: t(c, 'dockerd_log_to_api_listen'))} ms, "
              f"overhead {over} ms = runsc sandbox start {med(lambda c: t(c, 'sandbox_start'))} ms "
              f"+ agent mounts {med(lambda c: t(c, 'agent_setup'))} ms "
              f"+ dockerd exec to first log line and /_ping detection "
              f"{med(lambda c: t(c, 'dockerd_start_to_api') - t(c, 'dockerd_log_to_api_listen'))} ms "
              f"+ GET /info {med(lambda c: t(c, 'info'))} ms + event delivery "
              f"{med(lambda c: t(c, 'verdict') - t(c, 'sandbox_start') - t(c, 'agent_setup') - t(c, 'dockerd_start_to_api') - t(c, 'info'))} ms")
    if failed:
        print(f"[{label}] failed cells: {len(failed)}; median verdict {statistics.median(t(c,'verdict') for c in failed)} ms, "
              f"dockerd start->exit {statistics.median(t(c,'dockerd_start_to_exit') for c in failed)} ms, "
              f"teardown {statistics.median(t(c,'teardown') for c in failed)} ms")
PY
