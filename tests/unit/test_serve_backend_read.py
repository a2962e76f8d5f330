"""`netemu serve` reads security groups straight from moto's backend after a rule change
(serve.backend_read): what it reads is what describe-security-groups through boto3 says."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from netemu.serve.account import Account
from netemu.serve.backend_read import READERS
from netemu.serve.book import build_webdb


@pytest.fixture
def account() -> Iterator[Account]:
    a = Account("ap-northeast-1")
    yield a
    a.close()


def _client() -> Any:
    return boto3.client(
        "ec2", region_name="ap-northeast-1", aws_access_key_id="t", aws_secret_access_key="t"
    )


def test_security_groups_read_from_the_backend_equal_boto3s_describe(account: Account) -> None:
    ec2 = _client()
    ids = build_webdb(ec2)
    vpc6 = ec2.create_vpc(CidrBlock="10.7.0.0/16", AmazonProvidedIpv6CidrBlock=True)["Vpc"]
    sg = ec2.create_security_group(
        GroupName="mixed",
        Description="every kind of rule",
        VpcId=vpc6["VpcId"],
        TagSpecifications=[
            {"ResourceType": "security-group", "Tags": [{"Key": "Name", "Value": "m"}]}
        ],
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=sg,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "ssh"}, {"CidrIp": "10.0.0.0/8"}],
                "Ipv6Ranges": [{"CidrIpv6": "::/0", "Description": "ssh6"}],
            },
            {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": sg, "Description": "self"}]},
            {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "IpRanges": [{"CidrIp": "192.0.2.1/32"}]},
            {"IpProtocol": "udp", "FromPort": 1000, "ToPort": 2000, "UserIdGroupPairs": [{"GroupId": ids["ssh"]}]},
        ],
    )  # fmt: skip
    ec2.authorize_security_group_egress(
        GroupId=ids["ssh"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "198.51.100.0/24"}]}],
    )  # fmt: skip
    ec2.revoke_security_group_egress(
        GroupId=sg,
        IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    described = ec2.describe_security_groups()["SecurityGroups"]
    assert len(described) >= 4
    assert READERS["SecurityGroups"](account.backend()) == described


def test_what_each_action_rereads_equals_a_full_read(account: Account, tmp_path: Any) -> None:
    """After a call, `netemu serve` reads again only what the call can change (REFRESH),
    the rest kept from before: what each action re-reads comes out as a full read gives it,
    through the backend or through boto3 (every page, or the one answer of a call that
    has no pages, such as describe-addresses)."""
    from netemu.serve.reconcile import REFRESH, Reconciler

    ec2 = _client()
    ids = build_webdb(ec2)
    r = Reconciler(account, "rb", str(tmp_path), None)
    stale = r.read()
    ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=2, MaxCount=2, SubnetId=ids["private"],
        SecurityGroupIds=[ids["default"]],
    )  # fmt: skip
    ec2.authorize_security_group_ingress(
        GroupId=ids["ssh"], IpProtocol="tcp", FromPort=80, ToPort=80, CidrIp="10.0.0.0/8"
    )
    full = r.read()
    assert full != stale
    for action, keys in REFRESH.items():
        r._data = {k: (stale[k] if k in keys else v) for k, v in full.items()}
        assert r.read(action) == full, action
