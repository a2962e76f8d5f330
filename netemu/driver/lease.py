"""DHCP leases -> an instance's address and default route, one rtnetlink batch per namespace.

The DHCP client's event script (render.dhcp) only reports what the server granted, as one
line of its output: LEASE_MARK, then interface, ip, mask (a prefix length: busybox
udhcpc's $mask), router and mtu (option 26, empty when the server sent none) as
key=value. Putting it on the interface here, once the client
has exited, spares each instance the `ip` process the script used to run, about a
millisecond of CPU each. The requests are those of `ip addr replace IP/MASK dev IF` and
`ip route replace default via ROUTER dev IF`, marked as `ip` marks them (proto boot), so
the kernel ends up as it did then.
"""

from __future__ import annotations

from dataclasses import dataclass

from netemu.driver import build
from netemu.driver.rtnl_batch import RTPROT_BOOT, Batch
from netemu.errors import KernelError
from netemu.render.dhcp import LEASE_MARK


@dataclass(frozen=True)
class Lease:
    interface: str
    ip: str
    prefixlen: int
    router: str | None  # the first router option; a lease may come without one
    mtu: int | None = None  # option 26, the interface MTU (9001 inside a VPC)


def parse(output: str, what: object) -> Lease:
    """The lease a client reported in its `output` (the last, should it report several)."""
    lines = [line.split() for line in output.splitlines() if line.startswith(LEASE_MARK + " ")]
    if not lines:
        raise KernelError(f"{what} reported no DHCP lease")
    fields = {key: value for key, _, value in (item.partition("=") for item in lines[-1][1:])}
    try:
        mtu = fields.get("mtu") or None
        return Lease(
            fields["interface"],
            fields["ip"],
            int(fields["mask"]),
            fields.get("router") or None,
            int(mtu) if mtu else None,
        )
    except (KeyError, ValueError) as e:
        raise KernelError(f"{what} reported an unreadable DHCP lease: {' '.join(lines[-1])}") from e


def configure(ns: str, lease: Lease, indexes: build.Indexes, what: object) -> None:
    """Give the interface in `ns` the leased address and default route."""
    index = build.index_of(indexes, ns, lease.interface)
    batch = Batch()
    if lease.mtu:
        batch.link_set(index, what, mtu=lease.mtu)
    batch.address(index, f"{lease.ip}/{lease.prefixlen}", what, replace=True)
    if lease.router:
        batch.route("0.0.0.0/0", what, via=lease.router, oif=index, proto=RTPROT_BOOT, replace=True)
    with build.socket_in(ns) as sock:
        batch.commit(sock)
