"""Terraform in and out: `terraform show -json` (state and plan) imports; every shipped
scenario exports as HCL that a real HCL parser (python-hcl2) reads."""

from __future__ import annotations

import glob
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from netemu.interop.export_terraform import model_to_terraform
from netemu.interop.sources import load
from netemu.interop.terraform_read import terraform_to_data
from netemu.interop.to_scenario import describe_to_scenario
from netemu.model import load_model, load_model_text
from tests.unit.test_interop_roundtrip import SHIPPED

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests/unit/data/interop/terraform"


def netemu(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netemu.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )


def test_a_state_imports_like_the_describe_output_of_the_same_account(tmp_path: Path) -> None:
    """The state of the book's web + DB VPC gives the book's layout, with Terraform's ids."""
    out = tmp_path / "tf.yaml"
    r = netemu(
        "import",
        str(DATA / "state-webdb.json"),
        "-o",
        str(out),
        "--name",
        "webdb",
        "--expect-from",
        "scenarios/book/webdb.yaml",
    )
    assert r.returncode == 0, r.stderr
    assert "aws_flow_log" not in r.stderr  # imported (docs/flow-logs.md, ref 12.1)
    assert "vpce-0123456789abcdef0" not in r.stderr  # imported (ref 17.2)
    assert "aws_s3_bucket" not in r.stderr and "webdb-logs" not in out.read_text()
    model, _ = load_model(str(out))
    book, _ = load_model(str(ROOT / "scenarios/book/webdb.yaml"))
    assert model.vpc_endpoints["vpce-0123456789abcdef0"].service == "s3"
    assert model.vpcs["main"].id == "vpc-0c3a1c9e4b1f2a3d4"
    assert model.instances["web"].id == "i-0a1b2c3d4e5f60001"
    assert model.group("main", "default") is not None
    assert model.group("main", "default").id == "sg-0d1e2f3a4b5c6d7e8"  # type: ignore[union-attr]
    for name in ("web", "db"):
        a, b = model.instances[name], book.instances[name]
        assert (a.private_ip, a.public_ip, a.subnet, a.services) == (
            b.private_ip,
            b.public_ip,
            b.subnet,
            b.services,
        )
    ssh = model.group("main", "ssh")
    assert ssh is not None and len(ssh.ingress) == 1  # the separate rule repeats the inline one
    assert [(f.id, f.resource_kind, f.resource, f.traffic_type) for f in model.flow_logs] == [
        ("fl-0123456789abcdef0", "vpc", "main", "ALL")
    ]
    nat = model.nat_gateways["nat"]
    assert str(nat.eni.public_ip) == "203.0.113.50" and nat.id == "nat-0123abcd4567ef890"
    assert [r.target for r in model.route_tables["private"].routes[1:]] == [
        "nat",
        "vpce-0123456789abcdef0",  # the S3 endpoint's prefix-list route (ref 17.2)
    ]


def test_a_plan_imports_with_ids_derived_from_addresses() -> None:
    data, notes, _ = load([str(DATA / "plan-webdb.json")])
    scenario, more = describe_to_scenario(data, "plan")
    assert scenario["subnets"]["public"]["vpc"] == "main"  # aws_vpc.main.id resolved
    assert scenario["route_tables"]["public"]["routes"] == [
        {"destination": "0.0.0.0/0", "internet_gateway": "igw"}
    ]
    assert scenario["subnets"]["public"]["route_table"] == "public"
    assert scenario["nat_gateways"]["nat"]["elastic_ip"] == "auto"  # known after apply
    assert scenario["vpcs"]["main"]["id"].startswith("vpc-")
    assert "public_ip" not in scenario["instances"]["web"]  # the subnet's default applies
    assert [n for n in notes + more if n.severity == "unsupported"] == []


def _resources(doc: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for block in doc.get("resource", []):
        for kind, named in block.items():  # python-hcl2 8 keeps the labels' quotes
            out.setdefault(kind.strip('"'), []).extend(n.strip('"') for n in named)
    return out


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(Path(p).relative_to(ROOT)))
def test_every_shipped_scenario_exports_hcl_that_parses(path: str) -> None:
    hcl2 = pytest.importorskip("hcl2")
    model, _ = load_model(path)
    text = model_to_terraform(model)
    kinds = _resources(hcl2.loads(text))
    for kind, name in re.findall(r"= \[?(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)\.", text):
        assert name in kinds.get(kind, []), f"{kind}.{name} is referenced but not defined"
    assert len(kinds["aws_vpc"]) == len(model.vpcs)
    assert len(kinds["aws_subnet"]) == len(model.subnets)
    assert len(kinds.get("aws_instance", [])) == len(model.instances)
    assert len(kinds.get("aws_nat_gateway", [])) == len(model.nat_gateways)
    rules = sum(len(g.ingress) + len(g.egress) for g in model.security_groups.values())
    written = len(kinds.get("aws_vpc_security_group_ingress_rule", [])) + len(
        kinds.get("aws_vpc_security_group_egress_rule", [])
    )
    assert written == rules


def test_terraform_export_of_webdb_names_every_reference(tmp_path: Path) -> None:
    out = tmp_path / "webdb.tf"
    r = netemu("export", "scenarios/book/webdb.yaml", "--format", "terraform", "-o", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert 'resource "aws_nat_gateway" "nat"' in text
    assert "nat_gateway_id = aws_nat_gateway.nat.id" in text
    assert "referenced_security_group_id = aws_default_security_group.main.id" in text
    assert "# netemu used 203.0.113.50; AWS picks the address" in text
    assert '"netemu:services" = "ssh,http"' in text


def test_both_terraform_fixtures_are_present() -> None:
    assert len(glob.glob(str(DATA / "*.json"))) == 2


def _planned(
    address: str, kind: str, values: dict[str, Any], index: int | None = None
) -> dict[str, Any]:
    full = address if index is None else f"{address}[{index}]"
    return {
        "address": full,
        "mode": "managed",
        "type": kind,
        "name": address.split(".")[-1],
        "index": index,
        "values": values,
    }


def test_a_counted_plan_follows_count_index_references() -> None:
    """`subnet_id = aws_subnet.private[count.index].id`: each association gets its own."""
    ref = lambda *r: {"references": list(r)}  # noqa: E731
    resources = [_planned("aws_vpc.main", "aws_vpc", {"cidr_block": "10.0.0.0/16"})]
    for i in (0, 1):
        resources.append(
            _planned(
                "aws_subnet.private",
                "aws_subnet",
                {"cidr_block": f"10.0.{i}.0/24", "availability_zone": "eu-west-1a"},
                i,
            )
        )
        resources.append(
            _planned("aws_route_table_association.private", "aws_route_table_association", {}, i)
        )
    resources.append(_planned("aws_route_table.private", "aws_route_table", {"route": []}))
    config = [
        {
            "address": "aws_subnet.private",
            "expressions": {"vpc_id": ref("aws_vpc.main.id", "aws_vpc.main")},
        },
        {
            "address": "aws_route_table.private",
            "expressions": {"vpc_id": ref("aws_vpc.main.id", "aws_vpc.main")},
        },
        {
            "address": "aws_route_table_association.private",
            "expressions": {
                "subnet_id": ref("aws_subnet.private", "count.index"),
                "route_table_id": ref("aws_route_table.private.id", "aws_route_table.private"),
            },
        },
    ]
    plan = {
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": resources}},
        "configuration": {"root_module": {"resources": config}},
    }
    data, _ = terraform_to_data(plan, "plan.json")
    scenario, _ = describe_to_scenario(data, "counted")
    (table,) = scenario["route_tables"]
    assert [s.get("route_table") for s in scenario["subnets"].values()] == [table, table]
    assert len({s["id"] for s in scenario["subnets"].values()}) == 2


def test_rule_resources_get_unique_names() -> None:
    hcl2 = pytest.importorskip("hcl2")
    model, _ = load_model_text(
        "vpcs:\n  main: {cidr: 10.0.0.0/16}\n"
        "security_groups:\n  main-default: {vpc: main, ingress: [{protocol: tcp, port: 22, cidr: 0.0.0.0/0}]}\n"
    )
    kinds = _resources(hcl2.loads(model_to_terraform(model)))
    names = kinds["aws_vpc_security_group_ingress_rule"]
    assert len(names) == len(set(names)) == 2


def test_a_state_with_a_second_eni_and_secondary_ips_imports_them() -> None:
    """9.20, 9.21: aws_network_interface with its attachment, and an instance's
    secondary_private_ips, become network_interfaces and secondary_private_ips."""

    def res(address: str, values: dict[str, Any]) -> dict[str, Any]:
        kind, name = address.split(".")
        return {"address": address, "mode": "managed", "type": kind, "name": name,
                "values": values}  # fmt: skip

    az = "eu-west-1a"
    resources = [
        res("aws_vpc.main", {"id": "vpc-1", "cidr_block": "10.0.0.0/16"}),
        res("aws_subnet.front", {"id": "subnet-1", "vpc_id": "vpc-1",
                                 "cidr_block": "10.0.1.0/24", "availability_zone": az}),
        res("aws_subnet.back", {"id": "subnet-2", "vpc_id": "vpc-1",
                                "cidr_block": "10.0.2.0/24", "availability_zone": az}),
        res("aws_instance.app", {"id": "i-1", "subnet_id": "subnet-1", "private_ip": "10.0.1.10",
                                 "secondary_private_ips": ["10.0.1.20"], "tags": {"Name": "app"},
                                 "associate_public_ip_address": False}),
        res("aws_network_interface.nic", {
            "id": "eni-2", "subnet_id": "subnet-2", "private_ips": ["10.0.2.10", "10.0.2.20"],
            "source_dest_check": False, "tags": {"Name": "nic"},
            "attachment": [{"instance": "i-1", "device_index": 1}]}),
    ]  # fmt: skip
    state = {"format_version": "1.0", "values": {"root_module": {"resources": resources}}}
    data, _ = terraform_to_data(state, "state.json")
    scenario, notes = describe_to_scenario(data, "tfenis")
    assert scenario["instances"]["app"]["secondary_private_ips"] == ["10.0.1.20"]
    assert scenario["network_interfaces"]["nic"] == {
        "id": "eni-2", "subnet": "subnet-2", "instance": "app", "device_index": 1,
        "private_ip": "10.0.2.10", "secondary_private_ips": ["10.0.2.20"],
        "source_dest_check": False,
    }  # fmt: skip
    assert not [n for n in notes if "eni-2" in str(n)], notes


def test_terraform_export_writes_the_ipv6_of_a_dual_stack_vpc() -> None:
    """Ref 16.1-16.5, 8.7: AWS picks the VPC's /56, so each subnet takes the /64 at its
    scenario position in whatever block AWS gives; the egress-only gateway, the IPv6 route
    to it, the ACL's IPv6 entries and each instance's address follow."""
    model, _ = load_model(str(ROOT / "scenarios" / "book" / "webdb-dualstack.yaml"))
    hcl = model_to_terraform(model)
    vpc = next(iter(model.vpcs.values()))
    assert "assign_generated_ipv6_cidr_block = true" in hcl
    for s in model.subnets.values():
        assert s.ipv6_cidr is not None and vpc.ipv6_cidr is not None
        n = list(vpc.ipv6_cidr.subnets(new_prefix=64)).index(s.ipv6_cidr)
        assert f"cidrsubnet(aws_vpc.{vpc.name}.ipv6_cidr_block, 8, {n})" in hcl
    assert 'resource "aws_egress_only_internet_gateway" "eigw"' in hcl
    assert re.search(
        r'ipv6_cidr_block = "::/0"\n\s+egress_only_gateway_id = '
        r"aws_egress_only_internet_gateway\.eigw\.id",
        hcl,
    )
    assert hcl.count("ipv6_address_count          = 1") == len(model.instances)
    entries = [r for a in model.network_acls.values() for r in (*a.ingress_ipv6, *a.egress_ipv6)]
    assert entries and hcl.count("  ipv6_cidr_block = ") >= len(entries)
    assert "not written here yet" not in hcl
