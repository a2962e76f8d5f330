"""Terraform import of IPv6 fields: VPC and subnet blocks, egress-only gateways, IPv6
routes, IPv6 rules and instance addresses (ref 16.1-16.6)."""

from __future__ import annotations

from typing import Any

from netemu.interop.terraform_read import terraform_to_data
from netemu.interop.to_scenario import describe_to_scenario
from netemu.interop.write_yaml import dump
from netemu.model import load_model_text


def _res(kind: str, label: str, **values: Any) -> dict[str, Any]:
    return {"address": f"{kind}.{label}", "mode": "managed", "type": kind, "name": label,
            "values": values}  # fmt: skip


VPC = "vpc-0a00000000000v6"
STATE = {
    "format_version": "1.0",
    "values": {
        "root_module": {
            "resources": [
                _res("aws_vpc", "main", id=VPC, cidr_block="10.70.0.0/16",
                     assign_generated_ipv6_cidr_block=True, ipv6_cidr_block="2001:db8:7::/56",
                     tags={"Name": "main"}),
                _res("aws_subnet", "private", id="subnet-0a0000000000v6", vpc_id=VPC,
                     cidr_block="10.70.2.0/24", ipv6_cidr_block="2001:db8:7:2::/64",
                     assign_ipv6_address_on_creation=True, availability_zone="us-east-1a",
                     tags={"Name": "private"}),
                _res("aws_egress_only_internet_gateway", "eigw", id="eigw-0a00000000000v6",
                     vpc_id=VPC, tags={"Name": "eigw"}),
                _res("aws_route_table", "private", id="rtb-0a00000000000v6", vpc_id=VPC,
                     route=[{"ipv6_cidr_block": "::/0",
                             "egress_only_gateway_id": "eigw-0a00000000000v6"}],
                     tags={"Name": "private"}),
                _res("aws_route_table_association", "private", route_table_id="rtb-0a00000000000v6",
                     subnet_id="subnet-0a0000000000v6", id="rtbassoc-0a0000000v6"),
                _res("aws_security_group", "web", id="sg-0a00000000000v6", vpc_id=VPC,
                     name="web", ingress=[{"protocol": "tcp", "from_port": 22, "to_port": 22,
                                           "cidr_blocks": [], "ipv6_cidr_blocks": ["::/0"],
                                           "security_groups": [], "self": False}],
                     egress=[], tags={"Name": "web"}),
                _res("aws_instance", "db", id="i-0a000000000000v6", subnet_id="subnet-0a0000000000v6",
                     private_ip="10.70.2.10", ipv6_addresses=["2001:db8:7:2::20"],
                     vpc_security_group_ids=["sg-0a00000000000v6"], tags={"Name": "db"}),
            ]
        }
    },
}  # fmt: skip


def _model(doc: dict[str, Any]) -> Any:
    data, notes = terraform_to_data(doc, "tf.json")
    scenario, more = describe_to_scenario(data, "tf6")
    return load_model_text(dump(scenario), "tf6.yaml")[0], [str(n) for n in notes + more]


def test_a_state_with_ipv6_imports_blocks_gateway_routes_rules_and_addresses() -> None:
    """16.1-16.6: every IPv6 field of the state reaches the model."""
    model, notes = _model(STATE)
    assert not [n for n in notes if "IPv6" in n or "egress" in n], notes
    assert str(model.vpcs["main"].ipv6_cidr) == "2001:db8:7::/56"
    sub = model.subnets["private"]
    assert (str(sub.ipv6_cidr), sub.assign_ipv6_address_on_creation) == ("2001:db8:7:2::/64", True)
    eigw = model.egress_only_internet_gateways["eigw"]
    assert (eigw.id, eigw.vpc) == ("eigw-0a00000000000v6", "main")
    routes = [(str(r.destination), r.target_kind, r.target)
              for r in model.route_tables["private"].ipv6_routes]  # fmt: skip
    assert ("::/0", "egress_only_internet_gateway", "eigw") in routes
    web = model.group("main", "web")
    assert web is not None
    assert [(str(r.cidr_ipv6), r.ports) for r in web.ingress] == [("::/0", (22, 22))]
    assert str(model.instances["db"].ipv6_address) == "2001:db8:7:2::20"


def test_a_plans_amazon_provided_block_becomes_ipv6_true() -> None:
    """16.1: a plan does not know the block AWS will pick; netemu picks one of its own."""
    import copy

    plan = copy.deepcopy(STATE)
    resources = plan["values"]["root_module"]["resources"]
    vpc = resources[0]["values"]
    del vpc["ipv6_cidr_block"]
    plan["values"]["root_module"]["resources"] = [resources[0]]
    model, _ = _model(plan)
    assert model.vpcs["main"].ipv6_cidr is not None
    assert model.vpcs["main"].ipv6_cidr.subnet_of(
        __import__("ipaddress").IPv6Network("2001:db8::/32")
    )


def _planned(kind: str, label: str, values: dict[str, Any], **refs: list[str]) -> tuple[Any, Any]:
    res = {"address": f"{kind}.{label}", "mode": "managed", "type": kind, "name": label,
           "values": {**values, "tags": {"Name": label}}}  # fmt: skip
    conf = {"address": f"{kind}.{label}", "type": kind, "name": label,
            "expressions": {k: {"references": v} for k, v in refs.items()}}  # fmt: skip
    return res, conf


def test_a_plan_with_ipv6_gets_blocks_picked_and_follows_the_egress_only_gateway() -> None:
    """16.1, 16.2, 16.5: in a plan the VPC's and subnet's blocks are known after apply
    (`ipv6: true`, `ipv6_cidr: auto`); the egress-only gateway gets an `eigw-` id and the
    ::/0 route to it is followed through the configuration's references."""
    pairs = [
        _planned("aws_vpc", "main", {"cidr_block": "10.71.0.0/16",
                                     "assign_generated_ipv6_cidr_block": True}),
        _planned("aws_subnet", "private", {"cidr_block": "10.71.2.0/24",
                                           "assign_ipv6_address_on_creation": True},
                 vpc_id=["aws_vpc.main.id", "aws_vpc.main"],
                 ipv6_cidr_block=["aws_vpc.main.ipv6_cidr_block", "aws_vpc.main"]),
        _planned("aws_egress_only_internet_gateway", "eigw", {},
                 vpc_id=["aws_vpc.main.id", "aws_vpc.main"]),
        _planned("aws_route_table", "private", {}, vpc_id=["aws_vpc.main.id", "aws_vpc.main"]),
        _planned("aws_route", "v6", {"destination_ipv6_cidr_block": "::/0"},
                 route_table_id=["aws_route_table.private.id", "aws_route_table.private"],
                 egress_only_gateway_id=["aws_egress_only_internet_gateway.eigw.id",
                                         "aws_egress_only_internet_gateway.eigw"]),
        _planned("aws_route_table_association", "private", {},
                 route_table_id=["aws_route_table.private.id", "aws_route_table.private"],
                 subnet_id=["aws_subnet.private.id", "aws_subnet.private"]),
    ]  # fmt: skip
    plan = {
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": [r for r, _ in pairs]}},
        "configuration": {"root_module": {"resources": [c for _, c in pairs]}},
    }
    model, notes = _model(plan)
    assert model.vpcs["main"].ipv6_cidr is not None
    sub = model.subnets["private"]
    assert sub.ipv6_cidr is not None and sub.ipv6_cidr.subnet_of(model.vpcs["main"].ipv6_cidr)
    assert sub.assign_ipv6_address_on_creation
    (eigw,) = model.egress_only_internet_gateways.values()
    assert eigw.id.startswith("eigw-")
    routes = [
        (str(r.destination), r.target_kind) for r in model.route_tables["private"].ipv6_routes
    ]
    assert ("::/0", "egress_only_internet_gateway") in routes, (routes, notes)
