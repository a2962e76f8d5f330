"""Real-packet probes: send, watch, and decide from what the kernel did.

A probe's request is packed by hand (probe.wire) and sent from a raw socket inside the source's
namespace, with an IP ID unique to the probe (NAT leaves it alone, so the packet is
recognisable on every hop) and the probe mark of render.nft (its TCP sequence number or
payload, which the reply carries back). Sockets opened inside namespaces stay there, so one
thread watches everything at once: captures on the source and destination ENIs (did the
reply come back? what source did the destination see?) and NFLOG listeners in every
namespace that holds AWS rules (where was it seen? which rule dropped it?). A verdict is
reached as soon as the evidence exists: the reply at the source, or a drop of the request
or the reply by a rule that says which AWS refusal it is (probe.reason).

Observed: the verdict, the reason's code/component/direction/rule (from the dropping rule,
except the model refinements listed in probe.reason), the hops (probe.hops), the source the
destination saw. Modelled: only the hops of a scenario whose rules log no probe packets,
labelled `hops_observed: false`. Probes of one scenario take turns (probe.lock).
"""

from __future__ import annotations

import contextlib
import itertools
import select
import socket
import time
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any, Literal

from netemu.driver import state as st
from netemu.errors import HostUnsupported, UsageError
from netemu.model.types import Model
from netemu.probe import hops, lock, nflog, path, wire
from netemu.probe import ipv6 as ipv6_probe
from netemu.probe.endpoints import Endpoint, destination, source
from netemu.probe.flight import Flight, Flights, ReplyKey, key_of_reply
from netemu.probe.nflog import Packet
from netemu.probe.reason import Reason, from_drop, parse_prefix
from netemu.render import ipv6, nft, topology
from netemu.render import names as n

CLIENT_PORTS = (32768, 60999)  # Linux's ip_local_port_range, the contract's default
# A probe still making progress (seen at one more hop) may take this many timeouts in all.
PATIENCE = 3


@dataclass(frozen=True)
class ProbeSpec:
    source: str
    destination: str
    protocol: Literal["tcp", "udp", "icmp"]
    port: int | None = None
    source_port: int | None = None
    size: int | None = None  # a real TCP download of this many bytes (probe.transfer)
    family: Literal[4, 6] = 4  # 6: to the destination's IPv6 address (probe.ipv6)


@dataclass
class ProbeResult:
    spec: ProbeSpec
    src_ip: str
    dst_ip: str
    result: Literal["reachable", "blocked"]
    seen_source: str | None
    seen_port: int | None  # the source port the destination saw (NAT may change it)
    reason: Reason | None
    hops: list[str]
    elapsed_ms: int
    hops_observed: bool = True  # False: `hops` come from the model (probe.hops)

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.spec.source,
            "to": self.spec.destination,
            "protocol": self.spec.protocol,
            "port": self.spec.port,
            "src_ip": self.src_ip,
            "dst_ip": self.dst_ip,
            "result": self.result,
            "seen_source": self.seen_source,
            "seen_port": self.seen_port,
            "reason": self.reason.to_json() if self.reason else None,
            "hops": self.hops,
            "hops_observed": self.hops_observed,
            "elapsed_ms": self.elapsed_ms,
        }


def infrastructure_namespaces(model: Model) -> list[str]:
    """Every namespace that holds AWS rules, where a probe's packet can be dropped."""
    s = model.name
    return (
        [n.subnet_ns(s, x) for x in model.subnets]
        + [n.router_ns(s, v) for v in model.vpcs]
        + [n.igw_ns(s, g) for g in model.internet_gateways]
        + [n.nat_gateway_ns(s, g) for g in model.nat_gateways]
        + [n.internet_ns(s)]
        + [ipv6.eigw_ns(s, g) for g in model.egress_only_internet_gateways]
        + [n.transit_gateway_ns(s, t) for t in model.transit_gateways]
    )


@dataclass(frozen=True)
class _Unclaimed:
    """A log line (a hop or a drop) that no flight recognised when it came."""

    ns: str
    what: nft.Drop | Literal["hop"]
    packet: Packet
    order: int


class Prober:
    """Runs many probes at once over one set of listeners."""

    def __init__(self, model: Model, timeout: float = 1.0) -> None:
        self.model = model
        self.timeout = timeout
        every = ipv6.namespaces(model, topology.namespaces(model))
        self.components = {ns.name: ns.aws for ns in every}
        self.captures: dict[str, socket.socket] = {}
        self.raw: dict[str, socket.socket] = {}
        self.listeners: dict[socket.socket, str] = {}
        self.routers: set[str] = set()
        self.read = itertools.count()  # the order listener messages were read in
        self.held = contextlib.ExitStack()
        try:
            self.held.enter_context(lock.turn(st.state_dir(model.name)))
            for ns in infrastructure_namespaces(model):
                self.listeners[nflog.open_listener(ns)] = ns
            # Instances that route (route targets) hold no AWS rules to log with; their
            # ENI's capture shows the probe passing through them instead.
            self.routers = {
                n.instance_ns(model.name, e.owner)
                for e in topology.target_enis(model)
                if e.owner_kind == "instance"
            }
            for ns in self.routers:
                self._capture_of(ns)
        except BaseException:
            self.close()
            raise
        self.tokens = itertools.count(wire.random16() % 30000 + 1)
        low, high = CLIENT_PORTS
        first = low + wire.random16() % 20000
        self.ports = itertools.cycle([*range(first, high), *range(low, first)])

    def close(self) -> None:
        wire.close_all([*self.listeners, *self.captures.values(), *self.raw.values()])
        self.held.close()  # the next prober of this scenario may start

    def __enter__(self) -> Prober:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _capture_of(self, ns: str) -> socket.socket:
        if ns not in self.captures:
            self.captures[ns] = wire.capture(ns)
        return self.captures[ns]

    def _raw_of(self, ns: str) -> socket.socket:
        if ns not in self.raw:
            self.raw[ns] = wire.in_ns(ns, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        return self.raw[ns]

    def _prepare(self, spec: ProbeSpec) -> Flight:
        src = source(self.model, spec.source)
        dst = destination(self.model, spec.destination, src)
        token = next(self.tokens) % 65535 + 1
        f = Flight(spec, src, dst, token, spec.source_port or next(self.ports))
        assert src.ns
        self._capture_of(src.ns)
        if dst.ns:
            self._capture_of(dst.ns)
        if spec.protocol == "udp":
            # The source holds its port so the reply is taken, not answered with an ICMP
            # error; the destination answers with one datagram when no service does.
            f.extra.append(self._udp(src.ns, f.sport, echo=False))
            if dst.ns and spec.port:
                responder = self._udp(dst.ns, spec.port, echo=True)
                if responder:
                    f.extra.append(responder)
        f.extra = [s for s in f.extra if s]
        return f

    def _udp(self, ns: str, port: int, echo: bool) -> Any:
        s = wire.in_ns(ns, socket.AF_INET, socket.SOCK_DGRAM, 0)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            s.close()
            return None  # a service holds the port and answers itself
        s.setblocking(False)
        if echo:
            self._echoers.add(s)
        return s

    def run(self, specs: list[ProbeSpec]) -> list[ProbeResult]:
        """Probe all `specs`; concurrently, except probes that share a source port."""
        results: dict[int, ProbeResult] = {}
        pending = list(enumerate(specs))
        while pending:
            batch, used, later = [], set(), []
            for i, spec in pending:
                key = (spec.source, spec.source_port)
                if spec.source_port is not None and key in used:
                    later.append((i, spec))
                    continue
                used.add(key)
                batch.append((i, spec))
            for (i, _), r in zip(batch, self._run_batch([s for _, s in batch]), strict=True):
                results[i] = r
            pending = later
        return [results[i] for i in range(len(specs))]

    def _run_batch(self, specs: list[ProbeSpec]) -> list[ProbeResult]:
        self._echoers: set[socket.socket] = set()
        # Logs no flight recognised yet, by the reply key they carry: a reply to the port a
        # NAT gateway chose is only recognised once the destination's capture has shown
        # that port (Flights.arrive).
        self._unclaimed: dict[ReplyKey, list[_Unclaimed]] = {}
        flights = Flights([self._prepare(s) for s in specs])
        for sock in self.listeners:  # forget logs from before this batch
            nflog.read_logged(sock)
        packets = [
            wire.craft(f.spec.protocol, f.src.ip, f.dst.ip, f.token, f.sport, f.spec.port)
            for f in flights.all
        ]
        for f, packet in zip(flights.all, packets, strict=True):
            f.sent_at = time.monotonic()
            assert f.src.ns
            self._raw_of(f.src.ns).sendto(packet, (str(f.dst.ip), 0))
        start = time.monotonic()
        deadline, limit = start + self.timeout, start + self.timeout * PATIENCE
        cap_ns = {s: ns for ns, s in self.captures.items()}
        extra = {s for f in flights.all for s in f.extra}
        # poll, not select: a batch over many instances watches more than select's 1024.
        watch = {s.fileno(): s for s in [*self.listeners, *cap_ns, *self._echoers, *extra]}
        poller = select.poll()
        for fd in watch:
            poller.register(fd, select.POLLIN)
        while flights.undecided:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            progress = flights.progress
            for fd, _ in poller.poll(left * 1000):
                self._handle(watch[fd], flights, cap_ns)
            if flights.progress > progress:
                # Still moving (seen at a further hop, or arrived): a busy host delays
                # packets, it does not drop them. Wait on, up to `limit`.
                deadline = min(limit, max(deadline, time.monotonic() + self.timeout))
        late = {f.dst.ns for f in flights.all if f.reply and f.dst.ns and not f.arrived}
        for ns in late:  # the destination saw the request before the source saw a reply
            self._handle(self.captures[ns], flights, cap_ns)
        for sock in self.listeners:  # hops logged before the verdict, not read yet
            self._handle(sock, flights, cap_ns)
        for s in extra:
            s.close()
        return [self._result(f) for f in flights.all]

    def _handle(self, s: socket.socket, flights: Flights, cap_ns: dict[socket.socket, str]) -> None:
        now = time.monotonic()
        if s in self.listeners:
            ns = self.listeners[s]
            for prefix, p in nflog.read_logged(s):
                self._logged(ns, parse_prefix(prefix), p, flights, now)
        elif s in cap_ns:
            ns = cap_ns[s]
            for p in wire.read_capture(s):
                if ns in self.routers:
                    self._logged(ns, "hop", p, flights, now)
                f = flights.requested(p)
                if f and f.dst.ns == ns and f.arrived is None:
                    key = flights.arrive(f, p)
                    for u in self._unclaimed.get(key, ()):
                        if f.is_reply(u.packet):
                            self._claim(f, u, now, flights)
                for f in flights.replied(p):
                    if f.src.ns == ns and not f.decided and p.dst == f.src.ip:
                        f.reply, f.done_at = p, now
                        flights.decide(f)
        elif s in self._echoers:
            try:
                while True:
                    data, peer = s.recvfrom(2048)
                    s.sendto(data, peer)
            except BlockingIOError:
                pass
        else:  # the source's own UDP socket: the reply also shows in the capture
            try:
                while s.recv(2048):
                    pass
            except BlockingIOError:
                pass

    def _logged(
        self,
        ns: str,
        what: nft.Drop | Literal["hop"] | None,
        p: Packet,
        flights: Flights,
        now: float,
    ) -> None:
        if what is None:
            return  # not one of netemu's logs
        u = _Unclaimed(ns, what, p, next(self.read))
        f = flights.requested(p)
        if f:
            self._claim(f, u, now, flights, "request")
            return
        for f in flights.replied(p):
            self._claim(f, u, now, flights, "reply")
            return
        self._unclaimed.setdefault(key_of_reply(p), []).append(u)

    def _claim(
        self,
        f: Flight,
        u: _Unclaimed,
        now: float,
        flights: Flights,
        leg: Literal["request", "reply"] = "reply",
    ) -> None:
        if u.what == "hop":
            component = self.components.get(u.ns, u.ns)
            flights.saw(f, hops.Sighting(leg, component, u.packet.ttl, u.order))
        elif not f.decided:
            f.drop, f.done_at = (u.what, leg, u.ns, u.packet), now
            flights.decide(f)

    def _result(self, f: Flight) -> ProbeResult:
        end = f.done_at or time.monotonic()
        elapsed = int((end - f.sent_at) * 1000)
        seen = str(f.arrived.src) if f.arrived else None
        seen_port = f.arrived.sport if f.arrived else None
        result: Literal["reachable", "blocked"] = "reachable" if f.reply else "blocked"
        reason = None
        drop_leg: Literal["request", "reply"] | None = None
        if f.drop:
            drop, drop_leg, _, packet = f.drop
            reason = from_drop(drop, drop_leg, self.model, f.src, f.dst, packet)
        forward = path.walk(self.model, f.src, f.dst.ip)
        seen_from = f.arrived.src if f.arrived else f.src.ip
        back = path.walk(
            self.model, f.dst, seen_from if isinstance(seen_from, IPv4Address) else f.src.ip
        )
        way = hops.assemble(
            self._component(f.src),
            self._component(f.dst) if f.dst.ns else None,
            f.seen,
            f.arrived is not None,
            f.reply is not None,
            drop_leg,
            (forward, back),
        ) or self._modelled(f)
        return ProbeResult(
            f.spec, str(f.src.ip), str(f.dst.ip), result, seen, seen_port, reason, way.hops,
            elapsed, way.observed,
        )  # fmt: skip

    def _component(self, e: Endpoint) -> str:
        return self.components.get(e.ns, e.name) if e.ns else e.name

    def _modelled(self, f: Flight) -> hops.Hops:
        forward = path.walk(self.model, f.src, f.dst.ip)
        if not f.drop:
            return hops.Hops(forward, False)
        _, leg, where, packet = f.drop
        back_to = f.arrived.src if f.arrived else f.src.ip
        if not isinstance(back_to, IPv4Address):  # this prober crafts IPv4 only
            back_to = f.src.ip
        back = path.walk(self.model, f.dst, back_to)
        died = self.components.get(where, where)
        return hops.modelled(forward, back, died, leg, packet.ttl)


def probe(model: Model, specs: list[ProbeSpec], timeout: float = 1.0) -> list[ProbeResult]:
    """Probe `specs` on the running scenario `model`: packets through the Prober, downloads
    (`size`) one at a time as real connections. A socket or namespace the host refuses is
    one line and exit 3 (a namespace that vanished: the scenario went down, exit 2)."""
    six = [s for s in specs if s.family == 6 or ":" in s.destination]
    packets = [s for s in specs if s.size is None and s not in six]
    found: dict[int, ProbeResult] = {}
    try:
        for s in six:  # one at a time: their reasons come from drop counters (probe.ipv6)
            spaces = infrastructure_namespaces(model)
            found[id(s)] = ipv6_probe.run(model, s, spaces, max(timeout, 1.0))
        if packets:
            with Prober(model, timeout) as p:
                found.update(zip(map(id, packets), p.run(packets), strict=True))
        for s in specs:  # downloads one at a time: each is a real connection with its timeout
            if s.size is not None and id(s) not in found:
                from netemu.probe.transfer import TIMEOUT_S, transfer

                found[id(s)] = transfer(model, s, max(timeout, TIMEOUT_S))
    except FileNotFoundError as e:
        raise UsageError(
            f"a namespace of scenario '{model.name}' is gone ({e.filename or e}); "
            "was it brought down meanwhile?"
        ) from None
    except OSError as e:
        raise HostUnsupported(f"probing failed on this host: {e.strerror or e}") from None
    return [found[id(s)] for s in specs]
