"""What the fidelity round renders, checked without root: NAT gateway limits and ports,
MTUs, hops, per-ENI connection tracking (ref 5.6, 6.8, 6.11, 6.12, 7.17, 10.9)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from netemu.model import load_model, load_model_text
from netemu.model.types import ConnectionTracking, Model
from netemu.render import conntrack, dhcp, hops, nat_gateway
from netemu.render.topology import VPC_MTU, namespaces, wiring
from tests.unit.problems import at, errors

DATA = Path(__file__).parent / "data"


def _webdb() -> Model:
    model, _ = load_model(str(DATA / "webdb.yaml"))
    return model


def _text(model: Model) -> str:
    return json.dumps([rs.json() for rs in nat_gateway.render(model)])


def test_nat_gateway_remaps_ports_at_random_over_1024_to_65535() -> None:
    """6.8: source ports remapped into 1024-65535, never kept (fully-random)."""
    text = _text(_webdb())
    assert '"port": {"range": [1024, 65535]}, "flags": "fully-random"' in text


def test_nat_gateway_counts_55000_connections_per_destination() -> None:
    """6.8: 55,000 simultaneous connections per destination, then ErrorPortAllocation."""
    text = _text(_webdb())
    assert '{"ct count": {"val": 55000, "inv": true}}' in text
    assert '{"counter": "ErrorPortAllocation"}' in text
    assert '{"counter": "IdleTimeoutCount"}' in text


def test_nat_gateway_idle_timeout_covers_tcp_and_udp_and_picks_up_no_flow() -> None:
    """6.12: the idle timeout applies to TCP and UDP mappings; no mid-stream pickup, so
    the first packet after it is answered with a RST."""
    model = _webdb()
    [ns] = [ns for ns in namespaces(model) if ns.aws.startswith("nat_gateway:")]
    sysctls = dict(ns.sysctls)
    for key in ("tcp_timeout_established", "udp_timeout", "udp_timeout_stream"):
        assert sysctls[f"net/netfilter/nf_conntrack_{key}"] == "350"
    assert sysctls["net/netfilter/nf_conntrack_tcp_loose"] == "0"
    assert '"reject": {"type": "tcp reset"}' in _text(model)


def test_links_inside_the_vpc_are_jumbo_and_the_instance_learns_it_by_dhcp() -> None:
    """5.6: 9001 inside the VPC (the instance's own end by DHCP option 26), 1500 towards
    the internet gateway and beyond."""
    model = _webdb()
    links, _, _ = wiring(model)
    for link in links:
        inside = not {"igw", "vpc", "inet"} & {link.ifname_a, link.ifname_b} and not (
            link.ns_a.endswith("-inet")
        )
        if inside:
            assert link.mtu_b == VPC_MTU, link
        else:
            assert (link.mtu_a, link.mtu_b) == (None, None), link
    conf = dhcp.server_config(model, model.subnets["public"])
    assert "dhcp-option=option:mtu,9001" in conf.splitlines()


def test_no_hop_increments_every_ttl_it_can() -> None:
    """10.9: the TTL map covers 1-254; a packet's TTL is given back after forwarding."""
    cmds = hops.render()
    [rule] = [c for c in cmds if "rule" in c["add"] and c["add"]["rule"]["chain"] == hops.CHAIN]
    pairs = rule["add"]["rule"]["expr"][0]["vmap"]["data"]["set"]
    assert [k for k, _ in pairs] == list(range(1, 255))
    ttl_7 = next(c for c in cmds if "rule" in c["add"] and c["add"]["rule"]["chain"] == "ttl_7")
    assert ttl_7["add"]["rule"]["expr"][0]["mangle"]["value"] == 8


SCENARIO = """
    vpcs:
      main: {{cidr: 10.0.0.0/16}}
    subnets:
      a: {{vpc: main, cidr: 10.0.1.0/24}}
    instances:
      x: {{subnet: a{extra}}}
      y: {{subnet: a}}
"""


def _model(extra: str = "") -> Model:
    model, _ = load_model_text(textwrap.dedent(SCENARIO.format(extra=extra)).lstrip("\n"))
    return model


def test_connection_tracking_defaults_are_aws_defaults() -> None:
    """7.17: TCP established 432,000 s, UDP stream 180 s, UDP 30 s; nothing rendered."""
    model = _model()
    assert model.instances["x"].eni.connection_tracking == ConnectionTracking(432000, 180, 30)
    assert conntrack.render(model, "a") == []


def test_connection_tracking_is_rendered_for_the_eni_that_sets_it() -> None:
    """7.17: a policy per protocol for x's ENI, attached from x (opener) and to x."""
    model = _model(", connection_tracking: {udp_timeout: 45, tcp_established_timeout: 600}")
    assert model.instances["x"].eni.connection_tracking == ConnectionTracking(600, 180, 45)
    cmds = conntrack.render(model, "a")
    policies = {c["add"]["ct timeout"]["name"]: c["add"]["ct timeout"]["policy"]
                for c in cmds if "ct timeout" in c["add"]}  # fmt: skip
    assert policies == {
        "eni_0_tcp": {"established": 600},
        "eni_0_udp": {"unreplied": 45, "replied": 180},
    }


@pytest.mark.parametrize(
    ("key", "value", "bounds"),
    [
        ("tcp_established_timeout", 59, "60 to 432000"),
        ("udp_stream_timeout", 181, "60 to 180"),
        ("udp_timeout", 61, "30 to 60"),
        ("udp_timeout", 29, "30 to 60"),
    ],
)
def test_connection_tracking_outside_aws_bounds_is_refused(
    key: str, value: int, bounds: str
) -> None:
    """7.17: the bounds of ConnectionTrackingSpecificationRequest, at the value's line."""
    [p] = errors(
        textwrap.dedent(SCENARIO.format(extra=f", connection_tracking: {{{key}: {value}}}")).lstrip(
            "\n"
        )
    )
    assert at(p).startswith("6:")
    assert f"{key} is {bounds} seconds" in p.message and "ref 7.17" in p.message


def test_connection_tracking_unknown_key_is_refused() -> None:
    [p] = errors(
        textwrap.dedent(SCENARIO.format(extra=", connection_tracking: {tcp_timeout: 60}")).lstrip(
            "\n"
        )
    )
    assert "unknown key 'tcp_timeout'" in p.message


def test_timeout_policies_reach_nft_text_only_as_netemu_names_and_integers() -> None:
    """The policies go to nft's text parser (libnftables 1.0.6 drops them from JSON):
    only names netemu makes and integers pass; anything else is refused before nft."""
    from netemu.driver.kernel import _policy_text

    ok = {"name": "eni_3_udp", "protocol": "udp", "policy": {"unreplied": 45, "replied": 180}}
    assert _policy_text(ok) == (
        "add ct timeout inet netemu eni_3_udp { protocol udp; l3proto ip; "
        "policy = { unreplied : 45, replied : 180 }; }"
    )
    for bad in (
        {**ok, "name": 'x"; flush ruleset; "'},
        {**ok, "protocol": "icmp"},
        {**ok, "policy": {"unreplied": "45; flush ruleset"}},
        {**ok, "policy": {"close": 10}},
    ):
        with pytest.raises(ValueError):
            _policy_text(bad)


EXPECT = """
    vpcs:
      main: {{cidr: 10.0.0.0/16}}
    subnets:
      a: {{vpc: main, cidr: 10.0.1.0/24}}
    instances:
      x: {{subnet: a}}
      y: {{subnet: a}}
    expect:
      - {{from: x, to: y, {traffic}, size: {size}, result: reachable}}
"""


def test_size_makes_an_expectation_a_tcp_download() -> None:
    """5.6, 7.19: `size:` asks for a real download of that many bytes (probe.transfer)."""
    text = textwrap.dedent(EXPECT.format(traffic="tcp: 8443", size=200000)).lstrip("\n")
    model, _ = load_model_text(text)
    [e] = model.expectations
    assert (e.protocol, e.port, e.size) == ("tcp", 8443, 200000)


@pytest.mark.parametrize(
    ("traffic", "size", "message"),
    [
        ("udp: 53", "1000", "size is a TCP download; give tcp: PORT"),
        ("tcp: 80", "0", "size 0 is outside 1..10000000"),
        ("tcp: 80", "big", "size"),
    ],
)
def test_size_outside_a_tcp_download_is_refused(traffic: str, size: str, message: str) -> None:
    [p] = errors(textwrap.dedent(EXPECT.format(traffic=traffic, size=size)).lstrip("\n"))
    assert at(p).startswith("9:") and message in p.message, p.message
