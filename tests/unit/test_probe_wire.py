"""Probe requests are packed by hand (probe.wire): each must be the packet a packet library
would build, checksums included, with the probe's mark and IP ID."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP

from netemu.probe import wire
from netemu.render import nft


@pytest.mark.parametrize("protocol", ["tcp", "udp", "icmp"])
def test_crafted_request_has_valid_checksums_and_the_probe_mark(protocol: str) -> None:
    raw = wire.craft(protocol, IPv4Address("10.0.0.1"), IPv4Address("10.0.1.2"), 4242, 40000, 22)
    p = IP(raw)
    layer = p.payload
    ip_sum, l4_sum = p.chksum, layer.chksum
    del p.chksum, layer.chksum
    rebuilt = IP(bytes(p))  # scapy computes both checksums again
    assert (rebuilt.chksum, rebuilt.payload.chksum) == (ip_sum, l4_sum)
    assert (p.id, p.ttl, p.src, p.dst) == (4242, 64, "10.0.0.1", "10.0.1.2")
    if protocol == "tcp":
        assert isinstance(layer, TCP) and layer.flags == "S" and layer.dport == 22
        assert layer.seq & 0xFFFF0000 == nft.PROBE_SEQ_MARK
    elif protocol == "udp":
        assert isinstance(layer, UDP) and bytes(layer.payload) == nft.PROBE_PAYLOAD
    else:
        assert isinstance(layer, ICMP) and (layer.type, layer.id) == (8, 4242)
        assert bytes(layer.payload) == nft.PROBE_PAYLOAD
