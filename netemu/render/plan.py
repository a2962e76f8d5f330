"""The Plan: every kernel object a scenario needs, as plain data the driver applies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Namespace:
    name: str  # ne-<scenario>-<kind>-<object>
    aws: str  # the AWS object it stands for, e.g. "instance:web", "subnet:public"
    sysctls: tuple[tuple[str, str], ...] = ()  # ("net/ipv4/ip_forward", "1"), ...
    # Set once the links exist; "*" in a key matches every interface.
    late_sysctls: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Link:
    """A veth pair: `ifname_a` in `ns_a`, its peer `ifname_b` in `ns_b`."""

    ns_a: str
    ifname_a: str
    ns_b: str
    ifname_b: str
    mac_a: str | None = None
    mac_b: str | None = None
    alias: str = ""  # ifalias on both ends: what AWS object the cable stands for
    # MTU of each end; None: the kernel's 1500 (an instance's end gets 9001 by DHCP).
    mtu_a: int | None = None
    mtu_b: int | None = None


@dataclass(frozen=True)
class Address:
    ns: str
    ifname: str
    cidr: str  # "172.30.0.1/24"
    noprefixroute: bool = False


@dataclass(frozen=True)
class Route:
    ns: str
    dst: str  # "0.0.0.0/0"
    kind: Literal["unicast", "blackhole", "unreachable"] = "unicast"
    via: str | None = None
    dev: str | None = None
    table: int = 254  # main
    metric: int | None = None
    onlink: bool = False


@dataclass(frozen=True)
class Rule:
    """A policy-routing rule: packets entering on `iif`, carrying `fwmark`, or sent from
    `src`, look up `table`."""

    ns: str
    table: int
    priority: int
    iif: str | None = None
    fwmark: int | None = None
    family: Literal[4, 6] = 4  # an IPv6 rule is a rule of its own (ip -6 rule)
    src: str | None = None  # "10.0.2.10/32": packets from this source (`ip rule add from`)


@dataclass(frozen=True)
class Ruleset:
    """One nftables transaction for one namespace, in libnftables JSON form."""

    ns: str
    commands: tuple[dict[str, Any], ...]

    def json(self) -> dict[str, Any]:
        return {"nftables": list(self.commands)}


@dataclass(frozen=True)
class File:
    """A configuration file written under the scenario's state directory."""

    path: str  # relative to the state directory
    content: str
    mode: int = 0o644


@dataclass(frozen=True)
class Process:
    """A program run inside a namespace. Daemons keep running until `down`; tasks
    (`wait=True`) must finish with exit status 0. Phases run in order; within a phase all
    daemons start first, then the tasks run together (driver.tasks). In `argv`, "{state}"
    stands for the state directory."""

    ns: str
    name: str  # what it is, e.g. "dhcp-server subnet:public"
    argv: tuple[str, ...]
    phase: int = 0
    wait: bool = False
    ready_file: str | None = None  # a daemon is up once this file (under state) exists
    # A daemon that rereads its files on this signal (its ready_file then holds its pid):
    # `reload` sends it when a file named in `argv` changed.
    reread_signal: int | None = None
    # The instance or internet host whose own /etc files and host name the process sees
    # (driver.mountns): sshd, so that a login shows the instance, not the machine.
    endpoint: str | None = None
    # Added to the environment it inherits ("{state}" substituted as in `argv`).
    env: tuple[tuple[str, str], ...] = ()
    # Directories (under state) it writes into, made by the driver before it starts, so
    # that a shell script needs no `mkdir` process of its own.
    dirs: tuple[str, ...] = ()
    # A DHCP client whose event script prints the lease on its output (render.dhcp): once
    # the task has exited, the driver gives the lease's interface its address and default
    # route (driver.lease).
    lease: bool = False
    # A server is ready once it accepts a TCP connection at this (address, port), tried
    # from inside `ns` after its ready_file exists (mariadb, nginx: services.servers).
    ready_tcp: tuple[str, int] | None = None


@dataclass(frozen=True)
class Plan:
    scenario: str
    namespaces: tuple[Namespace, ...]
    links: tuple[Link, ...] = ()
    addresses: tuple[Address, ...] = ()
    routes: tuple[Route, ...] = ()
    rules: tuple[Rule, ...] = ()
    rulesets: tuple[Ruleset, ...] = ()
    files: tuple[File, ...] = ()
    processes: tuple[Process, ...] = ()
