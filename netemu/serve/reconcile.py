"""Make the kernel follow the account: moto's state read back as describe-* shapes, turned
into a scenario by the importer, then applied in place like `netemu apply` (one path from
API call to kernel, architecture 1)."""

from __future__ import annotations

import os
from typing import Any

import boto3
import yaml

from netemu import lifecycle
from netemu.driver import state as st
from netemu.errors import NetemuError, ScenarioInvalid
from netemu.model import load_model
from netemu.model.types import Model
from netemu.serve.account import Account
from netemu.serve.aws import AwsError


class Reconciler:
    def __init__(self, account: Account, name: str, state: str, source: str | None) -> None:
        self.account = account
        self.name = name
        self.path = os.path.join(state, f"{name}.yaml")
        self.source = source
        self._model: Model | None = None

    def client(self) -> Any:
        # moto's mock is active in this process: the client reads the account in memory.
        return boto3.client(
            "ec2",
            region_name=self.account.region,
            aws_access_key_id="netemu",
            aws_secret_access_key="netemu",
        )

    def scenario(self) -> dict[str, Any]:
        from netemu.interop.endpoint_read import read_client
        from netemu.interop.to_scenario import describe_to_scenario

        data = read_client(self.client())
        scenario, _notes = describe_to_scenario(
            data, name=self.name, region=self.account.region, internet_from=self.source
        )
        return scenario

    def __call__(self) -> None:
        text = "# The account behind `netemu serve`; rewritten after every call.\n"
        text += yaml.safe_dump(self.scenario(), sort_keys=False)
        tmp = self.path + ".new"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        try:
            model, _ = load_model(tmp)
        except ScenarioInvalid as e:
            os.unlink(tmp)
            raise AwsError("InvalidParameterValue", "; ".join(p.message for p in e.problems)) from e
        driver = lifecycle.KernelDriver()
        if self.name in st.running():
            from netemu.ops.apply import apply_model

            apply_model(model, tmp, driver)
        else:
            lifecycle.up_model(model, self.path, driver)
        os.replace(tmp, self.path)
        self._model = model

    def model(self) -> Model:
        if self._model is None:
            raise NetemuError(f"the account '{self.name}' is not in the kernel yet")
        return self._model
