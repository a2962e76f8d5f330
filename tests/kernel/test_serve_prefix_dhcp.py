"""`netemu serve` with prefix lists and DHCP options sets (ref 19.3, 19.5, 10.20): calls made
through the EC2 API reach the kernel through the import mapping (interop.prefix_lists,
interop.dhcp_options), as every other call does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import test_serve
from test_serve import Served, _probe, netemu, serving

from netemu.serve.book import build_webdb

NAME = "svpl"


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    monkeypatch.setattr(test_serve, "NAME", NAME)  # a scenario of this file's own (_probe)
    with serving(tmp_path / "state", NAME) as s:
        yield s


def test_a_rule_naming_a_list_follows_modify_managed_prefix_list(served: Served) -> None:
    """19.3, 19.5: ssh to web admitted only by a list; the internet host is outside it,
    then added by ModifyManagedPrefixList, and the next probe is admitted."""
    ec2 = served.client()
    ids = build_webdb(ec2)
    pl = ec2.create_managed_prefix_list(  # type: ignore[attr-defined]
        PrefixListName="office",
        AddressFamily="IPv4",
        MaxEntries=5,
        Entries=[{"Cidr": "192.0.2.0/24"}],
    )["PrefixList"]["PrefixListId"]
    ssh = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22}
    ec2.revoke_security_group_ingress(  # type: ignore[attr-defined]
        GroupId=ids["ssh"], IpPermissions=[{**ssh, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )
    ec2.authorize_security_group_ingress(  # type: ignore[attr-defined]
        GroupId=ids["ssh"], IpPermissions=[{**ssh, "PrefixListIds": [{"PrefixListId": pl}]}]
    )
    blocked = _probe("internet", "web", "--tcp", "22")
    assert blocked["result"] == "blocked", blocked
    ec2.modify_managed_prefix_list(  # type: ignore[attr-defined]
        PrefixListId=pl, CurrentVersion=1, AddEntries=[{"Cidr": "198.51.100.0/24"}]
    )
    assert _probe("internet", "web", "--tcp", "22")["result"] == "reachable"
    assert netemu("verify", NAME).returncode == 0


def test_associate_dhcp_options_reaches_the_instances(served: Served) -> None:
    """10.20: CreateDhcpOptions + AssociateDhcpOptions: web's resolv.conf follows."""
    ec2 = served.client()
    ids = build_webdb(ec2)
    dopt = ec2.create_dhcp_options(  # type: ignore[attr-defined]
        DhcpConfigurations=[
            {"Key": "domain-name", "Values": ["corp.example"]},
            {"Key": "domain-name-servers", "Values": ["AmazonProvidedDNS"]},
            {"Key": "ntp-servers", "Values": ["172.30.0.123"]},
        ]
    )["DhcpOptions"]["DhcpOptionsId"]
    subnet = ec2.describe_subnets(SubnetIds=[ids["public"]])["Subnets"][0]  # type: ignore[attr-defined]
    ec2.associate_dhcp_options(DhcpOptionsId=dopt, VpcId=subnet["VpcId"])  # type: ignore[attr-defined]
    out = netemu("exec", "-s", NAME, "web", "--", "cat", "/etc/resolv.conf")
    assert out.stdout == "search corp.example\nnameserver 172.30.0.2\n", out.stdout + out.stderr
