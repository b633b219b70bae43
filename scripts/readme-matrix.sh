#!/usr/bin/env bash
# Regenerates the design-matrix table in README.md from a real run, so the
# table is never edited by hand. It runs scripts/run-matrix.sh (which fails on
# any drift from the scenario's expect: rules, and with --strict on any cell
# they do not cover) and, only when that run exits 0, replaces the block
# between the `<!-- matrix:begin -->` and `<!-- matrix:end -->` lines of
# README.md with: the table, the summary, and each runsc's findings without
# their proof lines (the legend of fixes is cut to `…`).
# Usage: scripts/readme-matrix.sh        (as root, like run-matrix.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d "${TMPDIR:-/tmp}/dindcheck-readme.XXXXXX")
trap 'rm -rf "$out"' EXIT
status=0
bash scripts/run-matrix.sh --color never -q > "$out/table.txt" || status=$?
if [ "$status" -ne 0 ]; then
  echo "readme-matrix: run-matrix.sh exited $status; README.md left as it is" >&2
  cat "$out/table.txt" >&2
  exit "$status"
fi
python3 - "$out/table.txt" README.md <<'PY'
import sys
table_path, readme_path = sys.argv[1], sys.argv[2]
lines = open(table_path).read().splitlines()
# The table runs to the first blank line; the legend to the next; then the
# summary lines; then one analysis section per runsc.
blank = [i for i, l in enumerate(lines) if not l.strip()]
if len(blank) < 3:
    sys.exit("readme-matrix: unexpected table shape:\n" + "\n".join(lines))
table = lines[: blank[0]]
summary = lines[blank[1] + 1 : blank[2]]
analysis = [l for l in lines[blank[2] + 1 :] if l.strip() and not l.startswith("    ")]
block = ["```"] + table + ["…"] + summary + [""] + analysis + ["```"]
text = open(readme_path).read().splitlines()
try:
    begin = text.index("<!-- matrix:begin -->")
    end = text.index("<!-- matrix:end -->")
except ValueError:
    sys.exit("readme-matrix: README.md has no <!-- matrix:begin/end --> markers")
text[begin + 1 : end] = block
open(readme_path, "w").write("\n".join(text) + "\n")
print(f"readme-matrix: README.md updated ({len(table) - 2} cells)", file=sys.stderr)
PY
