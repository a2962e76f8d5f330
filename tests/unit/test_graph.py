"""`netemu graph`: dot and Mermaid text from the model alone (no root), and real SVG via
Graphviz when it is installed."""

from __future__ import annotations

import itertools
import re
import shutil
from pathlib import Path

import pytest

from netemu.cli import main
from netemu.model import load_model
from netemu.views import graph

ROOT = Path(__file__).resolve().parents[2]
WEBDB = str(ROOT / "scenarios" / "book" / "webdb.yaml")


def webdb() -> graph.Model:
    return load_model(WEBDB)[0]


def test_dot_nests_subnets_in_their_zone_inside_their_vpc() -> None:
    text = graph.dot(webdb())
    vpc = text.index('subgraph "cluster_vpc_main"')
    az = text.index('subgraph "cluster_az_main_ap-northeast-1a"')
    public = text.index('subgraph "cluster_subnet_public"')
    assert vpc < az < public
    assert "Public subnet public" in text and "Private subnet private" in text
    assert graph.PUBLIC[0] in text and graph.PRIVATE[0] in text  # public green, private teal


def test_dot_labels_route_tables_groups_and_acls() -> None:
    text = graph.dot(webdb())
    assert "0.0.0.0/0 → nat" in text and "0.0.0.0/0 → igw" in text
    assert "SG: default, ssh" in text
    assert "network ACL: main-default (default)" in text
    assert '"internet_gateway:igw" -> "vpc_router:main"' in text
    assert '"subnet:public" -> "nat_gateway:nat"' in text


def test_overlay_draws_each_hop_in_order_and_marks_the_drop() -> None:
    hops = ("internet_host:internet", "internet", "internet_gateway:igw", "vpc_router:main")
    o = graph.Overlay(hops, False, "internet -> db tcp/3306: BLOCKED", "NO_ROUTE at x")
    text = graph.dot(webdb(), o)
    drawn = re.findall(r'"([^"]+)" -> "([^"]+)" \[color="#D1242F", penwidth=4', text)
    assert drawn == list(itertools.pairwise(hops))
    assert '"vpc_router:main" [penwidth=4, color="#D1242F"' in text
    assert "dropped here" in text and "NO_ROUTE at x" in text


def test_reachable_overlay_is_green_and_marks_nothing_dropped() -> None:
    o = graph.Overlay(("instance:web", "subnet:public", "instance:web"), True, "ok")
    text = graph.dot(webdb(), o)
    assert graph.REACHABLE in text and "dropped here" not in text


def test_mermaid_has_subgraphs_and_the_path() -> None:
    o = graph.Overlay(("instance:db", "subnet:private"), False, "t", "ENI_SG_RULES_MISMATCH")
    text = graph.mermaid(webdb(), o)
    assert text.startswith("flowchart TB")
    assert 'subgraph n_vpc_main["VPC main 172.30.0.0/16"]' in text
    assert "n_instance_db ==> n_subnet_private" in text
    assert "ENI_SG_RULES_MISMATCH" in text


def test_unknown_extension_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", WEBDB, "-o", str(tmp_path / "x.jpg")]) == 2
    assert "say the format" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz (dot) is not installed")
def test_svg_is_rendered_with_graphviz(tmp_path: Path) -> None:
    out = tmp_path / "webdb.svg"
    assert main(["graph", WEBDB, "-o", str(out)]) == 0
    svg = out.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "Public subnet public" in svg and "172.30.1.10" in svg


def test_missing_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "nope.yaml", "-o", str(tmp_path / "x.dot")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_rules_of_groups_and_acls_in_use_are_listed_under_the_vpc() -> None:
    text = graph.dot(webdb())
    assert "ssh  in: tcp/22 0.0.0.0/0  out: all 0.0.0.0/0" in text
    assert "default  in: all sg default" in text
    assert "main-default  in: 100 allow all 0.0.0.0/0, * deny" in text
    assert '"instance:db" -> "security groups:main" [style=invis]' in text
