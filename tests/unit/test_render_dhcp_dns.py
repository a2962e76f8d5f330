"""The rendered DHCP servers and clients, resolvers and DNS exemptions (ref 7.11, 8.10, 9, 10)."""

from __future__ import annotations

import textwrap
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

from netemu.model import load_model, load_model_text
from netemu.model.types import Model
from netemu.render import dhcp, dns, etc, hostnames, network_acl, route_table, security_group
from netemu.render import names as n
from netemu.render.topology import wiring

DATA = Path(__file__).parent / "data"
RESERVED_OFFSETS = (0, 1, 2, 3)  # and the last address (2.3)


def _model(text: str) -> Model:
    model, _warnings = load_model_text(textwrap.dedent(text).lstrip("\n"))
    return model


def _webdb() -> Model:
    model, _ = load_model(str(DATA / "webdb.yaml"))
    return model


def _conf(model: Model, sub: str) -> list[str]:
    return dhcp.server_config(model, model.subnets[sub]).splitlines()


TWO_VPCS = """
    name: two
    region: {region}
    vpcs:
      main: {{cidr: 10.0.0.0/16, dns_hostnames: {hostnames}}}
      other: {{cidr: 10.1.0.0/16, dns_hostnames: true}}
    internet_gateways:
      igw: {{vpc: main}}
      igw2: {{vpc: other}}
    subnets:
      a: {{vpc: main, cidr: 10.0.0.0/24, public_ip_on_launch: true}}
      b: {{vpc: main, cidr: 10.0.5.0/28}}
      c: {{vpc: other, cidr: 10.1.0.0/24, public_ip_on_launch: true}}
    instances:
      web: {{subnet: a, private_ip: 10.0.0.10}}
      x1: {{subnet: b}}
      x2: {{subnet: b}}
      far: {{subnet: c, private_ip: 10.1.0.20}}
    internet:
      hosts:
        repo: {{ip: 198.51.100.20}}
"""


def _two(region: str = "ap-northeast-1", names: str = "true") -> Model:
    return _model(TWO_VPCS.format(region=region, hostnames=names))


# --- DHCP ---------------------------------------------------------------------------------


def test_dhcp_options_are_the_aws_defaults() -> None:
    """10.1-10.4: router base+1, DNS at the VPC's base+2 (not the subnet's), the regional
    domain name, and the lease time netemu chose (14.1)."""
    conf = _conf(_two(), "b")
    assert "dhcp-option=option:router,10.0.5.1" in conf
    assert "dhcp-option=option:dns-server,10.0.0.2" in conf
    assert "dhcp-option=option:domain-name,ap-northeast-1.compute.internal" in conf
    assert "dhcp-range=10.0.5.0,static,255.255.255.240,3600" in conf
    assert dhcp.LEASE_TIME_S == 3600


def test_domain_name_in_us_east_1_is_ec2_internal() -> None:
    """10.1: `ec2.internal` in us-east-1."""
    assert "dhcp-option=option:domain-name,ec2.internal" in _conf(_two("us-east-1"), "a")
    assert hostnames.domain_name("eu-west-1") == "eu-west-1.compute.internal"


def test_one_reservation_per_eni_mac_with_its_host_name() -> None:
    """9.1, 10.4: the model's address for the ENI's MAC, host name ip-a-b-c-d."""
    model = _two()
    web = model.instances["web"].eni
    assert f"dhcp-host={web.mac},10.0.0.10,ip-10-0-0-10" in _conf(model, "a")
    assert [x for x in _conf(model, "a") if x.startswith("dhcp-host=")] == [
        f"dhcp-host={web.mac},10.0.0.10,ip-10-0-0-10"
    ]


def test_only_reservations_no_pool_and_no_reserved_address() -> None:
    """2.3: the range is `static` (no dynamic pool), and no reservation is one of the five
    reserved addresses: auto addresses are the lowest free ones (9.1)."""
    model = _two()
    sub = model.subnets["b"]
    conf = _conf(model, "b")
    leased = [IPv4Address(x.split(",")[1]) for x in conf if x.startswith("dhcp-host=")]
    assert leased == [IPv4Address("10.0.5.4"), IPv4Address("10.0.5.5")]
    reserved = {sub.cidr.network_address + k for k in RESERVED_OFFSETS}
    reserved.add(sub.cidr.broadcast_address)
    assert not reserved & set(leased)
    assert [x for x in conf if x.startswith("dhcp-range=")] == [
        "dhcp-range=10.0.5.0,static,255.255.255.240,3600"
    ]


def test_server_serves_instance_ports_only() -> None:
    """A NAT gateway's ENI is requester-managed: no interface line, no reservation, and
    it keeps its static address while instances get none from the topology."""
    model = _webdb()
    conf = _conf(model, "public")
    web, nat = model.instances["web"].eni, model.nat_gateways["nat"].eni
    assert f"interface={n.eni_port_if(web.port)}" in conf
    assert f"interface={n.eni_port_if(nat.port)}" not in conf
    assert not any(nat.mac in x for x in conf)
    _links, addrs, routes = wiring(model)
    assert not [a for a in addrs if a.ns == n.instance_ns(model.name, "web")]
    assert not [r for r in routes if r.ns == n.instance_ns(model.name, "web")]
    nat_ns = n.nat_gateway_ns(model.name, "nat")
    assert [a.cidr for a in addrs if a.ns == nat_ns] == [f"{nat.private_ip}/24"]


def test_dnsmasq_runs_dhcp_only_with_its_own_files() -> None:
    """The DHCP dnsmasq reads nothing from /etc, serves no DNS, keeps its files under the
    state directory, and is ready once its pid file exists."""
    model = _webdb()
    _files, procs = dhcp.render(model)
    server = next(p for p in procs if p.name == "dhcp-server subnet:public")
    assert server.ns == n.subnet_ns("webdb", "public")
    for flag in ("--keep-in-foreground", "--no-resolv", "--no-hosts", "--port=0"):
        assert flag in server.argv
    assert "--dhcp-authoritative" in server.argv
    assert "--conf-file={state}/dhcp/public.conf" in server.argv
    assert "--dhcp-leasefile={state}/dhcp/public.leases" in server.argv
    assert server.ready_file == "dhcp/public.pid" and not server.wait


def test_every_instance_runs_a_one_shot_client_after_the_servers() -> None:
    """Leases are obtained concurrently, in one phase after the servers' phase."""
    model = _webdb()
    files, procs = dhcp.render(model)
    clients = [p for p in procs if p.name.startswith("dhcp-client")]
    servers = [p for p in procs if p.name.startswith("dhcp-server")]
    assert sorted(p.name for p in clients) == [
        "dhcp-client instance:db",
        "dhcp-client instance:web",
    ]
    assert all(p.wait and p.phase > max(s.phase for s in servers) for p in clients)
    web = next(p for p in clients if p.ns == n.instance_ns("webdb", "web"))
    assert "udhcpc" in web.argv and "-q" in web.argv and "-n" in web.argv
    assert web.argv[web.argv.index("-i") + 1] == "eth0"
    assert ("NETEMU_ETC", f"{{state}}/{etc.endpoint_dir('web')}") in web.env
    assert web.dirs == (etc.endpoint_dir("web"),) and web.lease
    script = next(f for f in files if f.path == dhcp.CLIENT_SCRIPT)
    assert script.mode == 0o755 and "resolv.conf" in script.content


# --- DNS ----------------------------------------------------------------------------------


def test_vpc_resolver_answers_private_and_public_names() -> None:
    """10.4, 9.5: private names -> private IP; the VPC's own public names -> private IP;
    other VPCs' public names -> public IP; internet hosts by name."""
    model = _two()
    web, far = model.instances["web"], model.instances["far"]
    conf = dns.vpc_resolver_hosts(model, model.vpcs["main"]).splitlines()
    assert "10.0.0.10 ip-10-0-0-10.ap-northeast-1.compute.internal" in conf
    pub = hostnames.public_dns_name(model.region, web.public_ip or IPv4Address(0))
    assert pub.endswith(".ap-northeast-1.compute.amazonaws.com")
    assert f"10.0.0.10 {pub}" in conf
    far_pub = hostnames.public_dns_name(model.region, far.public_ip or IPv4Address(0))
    assert f"{far.public_ip} {far_pub}" in conf
    assert "198.51.100.20 repo repo.internet" in conf
    # The private name comes first, so the reverse lookup of 10.0.0.10 gives it.
    assert conf.index("10.0.0.10 ip-10-0-0-10.ap-northeast-1.compute.internal") < (
        conf.index(f"10.0.0.10 {pub}")
    )
    assert "ip-10-1-0-20" not in "\n".join(conf)  # another VPC's private names stay there


def test_no_instance_names_without_dns_hostnames() -> None:
    """10.3: with hostnames off, neither private nor public instance names exist."""
    conf = dns.vpc_resolver_hosts(*_main(_two(names="false")))
    assert "ip-10-0-0-10" not in conf
    assert "ec2-" in conf  # the other VPC has hostnames on: its public names resolve
    assert "198.51.100.20 repo repo.internet" in conf


def _main(model: Model) -> tuple[Model, Any]:
    return model, model.vpcs["main"]


def test_public_names_in_us_east_1() -> None:
    """10.4: `ec2-a-b-c-d.compute-1.amazonaws.com` and `ip-….ec2.internal` in us-east-1."""
    ip = IPv4Address("203.0.113.5")
    assert hostnames.public_dns_name("us-east-1", ip) == "ec2-203-0-113-5.compute-1.amazonaws.com"
    assert hostnames.private_dns_name("us-east-1", IPv4Address("10.0.0.5")) == (
        "ip-10-0-0-5.ec2.internal"
    )


def test_resolvers_are_a_closed_world() -> None:
    """No upstream: no server= line, everything unknown is local (NXDOMAIN)."""
    model = _two()
    files, procs, _addrs = dns.render(model)
    confs = [f for f in files if f.path.startswith("dns/") and f.path.endswith(".conf")]
    assert len(confs) == 3  # two VPCs and the internet
    for f in confs:
        assert "local=/#/" in f.content.splitlines()
        assert "server=" not in f.content
    for p in procs:
        assert {"--no-resolv", "--no-hosts", "--keep-in-foreground"} <= set(p.argv)
        assert any(a.startswith("--conf-file={state}/dns/") for a in p.argv)
        assert any(a.startswith("--addn-hosts={state}/dns/") for a in p.argv)
        assert p.ready_file and p.phase == dhcp.SERVER_PHASE


def test_vpc_resolver_lives_at_base_plus_two_in_the_router() -> None:
    """10.2: the router namespace holds VPC base+2; route tables let it through."""
    model = _two()
    _files, procs, addrs = dns.render(model)
    rns = n.router_ns("two", "main")
    assert any(a.ns == rns and a.ifname == "lo" and a.cidr == "10.0.0.2/32" for a in addrs)
    assert any(p.ns == rns and p.name == "dns-server vpc:main" for p in procs)
    _routes, _rules, rulesets = route_table.render(model)
    local = {"fib": {"result": "type", "flags": ["daddr"]}}
    rules = [c["add"]["rule"] for rs in rulesets if rs.ns == rns for c in rs.commands
             if "rule" in c.get("add", {})]  # fmt: skip
    exempt = [
        r for r in rules if {"match": {"op": "==", "left": local, "right": "local"}} in r["expr"]
    ]
    # Addressed to the router itself: let through before any route-table drop.
    assert exempt and exempt[0]["expr"][-1] in ({"accept": None}, {"return": None})
    assert rules.index(exempt[0]) < min(i for i, r in enumerate(rules) if "drop" in r["expr"][-1])


def test_internet_resolver_address_avoids_scenario_addresses() -> None:
    """198.51.100.53 unless an internet host, an ENI's public IP or the public pool has it."""
    assert dns.internet_resolver_ip(_two()) == IPv4Address("198.51.100.53")
    text = TWO_VPCS.format(region="ap-northeast-1", hostnames="true")
    taken = text.replace("198.51.100.20", "198.51.100.53")
    assert dns.internet_resolver_ip(_model(taken)) == IPv4Address("192.0.2.53")
    pooled = taken.replace("    internet:\n", "    internet:\n      public_pool: 192.0.2.0/24\n")
    model = _model(pooled)
    assert model.public_pool == IPv4Network("192.0.2.0/24")
    assert dns.internet_resolver_ip(model) == IPv4Address("203.0.113.53")


def test_internet_resolver_answers_public_addresses() -> None:
    """9.5: outside the VPC a public name leads to the public IP."""
    model = _two()
    web = model.instances["web"]
    conf = dns.internet_resolver_hosts(model)
    pub = hostnames.public_dns_name(model.region, web.public_ip or IPv4Address(0))
    assert f"{web.public_ip} {pub}" in conf.splitlines()
    assert str(web.private_ip) not in conf


def test_hosts_and_nat_gateways_get_a_resolv_conf() -> None:
    """Internet hosts use the internet's resolver; a NAT gateway its VPC's (statically)."""
    model = _webdb()
    files = {f.path: f.content for f in dns.render(model)[0]}
    assert files[etc.resolv_conf("client")] == "nameserver 198.51.100.53\n"
    assert files[etc.resolv_conf("nat")] == (
        "search ap-northeast-1.compute.internal\nnameserver 172.30.0.2\n"
    )
    assert files[etc.hostname("repo")] == "repo\n"


# --- SG and NACL exemptions ---------------------------------------------------------------


def _first_rule(cmds: list[dict[str, Any]], chain: str) -> dict[str, Any]:
    return next(
        c["add"]["rule"] for c in cmds if c.get("add", {}).get("rule", {}).get("chain") == chain
    )


def _accepts_dns(rule: dict[str, Any], field: str, port_field: str) -> bool:
    exprs = rule["expr"]
    matches = [e["match"] for e in exprs if "match" in e]
    return (
        {"left": {"payload": {"protocol": "ip", "field": field}}, "right": "172.30.0.2", "op": "=="}
        in matches
        and any(
            m["left"] == {"payload": {"protocol": "th", "field": port_field}} and m["right"] == 53
            for m in matches
        )
        and exprs[-1] == {"accept": None}
    )


def test_security_groups_never_filter_amazon_dns() -> None:
    """7.11: the first rule of each security-group base chain admits the Amazon DNS."""
    model = _webdb()
    cmds = security_group.render(model, "private")
    egress, ingress = _first_rule(cmds, "sg_egress"), _first_rule(cmds, "sg_ingress")
    assert _accepts_dns(egress, "daddr", "dport") and "7.11" in egress["comment"]
    assert _accepts_dns(ingress, "saddr", "sport")


def test_network_acls_never_filter_amazon_dns() -> None:
    """8.10: the first rule of each network-ACL base chain admits the Amazon DNS."""
    model = _webdb()
    cmds = network_acl.render(model, "private", [n.UPLINK_IF])
    out, inb = _first_rule(cmds, "nacl_outbound"), _first_rule(cmds, "nacl_inbound")
    assert _accepts_dns(out, "daddr", "dport") and "8.10" in out["comment"]
    assert _accepts_dns(inb, "saddr", "sport")
