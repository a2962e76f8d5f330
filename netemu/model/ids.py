"""Deterministic AWS-style ids and ENI MAC addresses, derived only from names.

The same scenario always yields the same ids and MACs, so kernel objects, DHCP reservations
and test output are stable across runs and machines.
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal

IdKind = Literal[
    "vpc",
    "subnet",
    "rtb",
    "igw",
    "nat",
    "sg",
    "acl",
    "eni",
    "i",
    "fl",
    "pcx",
    "eipalloc",
    "eigw",
    "pl",
    "dopt",
    "tgw",
    "tgw-attach",
    "tgw-rtb",
    "vpce",
]

_PREFIX: dict[IdKind, str] = {
    "vpc": "vpc-",
    "subnet": "subnet-",
    "rtb": "rtb-",
    "igw": "igw-",
    "nat": "nat-",
    "sg": "sg-",
    "acl": "acl-",
    "eni": "eni-",
    "i": "i-",
    "fl": "fl-",
    "pcx": "pcx-",
    "eipalloc": "eipalloc-",
    "eigw": "eigw-",
    "pl": "pl-",
    "dopt": "dopt-",
    "tgw": "tgw-",
    "tgw-attach": "tgw-attach-",
    "tgw-rtb": "tgw-rtb-",
    "vpce": "vpce-",
}


def _digest(text: str) -> bytes:
    # surrogatepass: a name with a lone surrogate is reported as invalid, but must not crash
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def aws_id(scenario: str, kind: IdKind, name: str) -> str:
    """`<prefix>` + 17 hex characters of sha256("scenario/kind/name"), like `vpc-0a1b…`."""
    return _PREFIX[kind] + _digest(f"{scenario}/{kind}/{name}").hex()[:17]


def eni_mac(eni_id: str, taken: set[str]) -> str:
    """A locally administered unicast MAC (02:…) from the ENI id, not in `taken`.

    On a collision the id is re-hashed with a counter, so the result only depends on the
    ENIs before it in scenario order. The caller adds the result to `taken`.
    """
    attempt = 0
    while True:
        seed = eni_id if attempt == 0 else f"{eni_id}#{attempt}"
        mac = "02:" + ":".join(f"{b:02x}" for b in _digest(seed)[:5])
        if mac not in taken:
            return mac
        attempt += 1


_ID_TAIL = re.compile(r"[0-9a-zA-Z]{1,40}")


def id_problem(kind: IdKind, given: str) -> str | None:
    """Why `given` cannot be the AWS id of a `kind` object, or None when it can."""
    prefix = _PREFIX[kind]
    if given.startswith(prefix) and _ID_TAIL.fullmatch(given[len(prefix) :]):
        return None
    return f"must look like {prefix}0a1b2c3d (the '{prefix}' prefix, then letters and digits)"
