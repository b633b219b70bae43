#!/usr/bin/env bash
# Held-out accuracy of `dindcheck triage` on the real-log corpus (fixtures/corpus/): builds the
# release binary and scores the held-out split (scripts/triage-accuracy.py says how).
# Usage: scripts/triage-accuracy.sh [--split train] [--misses]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
python3 -c 'import yaml' 2>/dev/null || { echo "triage-accuracy: needs python3-yaml (apt-get install python3-yaml)" >&2; exit 3; }
exec python3 scripts/triage-accuracy.py "$@"
