#!/usr/bin/env bash
# Speed of dindcheck on the design matrix (16 cells: 8 dockerd configurations
# x runsc 20221219 and 20240729), on one machine in one run:
#   (a) matrix wall time with --jobs 1 and with the default (one per core)
#   (b) per-cell harness overhead = time to verdict - dockerd's own
#       start -> "API listen on" time (from its log), with a breakdown
#   (c) exit detection: a daemon that exits at start (the fake dockerd, which
#       logs a timestamped line and exits at once), from its exit to the verdict
#   (d) the same matrix driven by scripts/baseline-loop.sh, the plain shell loop
#       the seed document implies (start dockerd, poll `docker info` each second)
# Usage: scripts/bench-speed.sh [RUNS]   (as root, after scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
. scripts/runtimes.sh
fake=$PWD/target/release/fake-dockerd
out=$(mktemp -d /tmp/dindcheck-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT
matrix="$bin run scenarios/devices-cgroup.yaml --runsc $old --runsc $new -q --format json"
hyperfine --warmup 1 --runs "$runs" --export-json "$out/hyperfine.json" \
  -n 'dindcheck --jobs 1' "$matrix --jobs 1 --out $out/j1 > /dev/null" \
  -n "dindcheck default ($(nproc) jobs)" "$matrix --out $out/jd > /dev/null" \
  -n 'shell baseline' "scripts/baseline-loop.sh > $out/baseline.txt"
for sandbox in native runsc; do
  printf 'name: exit-%s\nsandbox: %s\ndockerd:\n  binary: %s\n  args: [--fake-mode=crash]\naxes:\n  n: {a: {}, b: {}, c: {}, d: {}, e: {}, f: {}, g: {}, h: {}, i: {}, j: {}}\n' \
    "$sandbox" "$sandbox" "$fake" > "$out/exit-$sandbox.yaml"
  "$bin" run "$out/exit-$sandbox.yaml" --runsc "$old" --jobs 1 -q --out "$out/exit-$sandbox" --format json > /dev/null
done
python3 - "$out" <<'PY'
import json, statistics, sys
out = sys.argv[1]
bench = json.load(open(f"{out}/hyperfine.json"))["results"]
med = {r["command"]: statistics.median(r["times"]) for r in bench}
names = list(med)
print("(a)/(d) matrix wall time, medians:")
for name, m in med.items():
    print(f"  {name}: {m:.2f} s")
print(f"  default vs --jobs 1: {med[names[0]] / med[names[1]]:.2f}x faster")
print(f"  default vs shell baseline: {med[names[2]] / med[names[1]]:.2f}x faster")
t = lambda c, k: c["timings_ms"][k]
for label in ("j1", "jd"):
    cells = json.load(open(f"{out}/{label}/report.json"))["cells"]
    ready = [c for c in cells if t(c, "dockerd_log_to_api_listen") is not None]
    m = lambda f: statistics.median(f(c) for c in ready)
    print(f"(b) [{label}] {len(ready)} ready cells, medians: verdict {m(lambda c: t(c, 'verdict'))} ms, "
          f"dockerd's own start->API listen {m(lambda c: t(c, 'dockerd_log_to_api_listen'))} ms, "
          f"overhead {m(lambda c: t(c, 'verdict') - t(c, 'dockerd_log_to_api_listen'))} ms = "
          f"runsc sandbox start {m(lambda c: t(c, 'sandbox_start'))} + agent mounts {m(lambda c: t(c, 'agent_setup'))} "
          f"+ dockerd exec to first log line and /_ping detection "
          f"{m(lambda c: t(c, 'dockerd_start_to_api') - t(c, 'dockerd_log_to_api_listen'))} "
          f"+ GET /info {m(lambda c: t(c, 'info'))} + doctor {m(lambda c: t(c, 'doctor') or 0)} + event delivery "
          f"{m(lambda c: t(c, 'verdict') - t(c, 'sandbox_start') - t(c, 'agent_setup') - (t(c, 'doctor') or 0) - t(c, 'dockerd_start_to_api') - t(c, 'info'))}")
for sandbox in ("native", "runsc"):
    cells = json.load(open(f"{out}/exit-{sandbox}/report.json"))["cells"]
    v = sorted(t(c, "last_log_line_to_verdict") for c in cells)
    print(f"(c) exit detection, {sandbox}: median {statistics.median(v)} ms, max {v[-1]} ms over {len(v)} cells")
base = open(f"{out}/baseline.txt").read().split("\n")
ready = sum(1 for l in base if l.endswith(": ready"))
print(f"(d) the shell baseline's verdicts: {ready} ready of {sum(1 for l in base if l)} (no signatures, no leak checks)")
PY
