"""`up` runs verify at its end: a build that does not match its plan fails loudly and is
rolled back (issue 7.4)."""

from __future__ import annotations

import subprocess

import pytest
import relkit

from netemu import lifecycle
from netemu.errors import KernelError
from netemu.render.plan import Plan


class StrayRoute(lifecycle.KernelDriver):
    """Builds the plan, then one route more: what a bug in the driver could do."""

    def apply(self, plan: Plan, created: list[str], workdir: str, pids: list[int]) -> None:
        super().apply(plan, created, workdir, pids)
        subprocess.run(
            [
                "ip",
                "-n",
                f"ne-{plan.scenario}-i-web1",
                "route",
                "add",
                "10.98.0.0/16",
                "via",
                "172.30.0.1",
            ],
            check=True,
        )


@pytest.mark.kernel
def test_up_fails_loudly_and_rolls_back_when_verify_finds_a_difference(
    workdir: str, nothing_left: None
) -> None:
    path = relkit.write(workdir, relkit.scenario("rl-vup"), "rl-vup.yaml")
    with pytest.raises(KernelError) as failed:
        lifecycle.up(path, StrayRoute())
    message = str(failed.value)
    assert "does not hold what its plan asks for" in message and "rolled back" in message
    assert "ne-rl-vup-i-web1: route: unexpected 10.98.0.0/16 via 172.30.0.1" in message
    assert relkit.leftovers() == []
