"""Each endpoint's own /etc files (resolv.conf, hostname), kept under the state directory.

An instance, NAT gateway or internet host has no file system of its own: it shares the
host's. So its resolv.conf and hostname live under /run/netemu/<scenario>/etc/<name>/, and
commands run "inside" it (`netemu exec`, `Running.exec`) see them bind-mounted over /etc
in a private mount namespace (netemu.driver.mountns). The host's /etc is never touched.
"""

from __future__ import annotations

import os


def endpoint_dir(name: str) -> str:
    """Relative to the state directory. Names are unique across instances, NAT gateways
    and internet hosts (validation refuses a clash), so one directory per name suffices."""
    return os.path.join("etc", name)


def resolv_conf(name: str) -> str:
    return os.path.join(endpoint_dir(name), "resolv.conf")


def hostname(name: str) -> str:
    return os.path.join(endpoint_dir(name), "hostname")


def overlays(name: str) -> list[tuple[str, str]]:
    """(file relative to the state directory, the /etc path it stands in for)."""
    return [(resolv_conf(name), "/etc/resolv.conf"), (hostname(name), "/etc/hostname")]
