#!/usr/bin/env bash
# `sudo make demo`: the book's web + database VPC, end to end, then torn down again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
NETEMU=.venv/bin/netemu
SCENARIO=scenarios/book/webdb.yaml

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ours=0
cleanup() { [ "$ours" = 1 ] && "$NETEMU" down webdb >/dev/null 2>&1 || true; }
trap cleanup EXIT

say "netemu validate $SCENARIO"
"$NETEMU" validate "$SCENARIO"

say "netemu up $SCENARIO"
"$NETEMU" up "$SCENARIO"
ours=1

say "web sees only its private address (the internet gateway holds the public one)"
"$NETEMU" exec web -- ip -4 -brief addr show dev eth0

say "log in to db through the bastion: internet -> web (public IP) -> db (private IP), real ssh"
"$NETEMU" ssh db --jump web -- 'echo "logged in to $(hostname) as $(id -un), address $(ip -4 -o addr show dev eth0 | cut -d" " -f7)"'

say "db downloads from the mirror through the NAT gateway; the mirror reports who it saw"
"$NETEMU" exec db -- curl -s --max-time 5 http://198.51.100.20/
echo

say "a probe that fails, and why"
"$NETEMU" probe internet db --tcp 22 || true

say "netemu test: the scenario's expectations, with real packets"
"$NETEMU" test "$SCENARIO"

say "netemu down"
"$NETEMU" down webdb
trap - EXIT
