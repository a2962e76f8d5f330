"""The host stays untouched: its links, addresses, routes, rules, nftables ruleset, sysctls,
mounts and /etc files are the same before `up`, while the scenario runs and after `down`,
and a capture on the host's interfaces sees no packet of the emulation even when every
namespace sends to an address outside it (issue 7.3). The host itself sends nothing."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from typing import Any

import pytest
import relkit

from netemu import lifecycle
from netemu.render import render
from netemu.testing import Running

pytestmark = pytest.mark.kernel

OUTSIDE = "192.0.2.99"  # documentation range (RFC 5737), used by no scenario here
# Files and directories netemu could plausibly touch: name service, DNS and DHCP servers and
# clients, sshd, iproute2 (`ip netns exec` binds /etc/netns/NAME), nftables, sysctl, modules.
ETC = [
    "/etc/resolv.conf", "/etc/hosts", "/etc/hostname", "/etc/nsswitch.conf", "/etc/passwd",
    "/etc/group", "/etc/shadow", "/etc/ssh", "/etc/dnsmasq.conf", "/etc/dnsmasq.d",
    "/etc/default/dnsmasq", "/etc/netns", "/etc/iproute2", "/etc/nftables.conf",
    "/etc/sysctl.conf", "/etc/sysctl.d", "/etc/modprobe.d", "/etc/modules-load.d",
    "/etc/modules", "/etc/network", "/etc/dhcp", "/etc/udhcpc", "/etc/machine-id",
]  # fmt: skip
RUN = ["/run/sshd", "/run/netns"]  # /run/netns is made on first use (as iproute2 does) and kept
VOLATILE_SYSCTLS = ("nf_conntrack_count", "/random/", "stable_secret")


def _json(*argv: str) -> Any:
    run = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30)
    return json.loads(run.stdout or "null")


def _strip(value: Any) -> Any:
    """Drop fields that change by themselves (address lifetimes)."""
    if isinstance(value, dict):
        return {
            k: _strip(v) for k, v in value.items() if k not in ("valid_life_time", "preferred_life_time")
        }  # fmt: skip
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _sysctls() -> dict[str, str]:
    out = {}
    for top, _dirs, files in os.walk("/proc/sys/net"):
        for f in files:
            path = os.path.join(top, f)
            if any(v in path for v in VOLATILE_SYSCTLS):
                continue
            try:
                with open(path) as fh:
                    out[path] = fh.read()
            except OSError:
                pass  # write-only (flush) or not readable
    for extra in ("/proc/sys/user/max_net_namespaces", "/proc/sys/fs/mount-max"):
        with open(extra) as fh:
            out[extra] = fh.read()
    return out


def _files(paths: list[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for p in paths:
        if os.path.isdir(p):
            for top, _dirs, files in os.walk(p):
                for f in files:
                    full = os.path.join(top, f)
                    out[full] = _digest(full)
            out[p] = "directory"
        else:
            out[p] = _digest(p) if os.path.exists(p) else None
    return out


def _digest(path: str) -> str:
    try:
        st = os.lstat(path)
        with open(path, "rb") as f:
            return f"{st.st_mode:o} {st.st_uid} {hashlib.sha256(f.read()).hexdigest()}"
    except OSError as e:
        return f"unreadable: {e.strerror}"


def _mounts() -> list[str]:
    """The host's mounts, without the namespace mounts of running scenarios (anyone's)."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            point = fields[4]
            if point.startswith("/run/netns/") or point.startswith("/run/netemu/"):
                continue
            tail = fields[fields.index("-") + 1 :]
            out.append(f"{point} {fields[5]} {' '.join(tail)}")
    return sorted(out)


def snapshot() -> dict[str, Any]:
    """Everything of the host's own namespace netemu must not change, read without
    changing anything."""
    return {
        "links": _strip(_json("ip", "-j", "-d", "link", "show")),
        "addresses": _strip(_json("ip", "-j", "addr", "show")),
        "routes": _json("ip", "-j", "route", "show", "table", "all"),
        "routes6": _json("ip", "-j", "-6", "route", "show", "table", "all"),
        "rules": _json("ip", "-j", "rule", "show"),
        "rules6": _json("ip", "-j", "-6", "rule", "show"),
        "nftables": _json("nft", "-j", "list", "ruleset"),
        "sysctls": _sysctls(),
        "etc": _files(ETC),
        "mounts": _mounts(),
        "run": {p: os.path.exists(p) for p in RUN},
    }


def _differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    out = []
    for key in before:
        a, b = before[key], after[key]
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                if a.get(k) != b.get(k):
                    out.append(f"{key}: {k}: {a.get(k)!r} -> {b.get(k)!r}")
        elif a != b:
            out.append(f"{key}: {json.dumps(a)[:300]} -> {json.dumps(b)[:300]}")
    return out


def test_host_state_is_identical_before_during_and_after(workdir: str, nothing_left: None) -> None:
    path = relkit.write(workdir, relkit.scenario("rl-host"), "rl-host.yaml")
    driver = lifecycle.KernelDriver()
    # Once up and down first: the kernel modules the emulation needs (nf_tables, conntrack,
    # veth, nfnetlink_log) load on first use and add their sysctls; that is not netemu
    # changing the host's state.
    model, _ = lifecycle.up(path, driver)
    lifecycle.down(model.name, driver)
    before = snapshot()
    model, _ = lifecycle.up(path, driver)
    try:
        during = snapshot()
    finally:
        lifecycle.down(model.name, driver)
    after = snapshot()
    # sshd needs /run/sshd while a scenario runs one (services.privsep makes it, marked,
    # and removes it with the last scenario): the one change allowed while up.
    assert [d for d in _differences(before, during) if not d.startswith("run: /run/sshd:")] == []
    assert _differences(before, after) == []


def test_no_packet_of_the_emulation_reaches_the_host(workdir: str, nothing_left: None) -> None:
    """Every namespace of the scenario sends an ICMP echo, a UDP datagram (both marked) and
    a TCP SYN to an outside address; the capture on all of the host's interfaces sees none
    of them, while a capture inside the scenario sees them leave."""
    path = relkit.write(workdir, relkit.scenario("rl-leak"), "rl-leak.yaml")
    driver = lifecycle.KernelDriver()
    model, _ = lifecycle.up(path, driver)
    try:
        namespaces = [ns.name for ns in render(model).namespaces]
        marker = f"rl-leak-{os.getpid()}-{time.monotonic_ns()}".encode()
        with relkit.Capture([None]) as host, relkit.Capture(list(namespaces)) as inside:
            attempted = sum(relkit.send_marked(ns, OUTSIDE, marker) for ns in namespaces)
            _loopback_control(marker)
            ping = Running(model).exec("web1", "ping", "-c1", "-W1", OUTSIDE)
            time.sleep(0.5)
            on_host = [
                (dev, relkit.ipv4_of(frame))
                for _ns, dev, frame in host.drain()
                if (marker in frame and b"control-" + marker not in frame)
                or (relkit.ipv4_of(frame) or ("", ""))[1] == OUTSIDE
            ]
            inside_seen = [f for f in inside.drain() if marker in f[2]]
        print(
            f"{len(namespaces)} namespaces sent {attempted} packets to {OUTSIDE}; "
            f"captured inside: {len(inside_seen)}, on the host: {len(on_host)} "
            f"(of {len(host.seen)} host frames in the window)"
        )
        assert ping.returncode != 0  # nobody answers outside the closed world
        assert inside_seen, "the capture inside saw nothing: the test itself is broken"
        control = [f for _ns, dev, f in host.seen if dev == "lo" and b"control-" + marker in f]
        assert control, "the host capture saw nothing at all: the test itself is broken"
        assert on_host == []
    finally:
        lifecycle.down(model.name, driver)


def _loopback_control(marker: bytes) -> None:
    """A datagram from the host's loopback to itself (no emulated address involved), which
    the host capture must see: proof that it captures at all."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.sendto(b"control-" + marker, s.getsockname())


OUTSIDE6 = "2001:db8:dead::99"  # documentation prefix (RFC 3849), in no block of the scenario


def _send_marked6(ns: str, marker: bytes) -> int:
    """From inside `ns`: an ICMPv6 echo and a UDP datagram carrying `marker`, and a TCP SYN,
    to OUTSIDE6 (errors expected and ignored); how many the kernel took."""
    import contextlib
    import socket

    from netemu.driver import netns

    sent = 0
    with netns.entered(ns):
        socks = [
            socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6),
            socket.socket(socket.AF_INET6, socket.SOCK_DGRAM),
            socket.socket(socket.AF_INET6, socket.SOCK_STREAM),
        ]
    icmp, udp, tcp = socks
    try:
        for sock, payload, port in ((icmp, b"\x80\0\0\0\0\1\0\1" + marker, 0), (udp, marker, 9)):
            with contextlib.suppress(OSError):
                sock.sendto(payload, (OUTSIDE6, port))
                sent += 1
        tcp.setblocking(False)
        with contextlib.suppress(OSError):
            if tcp.connect_ex((OUTSIDE6, 80)) in (0, 115):
                sent += 1
    finally:
        for s in socks:
            s.close()
    return sent


def test_no_ipv6_packet_of_a_dual_stack_scenario_reaches_the_host(
    workdir: str, nothing_left: None
) -> None:
    """Closed world for IPv6 (16.1): the host's interfaces are captured from before `up`
    (router advertisements, DHCPv6) through the scenario's own IPv6 probes (TCP, UDP,
    ICMPv6) to marked IPv6 packets every namespace sends to an address outside it; the
    host sees no frame from or to 2001:db8::/32 and no marked one, while a capture inside
    the scenario sees them leave."""
    from ipaddress import IPv6Address, IPv6Network
    from pathlib import Path

    documentation = IPv6Network("2001:db8::/32")

    def emulated(frame: bytes) -> bool:
        addrs = relkit.ipv6_of(frame)
        return addrs is not None and any(IPv6Address(a) in documentation for a in addrs)

    book = Path(__file__).parents[2] / "scenarios" / "book" / "webdb-dualstack.yaml"
    text = book.read_text().replace("name: webdb6", "name: rl-leak6")
    path = relkit.write(workdir, text, "rl-leak6.yaml")
    driver = lifecycle.KernelDriver()
    with relkit.Capture([None]) as host:
        model, _ = lifecycle.up(path, driver)
        try:
            namespaces = [ns.name for ns in render(model).namespaces]
            marker = f"rl-leak6-{os.getpid()}-{time.monotonic_ns()}".encode()
            probes = Running(model).expectations()
            udp = [Running(model).probe("web", "2001:db8:ff00::10", udp=53)]
            with relkit.Capture(list(namespaces)) as inside:
                attempted = sum(_send_marked6(ns, marker) for ns in namespaces)
                _loopback_control(marker)
                time.sleep(0.5)
                on_host = [
                    (dev, relkit.ipv6_of(frame))
                    for _ns, dev, frame in host.drain()
                    if (marker in frame and b"control-" + marker not in frame) or emulated(frame)
                ]
                inside_seen = [f for f in inside.drain() if marker in f[2]]
        finally:
            lifecycle.down(model.name, driver)
    v6 = [o.result for o in probes if ":" in o.result.dst_ip] + udp
    print(
        f"{len(namespaces)} namespaces sent {attempted} IPv6 packets, {len(v6)} IPv6 probes "
        f"ran; inside: {len(inside_seen)}, host: {len(on_host)} "
        f"(of {len(host.seen)} host frames in the window)"
    )
    assert v6, "no IPv6 probe ran: the test itself is broken"
    assert inside_seen, "the capture inside saw nothing: the test itself is broken"
    control = [f for _ns, dev, f in host.seen if dev == "lo" and b"control-" + marker in f]
    assert control, "the host capture saw nothing at all: the test itself is broken"
    assert on_host == []
