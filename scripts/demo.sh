#!/usr/bin/env bash
# `sudo make demo`: the book's web + database VPC, end to end, then torn down again; then
# the same with real MariaDB and nginx servers (webdb-real.yaml).
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
ours=0

# The same layout with real servers: MariaDB on db, nginx on web (make setup WITH=mariadb,nginx).
REAL=scenarios/book/webdb-real.yaml
if ! command -v mariadbd >/dev/null || ! command -v nginx >/dev/null; then
  say "skipped $REAL: MariaDB and nginx are not installed (sudo make setup WITH=mariadb,nginx)"
  trap - EXIT
  exit 0
fi
cleanup() { [ "$ours" = 1 ] && "$NETEMU" down webdb-real >/dev/null 2>&1 || true; }

say "netemu up $REAL (real MariaDB on db, nginx on web; up waits until they accept connections)"
"$NETEMU" up "$REAL"
ours=1

say "web logs in to db's MariaDB by name with the real mysql client"
"$NETEMU" exec web -- mysql -h db -u wp -pwp-book-pass -e 'select 1 as ok, @@hostname as db_server'

say "the internet cannot, and the probe says why"
"$NETEMU" exec internet -- mysql -h 172.30.1.10 --connect-timeout 3 -u wp -pwp-book-pass -e 'select 1' || true
"$NETEMU" probe internet db --tcp 3306 || true

public=$("$NETEMU" status webdb-real --json |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["scenarios"][0]["instances"]["web"]["public_ip"])')
say "the internet reads web's page at its public IP $public; the page is read from db's database"
"$NETEMU" exec internet -- curl -s --max-time 5 "http://$public/"

say "db's user data ran once at launch; netemu logs shows its output (and the servers' logs)"
"$NETEMU" logs db | sed -n '1,4p'

say "netemu test: probes, and expectations run with the real clients"
"$NETEMU" test "$REAL"

say "netemu down"
"$NETEMU" down webdb-real
trap - EXIT
