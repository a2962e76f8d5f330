"""Accounts built through boto3 on moto's EC2 server, imported live (--endpoint-url) and from
the JSON the AWS CLI saves (`aws ec2 describe-* --endpoint-url`): both give one scenario."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from netemu.model import load_model
from tests.unit.interop_accounts import REGION, build_three_az, build_webdb, client, moto_endpoint

__all__ = ["moto_endpoint"]  # the fixture, used by name
ROOT = Path(__file__).resolve().parents[2]
CALLS = (
    "describe-vpcs",
    "describe-subnets",
    "describe-route-tables",
    "describe-internet-gateways",
    "describe-nat-gateways",
    "describe-security-groups",
    "describe-security-group-rules",
    "describe-network-acls",
    "describe-instances",
    "describe-network-interfaces",
    "describe-addresses",
    "describe-vpc-endpoints",
)


def netemu(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netemu.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=ROOT,
    )


def save_with_aws_cli(url: str, folder: Path) -> None:
    """What a user saves for an offline import: the AWS CLI's own output, file by file."""
    aws = shutil.which("aws", path=os.path.dirname(sys.executable)) or shutil.which("aws")
    if aws is None:
        pytest.skip("the AWS CLI (awscli) is not installed")
    folder.mkdir()
    base = [aws, "ec2", "--endpoint-url", url, "--region", REGION, "--output", "json"]
    for call in CALLS:
        out = subprocess.run(
            [*base[:2], call, *base[2:]], capture_output=True, text=True, check=True, timeout=120
        )
        (folder / f"{call}.json").write_text(out.stdout)
    vpcs = json.loads((folder / "describe-vpcs.json").read_text())["Vpcs"]
    for v in vpcs:
        out = subprocess.run(
            [
                *base[:2],
                "describe-vpc-attribute",
                "--vpc-id",
                v["VpcId"],
                "--attribute",
                "enableDnsHostnames",
                *base[2:],
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        (folder / f"attribute-{v['VpcId']}.json").write_text(out.stdout)


def body(path: Path) -> str:
    """The scenario without its header comment (which names where it came from)."""
    return path.read_text().split("\nname:", 1)[1]


def test_webdb_built_on_moto_imports_live_and_from_saved_json_alike(
    moto_endpoint: str, tmp_path: Path
) -> None:
    """ref 11: moto's server answers with the EC2 API's shapes; both routes agree."""
    made = build_webdb(client(moto_endpoint))
    live, saved = tmp_path / "live.yaml", tmp_path / "saved.yaml"
    r = netemu(
        "import",
        "--endpoint-url",
        moto_endpoint,
        "--region",
        REGION,
        "-o",
        str(live),
        "--name",
        "mwebdb",
        "--expect-from",
        "scenarios/book/webdb.yaml",
    )
    assert r.returncode == 0, r.stderr
    save_with_aws_cli(moto_endpoint, tmp_path / "snap")
    r = netemu(
        "import",
        str(tmp_path / "snap"),
        "-o",
        str(saved),
        "--name",
        "mwebdb",
        "--expect-from",
        "scenarios/book/webdb.yaml",
    )
    assert r.returncode == 0, r.stderr
    assert body(live) == body(saved)
    model, _ = load_model(str(live))
    book, _ = load_model(str(ROOT / "scenarios/book/webdb.yaml"))
    assert model.vpcs["main"].id == made["vpc"] and model.nat_gateways["nat"].id == made["nat"]
    assert model.vpcs["main"].dns_hostnames
    for name in ("web", "db"):  # the same layout as the book's
        a, b = model.instances[name], book.instances[name]
        assert (a.private_ip, a.subnet, a.services) == (b.private_ip, b.subnet, b.services)
        groups = sorted(model.security_groups[g].name for g in a.eni.security_groups)
        assert groups == sorted(book.security_groups[g].name for g in b.eni.security_groups)
    assert model.instances["web"].public_ip is not None and model.instances["db"].public_ip is None
    assert model.expectations == book.expectations or len(model.expectations) == 8
    routes = {
        t.name: [(str(r.destination), r.target_kind) for r in t.routes[1:]]
        for t in model.route_tables.values()
        if t.vpc == "main"
    }
    assert routes["public"] == [("0.0.0.0/0", "internet_gateway")]
    assert routes["private"] == [("0.0.0.0/0", "nat_gateway")]


def test_three_az_module_layout_imports_and_reports_the_s3_endpoint(
    moto_endpoint: str, tmp_path: Path
) -> None:
    made = build_three_az(client(moto_endpoint))
    out = tmp_path / "vpc.yaml"
    r = netemu("import", "--endpoint-url", moto_endpoint, "--region", REGION, "-o", str(out))
    assert r.returncode == 0, r.stderr
    endpoint = made["endpoint"]
    assert endpoint not in r.stderr  # imported whole, its routes made again (ref 17.2)
    model, _ = load_model(str(out))
    (s3,) = model.vpc_endpoints.values()
    assert (s3.id, s3.service_name) == (endpoint, f"com.amazonaws.{REGION}.s3")
    assert len(s3.route_table_ids) == 3 and "s3" in model.internet_hosts
    mine = [s for s in model.subnets.values() if s.vpc == "my-vpc"]
    assert len(mine) == 9 and len(model.nat_gateways) == 3
    assert {s.az[-1] for s in mine} == {"a", "c", "d"}
    for nat in model.nat_gateways.values():  # one per AZ, each private table to its own
        zone = model.subnets[nat.subnet].az
        table = next(t for t in model.route_tables.values() if t.name.endswith(zone))
        default = next(r for r in table.routes if str(r.destination) == "0.0.0.0/0")
        assert default.target == nat.name
    save_with_aws_cli(moto_endpoint, tmp_path / "snap")  # the same account as a snapshot
    saved = tmp_path / "saved.yaml"
    r = netemu("import", str(tmp_path / "snap"), "-o", str(saved), "--name", "vpc")
    assert r.returncode == 0, r.stderr
    assert body(saved) == body(out)
    strict = netemu(
        "import",
        "--endpoint-url",
        moto_endpoint,
        "--region",
        REGION,
        "-o",
        str(tmp_path / "strict.yaml"),
        "--strict",
    )
    # nothing is left unsupported now that the S3 endpoint is emulated (ref 17.2)
    assert strict.returncode == 0 and (tmp_path / "strict.yaml").exists()


def test_an_unreachable_endpoint_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    r = netemu(
        "import",
        "--endpoint-url",
        "http://127.0.0.1:9",
        "--region",
        REGION,
        "-o",
        str(tmp_path / "o.yaml"),
    )
    assert r.returncode == 2 and "describe-vpcs failed" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "o.yaml").exists()
