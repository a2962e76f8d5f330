"""The AWS account behind the endpoint: moto's EC2 backend, in this process.

moto answers the API (its EC2 backend is what LocalStack's EC2 is built on); netemu only
decides what reaches the kernel. Identifiers are drawn from moto's seedable random source,
reseeded before every mutating call from the call's sequence number, so replaying the
journal after a crash gives every object the identifier its client was told.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.moto_api._internal import mock_random
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import create_backend_app
from werkzeug.test import Client

from netemu.serve import fixups
from netemu.serve.journal import Entry

ACCOUNT_ID = DEFAULT_ACCOUNT_ID
# Any credentials do: moto accepts every key, and netemu listens on 127.0.0.1 only.
SIGNATURE = (
    "AWS4-HMAC-SHA256 Credential=netemu/20260101/{region}/ec2/aws4_request, "
    "SignedHeaders=host, Signature=0"
)

Response = tuple[int, dict[str, str], str]


def _mutating(body: str) -> bool:
    action = re.search(r"(?:^|&)Action=([A-Za-z]+)", body)
    if action is None:
        return False
    return not action.group(1).startswith(("Describe", "Get", "List", "Search"))


def seed_for(seq: int) -> int:
    return int.from_bytes(hashlib.sha256(f"netemu-{seq}".encode()).digest()[:8], "big")


class Account:
    def __init__(self, region: str) -> None:
        self.region = region
        self._mock = mock_aws()  # in-process boto3 clients (reads for the kernel) see moto
        self._mock.start()
        # Every call is EC2's: its app directly, not moto's dispatcher, which looks the
        # service up again on every request (a scan of moto's modules, ~0.7 ms a call).
        self._client = Client(create_backend_app("ec2"))
        # moto initialises some things on its first request only, drawing random numbers
        # then: a throwaway request first makes every later reset start from one state.
        self.call("Action=DescribeRegions&Version=2016-11-15")
        self.reset()

    def close(self) -> None:
        self._mock.stop()

    def reset(self) -> None:
        """A fresh account: nothing but the region's default VPC (ref 3.1)."""
        moto_api_backend.reset()
        mock_random.seed(seed_for(0))
        self.call("Action=DescribeVpcs&Version=2016-11-15")
        # moto makes the default VPC when the region is first touched; AWS's has an IGW.
        fixups.default_vpc_internet_gateway(self.backend())
        fixups.default_groups_admit_members(self.backend())

    def backend(self) -> Any:
        from moto.ec2.models import ec2_backends

        return ec2_backends[ACCOUNT_ID][self.region]

    def call(self, body: str, seq: int | None = None) -> Response:
        """Send one Query-API call to moto. With `seq`, identifiers come from that call's
        seed, as they did (or will) when the call is replayed."""
        if seq is not None:
            mock_random.seed(seed_for(seq))
        r = self._client.post(
            "/",
            data=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                "Host": f"ec2.{self.region}.amazonaws.com",
                "Authorization": SIGNATURE.format(region=self.region),
            },
        )
        status, headers, text = (
            r.status_code,
            {"Content-Type": r.headers.get("Content-Type", "text/xml")},
            r.text,
        )
        if status != 200 or not _mutating(body):
            return status, headers, text
        match = re.search(r"<natGatewayId>(nat-[0-9a-f]+)</natGatewayId>", text)
        if match and "Action=CreateNatGateway&" in f"{body}&":
            fixups.nat_gateway_created(self.backend(), match.group(1))
            # AWS answers `pending`; netemu's pending lasts no time (describe shows the end).
            text = text.replace("<state>available</state>", "<state>pending</state>", 1)
        modified = re.search(r"(?:^|&)InstanceId=(i-[0-9a-f]+)", body)
        if modified and "Action=ModifyInstanceAttribute&" in f"{body}&" and "GroupId." in body:
            fixups.instance_groups_modified(self.backend(), modified.group(1))
        for old, new in fixups.after_call(self.backend()).items():
            text = text.replace(f">{old}<", f">{new}<")
        return status, headers, text

    def facts_of(self, action: str, params: dict[str, str]) -> dict[str, Any]:
        """What a replay of this acknowledged call could not recompute."""
        if action == "CreateKeyPair":
            kp = self.backend().key_pairs.get(params.get("KeyName", ""))
            if kp is not None:
                return {"key_pair": _key_pair_facts(kp)}
        return {}

    def replay(self, entries: list[Entry]) -> None:
        """Rebuild the account from acknowledged calls (after a restart or a refused call)."""
        self.reset()
        for e in entries:
            self.call(e.body, e.seq)
            kp = e.facts.get("key_pair")
            if kp:
                target = self.backend().key_pairs.get(kp["name"])
                if target is not None:
                    for attr, value in kp["attrs"].items():
                        setattr(target, attr, _decode(value))


def _key_pair_facts(kp: Any) -> dict[str, Any]:
    attrs = {}
    for attr in ("material", "material_public", "key_fingerprint"):
        if hasattr(kp, attr):
            attrs[attr] = _encode(getattr(kp, attr))
    return {"name": kp.key_name, "attrs": attrs}


def _encode(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"b64": base64.b64encode(value).decode()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "b64" in value:
        return base64.b64decode(value["b64"])
    return value
