"""Transfer probes: a real TCP download of `size` bytes, for what one packet cannot show.

Path MTU discovery (ref 5.6, 7.19) only shows when the kernel's own TCP sends segments
too big for the path, learns the MTU from an ICMP error (if a security group lets it in)
and sends again. So an expectation with `size:` is no crafted packet: the destination's
namespace accepts a TCP connection on the port and sends `size` bytes, the source's
namespace connects to the destination's address (the same one a probe uses) and reads.
All bytes within the timeout: reachable. Otherwise blocked, with the first drop an AWS rule
logged meanwhile: on the request leg if it was the connection's own packet to the port,
otherwise on the reply leg, e.g. the frag-needed the sending server's own security group
refused (ENI_SG_RULES_MISMATCH at that group).
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from typing import Literal

from netemu.driver import netns
from netemu.driver import state as st
from netemu.errors import UsageError
from netemu.model.types import PROTO_TCP, Model
from netemu.probe import lock, nflog, path
from netemu.probe.endpoints import Endpoint, destination, source
from netemu.probe.engine import ProbeResult, ProbeSpec, infrastructure_namespaces
from netemu.probe.reason import Reason, from_drop, parse_prefix
from netemu.render.nft import Drop

# A download gets at least this long: TCP's first retransmission comes after 1 s, so a
# path that needs PMTU discovery takes over a second even when it works.
TIMEOUT_S = 3.0


def _socket_in(ns: str) -> socket.socket:
    with netns.entered(ns):
        return socket.socket(socket.AF_INET, socket.SOCK_STREAM)


def _serve(listener: socket.socket, size: int, deadline: float) -> None:
    """Accept one connection and send `size` bytes; give up at `deadline`."""
    listener.settimeout(max(0.1, deadline - time.monotonic()))
    with contextlib.suppress(OSError):
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(max(0.1, deadline - time.monotonic()))
            conn.sendall(b"n" * size)


def transfer(model: Model, spec: ProbeSpec, timeout: float) -> ProbeResult:
    assert spec.size is not None and spec.port is not None and spec.protocol == "tcp"
    src = source(model, spec.source)
    dst = destination(model, spec.destination, src)
    started = time.monotonic()
    deadline = started + timeout
    with lock.turn(st.state_dir(model.name)):  # the NFLOG listeners are the scenario's
        return _download(model, spec, src, dst, started, deadline, timeout)


def _download(
    model: Model,
    spec: ProbeSpec,
    src: Endpoint,
    dst: Endpoint,
    started: float,
    deadline: float,
    timeout: float,
) -> ProbeResult:
    assert spec.size is not None and spec.port is not None
    listeners = {nflog.open_listener(ns): ns for ns in infrastructure_namespaces(model)}
    drops: list[tuple[Drop, nflog.Packet]] = []
    got = 0
    seen_port = None
    try:
        if dst.ns is None or src.ns is None:  # nobody holds the address: nothing can arrive
            return _result(model, spec, "blocked", None, seen_port, started)
        server = _socket_in(dst.ns)
        client = _socket_in(src.ns)
        with server, client:
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                server.bind(("0.0.0.0", spec.port))
            except OSError as e:
                raise UsageError(
                    f"a download from {spec.destination} needs a port none of its services "
                    f"holds; tcp/{spec.port}: {e.strerror}"
                ) from e
            server.listen(1)
            sender = threading.Thread(target=_serve, args=(server, spec.size, deadline))
            sender.start()
            client.settimeout(timeout)
            if spec.source_port:
                client.bind(("0.0.0.0", spec.source_port))
            with contextlib.suppress(OSError):
                client.connect((str(dst.ip), spec.port))
                seen_port = client.getsockname()[1]
                client.setblocking(False)
                closed = False
                while not closed and got < spec.size and time.monotonic() < deadline:
                    ready, _, _ = select.select([client, *listeners], [], [], 0.05)
                    for s in ready:
                        if s is not client:
                            drops += _drops(s)
                            continue
                        data = client.recv(1 << 20)
                        closed = not data
                        got += len(data)
            for s in listeners:
                drops += _drops(s)
            sender.join()
    finally:
        for s in listeners:
            s.close()
    result: Literal["reachable", "blocked"] = "reachable" if got == spec.size else "blocked"
    reason = None
    if result == "blocked" and drops:
        drop, packet = drops[0]
        # The connection's own packets towards the port are the request; anything else
        # (data coming back, an ICMP error for the sender) is on the reply leg.
        toward = packet.protocol == PROTO_TCP and packet.dport == spec.port
        reason = from_drop(drop, "request" if toward else "reply", model, src, dst, packet)
    return _result(model, spec, result, reason, seen_port, started)


def _drops(sock: socket.socket) -> list[tuple[Drop, nflog.Packet]]:
    """The drops logged on a listener (hop logs are for packet probes only)."""
    out = []
    for prefix, packet in nflog.read_logged(sock):
        what = parse_prefix(prefix)
        if isinstance(what, Drop):
            out.append((what, packet))
    return out


def _result(
    model: Model,
    spec: ProbeSpec,
    result: Literal["reachable", "blocked"],
    reason: Reason | None,
    seen_port: int | None,
    started: float,
) -> ProbeResult:
    src = source(model, spec.source)
    dst = destination(model, spec.destination, src)
    elapsed = int((time.monotonic() - started) * 1000)
    # A download is a kernel's own TCP stream: its packets carry no probe mark, so the hops
    # are the model's path, and said to be (contract 6.3).
    hops = path.walk(model, src, dst.ip)
    return ProbeResult(
        spec, str(src.ip), str(dst.ip), result, None, seen_port, reason, hops, elapsed,
        hops_observed=False,
    )  # fmt: skip
