"""DHCP options sets with the real dnsmasq and a real DHCP client (ref 10.1, 10.20-10.22):
what an instance receives follows its VPC's set, AmazonProvidedDNS is the VPC's base+2, and
a set associated by `netemu apply` reaches running instances at their (renewed) lease."""

from __future__ import annotations

from pathlib import Path

from live import live

from netemu.testing import Running, running

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = str(ROOT / "scenarios" / "book" / "dhcp-options.yaml")

# udhcpc's event script, printing what the lease carried instead of configuring anything.
SHOW = (
    'printf \'#!/bin/sh\\n[ "$1" = bound ] && echo "domain=$domain dns=$dns ntp=$ntpsrv"\\n'
    "exit 0\\n' > /tmp/ne-show.sh && chmod +x /tmp/ne-show.sh && "
    "udhcpc -f -q -n -i eth0 -t 3 -T 1 -O ntpsrv -s /tmp/ne-show.sh 2>/dev/null"
)


def _lease(s: Running, instance: str) -> str:
    r = s.exec(instance, "sh", "-c", SHOW)
    assert r.returncode == 0, r.stderr
    return next(line for line in r.stdout.splitlines() if line.startswith("domain="))


def test_shipped_scenario_holds_on_real_packets() -> None:
    """10.20, 10.21: the corp VPC's instance writes the set's domain and servers into its
    resolv.conf, the lab VPC's instance the Region's defaults (10.1)."""
    with running(SHIPPED) as s:
        outcomes = s.expectations()
        assert outcomes and all(o.ok for o in outcomes), [o.title + o.why for o in outcomes]


def test_a_dhcp_client_receives_the_sets_options() -> None:
    """10.21, 10.22: a DHCP client in the instance gets option 15 (domain name), option 6
    (AmazonProvidedDNS as the VPC's base+2, then the set's server) and option 42 (NTP); in
    a VPC on the default set it gets the regional domain, base+2 and no NTP server."""
    with running(SHIPPED) as s:
        corp = _lease(s, "web")
        assert corp == "domain=corp.example.com dns=10.20.0.2 10.20.0.53 ntp=10.20.0.123", corp
        lab = _lease(s, "bench")
        assert lab == "domain=ap-northeast-1.compute.internal dns=10.30.0.2 ntp=", lab


LIVE = """
name: dlive
vpcs:
  main: {{cidr: 10.40.0.0/16{assoc}}}
dhcp_options:
  corp: {{domain_name: corp.example, domain_name_servers: [10.40.0.53, AmazonProvidedDNS]}}
subnets:
  s1: {{vpc: main, cidr: 10.40.1.0/24}}
instances:
  web: {{subnet: s1, private_ip: 10.40.1.10}}
"""


def test_a_set_associated_by_apply_reaches_running_instances() -> None:
    """10.20: AssociateDhcpOptions on a running VPC: existing instances take the new set at
    their lease renewal, which apply makes at once; the address stays the same."""
    with live(LIVE.format(assoc="")) as s:
        conf = Running(s.model).exec("web", "cat", "/etc/resolv.conf").stdout
        assert conf == "search ec2.internal\nnameserver 10.40.0.2\n", conf
        changes = s.apply(LIVE.format(assoc=", dhcp_options_id: corp"))
        texts = [c.text for c in changes.changes]
        assert "associate dhcp options corp with vpc main" in texts, texts
        after = Running(s.model)
        conf = after.exec("web", "cat", "/etc/resolv.conf").stdout
        assert conf == "search corp.example\nnameserver 10.40.0.53\nnameserver 10.40.0.2\n", conf
        addr = after.exec("web", "ip", "-4", "-brief", "addr", "show", "dev", "eth0").stdout
        assert "10.40.1.10/24" in addr, addr


def test_a_set_changed_in_the_file_reaches_running_instances() -> None:
    """10.20: a set cannot be modified on AWS; a set whose options changed in the file is
    created anew and associated, and the instances take its options at their renewal."""
    text = LIVE.format(assoc=", dhcp_options_id: corp")
    with live(text) as s:
        changes = s.apply(text.replace("corp.example", "new.example"))
        texts = [c.text for c in changes.changes]
        assert "associate dhcp options corp with vpc main" in texts, texts
        conf = Running(s.model).exec("web", "cat", "/etc/resolv.conf").stdout
        assert conf.startswith("search new.example\n"), conf
