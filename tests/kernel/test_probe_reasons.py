"""Every reason code of the contract, produced by a real drop (scenario-format.md 5, ref 13.3)."""

from __future__ import annotations

from netemu.testing import Running, running_text
from scenarios import vpc

NAT = "nat_gateways:\n  nat: {subnet: public, elastic_ip: auto}\n"
VIA_NAT = "      - {destination: 0.0.0.0/0, nat_gateway: nat}"


def _blocked(s: Running, src: str, dst: str, **kw: object) -> tuple[str, str, str | None, str]:
    r = s.probe(src, dst, **kw)  # type: ignore[arg-type]
    assert r.result == "blocked", r
    assert r.reason is not None, "a blocked probe must say why"
    assert r.elapsed_ms < 500, "a named drop decides at once, not after a timeout"
    return r.reason.code, r.reason.component, r.reason.rule, r.reason.leg


def test_no_route_and_blackhole() -> None:
    """13.3 NO_ROUTE_TO_DESTINATION and BAD_STATE_ROUTE (4.10)."""
    routes = "      - {destination: 192.0.2.0/24, blackhole: true}"
    with running_text(vpc(private_routes=routes)) as s:
        assert _blocked(s, "db", "client", tcp=80) == (
            "NO_ROUTE_TO_DESTINATION",
            "route_table:private",
            None,
            "request",
        )
        assert _blocked(s, "db", "192.0.2.7", udp=53) == (
            "BAD_STATE_ROUTE",
            "route_table:private",
            "192.0.2.0/24",
            "request",
        )


def test_acl_request_and_reply_legs() -> None:
    """13.3 SUBNET_ACL_RESTRICTION on either leg (8.1)."""
    acls = (
        "  guard:\n    vpc: main\n    ingress:\n"
        "      - {rule: 100, protocol: tcp, port: 22, cidr: 0.0.0.0/0, action: allow}\n"
        "    egress: []\n"
    )
    with running_text(vpc(acls=acls, public_extra=", network_acl: guard")) as s:
        assert _blocked(s, "client", "web", tcp=80) == (
            "SUBNET_ACL_RESTRICTION",
            "network_acl:guard",
            "*",
            "request",
        )
        assert _blocked(s, "client", "web", tcp=22) == (
            "SUBNET_ACL_RESTRICTION",
            "network_acl:guard",
            "*",
            "reply",
        )


def test_security_group_and_gateway_codes() -> None:
    """ENI_SG_RULES_MISMATCH, IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS and
    IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS (5.5)."""
    groups = "  none: {vpc: main}\n"
    with running_text(vpc(groups=groups, web_groups="none")) as s:
        assert _blocked(s, "client", "web", tcp=22)[0] == "ENI_SG_RULES_MISMATCH"
        assert _blocked(s, "app", "client", tcp=443)[:2] == (
            "IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS",
            "internet_gateway:igw",
        )
        assert _blocked(s, "client", "db", tcp=22)[:2] == (
            "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS",
            "internet_gateway:igw",
        )


def test_nat_gateway_refuses_inbound() -> None:
    """NO_POSSIBLE_DESTINATION at the NAT gateway (6.9, 6.10; once netemu's own
    NAT_GATEWAY_NO_INBOUND): no connection from outside, no ping answered."""
    with running_text(vpc(private_routes=VIA_NAT, more_instances="") + NAT) as s:
        assert _blocked(s, "client", "nat", tcp=22)[:2] == (
            "NO_POSSIBLE_DESTINATION",
            "nat_gateway:nat",
        )
        assert _blocked(s, "client", "nat", icmp=True)[0] == "NO_POSSIBLE_DESTINATION"
        assert _blocked(s, "web", "nat", icmp=True)[0] == "NO_POSSIBLE_DESTINATION"
        r = s.probe("db", "client", tcp=80)
        assert r.result == "reachable"
        assert r.seen_source == str(s.model.nat_gateways["nat"].eni.public_ip)


def test_separate_vpcs() -> None:
    """DISCONNECTED_VPCS (1.9)."""
    text = (
        vpc()
        + """
  # a second VPC, appended below
"""
    )
    text = text.replace(
        "vpcs:\n  main: {cidr: 172.30.0.0/16}",
        "vpcs:\n  main: {cidr: 172.30.0.0/16}\n  other: {cidr: 10.9.0.0/16}",
    )
    text = text.replace("subnets:\n", "subnets:\n  far: {vpc: other, cidr: 10.9.0.0/24}\n")
    text = text.replace(
        "instances:\n", "instances:\n  lonely: {subnet: far, security_groups: [default]}\n"
    )
    with running_text(text) as s:
        lonely = str(s.model.instances["lonely"].private_ip)
        assert _blocked(s, "web", lonely, tcp=22)[0] == "DISCONNECTED_VPCS"
        assert _blocked(s, "lonely", "172.30.0.10", icmp=True)[0] == "DISCONNECTED_VPCS"


def test_source_dest_check() -> None:
    """ENI_SOURCE_DEST_CHECK_RESTRICTION (9.9): an instance route target with the check on
    refuses traffic that is not addressed to it; with the check off it forwards."""
    routes = "      - {destination: 198.51.100.0/24, instance: web}"
    with running_text(vpc(private_routes=routes)) as s:
        code, component, _, leg = _blocked(s, "db", "client", tcp=80)
        assert (code, component, leg) == ("ENI_SOURCE_DEST_CHECK_RESTRICTION", "eni:web", "request")
    with running_text(vpc(private_routes=routes, web_extra=", source_dest_check: false")) as s:
        r = s.probe("db", "client", tcp=80)
        # web forwards it; the internet gateway then refuses db's private source.
        assert r.result == "blocked"
        assert r.reason and r.reason.code == "IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS"


def test_stopped_instance() -> None:
    """BAD_STATE at a stopped instance (9.10, 13.3; once netemu's own INSTANCE_STOPPED)."""
    with running_text(vpc(db_extra=", state: stopped")) as s:
        assert _blocked(s, "web", "db", tcp=22) == (
            "BAD_STATE",
            "instance:db",
            "stopped",
            "request",
        )


def test_negative_probes_are_definite() -> None:
    """A probe into the void is blocked, never reachable, and says where it died."""
    with running_text(vpc()) as s:
        assert _blocked(s, "web", "172.30.0.99", icmp=True)[:2] == (
            "NO_ROUTE_TO_DESTINATION",
            "subnet:public",
        )
        assert _blocked(s, "web", "192.0.2.99", udp=9)[:2] == (
            "NO_ROUTE_TO_DESTINATION",
            "internet",
        )
        assert _blocked(s, "db", "172.30.9.9", tcp=1)[0] == "NO_ROUTE_TO_DESTINATION"


def test_nat_gateway_refuses_other_protocols() -> None:
    """PROTOCOL_RESTRICTION (6.11, 13.3): ESP from the private subnet dies at the NAT
    gateway, named by the rule's structured log prefix."""
    import select
    import socket
    import time

    from netemu.driver import netns
    from netemu.probe import nflog
    from netemu.probe.reason import parse_prefix
    from netemu.render import names as n
    from netemu.render.nft import Drop

    with running_text(vpc(private_routes=VIA_NAT) + NAT) as s:
        listener = nflog.open_listener(n.nat_gateway_ns(s.model.name, "nat"))
        with netns.entered(n.instance_ns(s.model.name, "db")):
            esp = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
        try:
            esp.sendto(b"\0" * 16, ("198.51.100.10", 0))
            drops: list[Drop] = []
            deadline = time.monotonic() + 2
            while not drops and time.monotonic() < deadline:
                select.select([listener], [], [], 0.2)
                for prefix, packet in nflog.read_logged(listener):
                    what = parse_prefix(prefix)
                    if isinstance(what, Drop) and packet.protocol == 50:
                        drops.append(what)
            assert drops == [Drop("PROTOCOL_RESTRICTION", "nat_gateway:nat", "egress")]
        finally:
            esp.close()
            listener.close()
