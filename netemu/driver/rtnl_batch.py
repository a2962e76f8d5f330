"""Batched rtnetlink writes: many create/set requests per sendmsg, each acknowledged and checked.

pyroute2 spends about 0.6 ms of Python per request in its asyncio core; a thousand-instance
`up` makes some five thousand. Here each request is packed with struct, a few hundred go
in one sendmsg, and every one asks for an acknowledgement, so a failure is reported with
the plan object it came from. The kernel handles the requests of one sendmsg in order
and answers each before the next, so later requests may rely on earlier ones (a route
on a link made just before).
"""

from __future__ import annotations

import errno
import itertools
import os
import socket
import struct
from dataclasses import dataclass, field

from netemu.driver.rtnl import (
    NETLINK_ROUTE,
    NLM_F_REQUEST,
    NLMSG_ERROR,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTM_NEWROUTE,
    RTM_NEWRULE,
    parse_attrs,
)
from netemu.errors import KernelError

NLM_F_ACK = 0x4
NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE = 0x100, 0x200, 0x400
NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x100, 0x200  # in an acknowledgement: request cut; TLVs follow
NLMSGERR_ATTR_MSG = 1
SOL_NETLINK = 270
NETLINK_CAP_ACK, NETLINK_EXT_ACK = 10, 11
SO_RCVBUFFORCE = 33  # not in Python's socket module

IFF_UP = 0x1
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINKINFO, IFLA_IFALIAS, IFLA_NET_NS_FD = (
    1,
    3,
    4,
    18,
    20,
    28,
)
IFLA_INFO_KIND, IFLA_INFO_DATA, VETH_INFO_PEER = 1, 2, 1
IFA_ADDRESS, IFA_LOCAL, IFA_FLAGS = 1, 2, 8
IFA_F_NOPREFIXROUTE = 0x200
IFA_F_NODAD = 0x02
RT_SCOPE_LINK = 253
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_TABLE = 1, 4, 5, 6, 15
FRA_SRC, FRA_IFNAME, FRA_PRIORITY, FRA_FWMARK, FRA_TABLE = 2, 3, 6, 10, 15
RT_TABLE_UNSPEC = 0
RTPROT_BOOT, RTPROT_STATIC = 3, 4  # what `ip` and pyroute2 mark their routes with
RT_SCOPE_UNIVERSE, RT_SCOPE_NOWHERE = 0, 255
RTM_DELROUTE = 25
RTM_DELLINK, RTM_DELADDR, RTM_DELRULE = 17, 21, 33  # netemu apply removes these
RTN_TYPES = {"unicast": 1, "blackhole": 6, "unreachable": 7}
RTNH_F_ONLINK = 0x4
FR_ACT_TO_TBL = 1

_HDR = struct.Struct("=LHHLL")  # nlmsghdr: length, type, flags, seq, pid
_ATTR = struct.Struct("=HH")  # rtattr: length, type
_IFINFO = struct.Struct("=BxHiII")  # family, type, index, flags, change
_IFADDR = struct.Struct("=BBBBi")  # family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # family dst_len src_len tos table proto scope type flags
_RULE = struct.Struct("=BBBBBBBBI")  # family dst_len src_len tos table res1 res2 action flags

# One sendmsg stays well under the socket's send buffer (net.core.wmem_default, 208 KiB);
# its acknowledgements, queued before sendmsg returns, under the receive buffer set below.
MAX_BATCH_BYTES = 64 * 1024
MAX_BATCH_REQUESTS = 256
RCVBUF = 4 << 20
_seq = itertools.count(1)


def attr(kind: int, data: bytes) -> bytes:
    """One rtattr, padded to 4 bytes."""
    raw = _ATTR.pack(_ATTR.size + len(data), kind) + data
    return raw + b"\0" * (-len(raw) % 4)


def _text(value: str) -> bytes:
    return value.encode() + b"\0"


def _u32(value: int) -> bytes:
    return struct.pack("=I", value)


def _mac(value: str) -> bytes:
    return bytes(int(part, 16) for part in value.split(":"))


def _ipv4(value: str) -> bytes:
    return socket.inet_aton(value)


def _family(value: str) -> int:
    """AF_INET6 for an IPv6 literal (it has a colon), else AF_INET."""
    return socket.AF_INET6 if ":" in value else socket.AF_INET


def _ip(value: str) -> bytes:
    return socket.inet_pton(_family(value), value)


def _table(table: int) -> int:
    """The header's 8-bit table field; tables past 255 travel in RTA_TABLE/FRA_TABLE only."""
    return table if table < 256 else RT_TABLE_UNSPEC


@dataclass(frozen=True)
class LinkEnd:
    """One end of a veth pair as it is created: name, ifindex, MAC (None: the kernel's
    random one) and the namespace it goes to (an open descriptor; None: the socket's)."""

    ifname: str
    index: int
    mac: str | None = None
    ns_fd: int | None = None
    mtu: int | None = None  # None: the kernel's default

    def body(self, up: bool, extra: bytes = b"") -> bytes:
        flags = IFF_UP if up else 0
        out = _IFINFO.pack(socket.AF_UNSPEC, 0, self.index, flags, IFF_UP)
        out += attr(IFLA_IFNAME, _text(self.ifname))
        if self.mac:
            out += attr(IFLA_ADDRESS, _mac(self.mac))
        if self.mtu:
            out += attr(IFLA_MTU, _u32(self.mtu))
        if self.ns_fd is not None:
            out += attr(IFLA_NET_NS_FD, _u32(self.ns_fd))
        return out + extra


@dataclass
class Batch:
    """Requests for one rtnetlink socket; `commit` sends them and checks every answer."""

    requests: list[tuple[int, int, bytes, object]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.requests)

    def add(self, kind: int, flags: int, body: bytes, what: object) -> None:
        """Queue a request; `what` (a plan object) names it if the kernel refuses it."""
        self.requests.append((kind, flags | NLM_F_REQUEST | NLM_F_ACK, body, what))

    def veth(self, main: LinkEnd, peer: LinkEnd, what: object) -> None:
        """A veth pair, `main` up in the socket's namespace (unless it names another).
        The peer stays down: the kernel does apply the flags of the peer's own ifinfomsg,
        but when it registers the peer, before the two ends are joined, so IFF_UP there
        fails with ENOTCONN (veth_open). Raise it with `link_set` in its namespace."""
        info = attr(IFLA_INFO_KIND, _text("veth")) + attr(
            IFLA_INFO_DATA, attr(VETH_INFO_PEER, peer.body(up=False))
        )
        body = main.body(up=True, extra=attr(IFLA_LINKINFO, info))
        self.add(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body, what)

    def link_set(
        self, index: int, what: object, up: bool = True, alias: str = "", mtu: int | None = None
    ) -> None:
        """Bring an existing link up; give it an alias (a new link's alias can only be set
        afterwards: the kernel reads IFLA_IFALIAS in changes, not at creation) or an MTU."""
        body = _IFINFO.pack(socket.AF_UNSPEC, 0, index, IFF_UP if up else 0, IFF_UP)
        if alias:
            body += attr(IFLA_IFALIAS, alias.encode())
        if mtu:
            body += attr(IFLA_MTU, _u32(mtu))
        self.add(RTM_NEWLINK, 0, body, what)

    def address(
        self, index: int, cidr: str, what: object, noprefixroute: bool = False,
        replace: bool = False,
    ) -> None:  # fmt: skip
        ip, plen = cidr.split("/")
        family = _family(ip)
        scope = RT_SCOPE_LINK if ip.startswith("fe80:") else RT_SCOPE_UNIVERSE
        body = _IFADDR.pack(family, int(plen), 0, scope, index)
        body += attr(IFA_LOCAL, _ip(ip)) + attr(IFA_ADDRESS, _ip(ip))
        # IPv6: no duplicate address detection, so the address is usable at once (the
        # plan's addresses are unique by construction).
        flags = (IFA_F_NOPREFIXROUTE if noprefixroute else 0) | (
            IFA_F_NODAD if family == socket.AF_INET6 else 0
        )
        if flags:  # flags past the header's 8-bit field: only IFA_FLAGS holds them
            body += attr(IFA_FLAGS, _u32(flags))
        self.add(RTM_NEWADDR, _create_flags(replace), body, what)

    def route(
        self,
        dst: str,
        what: object,
        kind: str = "unicast",
        table: int = 254,
        via: str | None = None,
        oif: int | None = None,
        metric: int | None = None,
        onlink: bool = False,
        proto: int = RTPROT_STATIC,
        replace: bool = False,
    ) -> None:
        net, plen = dst.split("/")
        flags = RTNH_F_ONLINK if onlink else 0
        body = _RTMSG.pack(
            _family(net), int(plen), 0, 0, _table(table), proto, RT_SCOPE_UNIVERSE,
            RTN_TYPES[kind], flags,
        )  # fmt: skip
        body += attr(RTA_TABLE, _u32(table))
        if int(plen):
            body += attr(RTA_DST, _ip(net))
        if via:
            body += attr(RTA_GATEWAY, _ip(via))
        if oif is not None:
            body += attr(RTA_OIF, _u32(oif))
        if metric is not None:
            body += attr(RTA_PRIORITY, _u32(metric))
        self.add(RTM_NEWROUTE, _create_flags(replace), body, what)

    def route_delete(
        self, dst: str, what: object, table: int = 254, metric: int | None = None
    ) -> None:
        """Remove the route to `dst` in `table` (with `metric`, if given), whatever its
        type, scope and next hop: what `ip route del` matches with no more said."""
        net, plen = dst.split("/")
        body = _RTMSG.pack(_family(net), int(plen), 0, 0, _table(table), 0, RT_SCOPE_NOWHERE,
                           0, 0)  # fmt: skip
        body += attr(RTA_TABLE, _u32(table))
        if int(plen):
            body += attr(RTA_DST, _ip(net))
        if metric is not None:
            body += attr(RTA_PRIORITY, _u32(metric))
        self.add(RTM_DELROUTE, 0, body, what)

    def rule(
        self, table: int, priority: int, what: object, iifname: str | None = None,
        fwmark: int | None = None, family: int = 4, src: str | None = None,
    ) -> None:  # fmt: skip
        body = _rule_body(table, priority, iifname, fwmark, family, src)
        self.add(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, body, what)

    def link_delete(self, index: int, what: object) -> None:
        """Remove a link (a veth takes its peer with it)."""
        self.add(RTM_DELLINK, 0, _IFINFO.pack(socket.AF_UNSPEC, 0, index, 0, 0), what)

    def address_delete(self, index: int, cidr: str, what: object) -> None:
        ip, plen = cidr.split("/")
        body = _IFADDR.pack(_family(ip), int(plen), 0, RT_SCOPE_UNIVERSE, index)
        body += attr(IFA_LOCAL, _ip(ip)) + attr(IFA_ADDRESS, _ip(ip))
        self.add(RTM_DELADDR, 0, body, what)

    def rule_delete(
        self, table: int, priority: int, what: object, iifname: str | None = None,
        fwmark: int | None = None, family: int = 4, src: str | None = None,
    ) -> None:  # fmt: skip
        body = _rule_body(table, priority, iifname, fwmark, family, src)
        self.add(RTM_DELRULE, 0, body, what)

    def commit(self, sock: socket.socket) -> None:
        """Send every request, a bounded number per sendmsg, and wait for each answer.
        Raises KernelError naming the first request the kernel refused."""
        pending = self.requests
        self.requests = []
        start = 0
        while start < len(pending):
            end, size = start, 0
            while end < len(pending) and end - start < MAX_BATCH_REQUESTS:
                size += _HDR.size + len(pending[end][2])
                if size > MAX_BATCH_BYTES and end > start:
                    break
                end += 1
            _exchange(sock, pending[start:end])
            start = end


def _rule_body(
    table: int, priority: int, iifname: str | None, fwmark: int | None, family: int,
    src: str | None = None,
) -> bytes:  # fmt: skip
    """A policy rule's request body, the same to add it and to delete it."""
    fam = socket.AF_INET6 if family == 6 else socket.AF_INET
    net, _, plen = (src or "").partition("/")
    src_len = int(plen) if src else 0
    body = _RULE.pack(fam, 0, src_len, 0, _table(table), 0, 0, FR_ACT_TO_TBL, 0)
    body += attr(FRA_TABLE, _u32(table)) + attr(FRA_PRIORITY, _u32(priority))
    if src:
        body += attr(FRA_SRC, _ip(net))
    if iifname:
        body += attr(FRA_IFNAME, _text(iifname))
    if fwmark is not None:
        body += attr(FRA_FWMARK, _u32(fwmark))
    return body


def _create_flags(replace: bool) -> int:
    return NLM_F_CREATE | (NLM_F_REPLACE if replace else NLM_F_EXCL)


def open_socket() -> socket.socket:
    """An rtnetlink socket for writing, bound to the calling thread's namespace."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    try:
        try:  # root may exceed net.core.rmem_max; all of a batch's answers must fit
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
        except PermissionError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        # Answers carry only the request's header, not the whole request, and the kernel's
        # reason for a refusal ("Nexthop has invalid gateway"), when it gives one.
        sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        sock.bind((0, 0))
    except BaseException:
        sock.close()
        raise
    return sock


def _exchange(sock: socket.socket, requests: list[tuple[int, int, bytes, object]]) -> None:
    waiting: dict[int, object] = {}
    parts = []
    for kind, flags, body, what in requests:
        seq = next(_seq)
        waiting[seq] = what
        parts.append(_HDR.pack(_HDR.size + len(body), kind, flags, seq, 0) + body)
    sock.sendmsg(parts)
    failures: list[tuple[object, int, str]] = []
    buf = bytearray(1 << 16)
    while waiting:
        try:
            size = sock.recv_into(buf)
        except OSError as e:
            if e.errno == errno.ENOBUFS:  # answers were dropped: cannot tell which failed
                raise KernelError("rtnetlink answers overflowed the socket buffer") from e
            raise
        view = memoryview(buf)[:size]
        off = 0
        while off + _HDR.size <= size:
            length, mtype, mflags, seq, _pid = _HDR.unpack_from(view, off)
            if length < _HDR.size:
                break
            if mtype == NLMSG_ERROR and seq in waiting:
                (err,) = struct.unpack_from("=i", view, off + _HDR.size)
                what = waiting.pop(seq)
                if err:
                    failures.append((what, -err, _reason(view[off : off + length], mflags)))
            off += (length + 3) & ~3
    if failures:
        what, err, reason = failures[0]
        more = f" (and {len(failures) - 1} later request(s))" if len(failures) > 1 else ""
        because = f": {reason}" if reason else ""
        raise KernelError(
            f"the kernel refused {what}: {os.strerror(err)}{because}{more}"
        ) from OSError(err, os.strerror(err))


def _reason(msg: memoryview, flags: int) -> str:
    """The kernel's own message in an extended acknowledgement, if any."""
    if not flags & NLM_F_ACK_TLVS:
        return ""
    # nlmsghdr, error code, the request (only its nlmsghdr when capped), then attributes.
    echoed = msg[_HDR.size + 4 :]
    skip = _HDR.size if flags & NLM_F_CAPPED else _HDR.unpack_from(echoed, 0)[0]
    text = parse_attrs(echoed[(skip + 3) & ~3 :]).get(NLMSGERR_ATTR_MSG)
    return text.split(b"\0", 1)[0].decode(errors="replace") if text else ""
