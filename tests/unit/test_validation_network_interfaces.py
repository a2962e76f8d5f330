"""Validation of secondary ENIs and secondary private IPs (ref 9.7, 9.8, 9.20-9.22): each
refusal names the place in the file and the AWS rule; the model holds what was accepted."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

from netemu.model import load_model_text
from netemu.render import render
from tests.unit.problems import at, errors, one

BASE = """
vpcs:
  main: {cidr: 10.0.0.0/16}
  other: {cidr: 10.9.0.0/16}
subnets:
  front: {vpc: main, cidr: 10.0.1.0/24, az: a}
  back: {vpc: main, cidr: 10.0.2.0/24, az: a}
  far: {vpc: main, cidr: 10.0.3.0/24, az: c}
  elsewhere: {vpc: other, cidr: 10.9.1.0/24, az: a}
security_groups:
  admin: {vpc: main}
instances:
  app: {subnet: front, private_ip: 10.0.1.10, secondary_private_ips: [10.0.1.20]}
network_interfaces:
  nic: {subnet: back, instance: app, device_index: 1, private_ip: 10.0.2.10, security_groups: [admin]}
"""


def test_a_secondary_eni_and_secondary_ips_make_the_model() -> None:
    """ref 9.20, 9.21: the ENI is attached at its device index, with its own groups and MAC."""
    model, _ = load_model_text(BASE)
    nic = model.network_interfaces["nic"]
    app = model.instances["app"]
    assert (nic.owner, nic.device_index, nic.subnet) == ("app", 1, "back")
    assert nic.security_groups == (model.group("main", "admin").id,)  # type: ignore[union-attr]
    assert nic.mac != app.eni.mac and nic.id != app.eni.id
    assert app.eni.private_ips == (IPv4Address("10.0.1.10"), IPv4Address("10.0.1.20"))
    assert [e.device_index for e in model.enis_of("app")] == [0, 1]


def test_the_secondary_eni_is_a_second_cable_into_the_instance() -> None:
    """ref 9.20, 9.23: eth1 in the instance, the ENI's own port in its subnet, source rules."""
    plan = render(load_model_text(BASE)[0])
    ends = {(link.ns_a, link.ifname_a, link.ns_b) for link in plan.links}
    assert ("ne-test-i-app", "eth1", "ne-test-s-back") in ends
    sources = {(r.table, r.src) for r in plan.rules if r.ns == "ne-test-i-app"}
    assert sources == {(10001, "10.0.2.10/32")}
    addrs = {(a.ifname, a.cidr) for a in plan.addresses if a.ns == "ne-test-i-app"}
    assert {("eth0", "10.0.1.20/32"), ("eth1", "10.0.2.10/24")} <= addrs


def test_an_eni_attaches_only_in_the_instances_zone_and_vpc() -> None:
    """ref 9.20: same Availability Zone; netemu: same VPC (docs/aws-decisions.md)."""
    p = one(BASE.replace("nic: {subnet: back", "nic: {subnet: far"))
    assert at(p) == "14:17" and "Availability Zone" in p.message and "ref 9.20" in p.message
    p = one(BASE.replace("nic: {subnet: back", "nic: {subnet: elsewhere").replace(
        ", security_groups: [admin]", ""))  # fmt: skip
    assert "in VPC 'other', instance 'app' in VPC 'main'" in p.message


def test_device_index_zero_is_the_primary_and_indexes_are_unique() -> None:
    """ref 9.7, 9.20, 9.22"""
    p = one(BASE.replace("device_index: 1", "device_index: 0"))
    assert at(p) == "14:52" and "ref 9.7" in p.message
    twice = BASE + "  nic2: {subnet: back, instance: app, device_index: 1}\n"
    p = one(twice)
    assert at(p) == "15:3" and "already taken by 'nic'" in p.message
    p = one(BASE.replace("device_index: 1", "device_index: 3"))
    assert "m5.large" in p.message and "ref 9.22" in p.message


def test_secondary_ips_come_from_the_subnet_and_belong_to_one_eni() -> None:
    """ref 9.1, 9.8, 2.3: outside the subnet, reserved, or another ENI's address."""
    p = one(BASE.replace("[10.0.1.20]", "[10.0.2.20]"))
    assert at(p) == "12:71" and "not inside subnet 'front'" in p.message
    p = one(BASE.replace("[10.0.1.20]", "[10.0.1.3]"))
    assert "is reserved" in p.message and "ref 2.3" in p.message
    p = one(BASE.replace("private_ip: 10.0.2.10", "private_ip: 10.0.2.10, "
                         "secondary_private_ips: [10.0.2.10]"))  # fmt: skip
    assert "already used by network interface 'nic'" in p.message and "ref 9.1" in p.message


def test_too_many_addresses_on_one_eni_are_refused() -> None:
    """ref 9.22: an m5.large takes 10 IPv4 addresses per ENI."""
    many = ", ".join(f"10.0.1.{30 + i}" for i in range(10))
    p = one(BASE.replace("[10.0.1.20]", f"[{many}]"))
    assert "11 private IPv4 addresses" in p.message and "ref 9.22" in p.message


def test_an_eni_needs_an_instance_a_subnet_and_a_device_index() -> None:
    found = errors(BASE.replace("nic: {subnet: back, instance: app, device_index: 1, ", "nic: {"))
    needs = sorted(p.message.rsplit(" ", 1)[1] for p in found)
    assert needs == ["'device_index'", "'instance'", "'subnet'"], found
    p = one(BASE.replace("instance: app, device", "instance: nope, device"))
    assert "unknown instance 'nope'" in p.message


def test_an_elastic_ip_associates_with_a_secondary_eni_by_name_or_id() -> None:
    """ref 9.13, 9.20: the elastic IP becomes the secondary ENI's public address."""
    text = BASE + "elastic_ips:\n  e: {address: 198.51.100.9, network_interface: nic}\n"
    model, _ = load_model_text(text)
    nic = model.network_interfaces["nic"]
    assert (str(nic.public_ip), nic.elastic_ip) == ("198.51.100.9", True)
    eip = model.elastic_ips["e"]
    assert (eip.instance, eip.network_interface) == ("app", "nic")
    assert model.instances["app"].public_ip is None
    by_id = text.replace("network_interface: nic", f"network_interface: {nic.id}")
    assert load_model_text(by_id)[0].network_interfaces["nic"].elastic_ip


def test_an_elastic_ip_maps_to_the_enis_primary_private_ip_only() -> None:
    """ref 9.21 and docs/aws-decisions.md: a secondary private IP is refused, a foreign one too."""
    eip = "elastic_ips:\n  e: {network_interface: nic, private_ip_address: %s}\n"
    load_model_text(BASE + eip % "10.0.2.10")
    p = one(BASE.replace("private_ip: 10.0.2.10", "private_ip: 10.0.2.10, "
                         "secondary_private_ips: [10.0.2.20]") + eip % "10.0.2.20")  # fmt: skip
    assert at(p) == "16:51" and "primary private IP only" in p.message
    p = one(BASE + eip % "10.0.1.10")
    assert "is not an address of eni-" in p.message and "ref 9.21" in p.message


def test_instance_metadata_lists_every_eni_with_all_its_addresses() -> None:
    """ref 9.20, 9.21: network/interfaces/macs/ has one entry per ENI (device-number, local-ipv4s)."""
    from netemu.render.services import metadata_tree

    model, _ = load_model_text(BASE)
    macs = metadata_tree(model, model.instances["app"])["meta-data"]["network"]["interfaces"]
    by_number = {m["device-number"]: m for m in macs["macs"].values()}
    assert by_number["0"]["local-ipv4s"] == "10.0.1.10\n10.0.1.20"
    assert by_number["1"]["local-ipv4s"] == "10.0.2.10"
    assert by_number["1"]["interface-id"] == model.network_interfaces["nic"].id


def test_the_instance_name_resolves_to_its_eth0_and_each_eni_has_its_private_name() -> None:
    """ref 9.20, 10.4: `app` names eth0's address; each ENI's ip-a-b-c-d name its own."""
    from netemu.render.dns import vpc_resolver_hosts

    model, _ = load_model_text(BASE.replace("main: {cidr: 10.0.0.0/16}",
                                            "main: {cidr: 10.0.0.0/16, dns_hostnames: true}"))  # fmt: skip
    hosts = vpc_resolver_hosts(model, model.vpcs["main"])
    assert [line for line in hosts.splitlines() if line.endswith(" app")] == ["10.0.1.10 app"]
    assert "10.0.2.10 ip-10-0-2-10.ec2.internal" in hosts


def test_an_instances_enis_are_those_of_every_eni_owned_by_it_primary_first() -> None:
    """ref 9.20: `enis_of` looks only at the instance's own primary ENI and the secondary
    ones, and finds what a scan of every ENI of the model finds, by device index."""
    with open(Path(__file__).parents[2] / "scenarios" / "book" / "multi-eni.yaml") as f:
        model, _ = load_model_text(f.read())
    assert model.network_interfaces
    for name in model.instances:
        scanned = sorted(
            (e for e in model.enis() if e.owner_kind == "instance" and e.owner == name),
            key=lambda e: e.device_index,
        )
        assert model.enis_of(name) == scanned
        assert model.enis_of(name)[0] is model.instances[name].eni
