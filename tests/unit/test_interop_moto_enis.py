"""A multi-homed instance made through boto3 on moto's EC2 server (CreateNetworkInterface,
AttachNetworkInterface, AssignPrivateIpAddresses), imported live: the scenario holds its
second ENI and its secondary private IPs (ref 9.20, 9.21)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from netemu.model import load_model
from tests.unit.interop_accounts import REGION, build_webdb, client, moto_endpoint

__all__ = ["moto_endpoint"]  # the fixture, used by name
ROOT = Path(__file__).resolve().parents[2]


def test_a_second_eni_and_secondary_ips_made_on_moto_import_live(
    moto_endpoint: str, tmp_path: Path
) -> None:
    ec2 = client(moto_endpoint)
    build_webdb(ec2)
    subnets = {
        t["Value"]: s["SubnetId"]
        for s in ec2.describe_subnets()["Subnets"]
        for t in s.get("Tags", [])
        if t["Key"] == "Name"
    }
    web = next(
        i
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if {"Key": "Name", "Value": "web"} in i.get("Tags", [])
    )
    eni = ec2.create_network_interface(
        SubnetId=subnets["private"],
        PrivateIpAddress="172.30.1.50",
        TagSpecifications=[
            {"ResourceType": "network-interface", "Tags": [{"Key": "Name", "Value": "web-back"}]}
        ],
    )["NetworkInterface"]["NetworkInterfaceId"]
    ec2.attach_network_interface(
        NetworkInterfaceId=eni, InstanceId=web["InstanceId"], DeviceIndex=1
    )
    ec2.assign_private_ip_addresses(NetworkInterfaceId=eni, PrivateIpAddresses=["172.30.1.51"])
    out = tmp_path / "live.yaml"
    r = subprocess.run(
        [sys.executable, "-m", "netemu.cli", "import", "--endpoint-url", moto_endpoint,
         "--region", REGION, "-o", str(out)],
        capture_output=True, text=True, timeout=180, check=False, cwd=ROOT,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    model, _ = load_model(str(out))
    nic = next(iter(model.network_interfaces.values()))
    assert (nic.id, nic.owner, nic.device_index, nic.subnet) == (eni, "web", 1, "private")
    assert [str(a) for a in nic.private_ips] == ["172.30.1.50", "172.30.1.51"]
    assert nic.name == "web-back"
