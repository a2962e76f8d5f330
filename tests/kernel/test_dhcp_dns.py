"""DHCP and the Amazon DNS with real daemons and real packets (ref 2.3, 7.11, 8.10, 9, 10)."""

from __future__ import annotations

import os
import re
import subprocess

from netemu import lifecycle
from netemu.driver.state import state_dir
from netemu.render import dhcp, hostnames
from netemu.render import names as n
from netemu.testing import Running, running_text
from scenarios import vpc as base_vpc


def vpc(**changes: str) -> str:
    """scenarios.vpc under a name of its own, so these tests never meet another `kt`."""
    return base_vpc(**{"name": "kdns", **changes})


DNS = "172.30.0.2"  # VPC base+2 of scenarios.vpc()
DOMAIN = "ap-northeast-1.compute.internal"


def _hostnames_on(text: str) -> str:
    return text.replace("{cidr: 172.30.0.0/16}", "{cidr: 172.30.0.0/16, dns_hostnames: true}")


def _dig(s: Running, where: str, name: str, *opts: str) -> str:
    """The A records `where` gets for `name` through its own /etc/resolv.conf."""
    r = s.exec(where, "dig", "+short", "+time=2", "+tries=1", *opts, name)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def _dhcp_capture(s: Running, instance: str) -> list[str]:
    """Run the instance's DHCP client once more while tcpdump listens on its subnet port;
    returns tcpdump's verbose text of each of the four packets."""
    eni = s.model.instances[instance].eni
    sns, port = n.subnet_ns(s.model.name, eni.subnet), n.eni_port_if(eni.port)
    dump = subprocess.Popen(
        ["ip", "netns", "exec", sns, "tcpdump", "-l", "-n", "-vvv", "-i", port, "-c", "4",
         "udp port 67 or udp port 68"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert dump.stderr and "listening on" in dump.stderr.readline()
        # `-s /bin/true`: the lease is requested and granted, the configuration untouched.
        r = s.exec(
            instance,
            "udhcpc",
            "-n",
            "-q",
            "-f",
            "-i",
            "eth0",
            "-s",
            "/bin/true",
            "-t",
            "3",
            "-T",
            "1",
        )
        assert r.returncode == 0, r.stderr
        out, _ = dump.communicate(timeout=5)
    finally:
        dump.kill()
        dump.wait()
    return re.split(r"\n(?=\d\d:\d\d:\d\d\.)", out.strip())


def test_dhcp_exchange_on_the_wire_carries_the_aws_options() -> None:
    """10.1-10.4, 10.8: DISCOVER, OFFER, REQUEST, ACK seen by tcpdump in the subnet; the
    server answers from base+1 with router base+1, DNS at VPC base+2, the regional domain
    name, the instance's host name and netemu's lease time (14.1)."""
    with running_text(vpc()) as s:
        packets = _dhcp_capture(s, "db")
        kinds = [re.search(r"DHCP-Message \(53\), length 1: (\w+)", p) for p in packets]
        assert [k.group(1) if k else None for k in kinds] == ["Discover", "Offer", "Request", "ACK"]
        for reply in (packets[1], packets[3]):
            assert "172.30.1.1.67 > 172.30.1.10.68" in reply
            assert "Your-IP 172.30.1.10" in reply
            assert "Default-Gateway (3), length 4: 172.30.1.1" in reply
            assert f"Domain-Name-Server (6), length 4: {DNS}" in reply
            assert f'Domain-Name (15), length 31: "{DOMAIN}"' in reply
            assert 'Hostname (12), length 14: "ip-172-30-1-10"' in reply
            assert f"Lease-Time (51), length 4: {dhcp.LEASE_TIME_S}" in reply


def test_instance_holds_the_address_dhcp_gave_it() -> None:
    """9.1: the instance's eth0 carries the model's address, with the default route via
    base+1, both configured by its DHCP client; a NAT gateway's ENI stays static."""
    with running_text(vpc()) as s:
        addr = s.exec("web", "ip", "-4", "-o", "addr", "show", "dev", "eth0").stdout
        assert "inet 172.30.0.10/24" in addr
        assert s.exec("web", "ip", "route", "show", "default").stdout.startswith(
            "default via 172.30.0.1 dev eth0"
        )
        with open(os.path.join(state_dir(s.model.name), dhcp.leases("public"))) as f:
            leases = f.read()
        assert f"{s.model.instances['web'].eni.mac} 172.30.0.10 ip-172-30-0-10" in leases


def test_address_not_given_is_the_lowest_free_never_a_reserved_one() -> None:
    """2.3, 9.1: base..base+3 are reserved; an instance without `private_ip` gets base+4."""
    extra = "  auto1: {subnet: private}\n  auto2: {subnet: private}"
    with running_text(vpc(more_instances=extra)) as s:
        for name, ip in (("auto1", "172.30.1.4"), ("auto2", "172.30.1.5")):
            addr = s.exec(name, "ip", "-4", "-o", "addr", "show", "dev", "eth0").stdout
            assert f"inet {ip}/24" in addr


def test_unknown_mac_gets_no_lease() -> None:
    """2.3: only reservations are leased (no pool), so no address, reserved or free, goes
    to a MAC the subnet does not know."""
    with running_text(vpc()) as s:
        script = (
            "ip link set dev eth0 address 02:00:00:00:00:99; "
            "udhcpc -n -q -f -i eth0 -s /bin/true -t 2 -T 1; rc=$?; "
            f"ip link set dev eth0 address {s.model.instances['app'].eni.mac}; exit $rc"
        )
        r = s.exec("app", "sh", "-c", script)
        assert r.returncode != 0
        assert "obtained" not in r.stdout + r.stderr


def test_private_host_name_resolves_with_dns_hostnames_on() -> None:
    """10.3, 10.4: `ip-a-b-c-d.<region>.compute.internal` -> private address, also as the
    short name through the DHCP search domain, and back by PTR."""
    with running_text(_hostnames_on(vpc())) as s:
        assert _dig(s, "web", f"ip-172-30-1-10.{DOMAIN}") == "172.30.1.10"
        assert s.exec("web", "getent", "hosts", "ip-172-30-1-10").stdout.split()[:2] == [
            "172.30.1.10", f"ip-172-30-1-10.{DOMAIN}",
        ]  # fmt: skip
        ptr = s.exec("db", "dig", "+short", "+time=2", "+tries=1", "-x", "172.30.0.10")
        assert ptr.stdout.strip() == f"ip-172-30-0-10.{DOMAIN}."


def test_private_host_name_does_not_resolve_with_dns_hostnames_off() -> None:
    """10.3: nondefault VPCs have hostnames off by default; the name does not exist."""
    with running_text(vpc()) as s:
        r = s.exec("web", "dig", "+time=2", "+tries=1", f"ip-172-30-1-10.{DOMAIN}")
        assert "status: NXDOMAIN" in r.stdout


def test_public_name_is_private_inside_and_public_outside() -> None:
    """9.5: an instance's public DNS name resolves to its private address inside the VPC
    and to its public address from the internet."""
    with running_text(_hostnames_on(vpc())) as s:
        web = s.model.instances["web"]
        assert web.public_ip is not None
        public = hostnames.public_dns_name(s.model.region, web.public_ip)
        assert public.endswith(".ap-northeast-1.compute.amazonaws.com")
        assert _dig(s, "db", public) == "172.30.0.10"
        assert _dig(s, "client", public) == str(web.public_ip)


def test_internet_host_names_resolve_everywhere() -> None:
    """Internet hosts answer to their scenario name, bare or under `.internet`, both from
    instances (even without internet access) and from other internet hosts."""
    with running_text(vpc()) as s:
        assert _dig(s, "db", "repo") == "198.51.100.20"
        assert _dig(s, "db", "repo.internet", "+tcp") == "198.51.100.20"
        assert s.exec("app", "getent", "hosts", "client").stdout.split()[0] == "198.51.100.10"
        assert _dig(s, "client", "repo") == "198.51.100.20"


NO_EGRESS = """  closed:
    vpc: main
    ingress: []
    egress: []
"""


def test_acl_and_security_group_denying_everything_leave_dhcp_and_dns_alone() -> None:
    """7.11, 8.10: a network ACL with no rules and a security group with no rules at all
    filter neither the instance's DHCP lease nor its queries to the Amazon DNS (UDP and
    TCP), while they do block its other traffic."""
    text = vpc(
        acls="  guard: {vpc: main}",
        private_extra=", network_acl: guard",
        groups=NO_EGRESS,
        db_groups="closed",
    )
    with running_text(text) as s:
        addr = s.exec("db", "ip", "-4", "-o", "addr", "show", "dev", "eth0").stdout
        assert "inet 172.30.1.10/24" in addr
        assert _dig(s, "db", "repo") == "198.51.100.20"
        assert _dig(s, "db", "repo", "+tcp") == "198.51.100.20"
        r = s.probe("db", "web", tcp=22)
        assert r.result == "blocked" and r.reason
        assert r.reason.code == "ENI_SG_RULES_MISMATCH"


def test_exec_sees_the_instances_own_resolv_conf_and_host_name() -> None:
    """The DHCP client writes the instance's resolv.conf (search domain, VPC base+2); a
    command run inside sees it as /etc/resolv.conf and the DHCP host name as its own,
    while the host's /etc stays byte-identical."""
    with open("/etc/resolv.conf", "rb") as f:
        before = f.read()
    with running_text(vpc()) as s:
        conf = s.exec("web", "cat", "/etc/resolv.conf").stdout
        assert conf == f"search {DOMAIN}\nnameserver {DNS}\n"
        assert s.exec("web", "hostname").stdout.strip() == "ip-172-30-0-10"
        assert s.exec("client", "cat", "/etc/resolv.conf").stdout.startswith(
            "nameserver 198.51.100."
        )
        with open("/etc/resolv.conf", "rb") as f:
            assert f.read() == before


def test_public_name_follows_the_new_public_ip_after_stop_and_start() -> None:
    """9.3, 9.5: `start` gives an auto-assigned public IP anew; the public DNS name of the
    new address resolves at once (the resolvers reread their names), the old one no more."""
    with running_text(_hostnames_on(vpc())) as s:
        driver = lifecycle.KernelDriver()
        old = s.model.instances["web"].public_ip
        lifecycle.set_instance_state(s.model.name, "web", "stopped", driver)
        new = lifecycle.set_instance_state(s.model.name, "web", "running", driver).public_ip
        assert old and new and new != old
        region = s.model.region
        assert _dig(s, "client", hostnames.public_dns_name(region, new)) == str(new)
        assert _dig(s, "db", hostnames.public_dns_name(region, new)) == "172.30.0.10"
        assert _dig(s, "client", hostnames.public_dns_name(region, old)) == ""
