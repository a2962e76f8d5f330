"""The real ssh client command of `netemu ssh`: from which namespace, to which address, with
the scenario's key pair; the bastion hop by ProxyJump (-J), as on AWS."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from netemu.errors import UsageError
from netemu.model.types import Model
from netemu.probe.endpoints import destination, source
from netemu.services import config as cfg

USER = "root"  # sshd admits root by key only (render.services); netemu makes no accounts


@dataclass(frozen=True)
class SshCommand:
    source: str  # the instance or internet host the client runs in
    ns: str
    argv: tuple[str, ...]


def default_source(model: Model) -> str:
    if not model.internet_hosts:
        raise UsageError("the scenario has no internet host to connect from; use --from")
    return next(iter(model.internet_hosts))


def command(
    model: Model,
    state_dir: str,
    target: str,
    from_: str | None = None,
    jump: str | None = None,
    remote: Sequence[str] = (),
) -> SshCommand:
    """Addresses come from probe.endpoints, the one place that resolves names: TARGET as
    the client sees it, or, with a bastion, the bastion as the client sees it (its public
    IP from the internet) and TARGET as the bastion sees it (its private IP in the VPC)."""
    key = os.path.join(state_dir, cfg.KEY_PAIR)
    if not os.path.exists(key):
        raise UsageError(
            f"scenario '{model.name}' runs no ssh server: list `ssh` in some instance's services"
        )
    src = source(model, from_ or default_source(model))
    assert src.ns
    argv = [
        "ssh",
        # -F carries the key and options to the -J hop too, which command-line ones do not.
        "-F",
        os.path.join(state_dir, cfg.SSH_CONFIG),
        "-i",
        key,
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
    ]
    seen_from = src
    if jump:
        bastion = destination(model, jump, src)
        argv += ["-J", f"{USER}@{bastion.ip}"]
        seen_from = source(model, jump)
    dst = destination(model, target, seen_from)
    # After "--" ssh parses no options, so a remote command starting with "-" stays one.
    argv += ["--", f"{USER}@{dst.ip}"]
    argv += remote
    return SshCommand(src.name, src.ns, tuple(argv))


def lacking_ssh(model: Model, names: Sequence[str]) -> list[str]:
    """Those of `names` that are instances or hosts whose services do not list ssh."""
    out = []
    for name in names:
        owner = model.instances.get(name) or model.internet_hosts.get(name)
        if owner is not None and not any(s.kind == "ssh" for s in owner.services):
            out.append(name)
    return out
