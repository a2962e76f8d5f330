"""The `mariadb` server plug-in: a real MariaDB server (Debian's mariadbd) inside each
instance that lists it, with its configuration, data directory and socket in the
instance's directory below the state directory, and the database and user the scenario
declares. Render side only: the driver starts what this describes.

The data directory is made once, by a one-shot task (mariadb-install-db, then the
scenario's database and user in bootstrap mode, no network), and then kept: `netemu
stop`/`start` stop and start the server and leave the data as an EBS-backed instance keeps
its volume. mariadbd runs as root inside the instance's namespaces: the state directory is
root's alone (0700), and netemu creates no users on the host.
"""

from __future__ import annotations

from netemu.model.types import Instance, Service
from netemu.render import names as n
from netemu.render.plan import File, Process
from netemu.services import config as cfg

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "/usr/bin/mariadb-install-db"
CLIENT = "/usr/bin/mysql"  # mariadb-client; the web page's app and the tests use it
PORT = 3306
INIT_PHASE = 1  # with the DHCP clients, before the servers (render.services)
SERVER_PHASE = 2
# Small buffers: the data lives in /run (memory on most hosts), one server per instance.
# No O_DIRECT or native AIO, which tmpfs does not offer.
MY_CNF = """\
# netemu: MariaDB server of instance {instance}; paths come on mariadbd's command line.
[mariadbd]
user = root
bind-address = {address}
port = {port}
skip-name-resolve
innodb_buffer_pool_size = 16M
innodb_log_file_size = 8M
innodb_data_file_path = ibdata1:10M:autoextend
innodb_use_native_aio = 0
innodb_flush_method = fsync
"""
# Runs once per data directory: a later `start` finds the marker and does nothing.
INIT_SH = """\
set -e
d=$1
# The client's options (MYSQL_HOME for user data): the local server's socket. Read after
# /etc/mysql/my.cnf, whose socket (the host's server) they override.
mkdir -p "$d/client"
printf '[client]\nsocket = %s/mysqld.sock\n' "$d" >"$d/client/my.cnf"
[ -e "$d/data/netemu-initialized" ] && { echo "data directory kept"; exit 0; }
rm -rf "$d/data"
mariadb-install-db --defaults-file="$d/my.cnf" --datadir="$d/data" \\
  --auth-root-authentication-method=socket --skip-test-db >"$d/install.log" 2>&1 ||
  { cat "$d/install.log"; exit 1; }
mariadbd --defaults-file="$d/my.cnf" --datadir="$d/data" --bootstrap <"$d/init.sql"
touch "$d/data/netemu-initialized"
echo "data directory made"
"""


def directory(instance: str) -> str:
    return f"{cfg.instance_dir(instance)}/mariadb"


def socket_path(instance: str) -> str:
    """Relative to the state directory; `root` logs in here without a password."""
    return f"{directory(instance)}/mysqld.sock"


def client_home(instance: str) -> str:
    """MYSQL_HOME for a client on the instance: its my.cnf names the local socket."""
    return f"{directory(instance)}/client"


def _quoted(value: str) -> str:
    # Validation admits no quote or backslash (model.validate_servers); doubled anyway.
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def init_sql(svc: Service) -> str:
    database, user = svc.setting("database") or "", svc.setting("user") or ""
    password = svc.setting("password") or ""
    return (
        "FLUSH PRIVILEGES;\n"  # bootstrap mode starts without the grant tables
        f"CREATE DATABASE IF NOT EXISTS `{database}`;\n"
        "DROP USER IF EXISTS ''@'localhost';\n"
        f"CREATE USER IF NOT EXISTS {_quoted(user)}@'%' IDENTIFIED BY {_quoted(password)};\n"
        f"GRANT ALL PRIVILEGES ON `{database}`.* TO {_quoted(user)}@'%';\n"
    )


def render(scenario: str, inst: Instance, svc: Service) -> tuple[list[File], list[Process]]:
    d = directory(inst.name)
    ns = n.instance_ns(scenario, inst.name)
    conf = MY_CNF.format(instance=inst.name, address=inst.private_ip, port=PORT)
    files = [File(f"{d}/my.cnf", conf), File(f"{d}/init.sql", init_sql(svc), mode=0o600)]
    init = Process(
        ns,
        f"mariadb-init instance:{inst.name}",
        ("/bin/sh", "-c", INIT_SH, "mariadb-init", f"{{state}}/{d}"),
        phase=INIT_PHASE,
        wait=True,
    )
    server = Process(
        ns,
        f"mariadb instance:{inst.name}",
        (
            MARIADBD,
            f"--defaults-file={{state}}/{d}/my.cnf",  # must come first
            f"--datadir={{state}}/{d}/data",
            f"--socket={{state}}/{socket_path(inst.name)}",
            f"--pid-file={{state}}/{d}/mariadbd.pid",
        ),
        phase=SERVER_PHASE,
        ready_file=f"{d}/mariadbd.pid",
        ready_tcp=(str(inst.private_ip), PORT),
        endpoint=inst.name,  # its @@hostname is the instance's
    )
    return files, [init, server]
