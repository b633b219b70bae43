#!/usr/bin/env bash
# Installs what dindcheck needs on Debian (as root), and unpacks trixie's runsc
# and docker.io next to the system's, without changing the system's apt setup.
#
#   scripts/setup.sh            install what is missing; fetch trixie's runsc
#   DINDCHECK_CACHE=DIR ...     where the trixie packages are unpacked
#                               (default /var/cache/dindcheck)
#
# Afterwards:
#   /usr/bin/runsc                           bookworm's runsc (0.0~20221219.0)
#   $DINDCHECK_CACHE/trixie/usr/bin/runsc    trixie's runsc (0.0~20240729.0)
#   $DINDCHECK_CACHE/trixie/usr/sbin/dockerd trixie's dockerd (26.1)
#
# The trixie sources entry is derived from /etc/apt/sources.list.d/debian.sources
# (or /etc/apt/sources.list): the same archive, with the suite replaced, kept in a
# private directory and used only through apt-get -o options.
set -euo pipefail

cache=${DINDCHECK_CACHE:-/var/cache/dindcheck}
suite=${DINDCHECK_EXTRA_SUITE:-trixie}

say() { printf 'setup: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  say "must run as root (apt-get install and runsc need it)"
  exit 3
fi

export DEBIAN_FRONTEND=noninteractive

# --- 1. Debian packages of the machine's own suite -------------------------
missing=()
command -v runsc >/dev/null || missing+=(runsc)
# Any dockerd will do (docker.io, or docker-ce which conflicts with docker.io).
command -v dockerd >/dev/null || [ -x /usr/sbin/dockerd ] || missing+=(docker.io)
command -v iptables >/dev/null || [ -x /usr/sbin/iptables ] || missing+=(iptables)
command -v unshare >/dev/null || missing+=(util-linux)
# The container probe packs /bin/busybox into an image: it must be static.
# (busybox, the dynamic build, has a PT_INTERP program header.)
if ! [ -x /bin/busybox ] || LC_ALL=C readelf -l /bin/busybox 2>/dev/null | grep -q 'INTERP'; then
  missing+=(busybox-static)
fi
command -v hyperfine >/dev/null || missing+=(hyperfine)
command -v readelf >/dev/null || missing+=(binutils)

say "apt-get update"
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  say "installing: ${missing[*]}"
  # Installing docker.io would start the host's Docker service; dindcheck never
  # uses it, so keep it from starting (policy-rc.d(8)) while apt runs.
  policy=/usr/sbin/policy-rc.d
  created_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod +x "$policy"
    created_policy=1
  fi
  trap '[ -n "$created_policy" ] && rm -f "$policy"' EXIT
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# A PATH directory in which `iptables` is the legacy (xtables) backend, for
# scenarios/iptables-backends.yaml; xtables-legacy-multi picks its mode by name.
legacy="$cache/iptables-legacy"
mkdir -p "$legacy"
for tool in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
  ln -sfn /usr/sbin/xtables-legacy-multi "$legacy/$tool"
done

# --- 2. The other suite's runsc and docker.io, unpacked side by side -------
target="$cache/$suite"
if [ -x "$target/usr/bin/runsc" ] && [ -x "$target/usr/sbin/dockerd" ]; then
  say "$suite packages already unpacked in $target"
else
  apt_dir="$cache/apt-$suite"
  mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" "$apt_dir/debs"
  src=/etc/apt/sources.list.d/debian.sources
  if [ -f "$src" ]; then
    # The first deb822 stanza that is not the security archive, suite replaced.
    awk -v suite="$suite" '
      BEGIN { RS = ""; ORS = "\n\n" }
      /debian-security/ { next }
      /Types:[^\n]*deb/ {
        n = split($0, lines, "\n"); out = ""
        for (i = 1; i <= n; i++) {
          if (lines[i] ~ /^Suites:/) lines[i] = "Suites: " suite
          out = out lines[i] "\n"
        }
        printf "%s\n", out; exit
      }' "$src" > "$apt_dir/sources.list.d/$suite.sources"
  elif [ -f /etc/apt/sources.list ]; then
    # One-line format: the first plain `deb URI SUITE COMPONENTS` line.
    awk -v suite="$suite" '$1 == "deb" && $0 !~ /security/ { $3 = suite; print; exit }' \
      /etc/apt/sources.list > "$apt_dir/sources.list.d/$suite.list"
  fi
  if ! [ -s "$apt_dir/sources.list.d/$suite.sources" ] && ! [ -s "$apt_dir/sources.list.d/$suite.list" ]; then
    say "could not derive a $suite entry from /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
    exit 3
  fi
  apt_opts=(
    -o "Dir::Etc::SourceList=/dev/null"
    -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "APT::Sandbox::User=root"
  )
  say "fetching the $suite package lists into $apt_dir"
  apt-get "${apt_opts[@]}" update -qq
  say "downloading $suite runsc docker.io containerd runc"
  (cd "$apt_dir/debs" && rm -f ./*.deb && apt-get "${apt_opts[@]}" download -qq runsc docker.io containerd runc)
  rm -rf "$target.partial"
  mkdir -p "$target.partial"
  for deb in "$apt_dir"/debs/*.deb; do
    dpkg -x "$deb" "$target.partial"
  done
  rm -rf "$target"
  mv "$target.partial" "$target"
fi

say "runsc ($(/usr/bin/runsc --version 2>/dev/null | head -n1)): /usr/bin/runsc"
say "runsc ($("$target/usr/bin/runsc" --version | head -n1)): $target/usr/bin/runsc"
say "dockerd ($(dockerd --version 2>/dev/null || /usr/sbin/dockerd --version)): $(command -v dockerd || echo /usr/sbin/dockerd)"
say "dockerd ($("$target/usr/sbin/dockerd" --version)): $target/usr/sbin/dockerd"
