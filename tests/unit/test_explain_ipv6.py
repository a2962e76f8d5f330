"""The static IPv6 walk (explain.ipv6) and the leg an IPv6 probe names (reference 16)."""

from __future__ import annotations

from netemu.explain.static import explain
from netemu.model import load_model_text
from netemu.model.types import Model
from netemu.probe.engine import ProbeSpec
from netemu.probe.ipv6 import leg_of
from netemu.probe.reason import Reason
from tests.kernel.test_ipv6 import DUAL


def _model(text: str = DUAL) -> Model:
    return load_model_text(text)[0]


def _why(
    model: Model, src: str, dst: str, port: int = 22
) -> tuple[str, str | None, str | None, str | None]:
    r = explain(model, ProbeSpec(src, dst, "tcp", port, family=6))
    x = r.reason
    return (r.result, x.code if x else None, x.component if x else None, x.leg if x else None)


def test_the_internet_reaches_a_public_ipv6_instance_untranslated() -> None:
    """16.4: ::/0 -> igw and a ::/0 rule: reachable, the destination sees the source."""
    model = _model()
    r = explain(model, ProbeSpec("internet", "web", "tcp", 22, family=6))
    assert (r.result, r.seen_source) == ("reachable", "2001:db8:ff00::10")


def test_the_egress_only_gateway_refuses_the_answer_to_an_inbound_connection() -> None:
    """16.5: with an internet gateway the request arrives; the reply dies at the eigw."""
    assert _why(_model(), "internet", "db") == (
        "blocked",
        "NO_POSSIBLE_DESTINATION",
        "egress_only_internet_gateway:eigw",
        "reply",
    )


def test_without_an_internet_gateway_the_egress_only_gateway_refuses_the_request() -> None:
    """16.5: the eigw alone announces the VPC; what the internet starts dies there."""
    text = DUAL.replace("internet_gateways:\n  igw: {vpc: main}\n", "").replace(
        '      - {destination: 0.0.0.0/0, internet_gateway: igw}\n      - {destination: "::/0", internet_gateway: igw}\n',
        '      - {destination: "::/0", egress_only_internet_gateway: eigw}\n',
    )
    text = text.replace(", public_ip_on_launch: true", "")
    model = _model(text)
    assert _why(model, "internet", "web")[1:] == (
        "NO_POSSIBLE_DESTINATION",
        "egress_only_internet_gateway:eigw",
        "request",
    )
    assert _why(model, "web", "internet")[0] == "reachable"


def test_an_ipv4_rule_admits_no_ipv6_and_ipv6_acl_entries_decide_alone() -> None:
    """8.7, 8.8, 16.6."""
    model = _model()
    assert _why(model, "internet", "four")[1] == "ENI_SG_RULES_MISMATCH"
    db = str(model.instances["db"].ipv6_address)
    r = explain(model, ProbeSpec("web", db, "tcp", 23))
    assert r.reason is not None
    assert (r.reason.code, r.reason.rule, r.reason.leg) == (
        "SUBNET_ACL_RESTRICTION",
        "90",
        "request",
    )


def test_the_probe_names_the_leg_from_where_the_rule_sits() -> None:
    """The counters say which rule dropped; its place says which leg (probe.ipv6)."""
    model = _model()
    eigw = Reason(
        "NO_POSSIBLE_DESTINATION",
        "ingress",
        "egress_only_internet_gateway:eigw",
        None,
        "request",
        "",
    )
    assert leg_of(model, "internet", "db", eigw) == "reply"
    acl = Reason("SUBNET_ACL_RESTRICTION", "ingress", "network_acl:private", "90", "request", "")
    assert leg_of(model, "web", "db", acl) == "request"
    assert leg_of(model, "db", "web", acl) == "reply"
