"""A flow log added by `netemu apply` records from then on (reference 12.1: a flow log can
be created for a running VPC), also when the new scenario file has another name than the
running one: the collector the change starts reads the new file's copy."""

from __future__ import annotations

from pathlib import Path

from test_flow_logs import FLOW_LOGS, on, settled

from netemu import lifecycle
from netemu.ops.apply import apply_file
from netemu.testing import running
from scenarios import vpc


def test_a_flow_log_added_by_apply_from_a_new_file_records_the_next_connection(
    tmp_path: Path,
) -> None:
    """12.1: a flow log created on a running VPC; 12.4 (both allow): two ACCEPT records."""
    before, after = tmp_path / "stage1.yaml", tmp_path / "stage2.yaml"
    before.write_text(vpc(name="gfl"))
    after.write_text(vpc(name="gfl") + FLOW_LOGS)
    with running(str(before)) as s:
        apply_file(str(after), False, lifecycle.KernelDriver())
        assert s.probe("client", "web", icmp=True).result == "reachable"
        rows = settled(s)
    assert on(rows, s, "web", 1) == [
        ("ACCEPT", "egress", "172.30.0.10", "198.51.100.10", 1),
        ("ACCEPT", "ingress", "198.51.100.10", "172.30.0.10", 1),
    ]
