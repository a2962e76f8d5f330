"""Prefix lists and DHCP options sets through import and export (ref 19.1, 19.5, 10.20,
10.23): moto's account read live, get-managed-prefix-list-entries files named by list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netemu.errors import ScenarioInvalid
from netemu.interop import describe_to_scenario, model_to_describe
from netemu.interop.endpoint_read import read_client
from netemu.interop.sources import load
from netemu.interop.write_yaml import dump
from netemu.model import load_model, load_model_text
from tests.unit.interop_accounts import REGION, client, moto_endpoint

__all__ = ["moto_endpoint"]
ROOT = Path(__file__).resolve().parents[2]


def test_an_account_with_a_list_and_a_set_imports_live(moto_endpoint: str) -> None:
    """19.3, 19.5, 10.20: the list with its entries (get-managed-prefix-list-entries), the
    rule naming it, the set and the VPC associated with it."""
    ec2 = client(moto_endpoint)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    pl = ec2.create_managed_prefix_list(
        PrefixListName="office",
        AddressFamily="IPv4",
        MaxEntries=5,
        Entries=[{"Cidr": "198.51.100.0/24", "Description": "tokyo"}],
    )["PrefixList"]["PrefixListId"]
    sg = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=sg,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "PrefixListIds": [{"PrefixListId": pl}],
            }
        ],
    )
    dopt = ec2.create_dhcp_options(
        DhcpConfigurations=[
            {"Key": "domain-name", "Values": ["corp.example"]},
            {"Key": "domain-name-servers", "Values": ["10.0.0.53"]},
        ]
    )["DhcpOptions"]["DhcpOptionsId"]
    ec2.associate_dhcp_options(DhcpOptionsId=dopt, VpcId=vpc)
    data, _ = read_client(ec2)
    scenario, _ = describe_to_scenario(data, name="mpl", region=REGION)
    model, _ = load_model_text(dump(scenario))
    office = next(p for p in model.prefix_lists.values() if p.id == pl)
    assert [str(e.cidr) for e in office.entries] == ["198.51.100.0/24"]
    web = next(g for g in model.security_groups.values() if g.id == sg)
    assert [r.prefix_list for r in web.ingress] == [office.name]
    main = next(v for v in model.vpcs.values() if v.id == vpc)
    assert main.dhcp_options is not None
    assert model.dhcp_options[main.dhcp_options].domain_name == "corp.example"


def test_entries_files_name_their_list_by_file_name_or_by_a_wrapper(tmp_path: Path) -> None:
    """19.5: export writes get-managed-prefix-list-entries.<pl-id>.json; import reads it
    back by its name, or by a PrefixListId beside Entries; neither is refused."""
    model, _ = load_model(str(ROOT / "scenarios/book/prefix-lists.yaml"))
    calls = model_to_describe(model)
    pl = model.prefix_lists["office"]
    assert f"get-managed-prefix-list-entries.{pl.id}" in calls
    for call, doc in calls.items():
        (tmp_path / f"{call}.json").write_text(json.dumps(doc))
    again, _ = load_model_text(dump(describe_to_scenario(load([str(tmp_path)])[0])[0]))
    assert again.prefix_lists["office"].entries == pl.entries
    entries = tmp_path / f"get-managed-prefix-list-entries.{pl.id}.json"
    doc = json.loads(entries.read_text())
    entries.unlink()
    (tmp_path / "entries.json").write_text(json.dumps({"PrefixListId": pl.id, **doc}))
    again, _ = load_model_text(dump(describe_to_scenario(load([str(tmp_path)])[0])[0]))
    assert again.prefix_lists["office"].entries == pl.entries
    (tmp_path / "entries.json").write_text(json.dumps(doc))
    with pytest.raises(ScenarioInvalid, match="Entries of which prefix list"):
        load([str(tmp_path)])


def test_export_shows_the_vpcs_set_and_the_route_to_the_list_once() -> None:
    """10.23, 19.4: describe-vpcs names the VPC's set; a route to a list is one route."""
    model, _ = load_model(str(ROOT / "scenarios/book/dhcp-options.yaml"))
    calls = model_to_describe(model)
    corp = model.dhcp_options["corp-options"]
    vpcs = {v["VpcId"]: v["DhcpOptionsId"] for v in calls["describe-vpcs"]["Vpcs"]}
    assert vpcs[model.vpcs["corp"].id] == corp.id
    assert vpcs[model.vpcs["lab"].id] != corp.id
    model, _ = load_model(str(ROOT / "scenarios/book/prefix-lists.yaml"))
    tables = model_to_describe(model)["describe-route-tables"]["RouteTables"]
    partners = next(t for t in tables if t["RouteTableId"] == model.route_tables["partners"].id)
    to_lists = [r for r in partners["Routes"] if "DestinationPrefixListId" in r]
    assert len(to_lists) == 1 and "DestinationCidrBlock" not in to_lists[0]


def test_terraform_export_writes_the_list_the_set_and_one_route_to_the_list() -> None:
    """19.1, 19.4, 10.20: aws_ec2_managed_prefix_list with its entries, rules and routes
    naming it by reference; aws_vpc_dhcp_options and its association."""
    from netemu.interop.export_terraform import model_to_terraform

    tf = model_to_terraform(load_model(str(ROOT / "scenarios/book/prefix-lists.yaml"))[0])
    assert tf.count('resource "aws_ec2_managed_prefix_list" "office"') == 1
    assert tf.count("destination_prefix_list_id = aws_ec2_managed_prefix_list.office.id") == 1
    assert "prefix_list_id = aws_ec2_managed_prefix_list.office.id" in tf
    tf = model_to_terraform(load_model(str(ROOT / "scenarios/book/dhcp-options.yaml"))[0])
    assert 'domain_name_servers = ["AmazonProvidedDNS", "10.20.0.53"]' in tf
    assert "dhcp_options_id = aws_vpc_dhcp_options.corp-options.id" in tf


def test_terraform_state_with_a_list_and_a_set_imports() -> None:
    """19.1, 19.3, 10.20: aws_ec2_managed_prefix_list (inline entries and a separate
    aws_ec2_managed_prefix_list_entry), a rule naming it, aws_vpc_dhcp_options and its
    association, from `terraform show -json`."""
    from netemu.interop.terraform_read import terraform_to_data

    def res(kind: str, label: str, **values: object) -> dict[str, object]:
        return {
            "address": f"{kind}.{label}",
            "mode": "managed",
            "type": kind,
            "name": label,
            "values": values,
        }

    doc = {
        "format_version": "1.0",
        "values": {
            "root_module": {
                "resources": [
                    res(
                        "aws_vpc",
                        "main",
                        id="vpc-0a",
                        cidr_block="10.0.0.0/16",
                        tags={"Name": "main"},
                    ),
                    res(
                        "aws_ec2_managed_prefix_list",
                        "office",
                        id="pl-0a",
                        name="office",
                        address_family="IPv4",
                        max_entries=4,
                        entry=[{"cidr": "198.51.100.0/24", "description": "tokyo"}],
                    ),
                    res(
                        "aws_ec2_managed_prefix_list_entry",
                        "osaka",
                        prefix_list_id="pl-0a",
                        cidr="192.0.2.0/24",
                    ),
                    res(
                        "aws_security_group",
                        "web",
                        id="sg-0a",
                        vpc_id="vpc-0a",
                        name="web",
                        ingress=[],
                        egress=[],
                    ),
                    res(
                        "aws_vpc_security_group_ingress_rule",
                        "ssh",
                        security_group_id="sg-0a",
                        ip_protocol="tcp",
                        from_port=22,
                        to_port=22,
                        prefix_list_id="pl-0a",
                    ),
                    res(
                        "aws_vpc_dhcp_options",
                        "corp",
                        id="dopt-0a",
                        domain_name="corp.example",
                        domain_name_servers=["AmazonProvidedDNS"],
                        ntp_servers=["10.0.0.123"],
                    ),
                    res(
                        "aws_vpc_dhcp_options_association",
                        "main",
                        vpc_id="vpc-0a",
                        dhcp_options_id="dopt-0a",
                    ),
                ]
            }
        },
    }
    data, _ = terraform_to_data(doc, "state.json")
    scenario, _ = describe_to_scenario(data, name="tfpl", region="us-east-1")
    model, _ = load_model_text(dump(scenario))
    office = model.prefix_lists["office"]
    assert [str(e.cidr) for e in office.entries] == ["198.51.100.0/24", "192.0.2.0/24"]
    web = model.group("main", "web")
    assert web is not None and [r.prefix_list for r in web.ingress] == ["office"]
    assert model.vpcs["main"].dhcp_options is not None
    corp = model.dhcp_options[model.vpcs["main"].dhcp_options]
    assert corp.domain_name == "corp.example" and [str(x) for x in corp.ntp_servers] == [
        "10.0.0.123"
    ]
