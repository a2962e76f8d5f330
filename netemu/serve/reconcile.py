"""Make the kernel follow the account: moto's state read back as describe-* shapes, turned
into a scenario by the importer, then applied in place like `netemu apply` (one path from
API call to kernel, architecture 1).

Three things keep a call cheap and the kernel calm:
- only the describe-* calls an action can change are read again (`REFRESH`), the
  commonest straight from moto's backend (serve.backend_read) rather than through boto3;
- the scenario is resolved from the importer's data directly, not written and parsed;
- every object keeps the name it was first given: a later `CreateTags` that renames it
  changes nothing in the kernel, as tagging changes nothing on AWS (names become
  namespace names, and a renamed namespace would be a rebuilt one).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
from typing import Any

import boto3

from netemu import lifecycle
from netemu.driver import state as st
from netemu.errors import NetemuError, ScenarioInvalid
from netemu.interop import write_yaml
from netemu.interop.endpoint_read import CALLS, read_call, read_client
from netemu.interop.to_scenario import describe_to_scenario
from netemu.model import load_model
from netemu.model.resolve import resolve
from netemu.model.types import Model
from netemu.ops.apply import apply_model
from netemu.ops.plans import Running
from netemu.scenario import from_data
from netemu.serve import backend_read
from netemu.serve.account import Account
from netemu.serve.aws import AwsError
from netemu.services import user_data

HEADER = (
    "The account behind `netemu serve`, rewritten after every acknowledged call.",
    "Change the account through the API, not this file.",
)

_SG, _ACL, _RT = {"SecurityGroups"}, {"NetworkAcls"}, {"RouteTables"}
_FL = {"FlowLogs"}
_INSTANCES = {"Reservations", "NetworkInterfaces", "Addresses"}
# The describe-* results an action can change; any action not listed reads everything.
REFRESH: dict[str, set[str]] = {
    **dict.fromkeys(
        (
            "AuthorizeSecurityGroupIngress",
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupIngress",
            "RevokeSecurityGroupEgress",
            "ModifySecurityGroupRules",
            "UpdateSecurityGroupRuleDescriptionsIngress",
            "UpdateSecurityGroupRuleDescriptionsEgress",
        ),
        _SG,
    ),
    **dict.fromkeys(
        (
            "CreateNetworkAclEntry",
            "ReplaceNetworkAclEntry",
            "DeleteNetworkAclEntry",
            "ReplaceNetworkAclAssociation",
        ),
        _ACL,
    ),
    **dict.fromkeys(
        (
            "CreateRoute",
            "ReplaceRoute",
            "DeleteRoute",
            "AssociateRouteTable",
            "DisassociateRouteTable",
            "ReplaceRouteTableAssociation",
        ),
        _RT,
    ),
    # The flow-log collector is part of the plan: apply starts or stops it (ref 12.1).
    **dict.fromkeys(("CreateFlowLogs", "DeleteFlowLogs"), _FL),
    # An instance launched, stopped, started or terminated changes its own reservation and
    # ENI, and (terminated) an Elastic IP association (ref 9.2, 9.4); reading
    # the rest of a large account again would cost more than the call.
    **dict.fromkeys(
        ("RunInstances", "StartInstances", "StopInstances", "TerminateInstances"), _INSTANCES
    ),
}

# Where each describe-* result keeps the objects that become named scenario objects.
_NAMED = {
    "Vpcs": "VpcId",
    "Subnets": "SubnetId",
    "RouteTables": "RouteTableId",
    "InternetGateways": "InternetGatewayId",
    "NatGateways": "NatGatewayId",
    "NetworkAcls": "NetworkAclId",
}


class Reconciler:
    def __init__(self, account: Account, name: str, state: str, source: str | None) -> None:
        self.account = account
        self.name = name
        self.path = os.path.join(state, f"{name}.yaml")  # the account as a scenario
        self.candidate = os.path.join(state, "candidate", f"{name}.yaml")
        self.names_file = os.path.join(state, "names.json")
        self.internet = _internet_hosts(source)
        self._model: Model | None = None
        self._running: Running | None = None  # the model and plan apply last made
        self._data: dict[str, Any] | None = None
        self._client: Any = None
        try:
            with open(self.names_file, encoding="utf-8") as f:
                self.names: dict[str, str | None] = json.load(f)
        except (FileNotFoundError, ValueError):
            self.names = {}
        self._names_written: str | None = None

    def client(self) -> Any:
        # moto's mock is active in this process: the client reads the account in memory.
        if self._client is None:
            self._client = boto3.client(
                "ec2",
                region_name=self.account.region,
                aws_access_key_id="netemu",
                aws_secret_access_key="netemu",
            )
            # moto's and botocore's service models, loaded by now, live as long as the
            # endpoint: the collector need not walk their millions of objects again on each
            # call (a full collection of them cost tens of milliseconds, several per call).
            gc.collect()
            gc.freeze()
        return self._client

    def read(self, action: str | None = None) -> dict[str, Any]:
        """The account as describe-* data: all of it, or what `action` can have changed."""
        keys = REFRESH.get(action or "")
        if self._data is None or keys is None:
            data, _notes = read_client(self.client())
        else:
            data = dict(self._data)
            for operation, key, _ in CALLS:
                if key in keys and key in backend_read.READERS:
                    data[key] = backend_read.READERS[key](self.account.backend())
                elif key in keys:
                    data[key] = read_call(self.client(), operation, key)
        self._pin_names(data)
        return data

    def _pin_names(self, data: dict[str, Any]) -> None:
        """Give every object the Name it had when first seen (None: no Name tag then)."""

        def pin(obj: dict[str, Any], ident: str) -> None:
            tags = [t for t in obj.get("Tags", []) if t.get("Key") != "Name"]
            current = next((t["Value"] for t in obj.get("Tags", []) if t["Key"] == "Name"), None)
            first = self.names.setdefault(ident, current)
            obj["Tags"] = tags + ([{"Key": "Name", "Value": first}] if first else [])

        for key, id_key in _NAMED.items():
            for obj in data.get(key, []):
                pin(obj, obj[id_key])
        for reservation in data.get("Reservations", []):
            for inst in reservation.get("Instances", []):
                pin(inst, inst["InstanceId"])

    def __call__(self, action: str | None = None) -> None:
        data = self.read(action)
        scenario, _ = describe_to_scenario(
            data, name=self.name, region=self.account.region, internet=self.internet
        )
        self._launch_details(scenario)
        try:
            model, _ = resolve(from_data(scenario, self.candidate), self.candidate)
        except ScenarioInvalid as e:
            raise AwsError(
                "InvalidParameterValue",
                "netemu cannot build the account after this call: "
                + "; ".join(p.message for p in e.problems[:3]),
            ) from e
        # apply and up keep a copy of the model's file as the scenario's own.
        text = write_yaml.dump(scenario, HEADER)
        os.makedirs(os.path.dirname(self.candidate), exist_ok=True)
        _write(self.candidate, text)
        driver = lifecycle.KernelDriver()
        if self.name in st.running():
            result = apply_model(model, self.name, False, driver, self._running)
            self._running = result.running
        else:
            lifecycle.up_model(model, self.candidate, driver)
            self._running = None
        _link(self.candidate, self.path)  # the same text; a link costs less than a write
        self._model, self._data = model, data
        names = json.dumps(self.names)
        if names != self._names_written:  # most calls give no object a first name
            _write(self.names_file, names)
            self._names_written = names

    def _launch_details(self, scenario: dict[str, Any]) -> None:
        """What describe-* does not show of a launch but the instance runs with: sshd as an
        AMI has it, its key pair (authorized for ssh, ref 9.12) and its user data (run once
        at first start)."""
        backend = self.account.backend()
        used: dict[str, str] = {}
        launched = {i.id: i for i in backend.all_instances()}
        for inst in scenario.get("instances", {}).values():
            found = launched.get(inst.get("id"))
            if found is None:
                continue
            # An AMI's sshd: instances launched through the API can be logged in to.
            inst.setdefault("services", ["ssh"])
            key = str(getattr(found, "key_name", None) or "")
            pair = backend.key_pairs.get(key) if key else None
            if pair is not None:
                inst["key_name"] = key
                public = pair.material_public
                used[key] = public.decode() if isinstance(public, bytes) else str(public)
            if getattr(found, "user_data", None):
                # Not text: nothing a shell could run (AWS hands it over as it is).
                with contextlib.suppress(ValueError):
                    inst["user_data"] = user_data.decode(str(found.user_data))
        if used:
            scenario["key_pairs"] = {k: {"public_key": v} for k, v in sorted(used.items())}

    def forget(self) -> None:
        """The account was rebuilt (a refused call): read everything again next time."""
        self._data = None
        self._running = None

    def model(self) -> Model:
        if self._model is None:
            raise NetemuError(f"the account '{self.name}' is not in the kernel yet")
        return self._model


def _write(path: str, text: str) -> None:
    """Atomically, without fsync: the journal is what survives a crash; these files are
    made again from it."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _link(source: str, path: str) -> None:
    """`path` becomes another name of file `source`, atomically (a later `_write` of
    `source` replaces that file with a new one and leaves `path` as it was)."""
    tmp = path + ".tmp"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    os.link(source, tmp)
    os.replace(tmp, path)


def _internet_hosts(source: str | None) -> list[tuple[str, str]]:
    """Internet hosts from `--from FILE`; none: the importer adds the contract's default."""
    if not source:
        return []
    model, _ = load_model(source)
    return [(h.name, str(h.ip)) for h in model.internet_hosts.values()]
