"""Model -> model: what `netemu apply` changes, in AWS terms, and what AWS refuses live.

Pure: no kernel. Each change is one line a user of the console or the EC2 API recognises
(`authorize sg-web ingress tcp/443 from 0.0.0.0/0`, `replace route 0.0.0.0/0 in rtb
private: igw -> nat`, `associate acl db with subnet private`). Changes AWS does not allow on
a live object (a subnet's CIDR, a VPC's CIDR, 1.6, 2.1) are refused with AWS's error code
at the place in the file that asks for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from netemu.model.types import (
    Model,
    NetworkAclRule,
    NetworkAclRule6,
    Route,
    Route6,
    SecurityGroup,
)
from netemu.ops import (
    dhcp_options,
    elastic_ips,
    ipv6,
    network_interfaces,
    prefix_lists,
    transit_gateway,
    vpc_cidrs,
    vpc_endpoints,
    vpc_peering,
)
from netemu.ops.words import (
    Change,
    _c,
    _group_name,
    _sg_key,
    acl_rule_text,
    route_target,
    sg_rule_text,
)


def _added_removed(
    old: Iterable[str], new: Iterable[str]
) -> tuple[list[str], list[str], list[str]]:
    o, n = list(old), list(new)
    return [x for x in n if x not in o], [x for x in o if x not in n], [x for x in n if x in o]


def changes(old: Model, new: Model) -> list[Change]:
    """Every difference between the running model and the wanted one, in AWS terms, in
    the order AWS would need them made."""
    out: list[Change] = []
    out += dhcp_options.changes(old, new)  # options sets and associations (10.20)
    out += prefix_lists.changes(old, new)  # customer-managed prefix lists (19.5)
    out += _vpcs(old, new)
    out += vpc_cidrs.changes(old, new)  # secondary blocks (1.4)
    out += vpc_peering.changes(old, new)  # peering connections (1.14)
    out += elastic_ips.changes(old, new)  # allocated addresses (9.13)
    out += transit_gateway.changes(old, new)  # gateways, attachments, their tables (18.1-18.9)
    out += _gateways(old, new)
    out += ipv6.changes(old, new)  # IPv6 blocks, egress-only gateways (16.1-16.5)
    out += _subnets_created(old, new)
    out += _groups(old, new)
    out += _acls(old, new)
    out += _route_tables(old, new)
    out += _nat_gateways(old, new)
    out += _associations(old, new)
    out += _instances(old, new)
    out += ipv6.addresses(old, new)  # instances' IPv6 addresses (16.3)
    out += vpc_endpoints.changes(old, new)  # endpoints, before their routes (17.2)
    out += network_interfaces.changes(old, new)  # secondary ENIs and IPs (9.20, 9.21)
    out += _route_changes(old, new)
    out += _subnets_deleted(old, new)
    out += _internet(old, new)
    return out


def _vpcs(old: Model, new: Model) -> list[Change]:
    out = []
    added, removed, kept = _added_removed(old.vpcs, new.vpcs)
    out += [_c("create", f"vpc:{v}", f"create vpc {v} ({new.vpcs[v].cidr})") for v in added]
    for v in kept:
        a, b = old.vpcs[v], new.vpcs[v]
        if a.dns_hostnames != b.dns_hostnames:
            out.append(
                _c("modify", f"vpc:{v}", f"modify vpc {v} attribute enableDnsHostnames: "
                   f"{str(a.dns_hostnames).lower()} -> {str(b.dns_hostnames).lower()}")
            )  # fmt: skip
    out += [_c("delete", f"vpc:{v}", f"delete vpc {v}") for v in removed]
    return out


def _gateways(old: Model, new: Model) -> list[Change]:
    out = []
    added, removed, kept = _added_removed(old.internet_gateways, new.internet_gateways)
    for g in removed + [
        k for k in kept if old.internet_gateways[k].vpc != new.internet_gateways[k].vpc
    ]:
        vpc = old.internet_gateways[g].vpc
        out.append(
            _c("detach", f"internet_gateway:{g}", f"detach internet gateway {g} from vpc {vpc}")
        )
    for g in added + [
        k for k in kept if old.internet_gateways[k].vpc != new.internet_gateways[k].vpc
    ]:
        vpc = new.internet_gateways[g].vpc
        out.append(
            _c("attach", f"internet_gateway:{g}", f"attach internet gateway {g} to vpc {vpc}")
        )
    return out


def _subnets_created(old: Model, new: Model) -> list[Change]:
    out = []
    added, _removed, kept = _added_removed(old.subnets, new.subnets)
    for s in added:
        sub = new.subnets[s]
        out.append(
            _c(
                "create",
                f"subnet:{s}",
                f"create subnet {s} ({sub.cidr or sub.ipv6_cidr}) in vpc {sub.vpc}",
            )
        )
    for s in kept:
        a, b = old.subnets[s], new.subnets[s]
        if a.public_ip_on_launch != b.public_ip_on_launch:
            out.append(
                _c("modify", f"subnet:{s}", f"modify subnet {s} attribute MapPublicIpOnLaunch: "
                   f"{str(a.public_ip_on_launch).lower()} -> {str(b.public_ip_on_launch).lower()}")
            )  # fmt: skip
    return out


def _subnets_deleted(old: Model, new: Model) -> list[Change]:
    return [
        _c("delete", f"subnet:{s}", f"delete subnet {s}")
        for s in old.subnets
        if s not in new.subnets
    ]


def _groups(old: Model, new: Model) -> list[Change]:
    out = []
    by_name_old = {(g.vpc, g.name): g for g in old.security_groups.values()}
    by_name_new = {(g.vpc, g.name): g for g in new.security_groups.values()}
    for key, g in by_name_new.items():
        if key not in by_name_old:
            out.append(
                _c(
                    "create",
                    f"security_group:{g.name}",
                    f"create security group {g.name} in vpc {g.vpc}",
                )
            )
            out += _rules(new, None, g)
        else:
            out += _rules(new, by_name_old[key], g, old)
    for key, g in by_name_old.items():
        if key not in by_name_new:
            out.append(_c("delete", f"security_group:{g.name}", f"delete security group {g.name}"))
    return out


def _rules(
    new_model: Model, a: SecurityGroup | None, b: SecurityGroup, old_model: Model | None = None
) -> list[Change]:
    out = []
    for direction in ("ingress", "egress"):
        before = list(getattr(a, direction)) if a else []
        after = list(getattr(b, direction))
        olds = {_sg_key(old_model or new_model, r): r for r in before}
        news = {_sg_key(new_model, r): r for r in after}
        res = f"security_group:{b.name}"
        for k, r in olds.items():
            if k not in news:
                text = sg_rule_text(old_model or new_model, r, direction)
                out.append(_c("revoke", res, f"revoke sg-{b.name} {direction} {text}"))
        for k, r in news.items():
            if k not in olds:
                text = sg_rule_text(new_model, r, direction)
                out.append(_c("authorize", res, f"authorize sg-{b.name} {direction} {text}"))
    return out


def _acls(old: Model, new: Model) -> list[Change]:
    out = []
    added, removed, kept = _added_removed(old.network_acls, new.network_acls)
    for a in added:
        out.append(
            _c(
                "create",
                f"network_acl:{a}",
                f"create network acl {a} in vpc {new.network_acls[a].vpc}",
            )
        )
    for a in added + kept:
        before = old.network_acls.get(a)
        after = new.network_acls[a]
        # IPv6 entries are a list of their own per direction (ref 8.7)
        for direction in ("ingress", "egress", "ingress_ipv6", "egress_ipv6"):
            o = {r.number: r for r in (getattr(before, direction) if before else ())}
            n = {r.number: r for r in getattr(after, direction)}
            res = f"network_acl:{a}"
            for num, r in n.items():
                if num not in o:
                    out.append(
                        _c(
                            "create",
                            res,
                            f"create acl entry {a} {direction} {acl_rule_text(r, direction)}",
                        )
                    )
                elif _acl_key(o[num]) != _acl_key(r):
                    out.append(
                        _c("replace", res, f"replace acl entry {a} {direction} {num}: "
                           f"{acl_rule_text(o[num], direction)} -> {acl_rule_text(r, direction)}")
                    )  # fmt: skip
            for num, r in o.items():
                if num not in n:
                    out.append(
                        _c(
                            "delete",
                            res,
                            f"delete acl entry {a} {direction} {acl_rule_text(r, direction)}",
                        )
                    )
    for a in removed:
        out.append(_c("delete", f"network_acl:{a}", f"delete network acl {a}"))
    return out


def _acl_key(r: NetworkAclRule | NetworkAclRule6) -> tuple[Any, ...]:
    return (r.protocol, r.ports, r.icmp_type, r.icmp_code, r.cidr, r.action)


def _route_tables(old: Model, new: Model) -> list[Change]:
    out = []
    added, _removed, kept = _added_removed(old.route_tables, new.route_tables)
    for t in added:
        out.append(
            _c(
                "create",
                f"route_table:{t}",
                f"create route table {t} in vpc {new.route_tables[t].vpc}",
            )
        )
    for t in added + kept:
        if new.route_tables[t].main and not (t in old.route_tables and old.route_tables[t].main):
            vpc = new.route_tables[t].vpc
            was = next((x.name for x in old.route_tables.values() if x.vpc == vpc and x.main), "-")
            out.append(
                _c(
                    "replace",
                    f"route_table:{t}",
                    f"replace main route table of vpc {vpc}: {was} -> {t}",
                )
            )
    return out


def _route_changes(old: Model, new: Model) -> list[Change]:
    """Routes after instances and NAT gateways exist, deleted tables at the end."""
    out = []
    for t, table in new.route_tables.items():
        old_table = old.route_tables.get(t)
        both: list[Route | Route6] = (
            [*old_table.routes, *old_table.ipv6_routes] if old_table else []
        )
        before = {_route_key(r): r for r in both}
        now: list[Route | Route6] = [*table.routes, *table.ipv6_routes]
        after = {_route_key(r): r for r in now}
        res = f"route_table:{t}"
        for dst, r in after.items():
            if r.target_kind == "local":
                continue
            if dst not in before:
                out.append(_c("create", res, f"create route {dst} -> {route_target(r)} in rtb {t}"))
            elif (before[dst].target_kind, before[dst].target) != (r.target_kind, r.target):
                out.append(
                    _c("replace", res, f"replace route {dst} in rtb {t}: "
                       f"{route_target(before[dst])} -> {route_target(r)}")
                )  # fmt: skip
        for dst, r in before.items():
            if dst not in after and r.target_kind != "local":
                out.append(
                    _c("delete", res, f"delete route {dst} -> {route_target(r)} from rtb {t}")
                )
    for t in old.route_tables:
        if t not in new.route_tables:
            out.append(_c("delete", f"route_table:{t}", f"delete route table {t}"))
    return out


def _route_key(r: Route | Route6) -> object:
    """A route to a prefix list is one route, whatever its entries (ModifyManagedPrefixList
    changes those, ops.prefix_lists; 19.4)."""
    return f"pl {r.prefix_list}" if isinstance(r, Route) and r.prefix_list else r.destination


def _associations(old: Model, new: Model) -> list[Change]:
    out = []
    for s, sub in new.subnets.items():
        was = old.subnets.get(s)
        if was is None or was.route_table != sub.route_table:
            out.append(
                _c(
                    "associate",
                    f"subnet:{s}",
                    f"associate route table {sub.route_table} with subnet {s}",
                )
            )
        if was is None or was.network_acl != sub.network_acl:
            out.append(
                _c("associate", f"subnet:{s}", f"associate acl {sub.network_acl} with subnet {s}")
            )
    return out


def _nat_gateways(old: Model, new: Model) -> list[Change]:
    out = []
    for g, nat in old.nat_gateways.items():
        now = new.nat_gateways.get(g)
        if now is None or (now.subnet, now.eni.public_ip) != (nat.subnet, nat.eni.public_ip):
            out.append(
                _c("delete", f"nat_gateway:{g}", f"delete nat gateway {g} (elastic ip "
                   f"{nat.eni.public_ip} disassociated; its connections end, 6.16)")
            )  # fmt: skip
    for g, nat in new.nat_gateways.items():
        was = old.nat_gateways.get(g)
        if was is None or (was.subnet, was.eni.public_ip) != (nat.subnet, nat.eni.public_ip):
            out.append(
                _c("create", f"nat_gateway:{g}", f"create nat gateway {g} in subnet "
                   f"{nat.subnet} (elastic ip {nat.eni.public_ip})")
            )  # fmt: skip
    return out


def _instances(old: Model, new: Model) -> list[Change]:
    out = []
    for i, inst in old.instances.items():
        now = new.instances.get(i)
        if now is None or (now.subnet, now.private_ip) != (inst.subnet, inst.private_ip):
            out.append(_c("terminate", f"instance:{i}", f"terminate instance {i}"))
    for i, inst in new.instances.items():
        was = old.instances.get(i)
        res = f"instance:{i}"
        if was is None or (was.subnet, was.private_ip) != (inst.subnet, inst.private_ip):
            out.append(
                _c(
                    "launch",
                    res,
                    f"launch instance {i} in subnet {inst.subnet} "
                    f"({inst.private_ip or inst.ipv6_address})",
                )
            )
            continue
        a, b = was.eni, inst.eni
        if a.security_groups != b.security_groups:
            names = [_group_name(new, g) for g in b.security_groups]
            was_names = [_group_name(old, g) for g in a.security_groups]
            out.append(
                _c("modify", res, f"modify instance {i} security groups: "
                   f"[{', '.join(was_names)}] -> [{', '.join(names)}]")
            )  # fmt: skip
        if a.source_dest_check != b.source_dest_check:
            out.append(
                _c("modify", res, f"modify instance {i} attribute sourceDestCheck: "
                   f"{str(a.source_dest_check).lower()} -> {str(b.source_dest_check).lower()}")
            )  # fmt: skip
        if (a.public_ip, a.elastic_ip) != (b.public_ip, b.elastic_ip):
            if a.elastic_ip and a.public_ip:
                out.append(
                    _c(
                        "disassociate",
                        res,
                        f"disassociate elastic ip {a.public_ip} from instance {i}",
                    )
                )
            elif a.public_ip:
                out.append(_c("release", res, f"release public ip {a.public_ip} of instance {i}"))
            if b.elastic_ip and b.public_ip:
                out.append(
                    _c("associate", res, f"associate elastic ip {b.public_ip} with instance {i}")
                )
            elif b.public_ip:
                out.append(_c("assign", res, f"assign public ip {b.public_ip} to instance {i}"))
        if was.state != inst.state:
            verb = "stop" if inst.state == "stopped" else "start"
            out.append(_c(verb, res, f"{verb} instance {i}"))
        if was.services != inst.services:
            text = ", ".join(
                s.kind if s.kind in ("ssh", "http") else f"{s.kind}:{s.port}" for s in inst.services
            )
            out.append(_c("modify", res, f"modify instance {i} services: [{text}]"))
    return out


def _internet(old: Model, new: Model) -> list[Change]:
    out = []
    for h, host in new.internet_hosts.items():
        was = old.internet_hosts.get(h)
        if was is None:
            out.append(_c("create", f"internet_host:{h}", f"add internet host {h} ({host.ip})"))
        elif was != host:
            out.append(_c("modify", f"internet_host:{h}", f"modify internet host {h}"))
    for h in old.internet_hosts:
        if h not in new.internet_hosts:
            out.append(_c("delete", f"internet_host:{h}", f"remove internet host {h}"))
    return out
