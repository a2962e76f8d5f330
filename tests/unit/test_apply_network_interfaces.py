"""`netemu apply` of secondary ENIs and secondary private IPs without a kernel: the changes
in AWS terms, and what AWS refuses on a live ENI (ref 9.7, 9.20, 9.21)."""

from __future__ import annotations

from pathlib import Path

import pytest

from netemu.errors import ScenarioInvalid
from netemu.model import load_model_text
from netemu.ops.diff import changes
from netemu.ops.forbidden import refuse_forbidden

BASE = """
vpcs:
  main: {cidr: 10.0.0.0/16}
subnets:
  front: {vpc: main, cidr: 10.0.1.0/24, az: a}
  back: {vpc: main, cidr: 10.0.2.0/24, az: a}
  back2: {vpc: main, cidr: 10.0.4.0/24, az: a}
security_groups:
  admin: {vpc: main}
instances:
  app: {subnet: front, private_ip: 10.0.1.10}
"""
NIC = """network_interfaces:
  nic: {subnet: back, instance: app, device_index: 1, private_ip: 10.0.2.10}
"""


def _texts(old: str, new: str) -> list[str]:
    return [c.text for c in changes(load_model_text(old)[0], load_model_text(new)[0])]


def test_attach_and_detach_a_secondary_eni_live() -> None:
    """ref 9.20, 9.7: a secondary ENI is created and attached, detached and deleted."""
    assert _texts(BASE, BASE + NIC) == [
        "create network interface nic in subnet back (10.0.2.10)",
        "attach network interface nic to instance app at device index 1",
    ]
    assert _texts(BASE + NIC, BASE) == [
        "detach network interface nic from instance app (device index 1)",
        "delete network interface nic",
    ]


def test_assign_and_unassign_secondary_ips_and_modify_an_eni() -> None:
    """ref 9.21, 9.6: addresses, groups and the source/destination check change in place."""
    more = BASE.replace("10.0.1.10}", "10.0.1.10, secondary_private_ips: [10.0.1.20]}")
    new = more + NIC.replace(
        "10.0.2.10}",
        "10.0.2.10, security_groups: [admin], "
        "source_dest_check: false, secondary_private_ips: [10.0.2.20]}",
    )
    lines = _texts(BASE + NIC, new)
    assert "modify network interface nic security groups: [default] -> [admin]" in lines
    assert "modify network interface nic attribute sourceDestCheck: true -> false" in lines
    assert "assign private ip 10.0.2.20 to network interface nic" in lines
    assert any(t.startswith("assign private ip 10.0.1.20 to instance app (eni-") for t in lines)
    assert "unassign private ip 10.0.2.20 from network interface nic" in _texts(new, BASE + NIC)


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        ("subnet: back,", 13, "cannot move from subnet back to back2"),
        ("private_ip: 10.0.2.10}", 13, "primary private IP 10.0.2.10"),
    ],
)
def test_a_live_eni_keeps_its_subnet_and_primary_ip(
    tmp_path: Path, change: str, line: int, words: str
) -> None:
    """ref 9.7: an interface never changes subnet; its primary private IP stays (9.21)."""
    new = BASE + NIC.replace(
        change, "subnet: back2," if "subnet" in change else "private_ip: 10.0.2.11}"
    )
    if "subnet" in change:
        new = new.replace("10.0.2.10}", "10.0.4.10}")
    path = tmp_path / "s.yaml"
    path.write_text(new)
    with pytest.raises(ScenarioInvalid) as e:
        refuse_forbidden(load_model_text(BASE + NIC)[0], load_model_text(new, str(path))[0],
                         str(path))  # fmt: skip
    (p,) = e.value.problems
    assert p.pos is not None and p.pos.line == line
    assert p.message.startswith("OperationNotPermitted:") and words in p.message
