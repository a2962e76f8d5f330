"""The static walk: one packet carried through the model in AWS order, request then reply.

It visits the same places, in the same order, as a real packet in the kernel picture
(how-it-works.md): the sender's subnet (security group egress, network ACL outbound), the
VPC router (the route table of the subnet it came from), the receiver's subnet (network ACL
inbound, security group ingress), internet gateways (1:1 NAT), NAT gateways (source NAT),
the internet. Connection state is kept per place as the kernel keeps it, so replies pass
security groups by state (7.10) and are translated back by the gateways that translated
the request. Nothing here touches the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from netemu.explain import codes, network_acl, route_table, security_group
from netemu.explain import transit_gateway as tgw
from netemu.explain.hop import Hop, LegResult, header
from netemu.explain.index import ModelIndex, is_private
from netemu.explain.packet import NAT_PORT, Packet
from netemu.explain.reason import Classifier, Drop
from netemu.model.types import PROTO_ICMP, PROTO_TCP, PROTO_UDP, Eni

Leg = Literal["request", "reply"]
MAX_STEPS = 64
# The two ends of a flow in a subnet's connection tracking (render.untracked's bits).
INITIATOR, RESPONDER = 0x1, 0x2
DNS_PORT = 53
# ENIs whose security groups the walk applies; a NAT gateway's ENI has none (6.13).
FILTERED = ("instance", "vpc_endpoint")


@dataclass
class _Entry:
    """A connection-tracking entry: the packet as it entered a place and as it left."""

    orig: Packet
    out: Packet
    resets: int = 0  # TCP resets seen in reply direction (a second one is invalid)
    bits: int = 0  # untracked at the initiator / responder ENI (render.untracked)


# Where a packet is: (kind, name, how it came in).
Place = tuple[str, str, str]


class Walker:
    def __init__(self, index: ModelIndex, classifier: Classifier, as_kernel: bool = False) -> None:
        self.as_kernel = as_kernel  # answer as netemu's kernel does where it differs from AWS
        self.ix = index
        self.m = index.model
        self.why = classifier
        self.ct: dict[tuple[str, str], list[_Entry]] = {}
        self.notes: list[str] = []
        # Where the kernel's answer differs from AWS's by design (aws-decisions.md).
        self.kernel_differs: list[str] = []
        self.by_chance = 1.0  # < 1: the drop happens to that share of connections only
        self.untracked: set[tuple[str, tuple[object, ...]]] = set()  # (ENI, flow), AWS side

    # -- connection tracking ------------------------------------------------------------
    def _established(self, where: tuple[str, str], p: Packet) -> _Entry | None:
        for e in self.ct.get(where, []):
            if e.out.reversed_flow() == p.flow:
                return e
        return None

    def _track(self, where: tuple[str, str], before: Packet, after: Packet) -> None:
        entries = self.ct.setdefault(where, [])
        if not any(
            e.orig.flow == before.flow or e.out.reversed_flow() == before.flow for e in entries
        ):
            entries.append(_Entry(before, after))

    @staticmethod
    def _restore(e: _Entry, p: Packet) -> Packet:
        """The reply as it leaves a place that translated the request."""
        o = e.orig
        return replace(p, src=o.dst, dst=o.src, sport=o.dport, dport=o.sport)

    def _sg_state(self, subnet: str, eni: Eni, direction: str, p: Packet) -> bool:
        """Is `p` a reply this ENI lets pass by state (7.10)? Not when the flow is untracked
        at the ENI (7.13): then the rules judge it. AWS keeps the state per ENI; the kernel
        per subnet namespace, with a bit per end for untracked flows, and there a second
        TCP reset of a flow is invalid. When the two differ, the difference is noted and the
        AWS answer taken, unless the walk stands in for the kernel (the cross-check)."""
        flow = p.reversed_flow()
        aws = (
            self._established(("eni", eni.id), p) is not None
            and (eni.id, flow) not in self.untracked
        )
        entry = self._established(("subnet", subnet), p)
        bit = RESPONDER if direction == "egress" else INITIATOR  # the end that replies / asked
        kernel = entry is not None and not (p.rst and entry.resets > 0) and not entry.bits & bit
        if aws != kernel:
            self.kernel_differs.append(
                f"security group state: AWS keeps it per ENI, netemu per subnet; {eni.owner}'s "
                f"ENI sees {p.describe()} as {'a reply' if aws else 'new'}, the kernel as "
                f"{'a reply' if kernel else 'new'}"
            )
        return kernel if self.as_kernel else aws

    def _original(self, subnet: str, p: Packet) -> _Entry | None:
        """The subnet's connection-tracking entry `p` belongs to in the original direction
        (made now for a packet that opens a flow); None for a reply or an invalid packet."""
        entries = self.ct.setdefault(("subnet", subnet), [])
        if any(e.out.reversed_flow() == p.flow for e in entries):
            return None
        found = next((e for e in entries if e.orig.flow == p.flow), None)
        if found is None and p.opens:
            found = _Entry(p, p)
            entries.append(found)
        return found

    # -- the walk -----------------------------------------------------------------------
    def leg(self, start: Place, p: Packet, leg: Leg) -> LegResult:
        hops: list[Hop] = []
        seen: set[tuple[Place, Packet]] = set()
        where: Place | None = start
        for _ in range(MAX_STEPS):
            assert where is not None
            if (where, p) in seen:
                break
            seen.add((where, p))
            kind, name, iif = where
            handler = getattr(self, f"_at_{kind}")
            out = handler(name, iif, p, leg, hops)
            if isinstance(out, Drop):
                return LegResult(hops, out, None, None)
            if isinstance(out, str):  # delivered to this endpoint
                return LegResult(hops, None, p, out)
            where, p = out
        drop = self.why.silent(codes.ROUTING_LOOP, leg, p, "the routes send it round in a loop")
        return LegResult(hops, drop, None, None)

    # -- endpoints ----------------------------------------------------------------------
    def _at_instance(self, name: str, iif: str, p: Packet, leg: Leg, hops: list[Hop]) -> Any:
        inst = self.m.instances[name]
        hops.append(Hop(f"instance:{name}", inst.id))
        if any(p.dst in e.private_ips for e in self.m.enis_of(name)):  # every ENI's (9.20)
            return f"instance:{name}"
        if inst.eni.source_dest_check:
            return self.why.silent(codes.NOT_FORWARDED, leg, p, f"instance {name} does not forward")
        # Source/destination check off: the instance forwards by its default route (9.9).
        return ("subnet", inst.subnet, f"port:instance:{name}"), p

    def _at_host(self, name: str, iif: str, p: Packet, leg: Leg, hops: list[Hop]) -> Any:
        hops.append(Hop(f"internet_host:{name}"))
        if p.dst == self.m.internet_hosts[name].ip:
            return f"internet_host:{name}"
        return self.why.silent(codes.NOT_FORWARDED, leg, p, f"internet host {name}")

    def _at_nat(self, name: str, iif: str, p: Packet, leg: Leg, hops: list[Hop]) -> Any:
        nat = self.m.nat_gateways[name]
        own = nat.eni.private_ip
        assert own is not None  # NAT gateways are refused in IPv6-only subnets (validate_enis)
        hops.append(Hop(f"nat_gateway:{name}", nat.id))
        if p.src == own:  # its own translated traffic came back: its subnet routes to it
            return self.why.nat_loop(nat, leg, p)
        entry = self._established(("nat", name), p)
        q = self._restore(entry, p) if entry else p
        if q.dst == own:
            return self.why.nat_no_inbound(nat, True, leg, p)
        vpc = self.m.vpcs[self.ix.vpc_of_eni(nat.eni)]
        if entry is None:
            if vpc.holds(q.src) and q.protocol not in (PROTO_TCP, PROTO_UDP, PROTO_ICMP):
                return self.why.nat_protocol(nat, leg, p)
            if not vpc.holds(q.src):
                return self.why.nat_no_inbound(nat, False, leg, p)
            if not q.opens:
                # AWS is silent; netemu's gateway forwards a packet that cannot open a
                # connection (a TCP answer, an echo reply) without translating it.
                self.notes.append(f"{name} forwards {q.describe()} untranslated")
                return ("subnet", nat.subnet, f"port:nat_gateway:{name}"), q
            q = q.with_source(own, self._nat_port(q))
            self._track(("nat", name), p, q)
        if q != p:  # shown as Reachability Analyzer shows a translation (13.1)
            hops[-1].detail.update(inbound_header=header(p), outbound_header=header(q))
        return ("subnet", nat.subnet, f"port:nat_gateway:{name}"), q

    def _nat_port(self, p: Packet) -> int:
        """The gateway gives each TCP or UDP connection a random free port of 1024-65535
        (6.8, render.nat_gateway); ICMP keeps its echo id."""
        return p.sport if p.protocol == PROTO_ICMP else NAT_PORT

    # -- subnets: security groups and network ACLs --------------------------------------
    def _at_subnet(self, name: str, iif: str, p: Packet, leg: Leg, hops: list[Hop]) -> Any:
        sub = self.m.subnets[name]
        vpc = self.m.vpcs[sub.vpc]
        held = self.ix.held[name]
        if (
            sub.cidr
            and p.dst in sub.cidr
            and p.dst not in held
            and p.dst not in (sub.router_ip, vpc.dns_ip)
        ):
            return self.why.unheld(name, leg, p)
        if iif.startswith("target:"):
            _, kind, owner = iif.split(":")
            oif: Eni | None = self.ix.eni(kind, owner)
        else:
            oif = held.get(p.dst)
        in_eni = self.ix.eni(*iif.split(":")[1:]) if iif.startswith("port:") else None
        for inst in self.ix.stopped[name]:  # its port as input, then as output (render.subnet)
            enis = self.m.enis_of(inst.name)
            if in_eni in enis:
                return self.why.stopped(inst, "egress", leg, p)
            if oif in enis:
                return self.why.stopped(inst, "ingress", leg, p)
        dns_query = (
            p.dst == vpc.dns_ip and p.protocol in (PROTO_TCP, PROTO_UDP) and (p.dport == DNS_PORT)
        )
        dns_answer = (
            p.src == vpc.dns_ip and p.protocol in (PROTO_TCP, PROTO_UDP) and (p.sport == DNS_PORT)
        )
        if in_eni and in_eni.owner_kind in FILTERED and not dns_query:
            if self._sg_state(name, in_eni, "egress", p):
                hops.append(self._by_state(in_eni, "egress"))
            else:
                drop = self._security_group(in_eni, "egress", p, leg, hops, name)
                if drop:
                    return drop
            self._track(("eni", in_eni.id), p, p)
        if oif is None and not dns_query:
            acl = self.m.network_acls[sub.network_acl]
            drop = self._acl(acl, "egress", p, leg, hops, name)
            if drop:
                return drop
        edge = iif == "uplink" or iif.startswith("target:")
        if edge and not dns_answer:
            acl = self.m.network_acls[sub.network_acl]
            drop = self._acl(acl, "ingress", p, leg, hops, name)
            if drop:
                return drop
        if oif and oif.owner_kind in FILTERED and not dns_answer:
            if self._sg_state(name, oif, "ingress", p):
                hops.append(self._by_state(oif, "ingress"))
            else:
                drop = self._security_group(oif, "ingress", p, leg, hops, name)
                if drop:
                    return drop
            self._track(("eni", oif.id), p, p)
        entry = self._established(("subnet", name), p)
        if entry and p.rst:
            entry.resets += 1
        self._track(("subnet", name), p, p)
        if oif is None:
            return ("router", sub.vpc, f"subnet:{name}"), p
        kind = {"instance": "instance", "vpc_endpoint": "endpoint_eni"}.get(oif.owner_kind, "nat")
        return (kind, oif.owner, "eth0"), p

    def _at_endpoint_eni(self, name: str, iif: str, p: Packet, leg: Leg, hops: list[Hop]) -> Any:
        """An interface endpoint's ENI: the service answers there (17.3)."""
        eni = self.ix.eni("vpc_endpoint", name)
        hops.append(Hop(f"vpc_endpoint:{name}", eni.id))
        if p.dst == eni.private_ip:
            return f"vpc_endpoint:{name}"
        return self.why.silent(codes.NOT_FORWARDED, leg, p, f"vpc endpoint {name}")

    def _by_state(self, eni: Eni, direction: str) -> Hop:
        """A security group stage passed as the reply of a flow the ENI admitted (7.10)."""
        names = ",".join(self.m.security_groups[g].name for g in eni.security_groups)
        state = {"direction": direction, "connection_state": "established", "eni": eni.id}
        return Hop(f"security_group:{names}", None, {"security_group_state": state})

    def _security_group(
        self,
        eni: Eni,
        direction: Literal["ingress", "egress"],
        p: Packet,
        leg: Leg,
        hops: list[Hop],
        subnet: str,
    ) -> Drop | None:
        own = p.src if direction == "egress" else p.dst
        if eni.source_dest_check and own not in eni.private_ips:
            return self.why.source_dest_check(eni, direction, leg, p)
        entry = self._original(subnet, p)
        if entry is not None and security_group.untracked(self.m, eni, direction, p):
            entry.bits |= INITIATOR if direction == "egress" else RESPONDER
            self.untracked.add((eni.id, p.flow))
            names = ",".join(self.m.security_groups[g].name for g in eni.security_groups)
            state = {"direction": direction, "connection_state": "untracked", "eni": eni.id}
            hops.append(Hop(f"security_group:{names}", None, {"security_group_state": state}))
            return None
        v = security_group.evaluate(self.m, self.ix.group_members, eni, direction, p)
        if not v.allowed:
            return self.why.security_group(v, leg, p)
        assert v.group is not None
        hops.append(
            Hop(
                f"security_group:{v.group.name}",
                v.group.id,
                {"security_group_rule": v.to_json(), "eni": eni.id},
            )
        )
        return None

    def _acl(
        self,
        acl: Any,
        direction: Literal["ingress", "egress"],
        p: Packet,
        leg: Leg,
        hops: list[Hop],
        subnet: str,
    ) -> Drop | None:
        v = network_acl.evaluate(acl, direction, p)
        if not v.allowed:
            if v.share < 1:
                self.by_chance = v.share
                self.notes.append(
                    f"the NAT gateway picks the port at random from 1024-65535; "
                    f"{acl.name} {direction} rule {v.rule_name} refuses {v.share:.0%} of them, "
                    "so that share of connections fails (6.8)"
                )
            return self.why.acl(v, leg, p)
        hops.append(
            Hop(f"network_acl:{acl.name}", acl.id, {"acl_rule": v.to_json(), "subnet": subnet})
        )
        return None

    # -- the VPC router -----------------------------------------------------------------
    def _at_router(self, vpc: str, iif: str, p: Packet, leg: Leg, hops: list[Hop]) -> Any:
        if iif.startswith("pcx:"):  # over a peering: only into this VPC (1.10, 1.12)
            pcx = self.m.vpc_peering_connections[iif.split(":", 1)[1]]
            held = next(
                (s for s in self.m.subnets.values() if s.vpc == vpc and s.cidr and p.dst in s.cidr),
                None,
            )
            if held is None:
                outside = not self.m.vpcs[vpc].holds(p.dst)
                return self.why.peering(pcx, "outside" if outside else "unheld", leg, p)
            hops.append(Hop(f"subnet:{held.name}", held.id))
            return ("subnet", held.name, "uplink"), p
        if iif == "igw" or iif.startswith("vpce:"):  # the main table holds the subnets
            sub = next(
                (s for s in self.m.subnets.values() if s.vpc == vpc and s.cidr and p.dst in s.cidr),
                None,
            )
            if sub is None:
                return self.why.silent(codes.NO_ROUTE_TO_DESTINATION, leg, p, "vpc router")
            hops.append(Hop(f"subnet:{sub.name}", sub.id))
            return ("subnet", sub.name, "uplink"), p
        if iif.startswith("tgw:"):  # from a transit gateway: its attachment subnet's table
            iif = "subnet:" + self.m.transit_gateway_attachments[iif[4:]].subnets[0]
        sub = self.m.subnets[iif.split(":", 1)[1]]
        table = self.m.route_tables[sub.route_table]
        choice = route_table.lookup(self.m, table, p.dst)
        if not choice.forwards:
            return self.why.route(choice, leg, p)
        hops.append(
            Hop(f"route_table:{table.name}", table.id, {"route_table_route": choice.to_json()})
        )
        route = choice.route
        if choice.kind == "subnet":
            assert choice.subnet is not None
            hops.append(Hop(f"subnet:{choice.subnet.name}", choice.subnet.id))
            return ("subnet", choice.subnet.name, "uplink"), p
        assert route is not None and route.target is not None
        if choice.kind == "internet_gateway":
            return ("igw", route.target, "vpc"), p
        if choice.kind == "transit_gateway":
            return tgw.enter(self.m, self.why, sub, route.target, leg, p, hops)
        if choice.kind == "vpc_peering_connection":
            pcx = self.m.vpc_peering_connections[route.target]
            hops.append(Hop(f"vpc_peering_connection:{pcx.name}", pcx.id))
            return ("router", pcx.other(vpc), f"pcx:{pcx.name}"), p
        if choice.kind == "vpc_endpoint":  # straight to the service, source kept (17.2)
            ep = self.m.vpc_endpoints[route.target]
            hops.append(Hop(f"vpc_endpoint:{ep.name}", ep.id))
            self._track(("vpce", ep.name), p, p)
            return ("host", ep.service, f"vpce:{ep.name}"), p
        eni = self.ix.eni(choice.kind, route.target)
        hops.append(Hop(f"subnet:{eni.subnet}", self.m.subnets[eni.subnet].id))
        return ("subnet", eni.subnet, f"target:{choice.kind}:{route.target}"), p

    def _at_tgw(self, _: str, iif: str, p: Packet, leg: Leg, hops: list[Hop]) -> Any:
        return tgw.at_gateway(self.m, self.why, iif, p, leg, hops)

    # -- internet gateways and the internet ---------------------------------------------
    def _at_igw(self, name: str, side: str, p: Packet, leg: Leg, hops: list[Hop]) -> Any:
        igw = self.m.internet_gateways[name]
        public_of = self.ix.public_of[igw.vpc]
        hop = Hop(f"internet_gateway:{name}", igw.id, {"inbound_header": header(p)})
        hops.append(hop)
        entry = self._established(("igw", name), p)
        if side == "vpc":
            if p.src not in public_of:
                return self.why.igw(igw, "egress", "no public IP", leg, p)
            if is_private(p.dst):
                return self.why.igw(igw, "egress", "private destination", leg, p)
            q = self._restore(entry, p) if entry else p.with_source(public_of[p.src])
        else:
            if is_private(p.src):
                return self.why.igw(igw, "ingress", "private source", leg, p)
            if p.dst not in public_of.values():
                return self.why.igw(igw, "ingress", "no public IP", leg, p)
            private_of = {b: a for a, b in public_of.items()}
            q = self._restore(entry, p) if entry else p.with_destination(private_of[p.dst])
        if entry is None:
            self._track(("igw", name), p, q)
        hop.detail["outbound_header"] = header(q)
        if self.m.vpcs[igw.vpc].holds(q.dst):
            return ("router", igw.vpc, "igw"), q
        return ("internet", "", name), q

    def _at_internet(self, _: str, iif: str, p: Packet, leg: Leg, hops: list[Hop]) -> Any:
        for ep in self.m.vpc_endpoints.values():  # a service answers over the endpoint (17.2)
            if iif == ep.service and self._established(("vpce", ep.name), p):
                hops.append(Hop(f"vpc_endpoint:{ep.name}", ep.id))
                return ("router", ep.vpc, f"vpce:{ep.name}"), p
        hops.append(Hop("internet"))
        host = self.ix.hosts.get(p.dst)
        if host:
            return ("host", host, "eth0"), p
        eni = self.ix.by_public.get(p.dst)
        igw = self.ix.igw_of(self.ix.vpc_of_eni(eni)) if eni else None
        if igw is None:
            return self.why.internet(leg, p)
        return ("igw", igw.name, "inet"), p


def start_of(ix: ModelIndex, endpoint: str) -> Place:
    """Where a packet sent by an instance or internet host first arrives."""
    if endpoint in ix.model.instances:
        inst = ix.model.instances[endpoint]
        return ("subnet", inst.subnet, f"port:instance:{endpoint}")
    return ("internet", "", endpoint)
