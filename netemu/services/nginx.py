"""The `nginx` server plug-in: a real nginx inside each instance that lists it, its
configuration, pages, logs and temporary files in the instance's directory below the state
directory. With `database: INSTANCE` its page is served by a small app (services.webapp)
that nginx proxies to and that reads the database of that instance's mariadb with the real
`mysql` client; without, nginx serves a static page. Render side only.

nginx runs with `-p` set to its directory, so every path in its configuration is relative
and the file needs no state path. Master and worker run as root inside the instance's
namespaces (the state directory is root's alone; netemu creates no users on the host).
"""

from __future__ import annotations

import json

from netemu.model import validate_servers
from netemu.model.types import Instance, Model, Service
from netemu.render import names as n
from netemu.render.plan import File, Process
from netemu.services import config as cfg
from netemu.services import mariadb

NGINX = "/usr/sbin/nginx"
PORT = 80
APP_ADDRESS = "127.0.0.1"
# The app's port on the instance's loopback; validation refuses `tcp:9081` beside it.
APP_PORT = validate_servers.APP_PORT
SERVER_PHASE = 2
_CONF = """\
# netemu: nginx of instance {instance}; relative paths are below its prefix (-p).
daemon off;
master_process on;
worker_processes 1;
user root root;
pid nginx.pid;
error_log stderr;
events {{ worker_connections 256; }}
http {{
    access_log access.log;
    client_body_temp_path client_body_temp;
    proxy_temp_path proxy_temp;
    fastcgi_temp_path fastcgi_temp;
    uwsgi_temp_path uwsgi_temp;
    scgi_temp_path scgi_temp;
    types {{ text/html html; text/plain txt; application/json json; }}
    default_type application/octet-stream;
    server {{
        listen {port};
        server_name _;
        root html;
{location}    }}
}}
"""
_PROXY = """\
        location / {{
            proxy_pass http://{address}:{port};
            proxy_set_header X-Forwarded-For $remote_addr;
        }}
"""
_STATIC = """\
        location / {{ index index.html; }}
"""


def directory(instance: str) -> str:
    return f"{cfg.instance_dir(instance)}/nginx"


def app_config(instance: str) -> str:
    return f"{cfg.instance_dir(instance)}/webapp.json"


def app_pid(instance: str) -> str:
    """Written by the app beside its configuration once it listens."""
    return f"{cfg.instance_dir(instance)}/webapp.pid"


def config(inst: Instance, proxied: bool) -> str:
    location = _PROXY.format(address=APP_ADDRESS, port=APP_PORT) if proxied else _STATIC
    return _CONF.format(instance=inst.name, port=PORT, location=location)


def render(
    model: Model, inst: Instance, svc: Service, python: str
) -> tuple[list[File], list[Process]]:
    d = directory(inst.name)
    ns = n.instance_ns(model.name, inst.name)
    db_name = svc.setting("database")
    db = model.instances.get(db_name) if db_name else None
    db_server = db.server("mariadb") if db else None
    page = f"<html><body><h1>nginx on instance {inst.name}</h1></body></html>\n"
    files = [
        File(f"{d}/nginx.conf", config(inst, db_server is not None)),
        File(f"{d}/html/index.html", page),
    ]
    processes = [
        Process(
            ns,
            f"nginx instance:{inst.name}",
            (NGINX, "-e", "stderr", "-p", f"{{state}}/{d}/", "-c", "nginx.conf"),
            phase=SERVER_PHASE,
            ready_file=f"{d}/nginx.pid",
            ready_tcp=(str(inst.private_ip), PORT),
            endpoint=inst.name,
        )
    ]
    if db is not None and db_server is not None:
        settings = {
            "instance": inst.name,
            "listen": [APP_ADDRESS, APP_PORT],
            "database_instance": db.name,
            "host": str(db.private_ip),  # inside a VPC, the private address (ref 9.5)
            "port": mariadb.PORT,
            "database": db_server.setting("database"),
            "user": db_server.setting("user"),
            "password": db_server.setting("password"),
        }
        conf = app_config(inst.name)
        files.append(File(conf, json.dumps(settings, indent=1) + "\n", mode=0o600))
        processes.append(
            Process(
                ns,
                f"webapp instance:{inst.name}",
                (python, "-m", "netemu.services.webapp", f"{{state}}/{conf}"),
                phase=SERVER_PHASE,
                ready_file=app_pid(inst.name),
                endpoint=inst.name,
            )
        )
    return files, processes
