"""Security group permissions and network ACL entries (ref 11.6, 11.7) -> scenario rules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from netemu.interop.notes import Note

_ACL_PROTOCOLS = {"-1": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
_SG_PROTOCOLS = {"-1": "all", "tcp": "tcp", "udp": "udp", "icmp": "icmp", "icmpv6": "icmpv6"}
_SG_NUMBERS = {
    "6": "tcp",
    "17": "udp",
    "1": "icmp",
    "58": "icmpv6",
}  # the API also accepts numbers (ref 11.6)
STAR_RULES = (32767, 32768)  # the `*` rule of IPv4 and IPv6 (ref 8.3): implicit in netemu
ALL_SG = {"protocol": "all", "cidr": "0.0.0.0/0"}  # a new group's egress rule (ref 7.3)


def _traffic(protocol: str, lo: Any, hi: Any) -> dict[str, Any]:
    """protocol plus port/ports (tcp, udp) or icmp_type/icmp_code (icmp); -1 means any."""
    out: dict[str, Any] = {"protocol": protocol}
    if protocol in ("tcp", "udp"):
        lo = 0 if lo in (None, -1) else int(lo)
        hi = 65535 if hi in (None, -1) else int(hi)
        if lo == hi:
            out["port"] = lo
        else:
            out["ports"] = f"{lo}-{hi}"
    elif protocol in ("icmp", "icmpv6"):
        if lo not in (None, -1):
            out["icmp_type"] = int(lo)
        if hi not in (None, -1):
            out["icmp_code"] = int(hi)
    elif protocol != "all":
        out["protocol"] = int(protocol)
    return out


def sg_protocol(raw: Any) -> str:
    text = str(raw).lower()
    return _SG_PROTOCOLS.get(text) or _SG_NUMBERS.get(text) or text


def sg_rules(
    group_id: str,
    permissions: list[Mapping[str, Any]],
    group_name: Callable[[str], str | None],
    notes: list[Note],
    direction: str,
    prefix_list: Callable[[str], str | None] = lambda _: None,
) -> list[dict[str, Any]]:
    """One scenario rule per CIDR or group of each IpPermission (one permission groups several
    peers sharing protocol and ports, ref 11.6). group_name maps a group id to its scenario
    name, None when the group is not part of the import."""
    rules: list[dict[str, Any]] = []
    for perm in permissions:
        spec = _traffic(
            sg_protocol(perm.get("IpProtocol", "-1")), perm.get("FromPort"), perm.get("ToPort")
        )
        shown = _shown(spec)
        for r in perm.get("IpRanges") or []:
            rule = {**spec, "cidr": r["CidrIp"]}
            if r.get("Description"):
                rule["description"] = r["Description"]
            rules.append(rule)
        for r in perm.get("UserIdGroupPairs") or []:
            peer = group_name(str(r.get("GroupId", "")))
            if peer is None:
                why = "references a group of another VPC or account, which is not emulated"
                notes.append(Note(group_id, f"{direction} rule {shown} {why} ({r.get('GroupId')})"))
                continue
            rule = {**spec, "security_group": peer}
            if r.get("Description"):
                rule["description"] = r["Description"]
            rules.append(rule)
        for r in perm.get("Ipv6Ranges") or []:
            rule = {**spec, "cidr_ipv6": r["CidrIpv6"]}
            if r.get("Description"):
                rule["description"] = r["Description"]
            rules.append(rule)
        for r in perm.get("PrefixListIds") or []:
            ours = prefix_list(str(r.get("PrefixListId")))  # 17.7, 19.3
            if ours is None:
                msg = f"{direction} rule {shown} with prefix list {r.get('PrefixListId')}"
                notes.append(Note(group_id, msg + ": neither AWS-managed nor in the import"))
                continue
            rule = {**spec, "prefix_list_id": ours}
            if r.get("Description"):
                rule["description"] = r["Description"]
            rules.append(rule)
    return rules


def _shown(spec: Mapping[str, Any]) -> str:
    port = spec.get("port", spec.get("ports"))
    return f"{spec['protocol']}" + (f"/{port}" if port is not None else "")


def acl_rules(
    acl_id: str, entries: list[Mapping[str, Any]], egress: bool, notes: list[Note]
) -> list[dict[str, Any]]:
    """Numbered entries of one direction, lowest first, without the `*` rule (ref 8.2, 8.3)."""
    rules: list[dict[str, Any]] = []
    for e in sorted(entries, key=lambda e: int(e["RuleNumber"])):
        if bool(e.get("Egress")) != egress or int(e["RuleNumber"]) in STAR_RULES:
            continue
        raw = str(e.get("Protocol", "-1"))
        protocol = _ACL_PROTOCOLS.get(raw, raw)
        ports = e.get("PortRange") or {}
        icmp = e.get("IcmpTypeCode") or {}
        if protocol in ("icmp", "icmpv6"):
            spec = _traffic(protocol, icmp.get("Type"), icmp.get("Code"))
        else:
            spec = _traffic(protocol, ports.get("From"), ports.get("To"))
        peer = {"cidr": e["CidrBlock"]} if "CidrBlock" in e else {"cidr_ipv6": e["Ipv6CidrBlock"]}
        rule = {"rule": int(e["RuleNumber"]), **spec, **peer}
        rule["action"] = str(e.get("RuleAction", "deny"))
        rules.append(rule)
    return rules
