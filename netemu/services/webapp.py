"""`python -m netemu.services.webapp CONFIG`: the small PHP-free app behind an instance's
nginx that reads a MariaDB database with the real `mysql` client, inside the instance's
namespaces, and answers each GET with what it read (plain text).

One request, two client runs: the server's host name and version, then each table of the
database with its row count. Nothing is cached, so the page shows the database as it is now,
and an unreachable database shows as 502 with the client's own message.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MYSQL = "/usr/bin/mysql"
TIMEOUT_S = 5
MAX_TABLES = 50


class DatabaseError(Exception):
    pass


def query(settings: dict[str, Any], sql: str) -> list[list[str]]:
    """Rows of `sql` run by the mysql client against the configured server."""
    argv = [
        MYSQL,
        "-h", str(settings["host"]), "-P", str(settings["port"]),
        "-u", str(settings["user"]), "--connect-timeout", str(TIMEOUT_S),
        "--batch", "--skip-column-names", "-e", sql, str(settings["database"]),
    ]  # fmt: skip
    # The password by environment, so no other process sees it in our command line.
    env = {**os.environ, "MYSQL_PWD": str(settings["password"])}
    try:
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=TIMEOUT_S * 2)
    except subprocess.TimeoutExpired:
        raise DatabaseError(f"mysql did not answer within {TIMEOUT_S * 2} s") from None
    if done.returncode != 0:
        raise DatabaseError(done.stderr.strip() or f"mysql exited {done.returncode}")
    return [line.split("\t") for line in done.stdout.splitlines()]


def page(settings: dict[str, Any]) -> str:
    where = f"{settings['database_instance']} ({settings['host']}:{settings['port']})"
    ((host, version),) = query(settings, "SELECT @@hostname, VERSION()")
    tables = [row[0] for row in query(settings, "SHOW TABLES")][:MAX_TABLES]
    lines = [
        f"web server {settings['instance']} reads database {settings['database']} "
        f"as {settings['user']} on {where}",
        f"server: {host}, MariaDB {version}",
    ]
    if tables:
        counts = " UNION ALL ".join(
            f"SELECT '{t.replace(chr(39), chr(39) * 2)}', COUNT(*) FROM `{t.replace('`', '``')}`"
            for t in tables
        )
        lines += [f"table {name}: {rows} rows" for name, rows in query(settings, counts)]
    else:
        lines.append("no tables yet")
    return "\n".join(lines) + "\n"


def handler(settings: dict[str, Any]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "netemu-webapp"

        def do_GET(self) -> None:
            try:
                status, body = 200, page(settings)
            except DatabaseError as e:
                status, body = 502, f"database {settings['database_instance']}: {e}\n"
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            print(f"{self.address_string()} {format % args}", flush=True)

    return Handler


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m netemu.services.webapp CONFIG_JSON", file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        settings = json.load(f)
    address, port = settings["listen"]
    server = ThreadingHTTPServer((address, int(port)), handler(settings))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    pid_file = os.path.join(os.path.dirname(argv[1]), "webapp.pid")
    with open(pid_file + ".tmp", "w") as f:
        f.write(f"{os.getpid()}\n")
    os.replace(pid_file + ".tmp", pid_file)
    print(f"webapp: listening on {address}:{port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
