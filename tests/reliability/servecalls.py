"""The calls of the serve durability and load tests and what they should leave: random
changes the kernel enforces (security group rules, ref 7.5; network ACL entries, 8.2;
routes, 4.5), kept within AWS's quotas (60 group rules and 20 ACL entries per direction:
7.9, 8.11), and the account as describe-* should show it afterwards."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import servekit as sk


@dataclass
class Expected:
    """What the acknowledged calls made: ports admitted by group `web` (tcp, 10.0.0.0/8),
    inbound ACL entries (rule number -> tcp port), routes via the internet gateway."""

    ids: dict[str, str]
    sg: set[int] = field(default_factory=set)
    acl: dict[int, int] = field(default_factory=dict)
    routes: set[str] = field(default_factory=set)

    def view(self, base: sk.View) -> sk.View:
        """The account as built (`base`, none of the tests' rules yet) with these rules."""
        ids, out = self.ids, dict(base)
        out[ids["sg"]] = base[ids["sg"]] | {("in", "tcp", p, p, sk.ACL_CIDR) for p in self.sg}
        out[ids["acl"]] = base[ids["acl"]] | {
            (n, False, "6", "allow", sk.ACL_CIDR, p, p) for n, p in self.acl.items()
        }
        out[ids["rtb"]] = base[ids["rtb"]] | {(d, ids["igw"]) for d in self.routes}
        return out

    def settle(self, seen: sk.View, change: tuple[str, Any, Any] | None) -> str:
        """Take the unacknowledged `change` as the restarted account shows it (a call cut
        short may or may not have been applied); 'applied' or 'not applied'."""
        if change is None:
            return "none"
        kind, key, value = change
        ids = self.ids
        if kind == "sg":
            there = ("in", "tcp", key, key, sk.ACL_CIDR) in seen[ids["sg"]]
            (self.sg.add if there else self.sg.discard)(key)
            return "applied" if there == value else "not applied"
        if kind == "acl":
            port = next((e[5] for e in seen[ids["acl"]] if e[0] == key and not e[1]), None)
            if port is None:
                self.acl.pop(key, None)
            else:
                self.acl[key] = port
            return "applied" if port == value else "not applied"
        there = (key, ids["igw"]) in seen[ids["rtb"]]
        (self.routes.add if there else self.routes.discard)(key)
        return "applied" if there == value else "not applied"


Call = tuple[str, Callable[[], Any], tuple[str, Any, Any]]


def next_call(ec2: sk.Ec2, want: Expected, rng: random.Random, i: int) -> Call:
    """A random change: add or remove a group rule, an ACL entry or a route, within AWS's
    quotas (60 group rules, 20 ACL entries per direction: ref 7.9, 8.11). The change is
    (kind, key, value) with value False/None for a removal."""
    ids = want.ids
    roll = rng.random()
    if roll < 0.4:
        if len(want.sg) >= 20 or (want.sg and roll < 0.12):
            port = rng.choice(sorted(want.sg))
            return "revoke", lambda: ec2.revoke_security_group_ingress(
                GroupId=ids["sg"], IpProtocol="tcp", FromPort=port, ToPort=port,
                CidrIp=sk.ACL_CIDR,
            ), ("sg", port, False)  # fmt: skip
        port = 20000 + i
        return "authorize", lambda: ec2.authorize_security_group_ingress(
            GroupId=ids["sg"], IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp=sk.ACL_CIDR
        ), ("sg", port, True)  # fmt: skip
    if roll < 0.75:
        free = [n for n in range(1, 16) if n not in want.acl]
        if not free or (want.acl and roll < 0.5):
            number = rng.choice(sorted(want.acl))
            if roll < 0.45:
                port = 30000 + i
                return "replace-acl-entry", lambda: ec2.replace_network_acl_entry(
                    NetworkAclId=ids["acl"], RuleNumber=number, Protocol="6",
                    RuleAction="allow", Egress=False, CidrBlock=sk.ACL_CIDR,
                    PortRange={"From": port, "To": port},
                ), ("acl", number, port)  # fmt: skip
            return "delete-acl-entry", lambda: ec2.delete_network_acl_entry(
                NetworkAclId=ids["acl"], RuleNumber=number, Egress=False
            ), ("acl", number, None)  # fmt: skip
        number, port = rng.choice(free), 30000 + i
        return "create-acl-entry", lambda: ec2.create_network_acl_entry(
            NetworkAclId=ids["acl"], RuleNumber=number, Protocol="6", RuleAction="allow",
            Egress=False, CidrBlock=sk.ACL_CIDR, PortRange={"From": port, "To": port},
        ), ("acl", number, port)  # fmt: skip
    if len(want.routes) >= 20 or (want.routes and roll < 0.85):
        dest = rng.choice(sorted(want.routes))
        return "delete-route", lambda: ec2.delete_route(
            RouteTableId=ids["rtb"], DestinationCidrBlock=dest
        ), ("route", dest, False)  # fmt: skip
    dest = f"100.{64 + i // 250}.{i % 250}.0/24"
    return "create-route", lambda: ec2.create_route(
        RouteTableId=ids["rtb"], DestinationCidrBlock=dest, GatewayId=ids["igw"]
    ), ("route", dest, True)  # fmt: skip


def apply(want: Expected, change: tuple[str, Any, Any]) -> None:
    kind, key, value = change
    if kind == "sg":
        (want.sg.add if value else want.sg.discard)(key)
    elif kind == "acl":
        if value is None:
            want.acl.pop(key, None)
        else:
            want.acl[key] = value
    else:
        (want.routes.add if value else want.routes.discard)(key)


def client_call(
    c: sk.Ec2, want: Expected, rng: random.Random, k: int, i: int
) -> tuple[str, Callable[[], Any], tuple[str, Any, Any]]:
    """Client k's own change: ports 40000+1000k.., ACL rule 20+k (with 16 clients: 16 inbound
    entries of the 19 allowed), routes 100.(64+k).x.0/24; at most 3 rules and 2 routes live
    per client, so 16 clients stay within the group's 60 rules (ref 7.9, 8.11)."""
    ids, roll = want.ids, rng.random()
    if roll < 0.45:
        if len(want.sg) >= 3:
            port = min(want.sg)
            return "revoke", lambda: c.revoke_security_group_ingress(
                GroupId=ids["sg"], IpProtocol="tcp", FromPort=port, ToPort=port,
                CidrIp=sk.ACL_CIDR,
            ), ("sg", port, False)  # fmt: skip
        port = 40000 + 1000 * k + i
        return "authorize", lambda: c.authorize_security_group_ingress(
            GroupId=ids["sg"], IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp=sk.ACL_CIDR
        ), ("sg", port, True)  # fmt: skip
    number, port = 20 + k, 40000 + 1000 * k + i
    if roll < 0.75:
        if number not in want.acl:
            return "create-acl-entry", lambda: c.create_network_acl_entry(
                NetworkAclId=ids["acl"], RuleNumber=number, Protocol="6", RuleAction="allow",
                Egress=False, CidrBlock=sk.ACL_CIDR, PortRange={"From": port, "To": port},
            ), ("acl", number, port)  # fmt: skip
        if roll < 0.6:
            return "replace-acl-entry", lambda: c.replace_network_acl_entry(
                NetworkAclId=ids["acl"], RuleNumber=number, Protocol="6", RuleAction="allow",
                Egress=False, CidrBlock=sk.ACL_CIDR, PortRange={"From": port, "To": port},
            ), ("acl", number, port)  # fmt: skip
        return "delete-acl-entry", lambda: c.delete_network_acl_entry(
            NetworkAclId=ids["acl"], RuleNumber=number, Egress=False
        ), ("acl", number, None)  # fmt: skip
    if len(want.routes) >= 2:
        dest = min(want.routes)
        return "delete-route", lambda: c.delete_route(
            RouteTableId=ids["rtb"], DestinationCidrBlock=dest
        ), ("route", dest, False)  # fmt: skip
    dest = f"100.{64 + k}.{i % 250}.0/24"
    return "create-route", lambda: c.create_route(
        RouteTableId=ids["rtb"], DestinationCidrBlock=dest, GatewayId=ids["igw"]
    ), ("route", dest, True)  # fmt: skip
