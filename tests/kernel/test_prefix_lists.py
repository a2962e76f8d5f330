"""Customer-managed prefix lists with real packets (ref 19.1-19.5): a security group rule
that names a list admits every entry and nothing else, a route to a list is one kernel
route per entry, and a list changed by `netemu apply` is one set update that every rule
and route referencing it follows."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from live import live

from netemu.render import names as n
from netemu.testing import Running, running

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = str(ROOT / "scenarios" / "book" / "prefix-lists.yaml")


def test_shipped_scenario_holds_on_real_packets() -> None:
    """19.3, 19.4: the offices reach the bastion over ssh, a host outside the list is
    dropped by the bastion's group, named as usual (7.2); the partner subnet routes only the
    list's entries to the internet gateway (scenarios/book/prefix-lists.yaml)."""
    with running(SHIPPED) as s:
        outcomes = s.expectations()
        assert outcomes and all(o.ok for o in outcomes), [o.title + o.why for o in outcomes]
        r = s.probe("cafe", "bastion", tcp=22)
        assert r.reason is not None and r.reason.code == "ENI_SG_RULES_MISMATCH"
        assert "security_group:bastion" in r.reason.component


def test_a_list_is_one_named_set_and_a_route_per_entry() -> None:
    """19.3, 19.4: the subnet namespace holds the list's CIDRs in one set named after its
    id; the VPC router holds one route per entry."""
    with running(SHIPPED) as s:
        pl = s.model.prefix_lists["office"]
        sns = n.subnet_ns(s.model.name, "public")
        out = subprocess.run(
            ["ip", "netns", "exec", sns, "nft", "-j", "list", "sets"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        sets = [x["set"] for x in json.loads(out)["nftables"] if "set" in x]
        ours = [x for x in sets if x["name"] == f"pl_{pl.id}"]
        assert len(ours) == 1, sets
        elems = {f"{e['prefix']['addr']}/{e['prefix']['len']}" for e in ours[0]["elem"]}
        assert elems == {"198.51.100.0/25", "192.0.2.0/24"}
        routes = subprocess.run(
            ["ip", "netns", "exec", n.router_ns(s.model.name, "main"), "ip", "-4", "route",
             "show", "table", "all"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert "198.51.100.0/25" in routes and "192.0.2.0/24" in routes, routes


LIVE = """
name: plive
vpcs:
  main: {{cidr: 10.0.0.0/16}}
prefix_lists:
  allowed:
    address_family: IPv4
    max_entries: 5
    entries: [{entries}]
internet_gateways:
  igw: {{vpc: main}}
subnets:
  public: {{vpc: main, cidr: 10.0.0.0/24, public_ip_on_launch: true, route_table: public}}
route_tables:
  public:
    vpc: main
    routes: [{{destination: 0.0.0.0/0, internet_gateway: igw}}]
security_groups:
  web:
    vpc: main
    ingress: [{{protocol: tcp, port: 80, prefix_list_id: allowed}}]
instances:
  web: {{subnet: public, private_ip: 10.0.0.10, security_groups: [web], services: [http]}}
internet:
  hosts:
    one: {{ip: 198.51.100.10}}
    two: {{ip: 192.0.2.10}}
"""


def test_an_entry_added_by_apply_admits_at_once_and_a_removed_one_no_more() -> None:
    """19.5: modify-managed-prefix-list is live: an added entry admits its addresses through
    every rule naming the list, a removed one stops admitting them."""
    before = LIVE.format(entries="{cidr: 198.51.100.0/24}")
    after = LIVE.format(entries="{cidr: 192.0.2.0/24}")
    with live(before) as s:
        assert Running(s.model).probe("one", "web", tcp=80).result == "reachable"
        assert Running(s.model).probe("two", "web", tcp=80).result == "blocked"
        changes = s.apply(after)
        texts = [c.text for c in changes.changes]
        assert "modify prefix list allowed: add 192.0.2.0/24" in texts, texts
        assert "modify prefix list allowed: remove 198.51.100.0/24" in texts, texts
        assert Running(s.model).probe("two", "web", tcp=80).result == "reachable"
        assert Running(s.model).probe("one", "web", tcp=80).result == "blocked"


SIX = """
name: plsix
vpcs:
  main: {cidr: 10.61.0.0/16, ipv6: true}
prefix_lists:
  admins:
    address_family: IPv6
    max_entries: 3
    entries: [{cidr: "2001:db8:1:1::20/128"}]
subnets:
  s1: {vpc: main, cidr: 10.61.1.0/24, ipv6_cidr: "2001:db8:1:1::/64"}
security_groups:
  srv:
    vpc: main
    ingress: [{protocol: tcp, port: 22, prefix_list_id: admins}]
instances:
  srv: {subnet: s1, ipv6_address: "2001:db8:1:1::10", security_groups: [srv], services: [ssh]}
  admin: {subnet: s1, ipv6_address: "2001:db8:1:1::20"}
  guest: {subnet: s1, ipv6_address: "2001:db8:1:1::30"}
"""


def _connects(s: Running, source: str, address: str) -> bool:
    script = f"exec 3<>/dev/tcp/{address}/22"
    return s.exec(source, "timeout", "3", "bash", "-c", script).returncode == 0


def test_an_ipv6_list_admits_its_entries_in_the_ipv6_chains() -> None:
    """19.1, 19.3, 16.6: a rule naming an IPv6 list admits IPv6 connections from its
    entries only."""
    from netemu.testing import running_text

    with running_text(SIX) as s:
        assert _connects(s, "admin", "2001:db8:1:1::10")
        assert not _connects(s, "guest", "2001:db8:1:1::10")


def test_an_entry_added_by_apply_reaches_the_routes_and_the_rules_naming_the_list() -> None:
    """19.4, 19.5: one modify-managed-prefix-list adds a kernel route to the partner
    subnet's table and an element to the bastion's set; both follow at once."""
    text = Path(SHIPPED).read_text()
    with live(text) as s:
        assert Running(s.model).probe("exchange", "cafe", tcp=80).result == "blocked"
        assert Running(s.model).probe("cafe", "bastion", tcp=22).result == "blocked"
        more = "      - {cidr: 198.51.100.128/25, description: cafe}\n"
        after = text.replace("      - {cidr: 192.0.2.0/24, description: Osaka office}\n",
                             "      - {cidr: 192.0.2.0/24, description: Osaka office}\n" + more)  # fmt: skip
        changes = s.apply(after)
        texts = [c.text for c in changes.changes]
        assert texts == ["modify prefix list office: add 198.51.100.128/25"], texts
        assert Running(s.model).probe("exchange", "cafe", tcp=80).result == "reachable"
        assert Running(s.model).probe("cafe", "bastion", tcp=22).result == "reachable"
