"""Make the kernel follow the account: moto's state read back as describe-* shapes, turned
into a scenario by the importer, then applied in place like `netemu apply` (one path from
API call to kernel, architecture 1)."""

from __future__ import annotations

import os
import shutil
from typing import Any

import boto3

from netemu import lifecycle
from netemu.driver import state as st
from netemu.errors import NetemuError, ScenarioInvalid
from netemu.interop import write_yaml
from netemu.interop.endpoint_read import read_client
from netemu.interop.to_scenario import describe_to_scenario
from netemu.model import load_model
from netemu.model.types import Model
from netemu.ops.apply import apply_model
from netemu.serve.account import Account
from netemu.serve.aws import AwsError

HEADER = (
    "The account behind `netemu serve`, rewritten after every acknowledged call.",
    "Edit the account through the API, not this file.",
)


class Reconciler:
    def __init__(self, account: Account, name: str, state: str, source: str | None) -> None:
        self.account = account
        self.name = name
        self.path = os.path.join(state, f"{name}.yaml")  # the account as a scenario
        self.candidate = os.path.join(state, "candidate", f"{name}.yaml")
        self.internet = _internet_hosts(source)
        self._model: Model | None = None

    def client(self) -> Any:
        # moto's mock is active in this process: the client reads the account in memory.
        return boto3.client(
            "ec2",
            region_name=self.account.region,
            aws_access_key_id="netemu",
            aws_secret_access_key="netemu",
        )

    def scenario_text(self) -> str:
        data, _notes = read_client(self.client())
        scenario, _ = describe_to_scenario(
            data, name=self.name, region=self.account.region, internet=self.internet
        )
        return write_yaml.dump(scenario, HEADER)

    def __call__(self) -> None:
        os.makedirs(os.path.dirname(self.candidate), exist_ok=True)
        with open(self.candidate, "w", encoding="utf-8") as f:
            f.write(self.scenario_text())
        try:
            model, _ = load_model(self.candidate)
        except ScenarioInvalid as e:
            raise AwsError(
                "InvalidParameterValue",
                "netemu cannot build the account after this call: "
                + "; ".join(p.message for p in e.problems[:3]),
            ) from e
        driver = lifecycle.KernelDriver()
        if self.name in st.running():
            apply_model(model, self.name, False, driver)
        else:
            lifecycle.up_model(model, self.candidate, driver)
        shutil.copyfile(self.candidate, self.path)
        self._model = model

    def model(self) -> Model:
        if self._model is None:
            raise NetemuError(f"the account '{self.name}' is not in the kernel yet")
        return self._model


def _internet_hosts(source: str | None) -> list[tuple[str, str]]:
    """Internet hosts from `--from FILE`; none: the importer adds the contract's default."""
    if not source:
        return []
    model, _ = load_model(source)
    return [(h.name, str(h.ip)) for h in model.internet_hosts.values()]
