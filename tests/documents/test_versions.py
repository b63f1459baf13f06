"""Versions of a policy: adding a new version keeps the old one (superseded), and what changed is shown
clause by clause with the changed figures — by the library, the CLI, the HTTP API. INVENTED documents."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import scanfixtures as sf
from docfixtures import private_index
from fastapi.testclient import TestClient

from api.app import create_app
from assistant.core import Assistant
from assistant.library.documents import add_documents, list_documents, remove_document
from retrieval.ingest.diff import diff_clauses, figure_changes
from retrieval.validity import revision_note

from scanfixtures import TOKEN

REPO = Path(__file__).resolve().parents[2]
DOC = "cxq"  # the doc_id from the file name cxq.txt
QUESTION = "创新券额度每家企业每年最高是多少？"


@pytest.fixture(scope="module")
def revised(built_settings, tmp_path_factory):
    """A private library with version 1 of the 创新券办法 added, then version 2 of it."""
    root = tmp_path_factory.mktemp("versions")
    settings = private_index(built_settings, root / "lib", admin_token=TOKEN)
    v1, v2 = sf.policy_versions()
    src = root / "in" / "cxq.txt"
    src.parent.mkdir()
    src.write_text(v1, encoding="utf-8")
    first = add_documents(settings, [src]).documents[0]
    src.write_text(v2, encoding="utf-8")
    second = add_documents(settings, [src]).documents[0]
    return settings, src, first, second


def test_a_new_version_keeps_the_previous_one_superseded(revised):
    settings, _src, first, second = revised
    assert (first.replaced, first.previous_version) == (False, None)
    assert (second.replaced, second.previous_version) == (True, f"{DOC}@v1")
    docs = {d["doc_id"]: d for d in list_documents(settings)}
    old, new = docs[f"{DOC}@v1"], docs[DOC]
    assert old["status"] == "已修订" and old["superseded"] is True and old["version"] == 1
    assert old["effective"] == "2023-01-01"  # its own dates are kept
    assert new["version"] == 2 and new["previous_version"] == f"{DOC}@v1" and new["revised"]
    kept = settings.corpus_dir / "versions" / DOC / "v1-cxq.txt"
    assert kept.read_text(encoding="utf-8") == sf.policy_versions()[0]


def test_answers_leave_the_old_version_out_unless_asked_and_say_it_was_revised(revised):
    settings = revised[0]
    a = Assistant.from_settings(settings, build=False)
    answer = a.ask(QUESTION)
    ids = {c.doc_id for c in answer.citations + answer.related}
    assert DOC in ids and f"{DOC}@v1" not in ids
    assert "30万元" in answer.answer
    revised_note = [n for n in answer.notices if n.startswith("revised:")]
    assert revised_note and "第2版" in revised_note[0] and sf.VERSION_TITLE in revised_note[0]
    old = a.ask(QUESTION, filters={"include_inactive": True, "doc_id": f"{DOC}@v1"})
    assert [c.doc_id for c in old.citations] == [f"{DOC}@v1"] and "20万元" in old.answer
    assert any("已修订" in n for n in old.notices)


def test_questions_about_the_document_itself_use_the_version_in_force(revised):
    """Answered from the document's own metadata and text (no search): the superseded version is not
    a second document with the same title, and its old date is not the answer."""
    answer = Assistant.from_settings(revised[0], build=False).ask("测试市科技创新券管理办法什么时候开始施行？")
    assert answer.answerable and "2024年1月1日" in answer.answer and "2023" not in answer.answer, answer.answer
    assert {c.doc_id for c in answer.citations} == {DOC}


def test_the_diff_names_the_changed_amount_and_the_removed_clause(revised):
    settings = revised[0]
    env = {**os.environ, "PYTHONPATH": str(REPO), "PA_DATA_DIR": str(settings.data_dir),
           "PA_CORPUS_DIR": str(settings.corpus_dir), "PYTHONIOENCODING": "utf-8", "COLUMNS": "200"}
    run = subprocess.run([sys.executable, "-m", "assistant", "docs", "diff", DOC], capture_output=True, text=True,
                         env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "version 1 → 2: 2 changed, 1 removed, 0 added" in out
    assert "数字变化：额度最高为20万元 → 30万元" in out
    assert "- removed  第四条" in out and "企业申领创新券须提交上一年度财务报表" in out
    assert "本办法自2023年1月1日 → 2024年1月1日" in out
    data = json.loads(subprocess.run([sys.executable, "-m", "assistant", "docs", "diff", DOC, "--from", "1", "--to", "2",
                                      "--json"], capture_output=True, text=True, env=env, timeout=300).stdout)
    assert data["counts"] == {"added": 0, "removed": 1, "changed": 2}
    bad = subprocess.run([sys.executable, "-m", "assistant", "docs", "diff", DOC, "--from", "7"], capture_output=True,
                         text=True, env=env, timeout=300)
    assert bad.returncode == 2 and "no version 7" in bad.stderr and "versions: 1, 2" in bad.stderr


def test_the_diff_over_http(revised):
    settings = revised[0]
    app = create_app(settings, assistant=Assistant.from_settings(settings, build=False), ui=False)
    with TestClient(app) as client:
        r = client.get(f"/v1/documents/{DOC}/diff")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["from"]["version"] == 1 and body["to"]["version"] == 2 and body["to"]["current"] is True
        changed = [c for c in body["changes"] if c["kind"] == "changed"]
        assert changed[0]["figures"] == ["额度最高为20万元 → 30万元"]
        removed = [c for c in body["changes"] if c["kind"] == "removed"]
        assert len(removed) == 1 and "财务报表" in removed[0]["old"]
        assert client.get(f"/v1/documents/{DOC}@v1/diff").json()["changes"] == body["changes"]
        r = client.get(f"/v1/documents/{DOC}/diff", params={"from": 9})
        assert r.status_code == 422 and "versions: 1, 2" in r.text
        assert client.get("/v1/documents/no-such-doc/diff").status_code == 404


def test_the_same_bytes_again_are_not_a_new_version_and_remove_takes_the_versions(revised):
    settings, src, _first, _second = revised
    again = add_documents(settings, [src]).documents[0]
    assert again.replaced and again.previous_version is None
    assert sorted(d["doc_id"] for d in list_documents(settings) if d["doc_id"].startswith(DOC)) == [DOC, f"{DOC}@v1"]
    remove_document(settings, DOC)
    assert not any(d["doc_id"].startswith(DOC) for d in list_documents(settings))
    assert not list((settings.corpus_dir / "versions" / DOC).glob("*.txt"))


# ---------------------------------------------------------------- the diff itself (no index)


def test_clauses_are_paired_by_content_even_when_renumbered():
    old = [("第一条", "第一条 甲条款保持不变。"), ("第二条", "第二条 删除的条款内容。"), ("第三条", "第三条 奖励标准为20万元。")]
    new = [("第一条", "第一条 甲条款保持不变。"), ("第二条", "第二条 奖励标准为30万元。"), ("第三条", "第三条 新增的申报程序。")]
    changes = diff_clauses(old, new)
    assert [(c.kind, c.section) for c in changes] == [("removed", "第二条"), ("changed", "第二条"), ("added", "第三条")]
    assert changes[1].old_section == "第三条" and changes[1].figures == ["奖励标准为20万元 → 30万元"]


@pytest.mark.parametrize("old, new, expected", [
    ("给予一次性奖励20万元。", "给予一次性奖励30万元。", ["一次性奖励20万元 → 30万元"]),
    ("不低于营业收入的百分之三。", "不低于营业收入的百分之五。", ["营业收入的百分之三 → 百分之五"]),
    ("补助比例为15%。", "补助比例为20%。", ["补助比例为15% → 20%"]),
    ("于2024年9月30日前申报。", "于2025年3月31日前申报。", ["于2024年9月30日 → 2025年3月31日"]),
    ("有效期十二个月。", "有效期六个月。", ["有效期十二个月 → 六个月"]),
    ("支持不超过3家企业。", "支持不超过5家企业。", ["支持不超过3家 → 5家"]),
    ("鼓励企业开展研发。", "支持企业开展研发。", []),  # words only: no figure changed
])
def test_figure_changes(old, new, expected):
    assert figure_changes(old, new) == expected


def test_a_revision_is_mentioned_for_a_year():
    import datetime as dt

    today = dt.date(2025, 6, 1)
    meta = {"revised": "2025-03-01", "version": 2}
    assert revision_note("某办法", meta, today) == "revised: 《某办法》（第2版）于2025-03-01修订，与旧版本相比有变化，可查看修订内容"
    assert revision_note("某办法", {"revised": "2024-05-01"}, today) is None
    assert revision_note("某办法", {**meta, "superseded": True}, today) is None


def test_the_docs_tab_shows_the_diff_escaped():
    from ui.versions_view import diff_html

    changes = diff_clauses([("第二条", "第二条 <b>奖励</b>20万元。"), ("第三条", "第三条 旧条款。")],
                           [("第二条", "第二条 <b>奖励</b>30万元。")])
    html = diff_html({"title": "某<办法>", "from": {"version": 1}, "to": {"version": 2},
                      "counts": {k: sum(c.kind == k for c in changes) for k in ("added", "removed", "changed")},
                      "changes": [c.to_dict() for c in changes]})
    assert "《某&lt;办法&gt;》 第1版 → 第2版：修改 1 条，删除 1 条，新增 0 条" in html
    assert "<b>" not in html and "&lt;b&gt;奖励&lt;/b&gt;30万元" in html
    assert re.search(r'<div class="pa-fig">数字变化：[^<]*20万元 → 30万元</div>', html)
    assert '<div class="pa-chg removed"><div class="pa-chg-sec">删除 · 第三条</div>' in html
