"""nf_tables read straight over netlink: the comments of a chain's rules (the read-back of
a chain that a live change refilled, verify.verify_rulesets), and the tables of a
namespace (`verify` of the many namespaces that should hold none).

libnftables refreshes its whole cache for every `list` command: every table, chain, set
and element of the namespace, about 0.75 ms in a subnet of the book's VPC, for the dozen
rules of the one chain a security-group change refilled. A rule dump filtered by table and
chain asks the kernel for those rules only. The comment is where netemu names the AWS rule
a kernel rule carries out (render.nft), so it is what the read-back compares. Read only:
nothing here sends anything but a GET request.
"""

from __future__ import annotations

import errno
import struct

from netemu.driver import rtnl

NFPROTO_UNSPEC, NFPROTO_INET = 0, 1
FAMILIES = {1: "inet", 2: "ip", 3: "arp", 5: "netdev", 7: "bridge", 10: "ip6"}  # nft's names
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_NEWTABLE, NFT_MSG_GETTABLE = 0, 1
NFT_MSG_GETCHAIN, NFT_MSG_NEWRULE, NFT_MSG_GETRULE = 4, 6, 7
NFTA_TABLE_NAME = 1
NFTA_CHAIN_TABLE, NFTA_CHAIN_NAME = 1, 3
NFTA_RULE_TABLE, NFTA_RULE_CHAIN, NFTA_RULE_USERDATA = 1, 2, 7
NFTNL_UDATA_RULE_COMMENT = 0  # libnftnl's type for a rule's comment in its user data

_NFGENMSG = struct.Struct("=BBH")  # family, version, resource id (big endian)


def chain_comments(sock: rtnl.Socket, table: str, chain: str) -> tuple[str | None, ...] | None:
    """The comment of each rule of inet `table` `chain`, in order (None: a rule without
    one); None when there is no such chain. `sock`: a NETLINK_NETFILTER socket opened in
    the namespace to read."""
    head, kind = _NFGENMSG.pack(NFPROTO_INET, 0, 0), NFNL_SUBSYS_NFTABLES << 8
    body = head + _attr(NFTA_RULE_TABLE, table) + _attr(NFTA_RULE_CHAIN, chain)
    rules = sock.dump(kind | NFT_MSG_GETRULE, kind | NFT_MSG_NEWRULE, body, _NFGENMSG)
    if not rules:  # a filtered dump is empty for a chain that does not exist, too
        chain_ref = head + _attr(NFTA_CHAIN_TABLE, table) + _attr(NFTA_CHAIN_NAME, chain)
        try:
            sock.get(kind | NFT_MSG_GETCHAIN, chain_ref)
        except OSError as e:
            if e.errno == errno.ENOENT:
                return None
            raise
    return tuple(_comment(r.attrs.get(NFTA_RULE_USERDATA)) for r in rules)


def tables(sock: rtnl.Socket) -> list[tuple[str, str]]:
    """(family, name) of every table in the namespace of `sock`, families named as nft
    names them. Asking libnftables costs a context and a listing of the whole ruleset
    (0.6 ms), which `verify` would pay for each of a thousand instances holding none."""
    kind = NFNL_SUBSYS_NFTABLES << 8
    head = _NFGENMSG.pack(NFPROTO_UNSPEC, 0, 0)
    found = sock.dump(kind | NFT_MSG_GETTABLE, kind | NFT_MSG_NEWTABLE, head, _NFGENMSG)
    return [
        (FAMILIES.get(t.fields[0], str(t.fields[0])), t.text(NFTA_TABLE_NAME) or "") for t in found
    ]


def _attr(kind: int, text: str) -> bytes:
    value = text.encode() + b"\0"
    size = 4 + len(value)
    return struct.pack("=HH", size, kind) + value + b"\0" * (-size % 4)


def _comment(udata: bytes | None) -> str | None:
    """The comment in a rule's user data: type-length-value items of one byte each."""
    off = 0
    while udata is not None and off + 2 <= len(udata):
        kind, size = udata[off], udata[off + 1]
        if kind == NFTNL_UDATA_RULE_COMMENT:
            return udata[off + 2 : off + 2 + size].split(b"\0", 1)[0].decode(errors="replace")
        off += 2 + size
    return None
