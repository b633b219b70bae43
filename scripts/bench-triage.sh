#!/usr/bin/env bash
# Benchmarks `dindcheck triage` on a generated dockerd log (1 GiB by default)
# against `grep -E -f PATTERNS` over the same file, where PATTERNS are the
# catalogue's patterns converted to ERE, and records peak memory.
#
#   scripts/bench-triage.sh [RUNS]          (default 5 runs each)
#   SIZE_MIB=64 scripts/bench-triage.sh 3   (a smaller log)
#   BASELINE=/path/to/old/dindcheck SIZE_MIB=256 scripts/bench-triage.sh 10
#                                           (this build against another one)
#   GREP=0 …                                (leave grep out)
#   DISTINCT_WARNINGS=1 …                   (every warning's words differ:
#                                           no repeated warning to remember)
#   API_ERRORS=1 …                          (every line an API error naming
#                                           another container: the worst case)
#
# With BASELINE, both binaries run in one hyperfine call (interleaved, so
# load from other work falls on both alike; build the baseline with
# `cargo build --release` too), and the script prints the ratio of their
# median wall times and of their CPU times (user + system, which load
# inflates less), and both peak RSS figures.
#
# The log is built from the real healthy dockerd logs in fixtures/logs/ready/
# (logrus lines, harmless warnings and overlay-fallback errors) with fresh
# timestamps, plus `dockerd --debug` API noise, and ends with the fatal
# iptables-nft line and its continuation. Needs hyperfine, awk and GNU time
# (`apt-get install hyperfine time`).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${1:-5}
SIZE_MIB=${SIZE_MIB:-1024}
BASELINE=${BASELINE:-}
GREP=${GREP:-1}
DISTINCT_WARNINGS=${DISTINCT_WARNINGS:-0}
API_ERRORS=${API_ERRORS:-0}
# The generated logs are kept between runs in a private cache directory, not
# under a fixed /tmp path that another user could have planted first.
WORK=${WORK:-${XDG_CACHE_HOME:-$HOME/.cache}/dindcheck/triage-bench}
variant=""
[ "$DISTINCT_WARNINGS" = 0 ] || variant="-distinct"
[ "$API_ERRORS" = 0 ] || variant="$variant-api-errors"
LOG=$WORK/dockerd-${SIZE_MIB}MiB$variant.log
SMALL=$WORK/dockerd-1MiB$variant.log
PATTERNS=$WORK/patterns.ere

for tool in hyperfine awk grep /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install hyperfine gawk grep time)" >&2; exit 3; }
done

cargo build --release --quiet
BIN=$PWD/target/release/dindcheck
if [ -n "$BASELINE" ]; then
    BASELINE=$(realpath "$BASELINE")
    [ -x "$BASELINE" ] || { echo "BASELINE=$BASELINE is not an executable" >&2; exit 3; }
fi
mkdir -p -m 0700 "$WORK"

# A log of at least $1 MiB: template lines with new timestamps, then the fatal line.
generate() {
    local mib=$1 out=$2
    grep -h '^time="' fixtures/logs/ready/*.log | grep -v 'API listen on' |
        awk -v target=$((mib << 20)) -v distinct="$DISTINCT_WARNINGS" -v errors="$API_ERRORS" '
            { sub(/^time="[^"]*" /, ""); tpl[n++] = $0 }
            END {
                debug[0] = "level=debug msg=\"Calling HEAD /_ping\""
                debug[1] = "level=debug msg=\"Calling GET /v1.41/containers/json?all=1\""
                debug[2] = "level=debug msg=\"Calling GET /v1.41/info\""
                debug[3] = "level=debug msg=\"processing event stream\" module=libcontainerd namespace=moby"
                bytes = 0; i = 0; s = 0; ns = 0
                while (bytes < target) {
                    ns += 137119; if (ns >= 1000000000) { ns -= 1000000000; s++ }
                    stamp = sprintf("time=\"2026-11-28T%02d:%02d:%02d.%09dZ\" ", 19 + int(s / 3600) % 5, int(s / 60) % 60, s % 60, ns)
                    line = (i % 4 == 3) ? debug[int(i / 4) % 4] : tpl[i % n]
                    # Real daemons repeat their warnings word for word;
                    # DISTINCT_WARNINGS=1 numbers each one instead.
                    if (distinct && line ~ /^level=warning msg="/) sub(/msg="/, "msg=\"#" i " ", line)
                    if (errors) line = sprintf("level=error msg=\"Handler for GET /v1.41/containers/c%d/json returned error: No such container: c%d\"", i, i)
                    print stamp line
                    bytes += length(stamp) + length(line) + 1
                    i++
                }
                print "failed to start daemon: Error initializing network controller: error obtaining controller instance: failed to create NAT chain DOCKER: iptables failed: iptables -t nat -N DOCKER: iptables: Failed to initialize nft: Protocol not supported"
                print " (exit status 1)"
            }' >"$out.tmp"
    mv "$out.tmp" "$out"
}

if [ ! -s "$LOG" ]; then
    echo "generating $LOG …" >&2
    generate "$SIZE_MIB" "$LOG"
fi
[ -s "$SMALL" ] || generate 1 "$SMALL"

# The catalogue's patterns as ERE: YAML single quotes undone; GNU grep knows
# \w, \S and \b; ERE has no inline flags, so `(?i:X)` becomes `(X)` (grep
# then matches case-sensitively, which only makes its job easier).
grep '^    pattern: ' src/signatures.yaml |
    sed -e "s/^    pattern: '//" -e "s/'\$//" -e "s/''/'/g" -e 's/(?i:/(/g' >"$PATTERNS"

echo "log: $LOG ($(du -h "$LOG" | cut -f1), $(wc -l <"$LOG") lines); patterns: $(wc -l <"$PATTERNS")"
verdict=$("$BIN" triage --format json "$LOG" | awk -F'"' '/"signature":/ { print $4; exit }')
echo "triage names: $verdict"
[ "$verdict" = iptables-nft-unsupported ] || { echo "unexpected verdict" >&2; exit 1; }
commands=(-n triage "$BIN triage $LOG >/dev/null")
if [ -n "$BASELINE" ]; then
    base_verdict=$("$BASELINE" triage --format json "$LOG" | awk -F'"' '/"signature":/ { print $4; exit }')
    echo "baseline $BASELINE names: $base_verdict"
    commands+=(-n baseline "$BASELINE triage $LOG >/dev/null")
fi
if [ "$GREP" != 0 ]; then
    echo "grep -E -f matches $(LC_ALL=C grep -c -E -f "$PATTERNS" "$LOG") lines"
    # grep writing to /dev/null stops at the first match, so count instead
    # (-c reads the whole file, as triage does).
    commands+=(-n "grep (LC_ALL=C)" "LC_ALL=C grep -c -E -f $PATTERNS $LOG >/dev/null"
        -n "grep (C.UTF-8)" "LC_ALL=C.UTF-8 grep -c -E -f $PATTERNS $LOG >/dev/null")
fi

hyperfine --warmup 1 --runs "$RUNS" --export-csv "$WORK/hyperfine.csv" "${commands[@]}"

# hyperfine's CSV: command,mean,stddev,median,user,system,min,max (user and
# system are means).
awk -F, -v mib="$SIZE_MIB" 'NR > 1 { median[$1] = $4; cpu[$1] = $5 + $6 }
    END {
        t = median["triage"]
        for (g in median) if (g != "triage") {
            if (g == "baseline")
                printf "median baseline %7.3f s (%.0f MiB/s), triage %7.3f s (%.0f MiB/s): triage/baseline %.3f; CPU (user+sys, mean) baseline %.3f s, triage %.3f s: %.3f\n",
                    median[g], mib / median[g], t, mib / t, t / median[g], cpu[g], cpu["triage"], cpu["triage"] / cpu[g]
            else
                printf "median %-16s %7.3f s, triage %7.3f s: triage takes %.2f× grep'"'"'s time (%.0f MiB/s vs %.0f MiB/s)\n",
                    g, median[g], t, t / median[g], mib / t, mib / median[g]
        }
    }' "$WORK/hyperfine.csv"

peak() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ { print $2 }'; }
echo "peak RSS: triage ${SIZE_MIB} MiB log $(peak "$BIN" triage "$LOG") KiB," \
    "triage 1 MiB log $(peak "$BIN" triage "$SMALL") KiB"
if [ -n "$BASELINE" ]; then
    echo "peak RSS: baseline ${SIZE_MIB} MiB log $(peak "$BASELINE" triage "$LOG") KiB," \
        "baseline 1 MiB log $(peak "$BASELINE" triage "$SMALL") KiB"
fi
if [ "$GREP" != 0 ]; then
    echo "peak RSS: grep ${SIZE_MIB} MiB log $(peak env LC_ALL=C grep -c -E -f "$PATTERNS" "$LOG") KiB"
fi
