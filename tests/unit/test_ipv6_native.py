"""IPv6-only subnets (ipv6_native): no IPv4 anywhere on their ENIs (reference 16.2, 16.11-16.13)."""

from __future__ import annotations

import json
import textwrap
from ipaddress import IPv6Address

import pytest

from netemu.errors import UsageError
from netemu.interop.export_describe import model_to_describe
from netemu.model import load_model_text
from netemu.model.types import Model
from netemu.probe.endpoints import destination, source
from netemu.render import render
from netemu.render.dhcp import server_config
from tests.unit.problems import at, errors, one

BASE = """\
vpcs:
  main: {cidr: 10.0.0.0/16, ipv6: true}
egress_only_internet_gateways:
  eigw: {vpc: main}
subnets:
  dual: {vpc: main, cidr: 10.0.1.0/24, ipv6_cidr: auto, assign_ipv6_address_on_creation: true}
  v6: {vpc: main, ipv6_native: true, ipv6_cidr: "2001:db8:1:9::/64"}
"""
INSTANCES = """\
instances:
  web: {subnet: dual}
  app: {subnet: v6}
"""


def _model(extra: str = INSTANCES) -> Model:
    model, _ = load_model_text(BASE + textwrap.dedent(extra))
    return model


def test_an_ipv6_only_subnet_has_no_ipv4_block_and_its_instance_no_ipv4_address() -> None:
    """16.2, 16.11: no IPv4 CIDR, no private or public IPv4; an IPv6 address at launch."""
    model = _model()
    assert model.subnets["v6"].cidr is None and model.subnets["v6"].router_ip is None
    assert model.subnets["v6"].assign_ipv6_address_on_creation
    app = model.instances["app"]
    assert app.private_ip is None and app.public_ip is None
    assert app.ipv6_address == IPv6Address("2001:db8:1:9::10")


def test_an_ipv4_cidr_on_an_ipv6_only_subnet_is_refused_at_its_key() -> None:
    """16.11: an IPv6-only subnet has no IPv4 CIDR block."""
    p = one(BASE.replace("ipv6_native: true,", "ipv6_native: true, cidr: 10.0.9.0/24,"))
    assert "ipv6_native and cannot have an IPv4 cidr" in p.message and "16.11" in p.message
    assert at(p) == "7:44"


@pytest.mark.parametrize(
    ("extra", "wanted"),
    [
        ("public_ip_on_launch: true", "public_ip_on_launch (MapPublicIpOnLaunch) cannot be true"),
        ("assign_ipv6_address_on_creation: false", "assign_ipv6_address_on_creation cannot"),
        ("enable_dns64: true", "DNS64 (and NAT64"),
    ],
)
def test_what_an_ipv6_only_subnet_cannot_have_is_refused(extra: str, wanted: str) -> None:
    """16.11-16.13: no public IPv4 at launch, every ENI gets IPv6, DNS64 is not emulated."""
    p = one(BASE.replace("ipv6_native: true,", f"ipv6_native: true, {extra},"))
    assert wanted in p.message


def test_an_ipv6_only_subnet_needs_its_ipv6_cidr_and_others_their_cidr() -> None:
    p = one(BASE.replace(', ipv6_cidr: "2001:db8:1:9::/64"', ""))
    assert "ipv6_native and needs an ipv6_cidr" in p.message
    p = one(BASE.replace("cidr: 10.0.1.0/24, ", ""))
    assert "subnet 'dual' needs the key 'cidr' (or ipv6_native: true)" in p.message


@pytest.mark.parametrize(
    ("spec", "wanted"),
    [
        ("{subnet: v6, private_ip: 10.0.1.20}", "private_ip: it is in IPv6-only subnet 'v6'"),
        ("{subnet: v6, public_ip: true}", "public_ip: it is in IPv6-only subnet 'v6'"),
        ("{subnet: v6, elastic_ip: 203.0.113.9}", "elastic_ip: it is in IPv6-only subnet"),
        ("{subnet: v6, ipv6_address: none}", "is in IPv6-only subnet 'v6'"),
        (
            '{subnet: v6, services: [{mariadb: {database: d, user: u, password: "pw!1"}}]}',
            "runs mariadb, which netemu serves over IPv4",
        ),
    ],
)
def test_ipv4_on_an_instance_of_an_ipv6_only_subnet_is_refused(spec: str, wanted: str) -> None:
    """16.11: instances in an IPv6-only subnet get no IPv4 address of any kind."""
    found = errors(BASE + f"internet_gateways:\n  igw: {{vpc: main}}\ninstances:\n  app: {spec}\n")
    assert any(wanted in p.message for p in found), [p.message for p in found]


def test_a_nat_gateway_in_an_ipv6_only_subnet_is_refused() -> None:
    """6.1, 16.11: a NAT gateway needs an IPv4 address."""
    found = errors(
        BASE + "internet_gateways:\n  igw: {vpc: main}\nnat_gateways:\n  n: {subnet: v6}\n"
    )
    assert any("NAT gateway 'n' is in IPv6-only subnet 'v6'" in p.message for p in found)


def test_ipv4_expectations_and_routes_naming_an_ipv6_only_instance_are_refused() -> None:
    """16.11: IPv4 to or from an instance without IPv4 is a mistake in the file, not a block."""
    p = one(BASE + INSTANCES + "expect:\n  - {from: web, to: app, tcp: 22, result: blocked}\n")
    assert "instance 'app' has no IPv4 address (its subnet is IPv6-only" in p.message
    assert "family: 6" in p.message
    table = "route_tables:\n  t: {vpc: main, routes: [{destination: 0.0.0.0/0, instance: app}]}\n"
    p = one(BASE + INSTANCES + table)
    assert "instance 'app' has no IPv4 address" in p.message


def test_an_ipv4_probe_to_or_from_an_ipv6_only_instance_says_why() -> None:
    """The probe command exits 2 with the reason, not a traceback (docs/ipv6.md)."""
    model = _model()
    with pytest.raises(UsageError, match=r"instance 'app' has no IPv4 address \(its subnet is"):
        destination(model, "app", source(model, "web"))
    with pytest.raises(UsageError, match="instance 'app' has no IPv4 address"):
        source(model, "app")


def test_dhcp_serves_the_ipv6_only_instance_by_dhcpv6_alone_under_its_resource_name() -> None:
    """16.8, 16.12: no IPv4 range or options, the reservation names the instance id."""
    model = _model()
    conf = server_config(model, model.subnets["v6"])
    app = model.instances["app"]
    assert "dhcp-range=2001:db8:1:9::," in conf and "enable-ra" in conf
    assert "option:router" not in conf and "10.0." not in conf
    assert f"dhcp-host={app.eni.mac},[2001:db8:1:9::10],{app.id}" in conf
    plan = render(model)
    assert not [p for p in plan.processes if p.name == "dhcp-client instance:app"]
    assert not [a for a in plan.addresses if a.ns.endswith("-i-app") and "." in a.cidr]


def test_describe_export_writes_the_subnet_as_ipv6_native_without_ipv4() -> None:
    """16.11, 16.12: Ipv6Native, no CidrBlock; the instance has no PrivateIpAddress and a
    resource-based PrivateDnsName."""
    out = json.loads(json.dumps(model_to_describe(_model()), default=str))
    sub = next(s for s in out["describe-subnets"]["Subnets"] if s["Ipv6Native"])
    assert "CidrBlock" not in sub
    assert sub["PrivateDnsNameOptionsOnLaunch"]["HostnameType"] == "resource-name"
    inst = next(
        i
        for r in out["describe-instances"]["Reservations"]
        for i in r["Instances"]
        if i["SubnetId"] == sub["SubnetId"]
    )
    assert "PrivateIpAddress" not in inst
    assert inst["PrivateDnsName"] == f"{inst['InstanceId']}.ec2.internal"  # us-east-1


def test_terraform_import_of_an_ipv6_native_subnet_and_its_instance() -> None:
    """16.11: `ipv6_native = true` with its /64 and no cidr_block imports as an IPv6-only
    subnet; its instance, with no private_ip, gets no IPv4 address."""
    from netemu.interop.terraform_read import terraform_to_data
    from netemu.interop.to_scenario import describe_to_scenario
    from netemu.interop.write_yaml import dump

    vpc = "vpc-0a0000000000n6"

    def res(kind: str, label: str, **values: object) -> dict[str, object]:
        return {"address": f"{kind}.{label}", "mode": "managed", "type": kind, "name": label,
                "values": values}  # fmt: skip

    doc = {
        "format_version": "1.0",
        "values": {"root_module": {"resources": [
            res("aws_vpc", "main", id=vpc, cidr_block="10.71.0.0/16",
                ipv6_cidr_block="2001:db8:7::/56", tags={"Name": "main"}),
            res("aws_subnet", "only6", id="subnet-0a00000000n6", vpc_id=vpc, ipv6_native=True,
                ipv6_cidr_block="2001:db8:7:6::/64", assign_ipv6_address_on_creation=True,
                tags={"Name": "only6"}),
            res("aws_instance", "app", id="i-0a00000000000n6", subnet_id="subnet-0a00000000n6",
                ipv6_addresses=["2001:db8:7:6::20"], tags={"Name": "app"}),
        ]}},
    }  # fmt: skip
    data, notes = terraform_to_data(doc, "tf.json")
    scenario, more = describe_to_scenario(data, "tfn6")
    assert not [n for n in notes + more if "only6" in str(n) or "IPv6" in str(n)]
    assert "cidr" not in scenario["subnets"]["only6"]
    model, _ = load_model_text(dump(scenario), "tfn6.yaml")
    assert model.subnets["only6"].cidr is None
    assert str(model.subnets["only6"].ipv6_cidr) == "2001:db8:7:6::/64"
    app = model.instances["app"]
    assert (app.private_ip, str(app.ipv6_address)) == (None, "2001:db8:7:6::20")
