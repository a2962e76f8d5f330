"""DHCPv6 and router advertisements as rendered (ref 16.7, 16.8), without a kernel."""

from __future__ import annotations

from netemu.model import load_model_text
from netemu.render import dhcp, render
from netemu.render import names as n

TEXT = """
name: rd6
vpcs:
  main: {cidr: 10.64.0.0/16, ipv6: true}
subnets:
  dual: {vpc: main, cidr: 10.64.1.0/24, ipv6_cidr: "2001:db8:1:1::/64"}
  four: {vpc: main, cidr: 10.64.2.0/24}
instances:
  web: {subnet: dual, private_ip: 10.64.1.10, ipv6_address: "2001:db8:1:1::10"}
  bare: {subnet: dual, private_ip: 10.64.1.11, ipv6_address: none}
  old: {subnet: four, private_ip: 10.64.2.10}
"""


def _model():  # type: ignore[no-untyped-def]
    return load_model_text(TEXT, "rd6.yaml")[0]


def test_dnsmasq_advertises_the_subnet_managed_and_reserves_each_address() -> None:
    """16.8: router advertisements on, the /64 leased statically and advertised off-link,
    one reservation per MAC holding both addresses."""
    model = _model()
    conf = dhcp.server_config(model, model.subnets["dual"])
    assert "dhcp-range=2001:db8:1:1::,static,off-link,64,3600" in conf
    assert "enable-ra" in conf.splitlines()
    web = model.instances["web"].eni
    assert f"dhcp-host={web.mac},10.64.1.10,[2001:db8:1:1::10],ip-10-64-1-10" in conf
    four = dhcp.server_config(model, model.subnets["four"])
    assert "enable-ra" not in four and "::" not in four


def test_only_instances_with_an_ipv6_address_run_a_dhcpv6_client() -> None:
    plan = render(_model())
    clients = sorted(p.name for p in plan.processes if p.name.startswith("dhcp6-client"))
    assert clients == ["dhcp6-client instance:web"]
    (web,) = [p for p in plan.processes if p.name == "dhcp6-client instance:web"]
    assert web.lease and web.wait and web.phase == dhcp.CLIENT_PHASE


def test_instances_take_advertisements_and_subnet_ports_hold_the_reserved_address() -> None:
    """16.3, 16.8: instances accept router advertisements (even when forwarding); the
    subnet's ports carry the subnet's ::1 without a prefix route, and no static IPv6
    address or default route is written into an instance."""
    model = _model()
    plan = render(model)
    ins = next(ns for ns in plan.namespaces if ns.name == n.instance_ns("rd6", "web"))
    assert ("net/ipv6/conf/default/accept_ra", "2") in ins.sysctls
    sns = n.subnet_ns("rd6", "dual")
    ports = {(a.cidr, a.noprefixroute) for a in plan.addresses if a.ns == sns and ":" in a.cidr}
    assert ("2001:db8:1:1::1/64", True) in ports
    assert not [a for a in plan.addresses if a.ns == ins.name and ":" in a.cidr]
    assert not [r for r in plan.routes if r.ns == ins.name and ":" in r.dst]


def test_a_missing_dhclient_is_a_host_problem_before_anything_is_built(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """dhclient runs behind a shell wrapper; `up` still names it when it is missing."""
    import shutil

    import pytest

    from netemu import lifecycle
    from netemu.errors import HostUnsupported

    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda x: None if x == "dhclient" else real(x) or x)
    with pytest.raises(HostUnsupported, match="dhclient"):
        lifecycle.check_programs(render(_model()))
