"""Labs and reasons in Japanese and English: every lab has every field in both languages,
a missing translation falls back to English with a note, every reason code has its line in
both, and the code itself is never translated."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from netemu import i18n
from netemu.lab_catalog import Lab, all_labs
from netemu.probe import report
from netemu.probe.engine import ProbeResult, ProbeSpec
from netemu.probe.reason import Reason

LABS = all_labs()
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.parametrize("lab", LABS, ids=[lab.name for lab in LABS])
def test_every_lab_has_every_field_in_both_languages(lab: Lab) -> None:
    en, ja = lab.guide("en"), lab.guide("ja")
    assert (en.lang, ja.lang) == ("en", "ja"), f"{lab.name} has no lab.ja.md"
    assert ja.title.startswith(f"Lab {lab.number}: ")
    assert len(ja.hints) == len(en.hints)
    for text in (ja.title, ja.story, ja.goal, ja.explanation, *(h.title for h in ja.hints)):
        assert JAPANESE.search(text), text
    for h in ja.hints:
        assert JAPANESE.search(h.text)


def test_a_lab_without_a_translation_falls_back_to_english(tmp_path: Path) -> None:
    shutil.copytree(LABS[0].path, tmp_path / LABS[0].name)
    (tmp_path / LABS[0].name / "lab.ja.md").unlink()
    lab = all_labs(tmp_path)[0]
    guide = lab.guide("ja")
    assert guide.lang == "en" and guide.story == LABS[0].guide("en").story
    assert "日本語訳はまだありません" in i18n.text("lab.untranslated", "ja", language="ja")


def test_language_comes_from_lc_all_then_lc_messages_then_lang() -> None:
    assert i18n.default_lang({"LANG": "ja_JP.UTF-8"}) == "ja"
    assert i18n.default_lang({"LC_ALL": "C", "LANG": "ja_JP.UTF-8"}) == "en"
    assert i18n.default_lang({"LC_MESSAGES": "ja_JP", "LANG": "en_US"}) == "ja"
    assert i18n.default_lang({}) == "en"


def test_every_reason_code_netemu_can_give_has_a_line_in_both_languages() -> None:
    known = set(i18n.reason_codes())
    given = set(re.findall(r'"([A-Z][A-Z_]{6,})"', (ROOT / "netemu/probe/reason.py").read_text()))
    contract = {"NAT_GATEWAY_NO_INBOUND", "INSTANCE_STOPPED"}  # aliases kept (contract 6.3)
    renamed = {"NGW_REQUIRES_SOURCE_IN_VPC", "BAD_STATE"}  # what they become
    assert given | contract | renamed <= known
    for code in known:
        assert i18n.reason(code, "en") and JAPANESE.search(i18n.reason(code, "ja"))


def test_every_message_of_the_ui_catalogue_is_in_both_languages() -> None:
    def leaves(node: object, key: str = "") -> list[tuple[str, dict[str, str]]]:
        if isinstance(node, dict) and "en" in node:
            return [(key, node)]
        if isinstance(node, dict):
            return [x for k, v in node.items() for x in leaves(v, f"{key}.{k}")]
        return [x for i, v in enumerate(node) for x in leaves(v, f"{key}[{i}]")]  # type: ignore[attr-defined]

    for key, entry in leaves(i18n._catalogue("ui")):
        assert set(entry) == {"en", "ja"}, key


def _blocked() -> ProbeResult:
    reason = Reason(
        "ENI_SG_RULES_MISMATCH", "ingress", "security_group:web", None, "reply", "sg web"
    )
    spec = ProbeSpec("internet", "web", "tcp", 22)
    return ProbeResult(
        spec, "198.51.100.10", "203.0.113.1", "blocked", None, None, reason, ["a"], 3
    )


def _japanese(r: ProbeResult) -> list[str]:
    return [i18n.line(x, "ja") for x in [report.verdict(r), *report.because(r)]]


def test_a_blocked_probe_explained_in_japanese_keeps_its_code() -> None:
    lines = _japanese(_blocked())
    assert lines[1].startswith("  ENI_SG_RULES_MISMATCH: ")
    assert "セキュリティグループのルールがありません。" in lines[1]
    assert "リクエストは web に届きましたが、その応答が破棄されました" in lines[1]
    assert lines[2].startswith("  破棄した箇所: security_group:web ingress")
    assert lines[3].startswith("  経路: a") and lines[3].endswith("<- ここで破棄")


def test_english_output_is_unchanged_and_json_carries_codes_only() -> None:
    r = _blocked()
    english = [report.verdict(r), *report.because(r)]
    assert [i18n.line(x, "en") for x in english] == english
    assert r.to_json()["reason"]["code"] == "ENI_SG_RULES_MISMATCH"
    assert "セキュリティ" not in str(r.to_json())


def test_an_unknown_code_keeps_its_name_and_gets_a_generic_line() -> None:
    out = i18n.line("  SOME_NEW_CODE: the request never reached the destination", "ja")
    assert out.startswith("  SOME_NEW_CODE: ") and "Reachability Analyzer" in out


def test_failed_expectations_are_explained_in_japanese() -> None:
    assert (
        i18n.line("  expected reachable, got blocked", "ja")
        == "  期待は reachable、結果は blocked でした"
    )
    assert i18n.line("  expected reason X_Y, got no reason", "ja") == (
        "  期待した理由は X_Y、実際は no reason でした"
    )
    assert i18n.line("  something new", "ja") == "  something new"
    assert (
        i18n.text("test.summary", "ja", name="t", passed=1, failed=2) == "t: 成功 1 件、失敗 2 件"
    )


def test_the_modelled_path_and_its_code_note_are_translated_too() -> None:
    assert i18n.line("  path (modelled, not observed): a -> b  <- dropped here", "ja") == (
        "  経路（モデルによる推定、観測ではない）: a -> b  <- ここで破棄"  # noqa: RUF001
    )
    assert i18n.line("  dropped by route_table:x egress: no route (code from the model)", "ja") == (
        "  破棄した箇所: route_table:x egress: no route（コードはモデルによる判定）"  # noqa: RUF001
    )


def test_a_translation_that_arrives_before_its_lab_is_not_a_lab(tmp_path: Path) -> None:
    shutil.copytree(LABS[0].path, tmp_path / LABS[0].name)
    (tmp_path / "99-not-merged-yet").mkdir()
    (tmp_path / "99-not-merged-yet" / "lab.ja.md").write_text("# Lab 99: まだ\n")
    assert [lab.name for lab in all_labs(tmp_path)] == [LABS[0].name]


def test_the_drop_rules_own_words_are_translated_where_known() -> None:
    line = (
        "  dropped by security_group:db ingress rule sg-1: no security group rule admits the packet"
    )
    assert i18n.line(line, "ja") == (
        "  破棄した箇所: security_group:db ingress rule sg-1: "
        "パケットを許可するセキュリティグループのルールがありません"
    )


# The console's Japanese terms, and the English term a reader may know them by.
CONSOLE_TERMS = {
    "セキュリティグループ": "security group",
    "ネットワーク ACL": "network ACL",
    "ルートテーブル": "route table",
    "インターネットゲートウェイ": "internet gateway",
    "NAT ゲートウェイ": "NAT gateway",
    "サブネット": "subnet",
    "パブリック IP": "public IP",
}


@pytest.mark.parametrize("lab", LABS, ids=[lab.name for lab in LABS])
def test_japanese_labs_give_the_english_term_on_first_use(lab: Lab) -> None:
    body = (lab.path / "lab.ja.md").read_text(encoding="utf-8").split("\n", 1)[1]
    for ja, en in CONSOLE_TERMS.items():
        at = body.find(ja)
        if at >= 0:
            after = body[at + len(ja) :]
            english = (en, f"public {en}", f"private {en}")
            assert after.startswith(tuple(f"\uff08{e}" for e in english)), f"{ja} in {lab.name}"


def test_lab_list_in_japanese_marks_a_lab_still_in_english(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from netemu.cli import main

    for lab in LABS[:2]:
        shutil.copytree(lab.path, tmp_path / lab.name)
    (tmp_path / LABS[1].name / "lab.ja.md").unlink()
    monkeypatch.setenv("NETEMU_LABS", str(tmp_path))
    assert main(["lab", "list", "--lang", "ja"]) == 0
    first, second = capsys.readouterr().out.splitlines()
    assert "誰にも見えない" in first and "(English)" not in first
    assert second.endswith("(English)") and LABS[1].guide().title.split(": ", 1)[1] in second
