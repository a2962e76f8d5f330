"""`key_pairs:` (EC2 key pairs by their public keys) and an instance's `key_name` (ref 9.12)."""

from __future__ import annotations

import re

from netemu.model.types import KeyPair
from netemu.model.validate_context import Ctx, q
from netemu.model.validate_fields import as_map, check_keys, section, text
from netemu.scenario import Node

KEY_PAIR_KEYS = ("public_key", "id")
# An OpenSSH public key line: type, base64 blob, optional comment (what EC2 imports).
PUBLIC_KEY_RE = re.compile(
    r"(ssh-(rsa|ed25519)|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( .*)?"
)
NAME_RE = re.compile(r"[\x20-\x7e]{1,255}")  # EC2: up to 255 ASCII characters


def read_key_pairs(ctx: Ctx, top: dict[str, Node]) -> None:
    for name, node in section(ctx, top, "key_pairs").items():
        what = f"key pair {q(name)}"
        if not NAME_RE.fullmatch(name):
            ctx.error(node.where, f"{what}: a key pair name is 1-255 ASCII characters")
            continue
        m = as_map(ctx, node, what, null_ok=False)
        if m is None:
            continue
        check_keys(ctx, m, node, what, KEY_PAIR_KEYS, ("public_key",))
        if "id" in m:
            text(ctx, m["id"], f"{what} id")
        key = text(ctx, m["public_key"], f"{what} public_key") if "public_key" in m else None
        if key is None:
            continue
        if not PUBLIC_KEY_RE.fullmatch(key.strip()):
            ctx.error(
                m["public_key"],
                f"{what} public_key is not an OpenSSH public key line "
                "(ssh-ed25519, ssh-rsa or ecdsa-sha2-nistp*, then the key in base64)",
            )
            continue
        ctx.key_pairs[name] = KeyPair(name, key.strip())


def key_name(ctx: Ctx, node: Node | None, what: str) -> str | None:
    """An instance's `key_name`: a key pair of the scenario."""
    if node is None:
        return None
    name = text(ctx, node, f"{what} key_name")
    if name is not None and name not in ctx.key_pairs:
        known = ", ".join(sorted(ctx.key_pairs)) or "none"
        ctx.error(node, f"{what} key_name {q(name)} is not a key pair of the scenario ({known})")
        return None
    return name
