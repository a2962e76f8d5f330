"""What `netemu apply` does with secondary ENIs and secondary private IPs, in AWS terms
(CreateNetworkInterface, AttachNetworkInterface, DetachNetworkInterface,
AssignPrivateIpAddresses, UnassignPrivateIpAddresses; ref 9.7, 9.8, 9.20, 9.21), and what
AWS refuses on a live ENI: a new subnet or a new primary private IP (9.7)."""

from __future__ import annotations

from netemu.model.types import Eni, Model
from netemu.ops.words import Change, _c, _group_name


def changes(old: Model, new: Model) -> list[Change]:
    """Secondary ENIs created, attached, detached, deleted or modified, then every ENI's
    secondary private IPs assigned and unassigned."""
    out: list[Change] = []
    for name, was in old.network_interfaces.items():
        now = new.network_interfaces.get(name)
        if now is None or _attachment(now) != _attachment(was):
            res = f"network_interface:{name}"
            out.append(_c("detach", res, f"detach network interface {name} from instance "
                          f"{was.owner} (device index {was.device_index})"))  # fmt: skip
            if now is None:
                out.append(_c("delete", res, f"delete network interface {name}"))
    for name, eni in new.network_interfaces.items():
        before = old.network_interfaces.get(name)
        res = f"network_interface:{name}"
        if before is None:
            out.append(_c("create", res, f"create network interface {name} in subnet "
                          f"{eni.subnet} ({eni.private_ip})"))  # fmt: skip
        if before is None or _attachment(before) != _attachment(eni):
            out.append(_c("attach", res, f"attach network interface {name} to instance "
                          f"{eni.owner} at device index {eni.device_index}"))  # fmt: skip
        if before is None or before.public_ip != eni.public_ip:
            out += _elastic_ip(name, before, eni)
        if before is None:
            continue
        was = before
        if was.security_groups != eni.security_groups:
            names = ", ".join(_group_name(new, g) for g in eni.security_groups)
            was_names = ", ".join(_group_name(old, g) for g in was.security_groups)
            out.append(_c("modify", res, f"modify network interface {name} security groups: "
                          f"[{was_names}] -> [{names}]"))  # fmt: skip
        if was.source_dest_check != eni.source_dest_check:
            out.append(_c("modify", res, f"modify network interface {name} attribute "
                          f"sourceDestCheck: {str(was.source_dest_check).lower()} -> "
                          f"{str(eni.source_dest_check).lower()}"))  # fmt: skip
    out += _secondary_ips(old, new)
    return out


def _elastic_ip(name: str, was: Eni | None, now: Eni) -> list[Change]:
    """A secondary ENI's public address is an elastic IP or nothing (9.20, 9.13)."""
    res, out = f"network_interface:{name}", []
    if was is not None and was.public_ip:
        out.append(_c("disassociate", res, f"disassociate elastic ip {was.public_ip} from "
                      f"network interface {name}"))  # fmt: skip
    if now.public_ip:
        out.append(_c("associate", res, f"associate elastic ip {now.public_ip} with "
                      f"network interface {name}"))  # fmt: skip
    return out


def _attachment(e: Eni) -> tuple[str, int]:
    return e.owner, e.device_index


def _label(e: Eni) -> str:
    return f"network interface {e.name}" if e.name else f"instance {e.owner} ({e.id})"


def _secondary_ips(old: Model, new: Model) -> list[Change]:
    before = {e.id: e for e in old.enis() if e.owner_kind == "instance"}
    out: list[Change] = []
    for e in new.enis():
        was = before.get(e.id)
        if e.owner_kind != "instance" or was is None:
            continue
        res = f"network_interface:{e.name}" if e.name else f"instance:{e.owner}"
        for ip in was.secondary_private_ips:
            if ip not in e.secondary_private_ips:
                out.append(_c("unassign", res, f"unassign private ip {ip} from {_label(e)}"))
        for ip in e.secondary_private_ips:
            if ip not in was.secondary_private_ips:
                out.append(_c("assign", res, f"assign private ip {ip} to {_label(e)}"))
    return out


def refused(old: Model, new: Model) -> list[tuple[tuple[str, ...], str]]:
    """(keys of the place in the file, AWS's error) for what a live ENI cannot change."""
    out: list[tuple[tuple[str, ...], str]] = []
    for name, eni in new.network_interfaces.items():
        was = old.network_interfaces.get(name)
        if was is None:
            continue
        if was.subnet != eni.subnet:
            out.append((("network_interfaces", name, "subnet"), "OperationNotPermitted: network "
                        f"interface {name} cannot move from subnet {was.subnet} to {eni.subnet}; "
                        "an interface never changes subnet (9.7): create a new one"))  # fmt: skip
        elif was.private_ip != eni.private_ip:
            out.append((("network_interfaces", name, "private_ip"), "OperationNotPermitted: the "
                        f"primary private IP {was.private_ip} of network interface {name} cannot "
                        f"change to {eni.private_ip} (9.21): assign it as a secondary private IP "
                        "or create a new interface"))  # fmt: skip
    return out
