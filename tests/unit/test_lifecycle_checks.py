"""Host checks `up` makes before it builds anything (issue 7: exit 3 with what to install)."""

from __future__ import annotations

import pytest

from netemu import lifecycle
from netemu.errors import ExitStatus, HostUnsupported
from netemu.render.plan import Namespace, Plan, Process


def test_missing_program_is_a_host_problem_named_before_anything_is_built() -> None:
    plan = Plan(
        "x",
        (Namespace("ne-x-s-a", "subnet:a"),),
        processes=(
            Process("ne-x-s-a", "dhcp", ("/usr/sbin/no-such-dhcp-server",)),
            Process("ne-x-s-a", "ok", ("sh", "-c", "true")),
        ),
    )
    with pytest.raises(HostUnsupported) as caught:
        lifecycle.check_programs(plan)
    assert caught.value.exit_status == ExitStatus.HOST_UNSUPPORTED
    assert "/usr/sbin/no-such-dhcp-server" in str(caught.value)
    assert "make setup" in str(caught.value)
