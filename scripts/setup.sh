#!/usr/bin/env bash
# Prepares a Debian/Ubuntu host for netemu: installs the missing packages listed in
# scripts/deb-packages.txt, builds .venv with netemu and its test tools, puts `netemu` on
# root's PATH, and checks that the kernel can do what the emulation needs.
#
# Idempotent and fast when nothing is missing: no apt-get update, no pip run.
# Exit codes: 0 ready; 3 this host cannot run netemu (not root, not Debian/Ubuntu, kernel
# lacks nftables/conntrack/namespaces, no Python >= 3.11); 1 an install step failed.
#
# Environment: PYTHON=/path/to/python3.x picks the interpreter for a new .venv.
# WITH=mariadb,nginx also installs the real servers scenarios may run inside instances
# (`services: [{mariadb: ...}, nginx]`); without it they are not installed.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=$REPO/.venv
STAMP=$VENV/.installed
PKG_LIST=$REPO/scripts/deb-packages.txt
LINK=/usr/local/bin/netemu
started=$(date +%s%N)

say() { printf 'setup: %-9s %s\n' "$1" "$2"; }
die() {
  local code=$1
  shift
  printf 'setup: error: %s\n' "$*" >&2
  exit "$code"
}
# Runs a noisy command with its output in a log; shows the log's tail only if it fails.
quiet() {
  local log rc=0
  log=$(mktemp /tmp/netemu-setup.XXXXXX)
  "$@" >"$log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    tail -n 40 "$log" >&2
    rm -f "$log"
    die 1 "failed ($rc): $*"
  fi
  rm -f "$log"
}

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: must run as root (it installs packages and checks the kernel): sudo make setup" >&2
  exit 3
fi

# --- Debian packages -------------------------------------------------------------------
command -v dpkg-query >/dev/null && command -v apt-get >/dev/null ||
  die 3 "not a Debian/Ubuntu host (no dpkg/apt-get); install the packages in $PKG_LIST by hand"

mapfile -t wanted < <(awk '{ sub(/#.*/, ""); for (i = 1; i <= NF; i++) print $i }' "$PKG_LIST")
# Servers only some scenarios run, installed when asked for (docs/services.md). Their own
# host services are not started: netemu runs them inside instances only.
servers=()
IFS=',' read -r -a with_list <<<"${WITH:-}"
for name in "${with_list[@]}"; do
  case "$name" in
  "") ;;
  mariadb) servers+=(mariadb-server mariadb-client) ;;
  nginx) servers+=(nginx) ;;
  *) die 2 "WITH=$WITH: unknown server '$name' (known: mariadb, nginx)" ;;
  esac
done
wanted+=("${servers[@]}")

missing=()
for pkg in "${wanted[@]}"; do
  # One line per installed architecture; any fully installed one counts.
  dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -qx 'install ok installed' ||
    missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
  say packages "all ${#wanted[@]} present"
else
  say packages "installing ${missing[*]}"
  # We start and enable no service ourselves. A package's own maintainer script may start
  # its host service (openssh-server starts sshd on Ubuntu unless policy-rc.d forbids it);
  # that is the host's business and we leave it as the package set it up. netemu runs its
  # own dnsmasq/sshd inside namespaces and needs none of the host's.
  export DEBIAN_FRONTEND=noninteractive
  apt_opts=(-o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)
  quiet apt-get "${apt_opts[@]}" update
  # Debian's policy-rc.d: 101 tells the packages' scripts not to start their host
  # services (a MariaDB and an nginx on the host itself). Only ours, only while installing.
  policy=/usr/sbin/policy-rc.d
  if [ "${#servers[@]}" -gt 0 ] && [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# netemu setup: do not start services while installing\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  quiet apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}"
  say packages "installed ${#missing[@]}"
fi

# --- kernel ------------------------------------------------------------------------------
nft list tables >/dev/null 2>&1 ||
  die 3 "'nft list tables' fails: this kernel or container has no usable nftables"

if [ -e /proc/net/nf_conntrack ]; then
  how="/proc/net/nf_conntrack"
elif modprobe nf_conntrack >/dev/null 2>&1; then
  how="modprobe nf_conntrack"
elif conntrack -L >/dev/null 2>&1; then
  how="conntrack -L"
else
  die 3 "no connection tracking (nf_conntrack): security groups cannot be stateful here"
fi

# The objects netemu builds, tried once in a throwaway namespace that vanishes with the
# command: nothing is created in the host's own namespace. (Chain names avoid nft keywords.)
ruleset='table inet netemu_setup_check {
  chain c_forward { type filter hook forward priority 0; policy drop; ct state established accept; }
  chain c_nat { type nat hook postrouting priority 100; oifname "v0" masquerade; }
}'
if ! err=$(unshare --net sh -c \
  'ip link add v0 type veth peer name v1 && ip link set v0 up && nft -f -' <<<"$ruleset" 2>&1); then
  die 3 "cannot build namespace + veth + conntrack/NAT ruleset: ${err:-unshare failed}"
fi
say kernel "nftables, conntrack ($how), netns, veth, NAT ok"

# --- virtualenv ----------------------------------------------------------------------------
py_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }

if [ -x "$VENV/bin/python" ] && py_ok "$VENV/bin/python"; then
  say venv "$VENV ($("$VENV/bin/python" -c 'import platform; print(platform.python_version())'))"
else
  python=""
  for cand in ${PYTHON:-} python3 python3.13 python3.12 python3.11 /usr/bin/python3; do
    if command -v "$cand" >/dev/null 2>&1 && py_ok "$cand"; then
      python=$(command -v "$cand")
      break
    fi
  done
  [ -n "$python" ] || die 3 "no Python >= 3.11 found (python3 is $(python3 --version 2>&1 || echo missing))"
  # --clear: a .venv left by another machine or a removed interpreter is rebuilt whole.
  quiet "$python" -m venv --clear "$VENV"
  rm -f "$STAMP"
  say venv "created with $("$VENV/bin/python" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
fi

if [ ! -f "$STAMP" ] || [ "$REPO/pyproject.toml" -nt "$STAMP" ] || [ ! -x "$VENV/bin/netemu" ]; then
  (cd "$REPO" && quiet "$VENV/bin/python" -m pip install --disable-pip-version-check -e '.[test]')
  touch "$STAMP"
  say python "installed netemu[test] (editable)"
else
  say python "netemu[test] up to date"
fi

# The pip binding loads libnftables.so.1 from the Debian package: make sure it does.
"$VENV/bin/python" -c 'import nftables; nftables.Nftables()' >/dev/null 2>&1 ||
  die 1 "python nftables binding cannot load libnftables.so.1 (package libnftables1)"

# --- netemu on root's PATH ---------------------------------------------------------------
target=$VENV/bin/netemu
if [ -L "$LINK" ] && [ "$(readlink "$LINK")" = "$target" ]; then
  say path "$LINK ok"
elif [ -L "$LINK" ] || [ ! -e "$LINK" ]; then
  mkdir -p "$(dirname "$LINK")"
  ln -sfn "$target" "$LINK"
  say path "$LINK -> $target"
else
  say path "WARNING: $LINK is not a symlink; left alone (run $target instead)"
fi

elapsed=$((($(date +%s%N) - started) / 1000000))
say done "ready in $((elapsed / 1000)).$(printf '%03d' $((elapsed % 1000)))s"
