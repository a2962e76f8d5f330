"""Gateway VPC endpoints with real packets (ref 17.1, 17.2, 17.7): a private subnet reaches
the emulated S3 only through its endpoint route, keeps its private source address, and its
security group's egress rule naming the S3 prefix list is what lets it out."""

from __future__ import annotations

import contextlib
import fcntl
import socket
import struct
import time
from pathlib import Path

from live import SIOCOUTQ, live

from netemu.driver import netns
from netemu.model.aws_services import SERVICES, prefix_list_id
from netemu.render import names as n
from netemu.testing import Running, running, running_text

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = str(ROOT / "scenarios" / "book" / "vpc-endpoints.yaml")
S3_PL = prefix_list_id("us-east-1", "s3")
S3_IP = str(SERVICES["s3"].address)

BASE = """
name: vpcek
vpcs:
  main: {{cidr: 10.40.0.0/16}}
internet_gateways:
  igw: {{vpc: main}}
subnets:
  public: {{vpc: main, cidr: 10.40.0.0/24, route_table: public}}
  private: {{vpc: main, cidr: 10.40.1.0/24, route_table: private}}
route_tables:
  public:
    vpc: main
    routes: [{{destination: 0.0.0.0/0, internet_gateway: igw}}]
  private:
    vpc: main
    routes: [{private_routes}]
nat_gateways:
  nat: {{subnet: public, elastic_ip: 203.0.113.70}}
security_groups:
  app:
    vpc: main
    egress:
      - {{protocol: tcp, port: 443, {egress_peer}}}
instances:
  app: {{subnet: private, private_ip: 10.40.1.10, security_groups: [app]}}
{endpoints}
internet:
  aws_services: [s3]
"""
ENDPOINT = """vpc_endpoints:
  s3:
    vpc: main
    service_name: com.amazonaws.us-east-1.s3
    route_table_ids: [private]
"""
TO_NAT = "{destination: 0.0.0.0/0, nat_gateway: nat}"
TO_S3 = f"prefix_list_id: {S3_PL}"


def _scenario(endpoint: bool = True, nat: bool = False, egress_peer: str = TO_S3) -> str:
    return BASE.format(
        private_routes=TO_NAT if nat else "",
        egress_peer=egress_peer,
        endpoints=ENDPOINT if endpoint else "",
    )


def test_without_endpoint_or_nat_the_private_subnet_has_no_route_to_s3() -> None:
    """17.2, 4.5: S3's addresses are public; a private subnet without a NAT route or an
    endpoint route has no route to them."""
    with running_text(_scenario(endpoint=False)) as s:
        r = s.probe("app", "s3", tcp=443)
        assert r.result == "blocked"
        assert r.reason is not None
        assert (r.reason.code, r.reason.component) == (
            "NO_ROUTE_TO_DESTINATION",
            "route_table:private",
        )


def test_endpoint_route_reaches_s3_with_the_private_source_address() -> None:
    """17.2: the endpoint route sends S3's prefix list to the endpoint; S3 answers and sees
    the instance's private address (no NAT on the way)."""
    with running_text(_scenario()) as s:
        r = s.probe("app", "s3", tcp=443)
        assert r.result == "reachable", r
        assert r.seen_source == "10.40.1.10"
        out = s.exec("app", "curl", "-s", "-m", "3", f"http://{S3_IP}/")
        # port 80 is not in the group's egress: curl gets nothing
        assert out.returncode != 0


def test_with_nat_and_no_endpoint_s3_is_reached_through_the_nat_gateway() -> None:
    """6.1, 17.2: without an endpoint the traffic to S3 leaves through the NAT gateway and
    S3 sees the NAT gateway's elastic IP."""
    with running_text(_scenario(endpoint=False, nat=True)) as s:
        r = s.probe("app", "s3", tcp=443)
        assert r.result == "reachable", r
        assert r.seen_source == "203.0.113.70"


def test_endpoint_route_wins_over_the_nat_default_route() -> None:
    """17.2, 4.5: the prefix-list route is more specific than 0.0.0.0/0, so with both the
    traffic takes the endpoint and S3 sees the private address."""
    with running_text(_scenario(nat=True)) as s:
        r = s.probe("app", "s3", tcp=443)
        assert r.result == "reachable", r
        assert r.seen_source == "10.40.1.10"
        assert s.probe("app", "internet", tcp=443).result == "blocked"  # egress names S3 only


def test_egress_rule_without_the_prefix_list_blocks_s3() -> None:
    """17.7, 7.5: with the endpoint route in place, a group whose egress does not name the
    prefix list (nor S3's addresses) drops the request at the instance's ENI."""
    with running_text(_scenario(egress_peer="cidr: 10.40.0.0/16")) as s:
        r = s.probe("app", "s3", tcp=443)
        assert r.result == "blocked"
        assert r.reason is not None
        assert r.reason.code == "ENI_SG_RULES_MISMATCH"
        assert r.reason.direction == "egress"


def test_shipped_scenario_expectations_pass() -> None:
    """17.1-17.4: scenarios/book/vpc-endpoints.yaml passes its own expect list."""
    with running(SHIPPED) as s:
        failed = [o for o in s.expectations() if not o.ok]
        assert not failed, failed


def test_creating_and_deleting_an_endpoint_live_through_apply() -> None:
    """17.2: `netemu apply` creates the endpoint and its route, and S3 traffic moves from
    the NAT gateway to the endpoint at once; deleted, it goes back through the NAT."""
    with live(_scenario(endpoint=False, nat=True)) as s:
        assert Running(s.model).probe("app", "s3", tcp=443).seen_source == "203.0.113.70"
        changes = [c.text for c in s.apply(_scenario(nat=True)).changes]
        assert "create gateway vpc endpoint s3 (com.amazonaws.us-east-1.s3) in vpc main" in changes
        r = Running(s.model).probe("app", "s3", tcp=443)
        assert (r.result, r.seen_source) == ("reachable", "10.40.1.10")
        changes = [c.text for c in s.apply(_scenario(endpoint=False, nat=True)).changes]
        assert "delete vpc endpoint s3" in changes
        r = Running(s.model).probe("app", "s3", tcp=443)
        assert (r.result, r.seen_source) == ("reachable", "203.0.113.70")


INTERFACE = """
name: vpcei
vpcs:
  main: {cidr: 10.41.0.0/16, dns_hostnames: true}
subnets:
  private: {vpc: main, cidr: 10.41.1.0/24, az: a, route_table: private}
  other: {vpc: main, cidr: 10.41.2.0/24, az: b, route_table: private}
route_tables:
  private: {vpc: main}
security_groups:
  app: {vpc: main}
  endpoint:
    vpc: main
    ingress:
      - {protocol: tcp, port: 443, security_group: app}
vpc_endpoints:
  sqs:
    vpc: main
    vpc_endpoint_type: Interface
    service_name: com.amazonaws.us-east-1.sqs
    subnet_ids: [private, other]
    security_group_ids: [endpoint]
instances:
  app: {subnet: private, private_ip: 10.41.1.10, security_groups: [app]}
  stranger: {subnet: other, private_ip: 10.41.2.10}
"""


def test_private_dns_resolves_the_service_name_to_the_endpoint_enis_inside_the_vpc() -> None:
    """17.4: with private DNS, sqs.us-east-1.amazonaws.com resolves through the VPC's
    Amazon DNS to the private addresses of the endpoint's ENIs (one per subnet, 17.3); on
    the internet it keeps the service's public address."""
    with running_text(INTERFACE) as s:
        enis = {str(e.private_ip) for e in s.model.vpc_endpoints["sqs"].network_interfaces}
        assert len(enis) == 2 and all(ip.startswith("10.41.") for ip in enis)
        out = s.exec("app", "getent", "ahostsv4", "sqs.us-east-1.amazonaws.com")
        assert {line.split()[0] for line in out.stdout.splitlines()} == enis, out
        out = s.exec("internet", "getent", "hosts", "sqs.us-east-1.amazonaws.com")
        assert out.stdout.split()[0] == str(SERVICES["sqs"].address), out


def test_the_service_answers_through_the_interface_endpoint() -> None:
    """17.3: a private subnet without any route out reaches the service at its endpoint's
    ENI by name, over HTTPS's port (TCP), and the answer comes from the service."""
    with running_text(INTERFACE) as s:
        eni = s.model.vpc_endpoints["sqs"].network_interfaces[0]
        r = s.probe("app", str(eni.private_ip), tcp=443)
        assert (r.result, r.seen_source) == ("reachable", "10.41.1.10"), r
        out = s.exec("app", "curl", "-s", "-m", "3", "http://sqs.us-east-1.amazonaws.com:443/")
        assert '"server": "sqs"' in out.stdout, out


def test_the_endpoint_security_group_blocks_what_it_does_not_admit() -> None:
    """17.3, 7.6: the endpoint's group admits HTTPS from members of `app` only: another
    instance, and another port, are dropped at the endpoint's ENI."""
    with running_text(INTERFACE) as s:
        eni = s.model.vpc_endpoints["sqs"].network_interfaces[1]
        for src, port in (("stranger", 443), ("app", 80)):
            r = s.probe(src, str(eni.private_ip), tcp=port)
            assert r.result == "blocked" and r.reason is not None, r
            assert (r.reason.code, r.reason.component, r.reason.direction) == (
                "ENI_SG_RULES_MISMATCH",
                "security_group:endpoint",
                "ingress",
            )


def _open_endpoint(ingress: str) -> str:
    return INTERFACE.replace(
        "    ingress:\n      - {protocol: tcp, port: 443, security_group: app}\n",
        f"    ingress: [{ingress}]\n    egress: [{{protocol: all, cidr: 0.0.0.0/0}}]\n",
    )


def test_interface_endpoint_connections_stay_tracked_when_the_open_rule_goes() -> None:
    """7.16, 17.8: all-addresses rules both ways would leave an instance's flow untracked,
    cut at its next packet once the inbound rule goes (7.15, lab 13); an interface
    endpoint's ENI tracks every connection, so an open one survives the rule's removal
    while a new one is refused."""
    with live(_open_endpoint("{protocol: all, cidr: 0.0.0.0/0}")) as s:
        ip = str(s.model.vpc_endpoints["sqs"].network_interfaces[0].private_ip)
        with netns.entered(n.instance_ns(s.model.name, "app")):
            sock = socket.socket()
        with contextlib.closing(sock):
            sock.settimeout(3)
            sock.connect((ip, 443))
            s.apply(_open_endpoint(""))
            sock.sendall(b"x")
            deadline = time.monotonic() + 3
            while struct.unpack("i", fcntl.ioctl(sock.fileno(), SIOCOUTQ, b"\0" * 4))[0]:
                assert time.monotonic() < deadline, "the open connection was cut"
                time.sleep(0.02)
        r = Running(s.model).probe("app", ip, tcp=443)
        assert r.result == "blocked" and r.reason is not None
        assert r.reason.code == "ENI_SG_RULES_MISMATCH"


def test_creating_and_deleting_an_interface_endpoint_live_through_apply() -> None:
    """17.3, 17.4: `netemu apply` adds the endpoint's ENIs, the service behind them and
    their private DNS names; deleted, the name no longer resolves in the VPC."""
    without = (
        INTERFACE[: INTERFACE.index("vpc_endpoints:")] + INTERFACE[INTERFACE.index("instances:") :]
    )
    with live(without) as s:
        changes = [c.text for c in s.apply(INTERFACE).changes]
        assert "create interface vpc endpoint sqs (com.amazonaws.us-east-1.sqs) in vpc main" in (
            changes
        )
        run = Running(s.model)
        out = run.exec("app", "curl", "-s", "-m", "3", "http://sqs.us-east-1.amazonaws.com:443/")
        assert '"server": "sqs"' in out.stdout, out
        assert "delete vpc endpoint sqs" in [c.text for c in s.apply(without).changes]
        out = Running(s.model).exec("app", "getent", "hosts", "sqs.us-east-1.amazonaws.com")
        assert out.returncode != 0, out


PEERED = """
name: vpcep
vpcs:
  hub: {cidr: 10.42.0.0/16}
  spoke: {cidr: 10.43.0.0/16}
vpc_peering_connections:
  hs: {requester: hub, accepter: spoke}
subnets:
  h: {vpc: hub, cidr: 10.42.1.0/24, route_table: h}
  s: {vpc: spoke, cidr: 10.43.1.0/24, route_table: s}
route_tables:
  h:
    vpc: hub
    routes: [{destination: 10.43.0.0/16, vpc_peering_connection: hs}]
  s:
    vpc: spoke
    routes: [{destination: 0.0.0.0/0, vpc_peering_connection: hs}]
vpc_endpoints:
  s3: {vpc: hub, service_name: com.amazonaws.us-east-1.s3, route_table_ids: [h]}
instances:
  a: {subnet: h}
  b: {subnet: s}
"""


def test_a_peer_vpc_cannot_use_the_gateway_endpoint() -> None:
    """17.2, 1.12: a gateway endpoint serves its own VPC only; a peer routing everything to
    the peering is stopped at the endpoint VPC's router, while the VPC itself gets through."""
    with running_text(PEERED) as s:
        assert s.probe("a", "s3", tcp=443).result == "reachable"
        r = s.probe("b", "s3", tcp=443)
        assert r.result == "blocked" and r.reason is not None
        assert (r.reason.code, r.reason.component) == (
            "PCX_REQUIRES_ADDRESS_IN_VPC_CIDR",
            "vpc_peering_connection:hs",
        )
