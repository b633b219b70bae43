#!/usr/bin/env bash
# The baseline the seed document implies: a plain shell loop that, for each
# of the design matrix's 16 cells, starts dockerd inside `runsc do` (with the
# same cgroup mounts dindcheck's `auto` layout makes) and polls `docker info`
# once a second until it answers or dockerd dies. Prints one verdict per cell.
# Used by scripts/bench-speed.sh; run as root after scripts/setup.sh.
set -u
cd "$(dirname "$0")/.."
DINDCHECK_NO_BUILD=1 . scripts/runtimes.sh
for driver in systemd cgroupfs; do
  for parent in none /; do
    for ipt in true false; do
      for label in old new; do
        if [ "$label" = old ]; then runsc=$old; else runsc=$new; fi
        args="--exec-opt native.cgroupdriver=$driver --iptables=$ipt"
        [ "$parent" = / ] && args="$args --cgroup-parent=/"
        root=$(mktemp -d /tmp/dindcheck-baseline.XXXXXX)
        # runsc do keeps its bundle in TMPDIR: inside the private dir too.
        verdict=$(TMPDIR="$root" timeout 120 "$runsc" --root="$root" --network=none do /bin/sh -c "
          mount -t tmpfs cgroup /sys/fs/cgroup 2>/dev/null
          for c in cpu cpuacct cpuset memory devices freezer blkio pids job; do
            mkdir -p /sys/fs/cgroup/\$c && mount -t cgroup -o \$c cgroup /sys/fs/cgroup/\$c 2>/dev/null
          done
          mkdir -p /tmp/d && mount -t tmpfs d /tmp/d
          dockerd $args --data-root=/tmp/d/data --exec-root=/tmp/d/exec \
            --host=unix:///tmp/d/s.sock --pidfile=/tmp/d/pid >/tmp/d/log 2>&1 &
          pid=\$!
          for i in \$(seq 60); do
            docker -H unix:///tmp/d/s.sock info >/dev/null 2>&1 && { echo ready; exit 0; }
            kill -0 \$pid 2>/dev/null || { echo daemon-failed; exit 0; }
            sleep 1
          done
          echo timeout" 2>/dev/null)
        rm -rf "$root"
        echo "driver=$driver parent=$parent iptables=$ipt runsc=$label: ${verdict:-error}"
      done
    done
  done
done
