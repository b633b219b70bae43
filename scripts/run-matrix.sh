#!/usr/bin/env bash
# The main job: install what is missing, build dindcheck, and run the design
# matrix (scenarios/devices-cgroup.yaml) against bookworm's runsc 20221219 and
# trixie's runsc 20240729. Extra arguments go to `dindcheck run`
# (e.g. --format json, --jobs 1).
#
# --strict: the scenario's expect: rules cover every cell for these two
# runsc, so the script exits 1 when reality drifts (a verdict changed, or a
# runsc was upgraded or relabelled and no rule covers its cells), and 4 when
# a cell could not run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/setup.sh
if ! command -v cargo >/dev/null; then
  echo "run-matrix: cargo not found; install a Rust toolchain (rustup) first" >&2
  exit 3
fi
cargo build --release --quiet
exec target/release/dindcheck run scenarios/devices-cgroup.yaml \
  --runsc /usr/bin/runsc \
  --runsc "${DINDCHECK_CACHE:-/var/cache/dindcheck}/trixie/usr/bin/runsc" \
  --strict "$@"
