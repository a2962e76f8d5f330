"""Human-readable explain output, laid out like Reachability Analyzer's path components and
explanations (ref 13.1, 13.2): one line per component with the rule that admitted the
packet, and for a blocked path the first blocking stage."""

from __future__ import annotations

from typing import Any

from netemu.explain.hop import Hop
from netemu.explain.result import StaticResult

PROTO = {"-1": "all", "6": "tcp", "17": "udp", "1": "icmp"}


def _ports(r: dict[str, Any]) -> str:
    pr = r.get("port_range")
    if not pr:
        return ""
    return f"/{pr['from']}" if pr["from"] == pr["to"] else f"/{pr['from']}-{pr['to']}"


def _what(hop: Hop) -> str:
    d = hop.detail
    if "security_group_rule" in d:
        r = d["security_group_rule"]
        peer = r.get("cidr") or f"members of {r.get('referenced_group_id')}"
        if r.get("prefix_list_id"):
            peer = f"prefix list {r['prefix_list_id']} ({peer})"
        side = "from" if r["direction"] == "ingress" else "to"
        proto = PROTO.get(r["protocol"], r["protocol"])
        return f"{r['direction']} rule {r['rule_index']}: {proto}{_ports(r)} {side} {peer}"
    if "security_group_state" in d:
        st = d["security_group_state"]
        if st["connection_state"] == "untracked":
            return f"{st['direction']}: untracked, all-addresses rules both ways (7.13)"
        return f"{st['direction']}: reply of a flow it admitted (7.10)"
    if "acl_rule" in d:
        r = d["acl_rule"]
        direction = "egress" if r["egress"] else "ingress"
        proto = PROTO.get(r["protocol"], r["protocol"])
        return (
            f"{direction} rule {r['rule_number']} {r['rule_action']}: "
            f"{proto}{_ports(r)} {r['cidr']} (subnet {d.get('subnet')})"
        )
    if "transit_gateway_route_table_route" in d:
        r = d["transit_gateway_route_table_route"]
        return f"{r['route_origin']} route {r['destination_cidr']} -> {r['attachment_id']}"
    if "route_table_route" in d:
        r = d["route_table_route"]
        target = next(
            (
                r[k]
                for k in (
                    "gateway_id",
                    "nat_gateway_id",
                    "instance_id",
                    "vpc_peering_connection_id",
                    "transit_gateway_id",
                )
                if k in r
            ),
            "?",
        )
        if r.get("destination_prefix_list_id"):  # a gateway endpoint's route (ref 17.2)
            pl = r["destination_prefix_list_id"]
            return f"route {pl} ({r['destination_cidr']}) -> vpc endpoint {target}"
        return f"route {r['destination_cidr']} -> {target}"
    if "outbound_header" in d:
        a, b = d.get("inbound_header"), d["outbound_header"]
        if a:
            return (
                f"{a['source_addresses'][0]} -> {a['destination_addresses'][0]} becomes "
                f"{b['source_addresses'][0]} -> {b['destination_addresses'][0]}"
            )
        return f"source becomes {b['source_addresses'][0]}"
    return ""


def _path(title: str, hops: list[Hop]) -> list[str]:
    if not hops:
        return []
    width = max(len(h.component) for h in hops)
    out = [f"{title}:"]
    for i, h in enumerate(hops, 1):
        out.append(f"  {i:>2}  {h.component:<{width}}  {_what(h)}".rstrip())
    return out


def lines(r: StaticResult) -> list[str]:
    s = r.spec
    what = "icmp" if s.protocol == "icmp" else f"{s.protocol}/{s.port}"
    sport = f" from port {r.source_port}" if r.source_port and s.source_port else ""
    out = [
        f"{s.source} ({r.src_ip}) -> {s.destination} ({r.dst_ip}) {what}{sport}: "
        f"{r.result.upper()}  (modelled: no packet was sent)"
    ]
    if r.seen_source:
        out.append(f"  the destination sees the source {r.seen_source}")
    out += _path("forward path", r.forward_path)
    out += _path("return path", r.return_path)
    x = r.reason
    if x is not None:
        rule = f" rule {x.rule}" if x.rule else ""
        direction = f" {x.direction}" if x.direction else ""
        out.append("explanation:")
        out.append(f"  {x.code}: {x.component}{direction}{rule}, on the {x.leg}")
        out.append(
            f"  ({x.detail}; packet {x.packet['src'] if x.packet else ''} -> "
            f"{x.packet['dst'] if x.packet else ''})"
        )
    for note in r.notes:
        out.append(f"note: {note}")
    for note in r.kernel_differs:
        out.append(f"note: netemu's kernel differs here: {note}")
    return out
