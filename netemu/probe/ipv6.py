"""IPv6 probes: a real connection (TCP), datagram (UDP) or echo (ICMPv6) to an IPv6 address.

The packet prober (probe.engine) crafts IPv4 only; an IPv6 probe is instead what a user
would do: connect from the source's namespace to the destination's IPv6 address. Reached
means the destination's kernel answered (a connection, or a refusal by a closed port, or
an echo reply). When nothing came back, the reason is the named drop rule whose counter
rose meanwhile, in any namespace holding AWS rules (the same Drop the IPv4 probe reads
from its log messages); with concurrent traffic another packet's drop could be named, so
IPv6 probes run one at a time. Hops are not observed (`hops_observed: false`).
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import struct
import time
from dataclasses import replace
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, Any, Literal

import nftables

from netemu.driver import netns
from netemu.errors import UsageError
from netemu.model.types import Model, Subnet
from netemu.probe.reason import Reason, parse_prefix
from netemu.render import nft
from netemu.render.topology import endpoint_ns

if TYPE_CHECKING:
    from netemu.probe.engine import ProbeResult, ProbeSpec

DETAIL = {
    "NO_POSSIBLE_DESTINATION": "an egress-only internet gateway refuses what the internet "
    "starts (16.5)",
}


def address_of(model: Model, name: str) -> str:
    """An IPv6 literal as given, or the IPv6 address of an instance or internet host."""
    if ":" in name:
        return str(IPv6Address(name))
    ip = None
    if name in model.instances:
        ip = model.instances[name].ipv6_address
    elif name in model.internet_hosts:
        ip = model.internet_hosts[name].ipv6
    if ip is None:
        raise UsageError(f"'{name}' has no IPv6 address (ipv6_address, ref 16.3)")
    return str(ip)


def run(model: Model, spec: ProbeSpec, namespaces: list[str], timeout: float) -> ProbeResult:
    from netemu.probe.engine import ProbeResult

    src_ip = address_of(model, spec.source)
    dst_ip = address_of(model, spec.destination)
    before = _drops(namespaces)
    start = time.monotonic()
    if spec.protocol == "tcp":
        reached = _tcp(endpoint_ns(model, spec.source), dst_ip, spec.port or 0, timeout)
    elif spec.protocol == "udp":
        src_ns, dst_ns = endpoint_ns(model, spec.source), _owner_ns(model, spec.destination)
        reached = _udp(src_ns, dst_ns, dst_ip, spec.port or 0, timeout)
    else:
        reached = _echo(endpoint_ns(model, spec.source), dst_ip, timeout)
    elapsed = int((time.monotonic() - start) * 1000)
    reason = None if reached else _reason(before, _drops(namespaces))
    if reason is not None:
        reason = replace(reason, leg=leg_of(model, spec.source, spec.destination, reason))
    return ProbeResult(
        spec,
        src_ip,
        dst_ip,
        "reachable" if reached else "blocked",
        src_ip if reached else None,  # no translation of IPv6 anywhere (16.4)
        None,
        reason,
        [],
        elapsed,
        hops_observed=False,
    )


def _tcp(ns: str, ip: str, port: int, timeout: float) -> bool:
    with netns.entered(ns):
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    with contextlib.closing(sock):
        sock.settimeout(timeout)
        try:
            sock.connect((ip, port))
        except ConnectionRefusedError:
            return True  # the destination's kernel answered: the path works both ways
        except OSError:
            return False
        return True


def _udp(src_ns: str, dst_ns: str | None, ip: str, port: int, timeout: float) -> bool:
    """A datagram to `ip`:`port` and an answer back, as the IPv4 prober does: the
    destination echoes it from a socket netemu holds on the port there, unless a service
    holds the port and answers itself; a port unreachable from the destination's kernel
    also counts as its answer (the path works both ways, as a TCP refusal does)."""
    responder = None
    if dst_ns is not None:
        with netns.entered(dst_ns):
            responder = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        try:
            responder.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            responder.bind(("::", port))
        except OSError:
            responder.close()
            responder = None
    with netns.entered(src_ns):
        sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        sock.connect((ip, port))
        sock.send(b"netemu")
        deadline = time.monotonic() + timeout
        waiting = [sock] + ([responder] if responder else [])
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select(waiting, [], [], left)
            if responder in ready and responder is not None:
                data, peer = responder.recvfrom(2048)
                responder.sendto(data, peer)
            if sock in ready:
                try:
                    sock.recv(2048)
                except ConnectionRefusedError:
                    return True  # ICMPv6 port unreachable from the destination's kernel
                except OSError:
                    return False  # an ICMPv6 error from elsewhere on the way
                return True
        return False
    finally:
        sock.close()
        if responder is not None:
            responder.close()


def _owner_ns(model: Model, name: str) -> str | None:
    """The namespace of the instance or internet host `name` (or holding that address)."""
    if ":" not in name:
        return endpoint_ns(model, name)
    ip = IPv6Address(name)
    for inst in model.instances.values():
        if inst.ipv6_address == ip:
            return endpoint_ns(model, inst.name)
    for host in model.internet_hosts.values():
        if host.ipv6 == ip:
            return endpoint_ns(model, host.name)
    return None


def _echo(ns: str, ip: str, timeout: float) -> bool:
    ident = os.getpid() & 0xFFFF
    with netns.entered(ns):
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    with contextlib.closing(sock):
        # The kernel fills in the ICMPv6 checksum of a raw ICMPv6 socket.
        sock.sendto(struct.pack("!BBHHH", 128, 0, 0, ident, 1) + b"netemu", (ip, 0))
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data, peer = sock.recvfrom(1500)
            except OSError:
                return False
            if data[:1] == b"\x81" and struct.unpack("!H", data[4:6])[0] == ident:
                return str(IPv6Address(peer[0].split("%")[0])) == ip
        return False


def _drops(namespaces: list[str]) -> dict[tuple[str, str], int]:
    """Packets counted so far by every named drop rule: (namespace, log prefix) -> count."""
    out: dict[tuple[str, str], int] = {}
    for ns in namespaces:
        with contextlib.suppress(OSError), netns.entered(ns):
            lib = nftables.Nftables()
            lib.set_json_output(True)
            rc, listed, _ = lib.json_cmd({"nftables": [{"list": {"ruleset": None}}]})
            if rc == 0:
                for item in listed.get("nftables", []):
                    _count(ns, item.get("rule"), out)
    return out


def _count(ns: str, rule: dict[str, Any] | None, out: dict[tuple[str, str], int]) -> None:
    if not rule:
        return
    packets, prefix = None, None
    for expr in rule.get("expr", []):
        if isinstance(expr.get("counter"), dict):  # a named counter is a string: not a drop
            packets = int(expr["counter"].get("packets", 0))
        log = expr.get("log")
        if log and log.get("group") == nft.DROP_LOG_GROUP:
            prefix = log.get("prefix")
    if packets is not None and prefix:
        out[(ns, prefix)] = out.get((ns, prefix), 0) + packets


def _reason(before: dict[tuple[str, str], int], after: dict[tuple[str, str], int]) -> Reason | None:
    for key, count in after.items():
        if count > before.get(key, 0):
            drop = parse_prefix(key[1])
            if drop is None or drop == "hop":
                continue
            detail = (
                DETAIL.get(drop.code, drop.code) if "egress_only" in drop.component else drop.code
            )
            # The leg is not in a counter: leg_of works it out from where the rule is.
            return Reason(drop.code, drop.direction, drop.component, drop.rule, "request", detail)
    return None


def leg_of(
    model: Model, source: str, destination: str, reason: Reason
) -> Literal["request", "reply"]:
    """Which leg a drop happened on, from where its rule sits: at the source's side for the
    request going out, at the destination's side for the request coming in; anything else
    met the reply. An egress-only gateway meets a request from the internet only when the
    VPC has no internet gateway; with one, the request came in there and the reply dies."""
    src, dst = _subnet_of(model, source), _subnet_of(model, destination)
    kind, _, name = reason.component.partition(":")
    if kind == "egress_only_internet_gateway":
        gateway = model.egress_only_internet_gateways.get(name)
        inbound = src is None and gateway is not None
        return "reply" if inbound and gateway and model.igw_of(gateway.vpc) else "request"
    if kind == "network_acl":
        going = src is not None and src.network_acl == name and reason.direction == "egress"
        coming = dst is not None and dst.network_acl == name and reason.direction == "ingress"
        return "request" if going or coming else "reply"
    if kind == "route_table":
        return "request" if src is None or src.route_table == name else "reply"
    return "request"  # security groups: stateful, replies pass (7.10)


def _subnet_of(model: Model, name: str) -> Subnet | None:
    if name in model.instances:
        return model.subnets[model.instances[name].subnet]
    if ":" in name:
        ip = IPv6Address(name)
        for inst in model.instances.values():
            if inst.ipv6_address == ip:
                return model.subnets[inst.subnet]
    return None
