"""The instance metadata service (IMDS) at 169.254.169.254 (ref 10.6), IMDSv2 only.

One listener per subnet namespace; the caller is the instance whose private address the
request comes from. A forged source address cannot get an answer: the handshake's reply is
routed to the port of the address's real owner, never back to the forger.

Tokens: `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds: 1..21600`
returns a token valid for that instance only; every other request must carry it in
`X-aws-ec2-metadata-token` (HttpTokens=required, the default of new instances on recent
AMIs) or is refused with 401. `http_tokens: optional` in the daemon's configuration would
admit IMDSv1 requests too. The token's response leaves with IP TTL 1, as AWS's default
HttpPutResponseHopLimit, and closes its connection so later answers carry the normal TTL.

The answers come from METADATA (config.py), a JSON document the daemon re-reads whenever
the file changes, so whoever changes an instance's public IP (stop/start) only rewrites
that file atomically; nothing is cached from start-up.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

from netemu.services.config import HttpTokens
from netemu.services.httpd import Peer, Request, Response

TOKEN_PATH = "/latest/api/token"
TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "x-aws-ec2-metadata-token"
MAX_TOKEN_TTL = 21600  # six hours, AWS's limit
PUT_HOP_LIMIT = 1  # AWS's default HttpPutResponseHopLimit

Tree = dict[str, Any]  # directories are dicts, values are strings


@dataclass(frozen=True)
class Token:
    ns: str
    ip: str
    expires: float


class Documents:
    """METADATA as last read; re-read when the file's identity or time stamp changes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._data: dict[str, Any] = {}

    def instance(self, ns: str, ip: str) -> Tree | None:
        """The metadata tree of the instance with private address `ip` behind `ns`."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            with open(self.path) as f:
                self._data = json.load(f)
            self._stamp = stamp
        found: Tree | None = self._data.get("subnets", {}).get(ns, {}).get(ip)
        return found


class Metadata:
    def __init__(self, path: str, http_tokens: HttpTokens = "required") -> None:
        self.docs = Documents(path)
        self.http_tokens = http_tokens
        self.tokens: dict[str, Token] = {}

    def handle(self, ns: str, req: Request, peer: Peer, now: float | None = None) -> Response:
        now = time.monotonic() if now is None else now
        tree = self.docs.instance(ns, peer.ip)
        if tree is None:
            return Response(403, f"netemu: {peer.ip} is not a running instance here\n")
        if req.path == TOKEN_PATH:
            return self._token(ns, req, peer, now)
        if req.method not in ("GET", "HEAD"):
            return Response(405, "Method Not Allowed\n", headers=(("Allow", "GET, HEAD"),))
        token = req.headers.get(TOKEN_HEADER)
        if token is not None or self.http_tokens == "required":
            held = self.tokens.get(token or "")
            if held is None or held.expires <= now or (held.ns, held.ip) != (ns, peer.ip):
                return Response(401, "Unauthorized\n")
        return lookup(tree, req.path)

    def _token(self, ns: str, req: Request, peer: Peer, now: float) -> Response:
        if req.method != "PUT":
            return Response(405, "Method Not Allowed\n", headers=(("Allow", "PUT"),))
        if "x-forwarded-for" in req.headers:
            # AWS refuses token requests that passed a proxy, which would forward them.
            return Response(403, "Forbidden\n")
        try:
            ttl = int(req.headers[TTL_HEADER])
        except (KeyError, ValueError):
            ttl = 0
        if not 1 <= ttl <= MAX_TOKEN_TTL:
            return Response(400, f"{TTL_HEADER} must be 1 to {MAX_TOKEN_TTL}\n")
        self.tokens = {k: t for k, t in self.tokens.items() if t.expires > now}
        token = secrets.token_urlsafe(42)
        self.tokens[token] = Token(ns, peer.ip, now + ttl)
        return Response(
            200, token, headers=((TTL_HEADER, str(ttl)),), ip_ttl=PUT_HOP_LIMIT, close=True
        )


def lookup(tree: Tree, path: str) -> Response:
    """`/latest/<path>`: a value, or a listing where directories end in `/`."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return Response(200, "latest")
    if parts[0] != "latest":
        return Response(404, "Not Found\n")
    node: Any = tree
    for part in parts[1:]:
        if not isinstance(node, dict) or part not in node:
            return Response(404, "Not Found\n")
        node = node[part]
    if isinstance(node, dict):
        return Response(
            200, "\n".join(k + "/" if isinstance(v, dict) else k for k, v in node.items())
        )
    ctype = "application/json" if node.startswith("{") else "text/plain"
    return Response(200, node, content_type=ctype)
