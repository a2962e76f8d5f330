"""`netemu serve` with a multi-homed instance: CreateNetworkInterface, AttachNetworkInterface
and AssignPrivateIpAddresses through boto3 land in the kernel (ref 9.20, 9.21)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_serve import NAME, Served, netemu, serving

from netemu.serve.book import build_webdb


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with serving(tmp_path / "state", NAME) as s:
        yield s


def _result(*args: str) -> str:
    out = netemu("probe", "-s", NAME, *args, "--json")
    assert out.returncode in (0, 1), out.stderr
    return str(json.loads(out.stdout)["result"])


def test_a_second_eni_and_a_secondary_ip_made_through_the_api_answer(served: Served) -> None:
    """ref 9.20, 9.21: web gets an ENI in the private subnet (device index 1, the default
    group) and a secondary IP there; db reaches both addresses, which answer on web."""
    ec2 = served.client()
    ids = build_webdb(ec2)
    eni = ec2.create_network_interface(  # type: ignore[attr-defined]
        SubnetId=ids["private"], PrivateIpAddress="172.30.1.50", Groups=[ids["default"]]
    )["NetworkInterface"]["NetworkInterfaceId"]
    ec2.attach_network_interface(  # type: ignore[attr-defined]
        NetworkInterfaceId=eni, InstanceId=ids["web"], DeviceIndex=1
    )
    ec2.assign_private_ip_addresses(  # type: ignore[attr-defined]
        NetworkInterfaceId=eni, PrivateIpAddresses=["172.30.1.51"]
    )
    assert _result("db", "172.30.1.50", "--tcp", "22") == "reachable"
    assert _result("db", "172.30.1.51", "--tcp", "22") == "reachable"
    assert netemu("verify", NAME).returncode == 0
