#!/usr/bin/env bash
# Soak: the design matrix N times in a row (default 20). After every run it
# checks that no dockerd/containerd/runsc process, dindcheck mount or scratch
# dir is left; at the end it prints the flake rate per cell (runs whose
# verdict differs from the cell's most common verdict).
# Usage: scripts/soak.sh [N]   (as root, after scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
. scripts/runtimes.sh
out=$(mktemp -d /tmp/dindcheck-soak.XXXXXX)
trap 'rm -rf "$out"' EXIT
leaks=0
for i in $(seq 1 "$n"); do
  target/release/dindcheck run scenarios/devices-cgroup.yaml --runsc "$old" --runsc "$new" \
    -q --format json --out "$out/run-$i" > /dev/null
  left=$(ps -eo comm= | grep -cE '^(dockerd|containerd|containerd-shim.*|runsc.*|runc)$' || true)
  mounts=$(grep -c dindcheck /proc/self/mounts || true)
  dirs=$(find /tmp -maxdepth 1 \( -name 'dindcheck-[0-9]*' -o -name 'runsc-do*' \) | wc -l)
  if [ "$left" != 0 ] || [ "$mounts" != 0 ] || [ "$dirs" != 0 ]; then
    echo "run $i left $left processes, $mounts mounts, $dirs scratch dirs"
    leaks=$((leaks + 1))
  fi
done
python3 - "$out" "$n" "$leaks" <<'PY'
import collections, json, sys
out, n, leaks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
verdicts = collections.defaultdict(list)
swept = 0
for i in range(1, n + 1):
    for c in json.load(open(f"{out}/run-{i}/report.json"))["cells"]:
        verdicts[c["id"]].append((c["outcome"], c["signature"]))
        swept += len(c["leaked"])
flaky = 0
for cell, vs in sorted(verdicts.items()):
    common, count = collections.Counter(vs).most_common(1)[0]
    rate = 1 - count / len(vs)
    flaky += rate > 0
    print(f"{rate:6.1%}  {common[0]:<14} {common[1] or '-':<32} {cell}")
print(f"{n} runs x {len(verdicts)} cells: {flaky} cells with a flake; "
      f"{swept} leftovers swept by the harness; {leaks} runs left something behind")
PY
