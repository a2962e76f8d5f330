"""`apply_model` with the running plan held (as the EC2 API endpoint calls it): rule changes
rendered chain by chain, appended or refilled through libnftables contexts kept between
applies, keep AWS's live-change semantics (ref 7.2, 7.15) and a kernel that verifies."""

from __future__ import annotations

import os

from live import Held, live
from test_apply import CLIENT_5000, OTHER_5000, PORT, scenario

from netemu import lifecycle, verify
from netemu.driver import state as st
from netemu.model import load_model
from netemu.ops import apply
from netemu.render import render

WIDE = CLIENT_5000 + "\n      - {protocol: tcp, port: 5001, cidr: 198.51.100.0/24}"


def _apply(path: str, text: str, running: apply.Running) -> apply.ChangeSet:
    with open(path, "w") as f:
        f.write(text)
    wanted, _ = load_model(path)
    result = apply.apply_model(wanted, wanted.name, running=running)
    assert result.running is not None
    model = lifecycle.running_model(wanted.name)
    state = st.load(wanted.name)
    assert state is not None
    assert verify.verify(model, render(model), state.pids) == []
    return result


def test_held_applies_append_refill_and_keep_a_tracked_flow() -> None:
    """An authorized rule is appended, a revoked one refilled, through the same kept
    contexts; the whole kernel verifies after each, and a flow admitted by a rule that
    is then revoked stays up (7.15)."""
    with live(scenario(ingress=CLIENT_5000)) as s, Held(s.model, "client", "web", PORT) as c:
        path = os.path.join(os.path.dirname(s.path), "held.yaml")
        running = apply.Running(s.model, render(s.model))
        added = _apply(path, scenario(ingress=WIDE), running)
        assert [x.action for x in added.changes] == ["authorize"]
        assert added.running is not None and added.running.nft is not None
        revoked = _apply(path, scenario(ingress=OTHER_5000), added.running)
        assert "revoke" in {x.action for x in revoked.changes}
        assert revoked.running is not None and revoked.running.nft is added.running.nft
        assert c.alive()  # tracked: its rule went, the flow stays
