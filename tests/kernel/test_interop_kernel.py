"""Imported accounts run for real: the book's web + DB VPC built through boto3 on moto passes
the book's expectations; the three-AZ module layout comes up (issue 13, done-when)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from netemu.model import load_model
from tests.unit.interop_accounts import REGION, build_three_az, build_webdb, client, moto_endpoint

__all__ = ["moto_endpoint"]
ROOT = Path(__file__).resolve().parents[2]


def netemu(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netemu.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )


def test_webdb_made_on_moto_passes_the_books_expectations(
    moto_endpoint: str, tmp_path: Path
) -> None:
    """ref 5.3, 5.5, 6.x, 7.4: the same verdicts as scenarios/book/webdb.yaml, with the ids
    and public address of the account."""
    made = build_webdb(client(moto_endpoint))
    out = tmp_path / "ixwebdb.yaml"
    r = netemu(
        "import",
        "--endpoint-url",
        moto_endpoint,
        "--region",
        REGION,
        "-o",
        str(out),
        "--name",
        "ixwebdb",
        "--expect-from",
        "scenarios/book/webdb.yaml",
    )
    assert r.returncode == 0, r.stderr
    os.chmod(tmp_path, 0o755)
    t = netemu("test", str(out), "--json")
    assert t.returncode == 0, t.stdout + t.stderr
    report = json.loads(t.stdout)
    assert (report["passed"], report["failed"]) == (8, 0)
    web = next(x for x in report["results"] if x["to"] == "web")
    assert web["result"] == "reachable" and web["dst_ip"] != "203.0.113.1"  # moto's public IP
    assert made["vpc"] in out.read_text()


def test_three_az_module_layout_comes_up(moto_endpoint: str, tmp_path: Path) -> None:
    made = build_three_az(client(moto_endpoint))
    out = tmp_path / "ix3az.yaml"
    r = netemu(
        "import",
        "--endpoint-url",
        moto_endpoint,
        "--region",
        REGION,
        "-o",
        str(out),
        "--name",
        "ix3az",
    )
    assert r.returncode == 0, r.stderr
    assert "endpoints" not in r.stderr  # its S3 gateway endpoint is emulated (17.2)
    assert made["endpoint"] in out.read_text()
    os.chmod(tmp_path, 0o755)
    up = netemu("up", str(out))
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        for az in "acd":
            for _ in range(3):  # a reply lost to a loaded machine has no reason; ask again
                probe = netemu(
                    "probe", "-s", "ix3az", f"app-{az}", "internet", "--tcp", "80", "--json"
                )
                result = json.loads(probe.stdout)
                if result["result"] == "reachable" or result["reason"] is not None:
                    break
            assert result["result"] == "reachable", probe.stdout  # through its AZ's NAT gateway
            nat = f"my-vpc-ap-northeast-1{az}"
            assert f"nat_gateway:{nat}" in result["hops"]
        model, _ = load_model(str(out))
        app = model.instances["app-a"]
        by_id = netemu("probe", "-s", "ix3az", app.id, "internet", "--icmp", "--json")
        assert json.loads(by_id.stdout)["from"] == "app-a"  # an AWS id works as a name
        status = netemu("status", "ix3az")
        assert app.id in status.stdout
        snap = tmp_path / "running"
        exported = netemu("export", "ix3az", "--format", "describe", "-o", str(snap))
        assert exported.returncode == 0, exported.stderr
        vpcs = json.loads((snap / "describe-vpcs.json").read_text())["Vpcs"]
        assert made["vpc"] in [v["VpcId"] for v in vpcs]
    finally:
        netemu("down", "ix3az")


def test_webdb_from_a_terraform_state_passes_the_books_expectations(tmp_path: Path) -> None:
    """ref 5.3, 6.x, 7.4: `terraform show -json` of the book's design behaves like the book."""
    out = tmp_path / "ixtfwebdb.yaml"
    state = ROOT / "tests/unit/data/interop/terraform/state-webdb.json"
    r = netemu(
        "import",
        str(state),
        "-o",
        str(out),
        "--name",
        "ixtfwebdb",
        "--expect-from",
        "scenarios/book/webdb.yaml",
    )
    assert r.returncode == 0, r.stderr
    os.chmod(tmp_path, 0o755)
    t = netemu("test", str(out), "--json")
    assert t.returncode == 0, t.stdout + t.stderr
    assert json.loads(t.stdout)["passed"] == 8
