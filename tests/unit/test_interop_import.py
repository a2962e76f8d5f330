"""`netemu import` of describe-* JSON: recognition, names, ids, notes, --strict, bad input
(scenario-format.md 6.1; reference section 11)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from netemu.errors import ScenarioInvalid
from netemu.interop import describe_to_scenario
from netemu.interop.write_yaml import dump, header
from netemu.model import load_model, load_model_text
from netemu.model.lookup import by_id
from tests.unit.problems import errors

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "tests/unit/data/interop/cli-examples"


def netemu(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netemu.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )


def vpc(
    vid: str = "vpc-0a1b", name: str | None = "main", cidr: str = "10.0.0.0/16"
) -> dict[str, Any]:
    tags = [{"Key": "Name", "Value": name}] if name else []
    return {"VpcId": vid, "CidrBlock": cidr, "Tags": tags}


def test_files_are_recognised_by_their_top_level_key_and_every_gap_is_listed(
    tmp_path: Path,
) -> None:
    """ref 11: what netemu cannot emulate is listed with its id and why."""
    out = tmp_path / "cli.yaml"
    r = netemu("import", str(EXAMPLES), "-o", str(out))
    assert r.returncode == 0, r.stderr
    for line in (
        "vpce-0f89a33420c1931d7: interface endpoints to com.amazonaws.us-east-1.elasticloadbalancing are not emulated",
        "rtb-3d560345: route 192.168.0.0/16 -> pcx-11223344556677889: its VPC peering connection is not part of the import",
        "subnet-d6fcaa8d: IPv6 CIDR 2001:db8:1234:1a00::/64: its VPC has no IPv6 block here",
    ):
        assert f"netemu import: unsupported: {line}" in r.stderr
        assert f"#   {line}" in out.read_text()  # the file says what it lacks, too
    assert "i-0598c7d356eba48d7: state terminated" in r.stderr
    added = "# Added by netemu (not in AWS): internet host 'internet' at 198.51.100.10."
    assert added in out.read_text()
    model, _ = load_model(str(out))
    acl = model.network_acls["acl-9aeb5ef7"]
    first = acl.ingress[0]
    assert (first.number, first.action, str(first.cidr)) == (100, "deny", "162.243.144.192/32")
    assert model.instances["my-instance"].id == "i-1234567890abcdef0"
    # its secondary private IP is imported (ref 9.21)
    assert [str(a) for a in model.instances["my-instance"].eni.secondary_private_ips] == [
        "10.0.2.158"
    ]
    # IPv6 rules are imported (ref 16.6): the ACL's IPv6 entry and the group's CidrIpv6
    assert [(r.number, str(r.cidr)) for r in acl.ingress_ipv6][:1] == [(120, "::/0")]
    assert any(
        str(r.cidr_ipv6) == "2001:db8::/32"
        for g in model.security_groups.values()
        for r in g.ingress
    )


def test_strict_turns_the_list_into_errors_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "cli.yaml"
    r = netemu("import", str(EXAMPLES), "-o", str(out), "--strict")
    assert r.returncode == 2
    assert "netemu import: error: vpce-0f89a33420c1931d7: interface endpoints" in r.stderr
    assert not out.exists()


def test_invalid_json_is_refused_with_file_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "vpcs.json"
    bad.write_text('{\n  "Vpcs": [\n    {"VpcId": "vpc-1",}\n  ]\n}\n')
    out = tmp_path / "out.yaml"
    r = netemu("import", str(bad), "-o", str(out))
    assert r.returncode == 2
    assert f"{bad}:3:23: error: not valid JSON" in r.stderr
    assert "Traceback" not in r.stderr and not out.exists()


def test_wrong_shapes_are_refused_at_the_key_that_holds_them(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text(
        '{\n  "Subnets": {"SubnetId": "subnet-1"},\n  "Vpcs": [{"CidrBlock": "10.0.0.0/16"}]\n}\n'
    )
    r = netemu("import", str(bad), "-o", str(tmp_path / "out.yaml"))
    assert r.returncode == 2
    assert f"{bad}:2:3: error: Subnets must be a list, not a dict" in r.stderr
    assert f"{bad}:3:3: error: Vpcs[0] has no VpcId" in r.stderr


def test_a_file_without_describe_output_is_refused_by_name(tmp_path: Path) -> None:
    other = tmp_path / "buckets.json"
    other.write_text('{"Buckets": []}')
    r = netemu("import", str(other), "-o", str(tmp_path / "out.yaml"))
    assert r.returncode == 2
    assert "holds no describe-* output netemu reads (top-level keys: Buckets)" in r.stderr


def test_a_batfish_snapshot_folder_gives_its_region_and_skips_other_services(
    tmp_path: Path,
) -> None:
    region = tmp_path / "snapshot/aws_configs/us-west-2"
    region.mkdir(parents=True)
    (region / "Vpcs.json").write_text(json.dumps({"Vpcs": [vpc()]}))
    subnet = {
        "SubnetId": "subnet-1",
        "VpcId": "vpc-0a1b",
        "CidrBlock": "10.0.1.0/24",
        "AvailabilityZone": "us-west-2b",
    }
    (region / "Subnets.json").write_text(json.dumps({"Subnets": [subnet]}))
    (region / "Buckets.json").write_text('{"Buckets": [{"Name": "logs"}]}')  # out of scope
    out = tmp_path / "bf.yaml"
    r = netemu("import", str(tmp_path / "snapshot"), "-o", str(out))
    assert r.returncode == 0, r.stderr
    model, _ = load_model(str(out))
    assert model.region == "us-west-2" and model.subnets["subnet-1"].az == "us-west-2b"
    assert "Buckets" not in r.stderr and "logs" not in out.read_text()


def test_names_come_from_name_tags_made_valid_and_unique_else_from_ids() -> None:
    data = {
        "Vpcs": [
            vpc("vpc-1", "prod vpc"),
            vpc("vpc-2", "prod/vpc", "10.1.0.0/16"),
            vpc("vpc-3", None, "10.2.0.0/16"),
        ]
    }
    scenario, _ = describe_to_scenario(data)
    assert list(scenario["vpcs"]) == ["prod-vpc", "prod-vpc-2", "vpc-3"]
    assert [v["id"] for v in scenario["vpcs"].values()] == ["vpc-1", "vpc-2", "vpc-3"]


def test_the_default_internet_host_is_added_and_said_unless_given() -> None:
    scenario, notes = describe_to_scenario({"Vpcs": [vpc()]})
    assert scenario["internet"] == {"hosts": {"internet": {"ip": "198.51.100.10"}}}
    assert [(n.id, n.severity) for n in notes] == [("internet", "added")]
    scenario, _ = describe_to_scenario({"Vpcs": [vpc()]}, internet=[("repo", "198.51.100.20")])
    assert scenario["internet"] == {"hosts": {"repo": {"ip": "198.51.100.20"}}}


def test_internet_options_name_the_hosts_in_the_file(tmp_path: Path) -> None:
    out = tmp_path / "o.yaml"
    r = netemu(
        "import",
        str(EXAMPLES),
        "-o",
        str(out),
        "--internet",
        "repo=198.51.100.20",
        "--internet",
        "client=192.0.2.10",
    )
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "internet host 'repo' at 198.51.100.20; internet host 'client' at 192.0.2.10." in text
    model, _ = load_model(str(out))
    # and the emulated DynamoDB its imported gateway endpoint leads to (ref 17.1)
    assert sorted(model.internet_hosts) == ["client", "dynamodb", "repo"]


def test_internet_option_needs_name_equals_ip(tmp_path: Path) -> None:
    r = netemu("import", str(EXAMPLES), "-o", str(tmp_path / "o.yaml"), "--internet", "repo")
    assert r.returncode == 2 and "write NAME=IP" in r.stderr


def test_an_import_that_breaks_an_aws_rule_netemu_checks_is_refused(tmp_path: Path) -> None:
    snap = tmp_path / "vpcs.json"
    six = [vpc(f"vpc-{i}", f"v{i}", f"10.{i}.0.0/16") for i in range(6)]
    snap.write_text(json.dumps({"Vpcs": six}))
    r = netemu("import", str(snap), "-o", str(tmp_path / "o.yaml"))
    assert r.returncode == 2
    assert "netemu import: error: the imported scenario: VPC 'v5' is a VPC too many" in r.stderr
    assert not (tmp_path / "o.yaml").exists()


def test_given_ids_replace_the_derived_ones_and_are_checked() -> None:
    """ref 11: ids keep the AWS prefixes (vpc-, subnet-, i-, ...)."""
    model, _ = load_model_text(
        "vpcs:\n  main: {id: vpc-0a1b2c3d, cidr: 10.0.0.0/16}\n"
        "subnets:\n  a: {id: subnet-1234abcd, vpc: main, cidr: 10.0.0.0/24}\n"
        "instances:\n  web: {id: i-0abc, network_interface_id: eni-0def, subnet: a}\n"
    )
    assert model.vpcs["main"].id == "vpc-0a1b2c3d" and model.subnets["a"].id == "subnet-1234abcd"
    assert model.instances["web"].id == "i-0abc" and model.instances["web"].eni.id == "eni-0def"
    assert by_id(model, "i-0abc") == "web" and by_id(model, "eni-0def") == "web"
    assert by_id(model, "web") == "web" and by_id(model, "subnet-1234abcd") == "a"
    [bad] = errors("vpcs:\n  main: {id: subnet-1, cidr: 10.0.0.0/16}\n")
    assert "VPC 'main' id 'subnet-1' must look like vpc-0a1b2c3d" in bad.message
    twice = errors(
        "vpcs:\n  a: {id: vpc-1, cidr: 10.0.0.0/16}\n  b: {id: vpc-1, cidr: 10.1.0.0/16}\n"
    )
    assert any("id vpc-1 is already the id of VPC 'a'" in p.message for p in twice)


def test_an_auto_assigned_public_ip_is_kept_as_public_ip_address() -> None:
    model, _ = load_model_text(
        "vpcs:\n  main: {cidr: 10.0.0.0/16}\n"
        "subnets:\n  a: {vpc: main, cidr: 10.0.0.0/24, public_ip_on_launch: true}\n"
        "instances:\n  web: {subnet: a, public_ip: 34.253.223.13}\n  app: {subnet: a}\n"
    )
    web, app = model.instances["web"], model.instances["app"]
    assert str(web.public_ip) == "34.253.223.13" and not web.eni.elastic_ip
    assert str(app.public_ip) == "203.0.113.1"  # the pool is untouched


def test_addresses_an_endpoint_invents_are_replaced_and_said() -> None:
    """moto's elastic IPs are 127.x and its NAT private IPs lie outside the subnet."""
    data = {
        "Vpcs": [vpc()],
        "Subnets": [{"SubnetId": "subnet-1", "VpcId": "vpc-0a1b", "CidrBlock": "10.0.0.0/24"}],
        "InternetGateways": [
            {
                "InternetGatewayId": "igw-1",
                "Attachments": [{"VpcId": "vpc-0a1b", "State": "available"}],
            }
        ],
        "NatGateways": [
            {
                "NatGatewayId": "nat-1",
                "SubnetId": "subnet-1",
                "State": "available",
                "NatGatewayAddresses": [{"PrivateIp": "10.9.9.9", "PublicIp": "127.1.2.3"}],
            }
        ],
    }
    scenario, notes = describe_to_scenario(data)
    assert scenario["nat_gateways"]["nat-1"] == {
        "id": "nat-1",
        "subnet": "subnet-1",
        "elastic_ip": "auto",
    }
    changed = [str(n) for n in notes if n.severity == "changed"]
    assert changed == [
        "nat-1: private IP 10.9.9.9 is not inside its subnet 10.0.0.0/24; netemu picks the lowest free",
        "nat-1: public IP 127.1.2.3 is not a public address; netemu picks one from its pool",
    ]


def test_a_shape_error_deep_inside_names_the_source() -> None:
    with pytest.raises(ScenarioInvalid) as caught:
        describe_to_scenario({"Vpcs": [{"VpcId": "vpc-1"}]}, source="snap/")
    assert (
        "snap/: error: unexpected describe-* shape: a required field 'CidrBlock' is missing"
        in str(caught.value)
    )


def test_import_needs_a_source(tmp_path: Path) -> None:
    r = netemu("import", "-o", str(tmp_path / "o.yaml"))
    assert r.returncode == 2 and "give SOURCE files or folders, or --endpoint-url URL" in r.stderr
    r = netemu("import", str(tmp_path / "missing"), "-o", str(tmp_path / "o.yaml"))
    assert r.returncode == 2 and "no such file or folder" in r.stderr


def test_a_copied_snapshot_imports_the_same_whatever_the_file_names(tmp_path: Path) -> None:
    copy = tmp_path / "renamed"
    copy.mkdir()
    for i, f in enumerate(sorted(EXAMPLES.glob("*.json"))):
        shutil.copy(f, copy / f"part{i}.json")
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    assert netemu("import", str(EXAMPLES), "-o", str(a), "--name", "x").returncode == 0
    assert netemu("import", str(copy), "-o", str(b), "--name", "x").returncode == 0
    body = lambda p: p.read_text().split("\nname:", 1)[1]  # noqa: E731
    assert body(a) == body(b)


def test_groups_and_interfaces_the_import_lacks_are_said_once() -> None:
    """A second ENI outside the import's subnets is left out with one note (9.20)."""
    subnet = {"SubnetId": "subnet-1", "VpcId": "vpc-0a1b", "CidrBlock": "10.0.0.0/24"}
    eth1 = {"NetworkInterfaceId": "eni-2", "Attachment": {"DeviceIndex": 1}}
    instance = {
        "InstanceId": "i-1",
        "SubnetId": "subnet-1",
        "PrivateIpAddress": "10.0.0.10",
        "SecurityGroups": [{"GroupId": "sg-elsewhere"}],
        "NetworkInterfaces": [
            {"NetworkInterfaceId": "eni-1", "Attachment": {"DeviceIndex": 0}},
            eth1,
        ],
    }
    enis = [
        {
            "NetworkInterfaceId": "eni-1",
            "VpcId": "vpc-0a1b",
            "Attachment": {"InstanceId": "i-1", "DeviceIndex": 0},
        },
        {
            "NetworkInterfaceId": "eni-2",
            "VpcId": "vpc-0a1b",
            "Attachment": {"InstanceId": "i-1", "DeviceIndex": 1},
        },
    ]
    data = {
        "Vpcs": [vpc()],
        "Subnets": [subnet],
        "Reservations": [{"Instances": [instance]}],
        "NetworkInterfaces": enis,
    }
    _, notes = describe_to_scenario(data)
    said = [str(n) for n in notes if n.severity == "unsupported"]
    assert said == [
        "eni-2: its subnet is not in the import; left out",
        "i-1: security group sg-elsewhere is not in the import (describe-security-groups); left out",
    ]
    eth1["SubnetId"], eth1["PrivateIpAddress"] = "subnet-1", "10.0.0.20"  # type: ignore[assignment]
    scenario, notes = describe_to_scenario(data)
    assert scenario["network_interfaces"]["eni-2"] == {
        "id": "eni-2", "subnet": "subnet-1", "instance": "i-1", "device_index": 1,
        "private_ip": "10.0.0.20",
    }  # fmt: skip
    assert not [n for n in notes if "eni-2" in str(n)]


def test_a_second_group_named_default_is_imported_not_lost() -> None:
    """ref 7.4: one default group per VPC; a snapshot with two keeps both."""
    default = {
        "GroupId": "sg-1",
        "GroupName": "default",
        "VpcId": "vpc-0a1b",
        "Description": "default VPC security group",
        "IpPermissions": [{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-2"}]}],
    }
    other = {
        "GroupId": "sg-2",
        "GroupName": "default",
        "VpcId": "vpc-0a1b",
        "Description": "RDS",
        "Tags": [{"Key": "Name", "Value": "rds"}],
        "IpPermissions": [],
    }
    scenario, _ = describe_to_scenario({"Vpcs": [vpc()], "SecurityGroups": [other, default]})
    assert scenario["vpcs"]["main"]["default_security_group"]["id"] == "sg-1"
    assert scenario["vpcs"]["main"]["default_security_group"]["ingress"] == [
        {"protocol": "all", "security_group": "rds"}
    ]
    assert scenario["security_groups"]["rds"]["id"] == "sg-2"


def test_sources_without_a_vpc_are_refused() -> None:
    with pytest.raises(ScenarioInvalid) as caught:
        describe_to_scenario({"Subnets": []}, source="snap/")
    assert "snap/: error: no VPC to import" in str(caught.value)


def test_ids_with_line_breaks_cannot_inject_yaml_through_the_header_comment() -> None:
    data = {
        "Vpcs": [vpc()],
        "VpcPeeringConnections": [{"VpcPeeringConnectionId": "pcx-1\nname: evil"}],
    }
    scenario, notes = describe_to_scenario(data, "safe")
    text = dump(scenario, header("snap\n/x", notes))
    model, _ = load_model_text(text, "safe.yaml")
    assert model.name == "safe" and "#   pcx-1\\x0aname: evil: VPC peering" in text


def test_default_subnets_belong_to_a_default_vpc() -> None:
    """ref 3.5: DefaultForAz only in the default VPC."""
    [p] = errors(
        "vpcs:\n  main: {cidr: 10.0.0.0/16}\nsubnets:\n  a: {vpc: main, cidr: 10.0.0.0/24, default_for_az: true}\n"
    )
    assert "subnet 'a' is a default subnet in VPC 'main'" in p.message
    model, _ = load_model_text(
        "vpcs:\n  d: {cidr: 172.31.0.0/16, is_default: true}\n"
        "subnets:\n  a: {vpc: d, cidr: 172.31.0.0/20, default_for_az: true}\n"
    )
    assert model.vpcs["d"].is_default and model.vpcs["d"].dns_hostnames  # ref 3.4
    assert model.subnets["a"].default_for_az
    assert list(model.internet_gateways) == []  # is_default builds nothing, unlike default: true
