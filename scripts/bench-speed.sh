#!/usr/bin/env bash
# Speed of dindcheck on the design matrix (16 cells at depth ready: 8 dockerd
# configurations x runsc 20221219 and 20240729), on one machine in one run:
#   (a) the matrix's wall time with the default --jobs (and how many cells it
#       ran at once) and with each of
#       --jobs $JOBS, against (d) scripts/baseline-loop.sh, the plain shell loop
#       the seed document implies (start dockerd in `runsc do`, poll
#       `docker info` once a second), as ratios of medians
#   (b) the harness's overhead per cell, as a median over every cell of the
#       default runs: the time to the verdict minus dockerd's own time, from
#       its first log line to `API listen on` (ready cells) or to its last
#       words (failed cells), with its parts
#   (c) from dockerd's last words to the verdict: median and maximum over
#       every failed cell of every run, and which event decided the verdicts
# Every run's 16 verdicts (outcome and signature) are compared with the
# committed reference run fixtures/reports/devices-cgroup-both.json (the
# README's table), and the shell loop's outcomes with its outcomes; any
# difference is printed and the script exits 1.
# Rounds: each round runs every command once through hyperfine, in a rotated
# order, so a load that drifts over the run hits every command alike.
# Usage: scripts/bench-speed.sh [ROUNDS]   (default 5; as root, after
# scripts/setup.sh). JOBS="1 2 3 4" (default) sets the --jobs values.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
jobs_list=${JOBS:-1 2 3 4}
. scripts/runtimes.sh
out=$(mktemp -d /tmp/dindcheck-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT
matrix="$bin run scenarios/devices-cgroup.yaml --runsc $old --runsc $new -q --format json"
names=("default")
commands=("$matrix --out \$(mktemp -d $out/default.XXXX)/r > /dev/null")
for j in $jobs_list; do
  names+=("jobs-$j")
  commands+=("$matrix --jobs $j --out \$(mktemp -d $out/jobs-$j.XXXX)/r > /dev/null")
done
names+=("shell-baseline")
commands+=("scripts/baseline-loop.sh > \$(mktemp $out/baseline.XXXX)")
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; --jobs $(
  "$bin" run --help | grep -A1 -e '--jobs' | grep -o '(default: [^)]*)')" >&2
for round in $(seq 1 "$rounds"); do
  args=()
  n=${#names[@]}
  for k in $(seq 0 $((n - 1))); do
    i=$(((k + round - 1) % n))
    args+=(-n "${names[$i]}" "${commands[$i]}")
  done
  hyperfine --runs 1 --style none --export-json "$out/round-$round.json" "${args[@]}" >&2
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 - "$out" "$(nproc)" <<'PY'
import glob, json, statistics as st, sys
out, cores = sys.argv[1], int(sys.argv[2])
times, cpu = {}, {}
for path in sorted(glob.glob(f"{out}/round-*.json")):
    for r in json.load(open(path))["results"]:
        times.setdefault(r["command"], []).extend(r["times"])
        cpu.setdefault(r["command"], []).append(r["user"] + r["system"])
med = {name: st.median(ts) for name, ts in times.items()}
base = med["shell-baseline"]
print(f"(a) the design matrix's wall time, median of {len(times['default'])} runs each "
      f"({cores} cores), and the CPU time it used (user + system, all processes):")
for name, m in med.items():
    ratio = "" if name == "shell-baseline" else f"  {base / m:.2f}x faster than the shell loop"
    print(f"    {name:15s} {m:6.2f} s  (min {min(times[name]):.2f}, max {max(times[name]):.2f}; "
          f"CPU {st.median(cpu[name]):5.2f} s){ratio}")

ref = {tuple(sorted(c["axes"].items())): (c["outcome"], c["signature"])
       for c in json.load(open("fixtures/reports/devices-cgroup-both.json"))["cells"]}
differences = []
reports = {}
at_once = {}
for path in sorted(glob.glob(f"{out}/*.*/r/report.json")):
    label = path.split("/")[-3].split(".")[0]
    report = json.load(open(path))
    cells = report["cells"]
    at_once.setdefault(label, []).append(report["host"].get("most_at_once"))
    reports.setdefault(label, []).append(cells)
    got = {tuple(sorted(c["axes"].items())): (c["outcome"], c["signature"]) for c in cells}
    for key in sorted(set(ref) | set(got)):
        if ref.get(key) != got.get(key):
            differences.append(f"{label}: {dict(key)}: {got.get(key)} (reference {ref.get(key)})")
label_of = {"old": "20221219", "new": "20240729"}
for path in sorted(glob.glob(f"{out}/baseline.*")):
    for line in open(path).read().splitlines():
        axes, verdict = line.split(": ")
        kv = dict(f.split("=") for f in axes.split())
        key = tuple(sorted({"cgroup_driver": kv["driver"], "cgroup_parent": kv["parent"],
                            "iptables": kv["iptables"], "runsc": label_of[kv["runsc"]]}.items()))
        if verdict != ref[key][0]:
            differences.append(f"shell-baseline: {dict(key)}: {verdict} (reference {ref[key][0]})")

if any(n is not None for n in at_once.get("default", [])):
    print(f"    the default ran at most {sorted(n for n in at_once['default'] if n is not None)} cells at once "
          f"(--jobs {json.load(open(glob.glob(f'{out}/default.*/r/report.json')[0]))['host']['jobs']}, "
          f"more while the CPUs idled)")
floor = st.median(cpu["default"]) / cores
print(f"    CPU floor: the default run keeps {st.median(cpu['default']) / med['default'] / cores:.0%} of the "
      f"{cores} cores busy; with its CPU time no schedule finishes in under {floor:.2f} s, "
      f"{base / floor:.2f}x the shell loop (whose own CPU excludes its sandboxes: runsc reparents them)")

t = lambda c, k: c["timings_ms"].get(k)
def own(c):
    return t(c, "dockerd_log_to_api_listen") if t(c, "dockerd_log_to_api_listen") is not None \
        else t(c, "dockerd_log_to_fatal_line")
def spawn_to_own_end(c):
    return t(c, "dockerd_start_to_api") if t(c, "dockerd_log_to_api_listen") is not None \
        else t(c, "dockerd_start_to_fatal_line")
print("(b) harness overhead per cell: the verdict's time minus dockerd's own time (its first log line "
      "to `API listen on` or to its last words); medians over every cell of every run:")
for label in ["default"] + sorted(l for l in reports if l != "default"):
    judged = [c for run in reports.get(label, []) for c in run if own(c) is not None]
    if not judged:
        continue
    m = lambda f, cs=judged: st.median(f(c) for c in cs)
    info = [c for c in judged if t(c, "info") is not None]
    print(f"    {label:10s} {m(lambda c: t(c, 'verdict') - own(c)):6.0f} ms of a verdict at "
          f"{m(lambda c: t(c, 'verdict')):5.0f} ms: runsc sandbox start {m(lambda c: t(c, 'sandbox_start')):.0f}, "
          f"agent mounts {m(lambda c: t(c, 'agent_setup')):.0f}, doctor {m(lambda c: t(c, 'doctor') or 0):.0f}, "
          f"dockerd's exec to its first log line {m(lambda c: spawn_to_own_end(c) - own(c)):.0f}, "
          f"GET /info {m(lambda c: t(c, 'info'), info) if info else '-'} (ready cells); "
          f"then teardown {m(lambda c: t(c, 'teardown')):.0f}")
failed = [c for runs in reports.values() for run in runs for c in run if c["outcome"] == "daemon-failed"]
f2v = sorted(t(c, "fatal_line_to_verdict") for c in failed if t(c, "fatal_line_to_verdict") is not None)
decided = {}
for c in failed:
    decided[c.get("decided_by")] = decided.get(c.get("decided_by"), 0) + 1
exits = sorted(t(c, "dockerd_start_to_exit") - t(c, "dockerd_start_to_fatal_line") for c in failed
               if t(c, "dockerd_start_to_exit") is not None and t(c, "dockerd_start_to_fatal_line") is not None)
print(f"(c) dockerd's last words to the verdict: median {st.median(f2v)} ms, max {f2v[-1]} ms over "
      f"{len(f2v)} failed cells of {sum(len(r) for r in reports.values())} runs; decided by {decided}; "
      f"dockerd exited a median {st.median(exits) if exits else '-'} ms after its last words "
      f"({len(exits)} of {len(failed)} within the teardown)")
if differences:
    print(f"verdicts differ from fixtures/reports/devices-cgroup-both.json:")
    for d in differences:
        print(f"    {d}")
    sys.exit(1)
print(f"verdicts: all {len(reports) and sum(len(r) for r in reports.values())} dindcheck runs give the "
      f"reference's 16 verdicts; the shell loop's outcomes match too")
PY
