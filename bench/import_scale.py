"""Time `netemu import` of a large account: 200 subnets and 1,000 instances (target < 2 s).

Run: python bench/import_scale.py [SUBNETS] [INSTANCES]. Prints the time of each stage:
reading the JSON, describe -> scenario, YAML, validation (the same steps as the command).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from typing import Any

from netemu.interop import describe_to_scenario, sources, write_yaml
from netemu.interop.nodes import to_node
from netemu.model.resolve import resolve


def account(subnets: int, instances: int) -> dict[str, Any]:
    """describe-* output of one /16 VPC with `subnets` /24s and `instances` spread over them."""
    vpc = "vpc-0a00000000000000a"
    group = {
        "GroupId": "sg-0a00000000000000a",
        "GroupName": "default",
        "VpcId": vpc,
        "IpPermissions": [
            {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-0a00000000000000a"}]}
        ],
        "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    }
    nets = [
        {
            "SubnetId": f"subnet-{n:017x}",
            "VpcId": vpc,
            "CidrBlock": f"10.0.{n}.0/24",
            "AvailabilityZone": "us-east-1" + "abc"[n % 3],
            "Tags": [{"Key": "Name", "Value": f"net-{n}"}],
        }
        for n in range(subnets)
    ]
    reservations = []
    for i in range(instances):
        n = i % subnets
        ip = f"10.0.{n}.{10 + i // subnets}"
        reservations.append(
            {
                "Instances": [
                    {
                        "InstanceId": f"i-{i:017x}",
                        "State": {"Code": 16, "Name": "running"},
                        "SubnetId": nets[n]["SubnetId"],
                        "VpcId": vpc,
                        "PrivateIpAddress": ip,
                        "SecurityGroups": [{"GroupId": group["GroupId"], "GroupName": "default"}],
                        "NetworkInterfaces": [
                            {
                                "NetworkInterfaceId": f"eni-{i:017x}",
                                "Attachment": {"DeviceIndex": 0},
                                "Groups": [{"GroupId": group["GroupId"]}],
                            }
                        ],
                        "Tags": [{"Key": "Name", "Value": f"app-{i}"}],
                    }
                ]
            }
        )
    return {
        "Vpcs": [
            {"VpcId": vpc, "CidrBlock": "10.0.0.0/16", "Tags": [{"Key": "Name", "Value": "big"}]}
        ],
        "Subnets": nets,
        "SecurityGroups": [group],
        "Reservations": reservations,
    }


def timed_import(subnets: int = 200, instances: int = 1000) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        for key, items in account(subnets, instances).items():
            with open(os.path.join(folder, f"{key}.json"), "w") as f:
                json.dump({key: items}, f, indent=4)
        t0 = time.perf_counter()
        data, _, region = sources.load([folder])
        t1 = time.perf_counter()
        scenario, notes = describe_to_scenario(data, "big", region)
        t2 = time.perf_counter()
        text = write_yaml.dump(scenario, write_yaml.header(folder, notes))
        t3 = time.perf_counter()
        model, _ = resolve(to_node(scenario, "big.yaml"), "big.yaml")
        t4 = time.perf_counter()
    assert len(model.subnets) == subnets and len(model.instances) == instances
    assert text.count("\n") > instances
    return {
        "read": t1 - t0,
        "convert": t2 - t1,
        "yaml": t3 - t2,
        "validate": t4 - t3,
        "total": t4 - t0,
    }


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    times = timed_import(*args)
    print("  ".join(f"{k} {v:.3f}s" for k, v in times.items()))
