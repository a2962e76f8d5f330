"""Labs and reasons in Japanese on a real kernel: `netemu lab` from start to stop with the
locale set to Japanese, `--lang ja` on probe and test, codes unchanged, JSON unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from netemu import lab_catalog as catalog
from netemu import lifecycle
from netemu.driver import state as st

ROOT = Path(__file__).resolve().parents[2]


def netemu(cwd: Path, *args: str, lang: str = "ja_JP.UTF-8") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LANG": lang, "LC_ALL": "", "LC_MESSAGES": ""}
    return subprocess.run(
        [sys.executable, "-m", "netemu.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_lab_in_japanese_from_the_locale_start_to_stop(tmp_path: Path) -> None:
    lab = catalog.find("01")
    copy = tmp_path / "netemu-lab-01-no-igw-route" / "scenario.yaml"
    try:
        listed = netemu(tmp_path, "lab", "list")
        assert "誰にも見えない Web サイト" in listed.stdout

        out = netemu(tmp_path, "lab", "start", "01")
        assert out.returncode == 0, out.stderr
        assert "ゴール:" in out.stdout and "インターネットゲートウェイ" in out.stdout

        out = netemu(tmp_path, "lab", "check")
        assert out.returncode == 1, out.stderr
        assert "FAIL  customer -> web tcp/80 reachable" in out.stdout
        assert "期待は reachable、結果は blocked でした" in out.stdout
        assert (
            "NO_ROUTE_TO_DESTINATION: ルートテーブルに宛先と一致するルートがありません"
            in out.stdout
        )
        assert "まだ直っていません" in out.stdout

        assert "ヒント 1/3" in netemu(tmp_path, "lab", "hint").stdout
        assert "Hint 2 of 3" in netemu(tmp_path, "lab", "hint", "--lang", "en").stdout

        copy.write_text(Path(lab.solution_path).read_text())
        out = netemu(tmp_path, "lab", "check", "--json")
        assert out.returncode == 0 and json.loads(out.stdout)["solved"] is True

        out = netemu(tmp_path, "lab", "check")
        assert out.returncode == 0 and "修正完了です" in out.stdout

        out = netemu(tmp_path, "lab", "solution")
        assert "模範解答" in out.stdout and "解説" in out.stdout
        assert "+      - {destination: 0.0.0.0/0, internet_gateway: igw}" in out.stdout

        out = netemu(tmp_path, "probe", "customer", "web", "--tcp", "22", "--lang", "ja")
        assert out.returncode == 1
        assert "ENI_SG_RULES_MISMATCH: この通信を許可するセキュリティグループ" in out.stdout
        assert "破棄した箇所: security_group:web ingress" in out.stdout
        out = netemu(tmp_path, "probe", "customer", "web", "--tcp", "22", "--json", "--lang", "ja")
        assert json.loads(out.stdout)["reason"]["code"] == "ENI_SG_RULES_MISMATCH"
        assert all(ord(c) < 128 for c in out.stdout)  # codes only, no translated text

        out = netemu(tmp_path, "lab", "stop")
        assert out.returncode == 0 and "停止しました" in out.stdout
    finally:
        state = st.load("lab01")
        if state and Path(state.source).resolve() == copy.resolve():
            lifecycle.down("lab01", lifecycle.KernelDriver())


def test_netemu_test_explains_a_failed_expectation_in_japanese(tmp_path: Path) -> None:
    scenario = tmp_path / "ll.yaml"
    text = (ROOT / "docs/guide/scenarios/stage02.yaml").read_text()
    text = text.replace("name: guide", "name: lltest")
    text = text.replace(
        "to: first, tcp: 22, result: blocked, reason: IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS",
        "to: first, tcp: 22, result: reachable",
    )
    scenario.write_text(text)
    out = netemu(tmp_path, "test", str(scenario), "--lang", "ja", lang="C")
    assert out.returncode == 1, out.stderr
    assert "FAIL  internet -> first tcp/22 reachable" in out.stdout
    assert "期待は reachable、結果は blocked でした" in out.stdout
    code_lines = [x for x in out.stdout.splitlines() if x.startswith("  IGW_PRIVATE_IP_")]
    assert all("宛先はパブリック IP を持たない" in x for x in code_lines)
    assert "lltest: 成功 1 件、失敗 1 件" in out.stdout
    english = netemu(tmp_path, "test", str(scenario), lang="C")
    assert "lltest: 1 passed, 1 failed" in english.stdout
