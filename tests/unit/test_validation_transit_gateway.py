"""Transit gateways in the model (ref 18.2-18.8): each refusal names the place in the file
and the AWS rule; the default route table, associations and propagations resolve as AWS
makes them; the route table lookup is longest prefix, static before propagated."""

from __future__ import annotations

import json
from ipaddress import IPv4Address

from netemu.model import load_model_text
from netemu.model.transit_gateway import effective_routes, lookup
from netemu.ops import diff
from tests.unit.problems import at, one

BASE = """
vpcs:
  a: {cidr: 10.0.0.0/16}
  b: {cidr: 10.1.0.0/16}
subnets:
  a1: {vpc: a, cidr: 10.0.1.0/24, az: a}
  a2: {vpc: a, cidr: 10.0.2.0/24, az: a}
  a3: {vpc: a, cidr: 10.0.3.0/24, az: c}
  b1: {vpc: b, cidr: 10.1.1.0/24, az: a}
transit_gateways:
  tgw: {}
transit_gateway_attachments:
  att-a: {transit_gateway: tgw, vpc: a, subnet_ids: [a1]}
  att-b: {transit_gateway: tgw, vpc: b, subnets: [b1]}
"""


def test_an_attachment_takes_one_subnet_per_zone_of_its_own_vpc() -> None:
    """18.2: DuplicateSubnetsInSameZone; subnets of another VPC are refused."""
    p = one(BASE.replace("subnet_ids: [a1]", "subnet_ids: [a1, a2]"))
    assert at(p) == "12:58" and "both in us-east-1a" in p.message and "ref 18.2" in p.message
    p = one(BASE.replace("subnet_ids: [a1]", "subnet_ids: [b1]"))
    assert "is in VPC 'b', not 'a'" in p.message
    p = one(BASE.replace("subnet_ids: [a1]", "subnet_ids: []"))
    assert "names no subnet" in p.message
    model, _ = load_model_text(BASE.replace("subnet_ids: [a1]", "subnet_ids: [a1, a3]"))
    assert model.transit_gateway_attachments["att-a"].subnets == ("a1", "a3")


def test_one_attachment_per_vpc_and_gateway() -> None:
    """18.2: DuplicateTransitGatewayAttachment."""
    p = one(BASE + "  att-a2: {transit_gateway: tgw, vpc: a, subnet_ids: [a3]}\n")
    assert at(p) == "14:3" and "already attached to 'tgw' by 'att-a'" in p.message


def test_defaults_make_an_implicit_default_table_with_every_attachment() -> None:
    """18.4: both defaults enabled: `tgw-default` associates and propagates every attachment."""
    model, _ = load_model_text(BASE)
    table = model.transit_gateway_route_tables["tgw-default"]
    assert table.implicit and table.id.startswith("tgw-rtb-")
    assert table.associations == ("att-a", "att-b") == table.propagations
    tgw = model.transit_gateways["tgw"]
    assert tgw.association_default_route_table == "tgw-default"
    assert tgw.id.startswith("tgw-") and not tgw.id.startswith("tgw-attach-")


def test_transit_gateway_defaults_associate_and_propagate_unlisted_attachments() -> None:
    """18.3, 18.4: an attachment named in a table's associations stays there; the others go
    to the default table; a declared default table that lists its propagations keeps them."""
    tables = (
        "transit_gateway_route_tables:\n"
        "  iso: {transit_gateway: tgw, associations: [att-a], propagations: [att-b]}\n"
        "  main:\n    transit_gateway: tgw\n    default_association_route_table: true\n"
        "    default_propagation_route_table: true\n    propagations: [att-a]\n"
    )
    model, _ = load_model_text(BASE + tables)
    assert "tgw-default" not in model.transit_gateway_route_tables
    main = model.transit_gateway_route_tables["main"]
    assert main.associations == ("att-b",) and main.propagations == ("att-a",)
    off = BASE.replace("tgw: {}", "tgw: {default_route_table_association: false, "
                       "default_route_table_propagation: false}")  # fmt: skip
    model, _ = load_model_text(off)
    assert model.transit_gateway_route_tables == {}


def test_an_attachment_is_associated_with_one_table_of_its_own_gateway() -> None:
    """18.3"""
    tables = (
        "transit_gateway_route_tables:\n"
        "  x: {transit_gateway: tgw, associations: [att-a]}\n"
        "  y: {transit_gateway: tgw, associations: [att-a]}\n"
    )
    p = one(BASE + tables)
    assert "already associated with 'x'" in p.message and "ref 18.3" in p.message
    two = BASE.replace("  tgw: {}\n", "  tgw: {}\n  t2: {}\n")
    p = one(
        two + "transit_gateway_route_tables:\n  z: {transit_gateway: t2, propagations: [att-b]}\n"
    )
    assert "is of transit gateway 'tgw'" in p.message


def test_routes_need_one_target_and_one_route_per_destination() -> None:
    """18.5"""
    head = "transit_gateway_route_tables:\n  rt:\n    transit_gateway: tgw\n    routes:\n"
    p = one(BASE + head + "      - {destination_cidr_block: 10.9.0.0/16}\n")
    assert "exactly one of transit_gateway_attachment or blackhole" in p.message
    p = one(BASE + head + "      - {destination_cidr_block: 10.9.0.0/16, blackhole: true}\n"
            "      - {destination: 10.9.0.0/16, transit_gateway_attachment: att-b}\n")  # fmt: skip
    assert at(p) == "19:23" and "RouteAlreadyExists" in p.message


def test_static_route_beats_propagated_and_longest_prefix_wins() -> None:
    """18.5: a static route replaces the propagated one of the same destination; a /24
    static route wins inside a propagated /16."""
    head = "transit_gateway_route_tables:\n  rt:\n    transit_gateway: tgw\n"
    model, _ = load_model_text(
        BASE + head + "    default_association_route_table: true\n"
        "    default_propagation_route_table: true\n    routes:\n"
        "      - {destination_cidr_block: 10.1.0.0/16, blackhole: true}\n"
        "      - {destination_cidr_block: 10.0.9.0/24, transit_gateway_attachment_id: att-b}\n"
    )
    table = model.transit_gateway_route_tables["rt"]
    routes = effective_routes(table, model.transit_gateway_attachments, model.vpcs)
    hit = lookup(routes, IPv4Address("10.1.1.10"))
    assert hit is not None and hit.blackhole and hit.type == "static"
    hit = lookup(routes, IPv4Address("10.0.9.1"))
    assert hit is not None and hit.attachment == "att-b"
    hit = lookup(routes, IPv4Address("10.0.1.1"))
    assert hit is not None and (hit.attachment, hit.type) == ("att-a", "propagated")
    assert lookup(routes, IPv4Address("10.7.0.1")) is None


def test_overlapping_vpc_is_not_propagated_and_warned() -> None:
    """18.6"""
    text = BASE.replace("b: {cidr: 10.1.0.0/16}", "b: {cidr: 10.0.0.0/16}").replace(
        "10.1.1.0/24", "10.0.7.0/24"
    )
    model, warnings = load_model_text(text)
    assert any("not propagated" in w.message and "ref 18.6" in w.message for w in warnings)
    table = model.transit_gateway_route_tables["tgw-default"]
    routes = effective_routes(table, model.transit_gateway_attachments, model.vpcs)
    assert [r.attachment for r in routes] == ["att-a"]


def test_a_vpc_route_targets_only_a_gateway_it_is_attached_to() -> None:
    """18.8"""
    text = BASE.replace("  b1:", "  c1: {vpc: c, cidr: 10.2.1.0/24}\n  b1:").replace(
        "  b: {cidr", "  c: {cidr: 10.2.0.0/16}\n  b: {cidr"
    )
    ok = text + "route_tables:\n  ra:\n    vpc: a\n    routes:\n"
    model, _ = load_model_text(ok + "      - {destination: 10.0.0.0/8, transit_gateway_id: tgw}\n")
    [route] = [r for r in model.route_tables["ra"].routes if r.target_kind == "transit_gateway"]
    assert route.target == "tgw"
    bad = text + "route_tables:\n  rc:\n    vpc: c\n    routes:\n"
    p = one(bad + "      - {destination: 10.0.0.0/8, transit_gateway: tgw}\n")
    assert "VPC 'c' has no attachment" in p.message and "ref 18.8" in p.message


def test_apply_words_for_propagations_and_routes() -> None:
    """18.5: `netemu apply` says what changes in AWS terms."""
    head = "transit_gateway_route_tables:\n  rt:\n    transit_gateway: tgw\n"
    old, _ = load_model_text(BASE + head + "    propagations: [att-b]\n")
    new, _ = load_model_text(
        BASE + head + "    propagations: [att-b, att-a]\n    routes:\n"
        "      - {destination_cidr_block: 10.9.0.0/16, blackhole: true}\n"
    )
    texts = [c.text for c in diff.changes(old, new)]
    assert "enable propagation of att-a to tgw route table rt" in texts
    assert "create tgw route 10.9.0.0/16 -> blackhole in rt" in texts


def test_render_gives_the_gateway_a_namespace_and_a_table_per_route_table() -> None:
    """18.3: one `ne-` namespace per gateway, one kernel table per transit gateway route
    table, one policy rule per associated attachment; a zone without an attachment subnet
    gets its drop rule in the VPC router (18.2)."""
    from netemu.render import render

    model, _ = load_model_text("name: tgwr\n" + BASE)
    plan = render(model)
    [ns] = [n for n in plan.namespaces if n.aws == "transit_gateway:tgw"]
    assert ns.name == "ne-tgwr-tgw-tgw"
    rules = [r for r in plan.rules if r.ns == ns.name]
    assert len(rules) == 2 and {r.fwmark for r in rules} == {1, 2}
    links = [lk for lk in plan.links if lk.ns_a == ns.name]
    assert {(lk.ifname_a, lk.ifname_b, lk.mtu_a) for lk in links} == {
        ("a0", "tg0", 8500),
        ("a1", "tg1", 8500),
    }
    router = next(r for r in plan.rulesets if r.ns == "ne-tgwr-r-a")
    assert "TGW_ROUTE_AZ_RESTRICTION" in json.dumps(router.commands)  # a3 is in zone c


def test_attachments_may_be_given_under_aws_s_section_name() -> None:
    """11: `transit_gateway_vpc_attachments` (describe-transit-gateway-vpc-attachments)."""
    model, _ = load_model_text(
        BASE.replace("transit_gateway_attachments:", "transit_gateway_vpc_attachments:")
    )
    assert list(model.transit_gateway_attachments) == ["att-a", "att-b"]
