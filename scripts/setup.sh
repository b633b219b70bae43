#!/usr/bin/env bash
# Installs what dindcheck needs on Debian (as root), and unpacks other suites'
# runsc and docker.io next to the system's, without changing the system's apt
# setup.
#
#   scripts/setup.sh               install what is missing; unpack the suites
#   DINDCHECK_CACHE=DIR ...        where the other suites' packages are unpacked
#                                  (default /var/cache/dindcheck)
#   DINDCHECK_EXTRA_SUITES="..."   which suites to unpack (default "trixie sid")
#
# Afterwards:
#   /usr/bin/runsc                               bookworm's runsc (0.0~20221219.0)
#   $DINDCHECK_CACHE/trixie/usr/bin/runsc        trixie's runsc (0.0~20240729.0)
#   $DINDCHECK_CACHE/trixie/usr/sbin/dockerd     trixie's dockerd (26.1)
#   $DINDCHECK_CACHE/sid/usr/sbin/dockerd        sid's dockerd (28.5)
#   $DINDCHECK_CACHE/sid/usr/bin/containerd      sid's containerd (2.1)
#   $DINDCHECK_CACHE/sid/usr/sbin/runc           sid's runc (needs glibc 2.38: not on bookworm)
#   $DINDCHECK_CACHE/iptables-legacy/            a PATH dir where iptables is legacy
#   /usr/bin/docker-registry                     for a loopback registry
#
# Each suite's sources entry is derived from /etc/apt/sources.list.d/debian.sources
# (deb822) or from a one-line `deb [options] URI SUITE COMPONENTS` entry in
# /etc/apt/sources.list or /etc/apt/sources.list.d/*.list: the same archive, with
# the suite replaced, kept in a private directory and used only through
# apt-get -o options. The packages are unpacked with dpkg -x, never installed.
set -euo pipefail

cache=${DINDCHECK_CACHE:-/var/cache/dindcheck}
# DINDCHECK_EXTRA_SUITE (one suite) is still honoured for older callers.
suites=${DINDCHECK_EXTRA_SUITES:-${DINDCHECK_EXTRA_SUITE:-trixie sid}}

say() { printf 'setup: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  say "must run as root (apt-get install and runsc need it)"
  exit 3
fi

export DEBIAN_FRONTEND=noninteractive

# Installing docker.io or docker-registry would start their services; dindcheck
# never uses them, so keep them from starting (policy-rc.d(8)) while apt runs.
policy=/usr/sbin/policy-rc.d
created_policy=
cleanup() { if [ -n "$created_policy" ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

apt_install() {
  if [ "$#" -eq 0 ]; then return 0; fi
  say "installing: $*"
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod +x "$policy"
    created_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

have() { command -v "$1" >/dev/null 2>&1; }

# --- 1. Debian packages of the machine's own suite -------------------------
say "apt-get update"
apt-get update -qq

# Tools the checks below use come first: readelf (binutils) looks at busybox.
missing=()
have readelf || missing+=(binutils)
apt_install "${missing[@]+"${missing[@]}"}"

missing=()
have runsc || [ -x /usr/bin/runsc ] || missing+=(runsc)
# Any dockerd will do (docker.io, or docker-ce which conflicts with docker.io).
have dockerd || [ -x /usr/sbin/dockerd ] || missing+=(docker.io)
have iptables || [ -x /usr/sbin/iptables ] || missing+=(iptables)
have unshare || missing+=(util-linux)
have ip || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || missing+=(iproute2)
{ have ps && have pgrep && have pkill; } || missing+=(procps)
[ -x /usr/bin/python3 ] || have python3 || missing+=(python3)
# Rust (rustup) links with the system's cc: a bare machine has none.
have cc || missing+=(gcc libc6-dev)
[ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
have hyperfine || missing+=(hyperfine)
# The container probe packs /bin/busybox into an image: it must be static.
# (busybox, the dynamic build, has a PT_INTERP program header.)
if ! [ -x /bin/busybox ] || LC_ALL=C readelf -l /bin/busybox 2>/dev/null | grep -q 'INTERP'; then
  missing+=(busybox-static)
fi
apt_install "${missing[@]+"${missing[@]}"}"

# A PATH directory in which `iptables` is the legacy (xtables) backend, for
# scenarios/iptables-backends.yaml; xtables-legacy-multi picks its mode by name.
legacy="$cache/iptables-legacy"
mkdir -p "$legacy"
for tool in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
  ln -sfn /usr/sbin/xtables-legacy-multi "$legacy/$tool"
done

# --- 2. Other suites' runsc and docker.io, unpacked side by side -----------

# The packages to unpack from a suite, and the files that show they are there.
suite_packages() {
  case "$1" in
    trixie) echo "runsc docker.io containerd runc" ;;
    *) echo "docker.io containerd runc" ;;
  esac
}
package_files() {
  case "$1" in
    runsc) echo usr/bin/runsc ;;
    docker.io) echo usr/sbin/dockerd ;;
    containerd) echo usr/bin/containerd ;;
    runc) echo usr/sbin/runc ;;
  esac
}

# The machine's own suite, e.g. bookworm: the archive entry to copy is the one
# that lists it (not -updates, -security or a third-party suite).
own_suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")

# Writes the deb822 stanza of /etc/apt/sources.list.d/debian.sources for the
# main archive, with Suites: replaced by $2, into $3.
derive_deb822() {
  awk -v suite="$2" '
    BEGIN { RS = ""; ORS = "\n\n" }
    /debian-security/ { next }
    /(^|\n)Types:[^\n]*deb([ \t]|\n|$)/ {
      n = split($0, lines, "\n"); out = ""
      for (i = 1; i <= n; i++) {
        if (lines[i] ~ /^Suites:/) lines[i] = "Suites: " suite
        out = out lines[i] "\n"
      }
      printf "%s\n", out; exit
    }' "$1" > "$3"
}

# Writes the first one-line `deb [options] URI SUITE COMPONENTS...` entry of
# the files given (the main archive: suite $own_suite when known, component
# main, not security), with the suite replaced by $1, to stdout.
derive_one_line() {
  local new_suite=$1; shift
  awk -v suite="$new_suite" -v own="$own_suite" '
    { sub(/#.*/, "") }
    $1 != "deb" { next }
    /security/ { next }
    {
      line = $0
      sub(/^[ \t]*deb[ \t]+/, "", line)
      opts = ""
      if (line ~ /^\[/) {
        end = index(line, "]")
        if (end == 0) next
        opts = substr(line, 1, end)
        line = substr(line, end + 1)
      }
      n = split(line, f, /[ \t]+/)
      k = 0
      for (i = 1; i <= n; i++) if (f[i] != "") w[++k] = f[i]
      if (k < 3) next
      if (own != "" && w[2] != own) next
      main = 0
      for (i = 3; i <= k; i++) if (w[i] == "main") main = 1
      if (!main) next
      out = "deb "
      if (opts != "") out = out opts " "
      out = out w[1] " " suite
      for (i = 3; i <= k; i++) out = out " " w[i]
      print out; exit
    }' "$@"
}

unpack_suite() {
  local suite=$1
  local target="$cache/$suite"
  local packages files p f present=1
  read -r -a packages <<< "$(suite_packages "$suite")"
  for p in "${packages[@]}"; do
    for f in $(package_files "$p"); do
      [ -x "$target/$f" ] || present=
    done
  done
  if [ -n "$present" ]; then
    say "$suite packages already unpacked in $target"
    return 0
  fi

  local apt_dir="$cache/apt-$suite"
  local parts="$apt_dir/sources.list.d"
  mkdir -p "$parts" "$apt_dir/lists/partial" "$apt_dir/debs"
  rm -f "$parts"/*
  local src=/etc/apt/sources.list.d/debian.sources
  if [ -f "$src" ]; then
    derive_deb822 "$src" "$suite" "$parts/$suite.sources"
  fi
  if ! [ -s "$parts/$suite.sources" ]; then
    rm -f "$parts/$suite.sources"
    local lists=()
    [ -f /etc/apt/sources.list ] && lists+=(/etc/apt/sources.list)
    for f in /etc/apt/sources.list.d/*.list; do
      [ -f "$f" ] && lists+=("$f")
    done
    if [ ${#lists[@]} -gt 0 ]; then
      derive_one_line "$suite" "${lists[@]}" > "$parts/$suite.list"
    fi
  fi
  if ! [ -s "$parts/$suite.sources" ] && ! [ -s "$parts/$suite.list" ]; then
    say "could not derive a $suite entry from /etc/apt/sources.list.d/debian.sources," \
      "/etc/apt/sources.list or /etc/apt/sources.list.d/*.list"
    exit 3
  fi
  local apt_opts=(
    -o "Dir::Etc::SourceList=/dev/null"
    -o "Dir::Etc::SourceParts=$parts"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "APT::Sandbox::User=root"
  )
  say "fetching the $suite package lists into $apt_dir"
  apt-get "${apt_opts[@]}" update -qq
  say "downloading $suite ${packages[*]}"
  (cd "$apt_dir/debs" && rm -f ./*.deb && apt-get "${apt_opts[@]}" download -qq "${packages[@]}")
  rm -rf "$target.partial"
  mkdir -p "$target.partial"
  local deb
  for deb in "$apt_dir"/debs/*.deb; do
    dpkg -x "$deb" "$target.partial"
  done
  for p in "${packages[@]}"; do
    for f in $(package_files "$p"); do
      if ! [ -x "$target.partial/$f" ]; then
        say "$suite's $p did not unpack $f"
        exit 3
      fi
    done
  done
  rm -rf "$target"
  mv "$target.partial" "$target"
}

for suite in $suites; do
  unpack_suite "$suite"
done

say "runsc ($(/usr/bin/runsc --version 2>/dev/null | head -n1)): /usr/bin/runsc"
say "dockerd ($(dockerd --version 2>/dev/null || /usr/sbin/dockerd --version)): $(command -v dockerd || echo /usr/sbin/dockerd)"
for suite in $suites; do
  target="$cache/$suite"
  if [ -x "$target/usr/bin/runsc" ]; then
    say "runsc ($("$target/usr/bin/runsc" --version | head -n1)): $target/usr/bin/runsc"
  fi
  say "dockerd ($("$target/usr/sbin/dockerd" --version)): $target/usr/sbin/dockerd"
  say "containerd ($("$target/usr/bin/containerd" --version)): $target/usr/bin/containerd"
  # trixie's and sid's runc need glibc 2.38: on bookworm they do not run.
  runc_version=$("$target/usr/sbin/runc" --version 2>/dev/null | head -n1) ||
    runc_version="does not run here: $(ldd "$target/usr/sbin/runc" 2>&1 | grep -m1 -o "version \`[^']*' not found" || true)"
  say "runc ($runc_version): $target/usr/sbin/runc"
done
