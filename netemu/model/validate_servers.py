"""Real servers in `services:` (`mariadb`, `nginx`) with their options, an instance's
`user_data`, and nginx's reference to the instance whose database its page reads."""

from __future__ import annotations

import re
from typing import Literal

from netemu.model.types import Service
from netemu.model.validate_context import Ctx, q
from netemu.model.validate_fields import as_list, as_map, check_keys, section, text
from netemu.scenario import Node

SERVERS = {"mariadb": 3306, "nginx": 80}
_KINDS: dict[str, Literal["mariadb", "nginx"]] = {"mariadb": "mariadb", "nginx": "nginx"}
SERVER_KEYS = {"mariadb": ("database", "user", "password"), "nginx": ("database",)}
SERVER_REQUIRED = {"mariadb": ("database", "user", "password"), "nginx": ()}
# MariaDB's own limits: names of 1-64 characters; user names up to 80. netemu keeps to
# characters that need no quoting in a shell, a URL or SQL.
_FORMS = {
    "mariadb.database": (re.compile(r"[A-Za-z0-9_]{1,64}"), "1 to 64 letters, digits or '_'"),
    "mariadb.user": (re.compile(r"[A-Za-z0-9_.-]{1,80}"), "1 to 80 letters, digits, '_', '.', '-'"),
    "mariadb.password": (
        re.compile(r"[!#-&(-\[\]-~]{1,128}"),
        "1 to 128 printable characters without spaces, quotes or backslashes",
    ),
    "nginx.database": (re.compile(r".+"), "an instance name"),
}
# The page's app behind nginx (services.nginx.APP_PORT); the model does not import services.
APP_PORT = 9081
# Amazon EC2 takes at most 16 KB of user data (before base64); netemu keeps that limit.
USER_DATA_MAX = 16 * 1024


def is_server(item: Node) -> bool:
    """`mariadb`, `nginx`, or a mapping (a server with its options)."""
    return isinstance(item.value, dict) or (item.tag == "str" and item.value in SERVERS)


def server(ctx: Ctx, item: Node, what: str, on_instance: bool) -> Service | None:
    """`{mariadb: {database, user, password}}`, `{nginx: {database: INSTANCE}}` or plain
    `nginx` (a static page); `mariadb` needs its options."""
    if isinstance(item.value, dict):
        if len(item.value) != 1:
            ctx.error(item, f"{what} service must be one server name with its options")
            return None
        ((kind, opts),) = item.value.items()
        where = opts.where
    else:
        kind, opts, where = str(item.value), None, item.pos
    if kind not in SERVERS:
        ctx.error(where, f"{what} service {q(kind)} takes no options (servers: mariadb, nginx)")
        return None
    if not on_instance:
        ctx.error(where, f"{what}: {kind} runs on instances only")
        return None
    if opts is None:
        if SERVER_REQUIRED[kind]:
            need = ", ".join(SERVER_REQUIRED[kind])
            ctx.error(item, f"{what} service {kind} needs its options: {{{kind}: {{{need}}}}}")
            return None
        return Service(_KINDS[kind], SERVERS[kind])
    entries = as_map(ctx, opts, f"{what} {kind}")
    if entries is None:
        return None
    check_keys(ctx, entries, opts, f"{what} {kind}", SERVER_KEYS[kind], SERVER_REQUIRED[kind])
    settings = []
    for key, node in entries.items():
        if key not in SERVER_KEYS[kind]:
            continue
        value = text(ctx, node, f"{what} {kind} {key}")
        form, rule = _FORMS[f"{kind}.{key}"]
        if value is None:
            continue
        if not form.fullmatch(value):
            shown = "the value given" if key == "password" else q(value)
            ctx.error(node, f"{what} {kind} {key}: {shown} is not {rule}")
            continue
        settings.append((key, value))
    return Service(_KINDS[kind], SERVERS[kind], tuple(sorted(settings)))


def user_data(ctx: Ctx, node: Node | None, what: str) -> str | None:
    if node is None:
        return None
    value = text(ctx, node, f"{what} user_data")
    if value is not None and len(value.encode()) > USER_DATA_MAX:
        ctx.error(node, f"{what} user_data is longer than 16 KB, the limit of Amazon EC2")
        return None
    return value


def check_references(ctx: Ctx, top: dict[str, Node]) -> None:
    """nginx's `database` names an instance that runs mariadb (any VPC it can reach)."""
    for name, node in section(ctx, top, "instances").items():
        if not isinstance(node.value, dict) or name not in ctx.instances:
            continue
        for item in as_list(ctx, node.value.get("services"), "services"):
            opts = item.value.get("nginx") if isinstance(item.value, dict) else None
            if opts is None or not isinstance(opts.value, dict):
                continue
            ref = opts.value.get("database")
            if ref is None or not isinstance(ref.value, str):
                continue
            if any(x.kind == "tcp" and x.port == APP_PORT for x in ctx.instances[name].services):
                ctx.error(
                    ref,
                    f"instance {q(name)} nginx with a database uses tcp {APP_PORT} on its "
                    f'loopback for its page\'s app; it cannot also list "tcp:{APP_PORT}"',
                )
            target = ctx.instances.get(ref.value)
            if target is None or target.server("mariadb") is None:
                runs = [i.name for i in ctx.instances.values() if i.server("mariadb")]
                hint = f" (instances with mariadb: {', '.join(runs)})" if runs else ""
                ctx.error(
                    ref,
                    f"instance {q(name)} nginx database {q(ref.value)} is not an instance "
                    f"that runs mariadb{hint}",
                )
