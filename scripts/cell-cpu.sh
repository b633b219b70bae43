#!/usr/bin/env bash
# Where a design-matrix cell's CPU goes, per runsc release: CPU time (user +
# system, every process of the run, sandboxes included) of
#   (1) 8 bare sandboxes: `runsc --network=none do true`
#   (2) the design matrix's 8 cells with the fake dockerd that crashes at
#       once (the sandbox, the agent's mounts and doctor, the harness), and
#       the same with --no-doctor
#   (3) the same 8 cells with the fake dockerd that serves GET /info
#   (4) the design matrix's 8 real cells (dockerd and containerd in gVisor)
# each as a median of ROUNDS runs at --jobs 1, divided by 8. (4) minus (2)
# is what dockerd and containerd cost inside the sandbox; (2) minus (1) is
# the harness's own work in the cell. On 2 cores no schedule of the 16-cell
# matrix beats its CPU time over 2, which bounds its speed-up against the
# shell loop (scripts/bench-speed.sh prints that bound too).
# runsc reparents its sandboxes, so each measurement runs under a child
# subreaper that waits for them: their CPU is counted.
# Usage: scripts/cell-cpu.sh [ROUNDS]   (default 3; as root, after
# scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
. scripts/runtimes.sh
fake=$PWD/target/release/fake-dockerd
out=$(mktemp -d /tmp/dindcheck-cell-cpu.XXXXXX)
trap 'rm -rf "$out"' EXIT
for mode in crash ready; do
  # The design matrix's axes, with the fake dockerd (which ignores them).
  sed -e "s|^  binary: dockerd$|  binary: $fake\n  args: [--fake-mode=$mode]|" \
      -e '/^expect:/,$d' -e "s/^name: .*/name: fake-$mode/" \
      scenarios/devices-cgroup.yaml >"$out/fake-$mode.yaml"
  grep -q -- "--fake-mode=$mode" "$out/fake-$mode.yaml" || { echo "scenario rewrite failed" >&2; exit 1; }
done
python3 - "$rounds" "$out" "$bin" "$old" "$new" <<'PY'
import ctypes, os, resource, statistics as st, subprocess, sys
rounds, out, bin_, old, new = int(sys.argv[1]), *sys.argv[2:]
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER

def cpu(argv):
    """CPU seconds of argv and every process it left behind."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    while True:
        try:
            os.wait()
        except ChildProcessError:
            break
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)

def run(scenario, runsc, tag):
    return [bin_, "run", scenario, "--runsc", runsc, "--jobs", "1", "-q",
            "--out", os.path.join(out, f"{tag}.{os.getpid()}.{len(os.listdir(out))}")]

print(f"CPU per cell (core-s), median of {rounds} runs of 8 cells each, --jobs 1:")
for label, runsc in [("20221219", old), ("20240729", new)]:
    rows = {
        "bare sandbox (runsc do true)": ["bash", "-c", " ".join(
            [f"{runsc} --root={out}/root --network=none do -quiet /bin/true;"] * 8)],
        "cell, fake dockerd crashes": run(f"{out}/fake-crash.yaml", runsc, "crash"),
        "  the same with --no-doctor": run(f"{out}/fake-crash.yaml", runsc, "nodoc") + ["--no-doctor"],
        "cell, fake dockerd ready": run(f"{out}/fake-ready.yaml", runsc, "ready"),
        "cell, real dockerd": run("scenarios/devices-cgroup.yaml", runsc, "real"),
    }
    got = {name: st.median(cpu(argv) for _ in range(rounds)) / 8 for name, argv in rows.items()}
    print(f"  runsc {label}:")
    for name, value in got.items():
        print(f"    {name:30s} {value:5.2f}")
    print(f"    dockerd and containerd in gVisor: {got['cell, real dockerd'] - got['cell, fake dockerd crashes']:.2f}; "
          f"the harness in the cell: {got['cell, fake dockerd crashes'] - got['bare sandbox (runsc do true)']:.2f}")
PY
