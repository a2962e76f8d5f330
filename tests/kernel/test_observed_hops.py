"""A probe's hops are where its packet was seen, in the order AWS components carry it, and a
drop is never shown after a component the packet did not reach (issue 11; ref 4.2, 6.6, 9.9)."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from netemu import lab_catalog as catalog
from netemu.model import load_model
from netemu.probe import expect, path
from netemu.probe.endpoints import destination, source
from netemu.probe.engine import ProbeResult
from netemu.testing import Running, running, running_text
from scenarios import vpc

BOOK = sorted(Path(__file__).parents[2].joinpath("scenarios", "book").glob("*.yaml"))
LABS = catalog.all_labs()
VIA_NAT = "      - {destination: 0.0.0.0/0, nat_gateway: nat}"
NAT = "nat_gateways:\n  nat: {subnet: public, elastic_ip: auto}\n"


def _is_prefix(part: list[str], whole: list[str]) -> bool:
    return whole[: len(part)] == part


def _check_hops(s: Running, r: ProbeResult) -> None:
    """Observed, and consistent with the route tables: the request's hops are the model's
    way (all of it when the request arrived), a dropped reply's hops continue with the
    model's way back."""
    assert r.hops_observed, r
    model = s.model
    src = source(model, r.spec.source)
    dst = destination(model, r.spec.destination, src)
    forward = path.walk(model, src, dst.ip)
    if r.reason is None or r.reason.leg == "request":
        assert _is_prefix(r.hops, forward), (r.hops, forward)
        if r.result == "reachable":
            assert r.hops == forward, (r.hops, forward)
        return
    assert r.hops[: len(forward)] == forward, (r.hops, forward)
    back_to = r.seen_source or str(src.ip)
    back = path.walk(model, dst, IPv4Address(back_to))
    assert _is_prefix(r.hops[len(forward) :], back[1:]), (r.hops, back)


@pytest.mark.parametrize("scenario", BOOK, ids=[p.stem for p in BOOK])
def test_book_scenario_hops_are_observed_in_aws_order(scenario: Path) -> None:
    with running(str(scenario)) as s:
        outcomes = expect.run(s.model)
        assert [o.why for o in outcomes if not o.ok] == []
        for o in outcomes:
            if o.expectation.family == 4:
                _check_hops(s, o.result)
            else:  # IPv6 probes are connections whose hops are not traced (docs/ipv6.md)
                assert o.result.hops_observed is False


@pytest.mark.parametrize("lab", LABS, ids=[lab.name for lab in LABS])
def test_lab_check_hops_are_observed_in_aws_order(lab: catalog.Lab, tmp_path: Path) -> None:
    model, _ = catalog.graded_model(lab, lab.scenario_path)
    checks = model.expectations
    # The broken scenario under a name of this test's own, with the lab's checks.
    text = Path(lab.scenario_path).read_text()
    name, _ = load_model(lab.scenario_path)
    copy = tmp_path / "hops.yaml"
    copy.write_text(text.replace(f"name: {name.name}", f"name: hp{lab.name[:2]}", 1))
    with running(str(copy)) as s:
        for o in expect.run(replace(s.model, expectations=checks)):
            # A download's hops are the model's, and IPv6 probes are connections whose hops
            # are not traced (docs/ipv6.md): both say so.
            if o.expectation.size is None and o.expectation.family == 4:
                _check_hops(s, o.result)
            else:
                assert o.result.hops_observed is False


def test_drop_before_the_nat_gateway_is_not_shown_after_it() -> None:
    """6.6, 8.1: the public subnet's ACL refuses the private subnet's traffic on its way in
    to the NAT gateway: the hops end in subnet:public, before nat_gateway:nat."""
    acls = (
        "  guard:\n    vpc: main\n    ingress:\n"
        "      - {rule: 100, protocol: all, cidr: 198.51.100.0/24, action: allow}\n"
        "    egress:\n      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}\n"
    )
    text = (
        vpc(name="hops", private_routes=VIA_NAT, acls=acls, public_extra=", network_acl: guard")
        + NAT
    )
    with running_text(text) as s:
        r = s.probe("db", "client", tcp=80)
        assert r.result == "blocked" and r.reason
        assert (r.reason.code, r.reason.component) == (
            "SUBNET_ACL_RESTRICTION",
            "network_acl:guard",
        )
        assert r.hops_observed
        assert r.hops == ["instance:db", "subnet:private", "vpc_router:main", "subnet:public"]


def test_source_dest_check_drop_and_forwarding_instance_hops() -> None:
    """9.9: with the check on, the packet dies entering web's ENI, in subnet:public; with it
    off, web forwards it and is a hop of its own (seen by its ENI's capture)."""
    routes = "      - {destination: 198.51.100.0/24, instance: web}"
    with running_text(vpc(name="hops", private_routes=routes)) as s:
        r = s.probe("db", "client", tcp=80)
        assert r.reason and r.reason.code == "ENI_SOURCE_DEST_CHECK_RESTRICTION"
        assert r.hops == ["instance:db", "subnet:private", "vpc_router:main", "subnet:public"]
    with running_text(
        vpc(name="hops", private_routes=routes, web_extra=", source_dest_check: false")
    ) as s:
        r = s.probe("db", "client", tcp=80)
        assert r.reason and r.reason.code == "IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS"
        assert r.hops == [
            "instance:db",
            "subnet:private",
            "vpc_router:main",
            "subnet:public",
            "instance:web",
            "subnet:public",
            "vpc_router:main",
            "internet_gateway:igw",
        ]
        assert r.hops_observed


def test_without_hop_logs_the_path_is_modelled_and_labelled() -> None:
    """A scenario whose namespaces log no probe packets (brought up by an older netemu):
    the hops come from the route tables, cut at the visit the drop's TTL points at, and
    say they are modelled, in JSON and in text."""
    import nftables

    from netemu.driver import netns
    from netemu.probe import report
    from netemu.probe.engine import infrastructure_namespaces
    from netemu.render.names import NFT_TABLE

    acls = (
        "  guard:\n    vpc: main\n    ingress:\n"
        "      - {rule: 100, protocol: all, cidr: 198.51.100.0/24, action: allow}\n"
        "    egress:\n      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}\n"
    )
    text = vpc(name="hops", private_routes=VIA_NAT, acls=acls, public_extra=", network_acl: guard")
    with running_text(text + NAT) as s:
        for ns in infrastructure_namespaces(s.model):
            with netns.entered(ns):
                chain = {"family": "inet", "table": NFT_TABLE, "name": "probe_hops"}
                rc, _, err = nftables.Nftables().json_cmd(
                    {"nftables": [{"flush": {"chain": chain}}]}
                )
                assert rc == 0, err
        r = s.probe("db", "client", tcp=80)
        assert r.reason and r.reason.code == "SUBNET_ACL_RESTRICTION"
        assert not r.hops_observed and r.to_json()["hops_observed"] is False
        assert r.hops == ["instance:db", "subnet:private", "vpc_router:main", "subnet:public"]
        assert "path (modelled, not observed): instance:db" in "\n".join(report.because(r))
        assert s.probe("web", "db", tcp=22).hops_observed is False
