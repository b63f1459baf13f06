"""The finder at its edges: HTTP, chat routing, CLI, expired documents, the measure cache."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from assistant.finder import Finder, Profile
from assistant.finder.catalog import catalog_key, load_or_extract
from assistant.finder.vocab import load_vocabulary
from retrieval.storage.index import load_passages

SME_Q = "我们是浏阳经开区的生物医药科技型中小企业，能享受哪些支持？"
INVENTED = """测试市科技企业奖补办法

（测试用虚构文件：测试市不存在，金额为虚构）

第一条 对首次认定的高新技术企业给予20万元奖励。

第二条 对入库的科技型中小企业给予研发费用补贴。

第三条 支持外籍专家在测试市创新创业，提供出入境便利。
"""


@pytest.fixture(scope="module")
def client(built_settings, assistant):
    with TestClient(create_app(built_settings, assistant=assistant, ui=False)) as c:
        yield c


def test_eligibility_endpoint(client):
    body = {"profile": {"entity_type": "enterprise", "qualifications": ["高新技术企业"], "industry": "生物医药",
                        "park": "浏阳经开区", "description": "今年首次认定"}}
    r = client.post("/v1/eligibility", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert 1 <= len(data["measures"]) <= 20
    assert [g["kind"] for g in data["groups"]] and all(g["measures"] for g in data["groups"])
    m = data["measures"][0]
    assert set(m) >= {"title", "kind", "status", "why", "conditions", "citation"}
    assert set(m["citation"]) >= {"passage_id", "doc_id", "doc_title", "section", "text"}
    opened = client.get(f"/v1/passages/{m['citation']['passage_id']}")
    assert opened.status_code == 200 and opened.json()["passage"]["text"] == m["citation"]["text"]
    assert client.post("/v1/eligibility", json={**body, "limit": 3}).json()["measures"].__len__() <= 3


@pytest.mark.parametrize("body, field", [
    ({"profile": {"entity_type": "company"}}, "entity_type"),
    ({"profile": {"entity_type": "enterprise", "description": "字" * 501}}, "description"),
    ({"profile": {"entity_type": "enterprise", "qualifications": ["高企"] * 31}}, "qualifications"),
    ({"profile": {"entity_type": "enterprise", "size": "big"}}, "size"),
    ({"profile": {"entity_type": "enterprise"}, "limit": 500}, "limit"),
    ({}, "profile"),
])
def test_eligibility_rejects_bad_profiles(client, body, field):
    r = client.post("/v1/eligibility", json=body)
    assert r.status_code == 422
    assert any(field in [str(x) for x in d["loc"]] for d in r.json()["detail"]), r.json()


def test_chat_routes_self_description_to_the_finder(assistant, client):
    a = assistant.ask(SME_Q)
    assert a.mode == "finder" and a.answerable and a.citations
    assert "科技型中小企业" in a.answer and "[1]" in a.answer
    sections = " ".join(c.section for c in a.citations)
    assert "科技金融" in sections or "培育科技型中小企业" in sections
    # the same through HTTP and the stream
    r = client.post("/v1/ask", json={"question": SME_Q})
    assert r.status_code == 200 and r.json()["mode"] == "finder"
    streamed = client.post("/v1/ask/stream", json={"question": SME_Q})
    assert streamed.status_code == 200 and '"mode": "finder"' in streamed.text.replace('":"', '": "')


@pytest.mark.parametrize("question", ["高新技术企业有哪些支持？", "到2025年高新技术企业数量目标是多少？",
                                      "我们想了解长沙经开区的产业定位"])
def test_other_questions_are_not_routed(assistant, question):
    assert assistant.ask(question).mode != "finder"


def test_researcher_question_is_routed(assistant):
    a = assistant.ask("我是刚从海外回国的青年博士，在中南大学工作，有哪些人才政策适用于我？")
    assert a.mode == "finder" and "青年" in a.answer


def test_cli_match(cli_env, repo_root, tmp_path):
    path = tmp_path / "profile.json"
    path.write_text(json.dumps({"entity_type": "researcher", "talent_category": "院士"}, ensure_ascii=False),
                    encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "assistant", "match", "--profile", str(path), "--json"],
                          env=cli_env, cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert any("高层次" in m["title"] for m in data["measures"])
    text = subprocess.run([sys.executable, "-m", "assistant", "match", "--profile", str(path)],
                          env=cli_env, cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert text.returncode == 0 and "依据" in text.stdout and "可能适用" in text.stdout
    path.write_text('{"entity_type": "company"}', encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "assistant", "match", "--profile", str(path)],
                         env=cli_env, cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "entity_type='company'" in bad.stderr and "Traceback" not in bad.stderr


def _corpus(tmp_path, status: str):
    corpus = tmp_path / f"corpus-{status}"
    corpus.mkdir()
    (corpus / "test-award.txt").write_text(INVENTED, encoding="utf-8")
    (corpus / "test-award.meta.json").write_text(json.dumps(
        {"title": "测试市科技企业奖补办法", "status": status, "issued": "2020-01-01"}, ensure_ascii=False),
        encoding="utf-8")
    passages, _, errors = load_passages(corpus)
    assert passages and not errors
    return passages


def test_measures_of_an_invented_document(tmp_path):
    finder = Finder.from_passages(_corpus(tmp_path, "现行有效"))
    r = finder.match(Profile("enterprise", qualifications=["高新技术企业"], description="首次认定"))
    award = next(m for m in r["measures"] if "首次认定的高新技术企业给予20万元奖励" in m["citation"]["quote"])
    assert award["status"] == "likely" and award["kind"] == "资金奖补"
    sme = finder.match(Profile("enterprise", qualifications=["科技型中小企业"]))
    subsidy = next(m for m in sme["measures"] if "研发费用补贴" in m["citation"]["quote"])
    assert subsidy["status"] == "check"  # 入库 is stated and the profile does not show it
    assert any(c["status"] == "unknown" and "入库" in c["condition"] for c in subsidy["conditions"])
    assert not any("研发费用补贴" in m["citation"]["quote"] for m in r["measures"] if m["status"] == "likely")


def test_measures_of_expired_documents_are_left_out(tmp_path):
    finder = Finder.from_passages(_corpus(tmp_path, "已废止"))
    r = finder.match(Profile("enterprise", qualifications=["高新技术企业"], description="首次认定"))
    assert r["measures"] == []
    assert finder.measures, "the measures are extracted; matching leaves them out while the document is not in force"
    expiring = _corpus(tmp_path / "x" if (tmp_path / "x").mkdir() is None else tmp_path, "现行有效")
    for p in expiring:
        p.meta["expires"] = "2024-12-31"
    f2 = Finder.from_passages(expiring)
    prof = Profile("enterprise", qualifications=["高新技术企业"])
    assert f2.match(prof, today=date(2024, 6, 1))["measures"]
    assert f2.match(prof, today=date(2025, 1, 1))["measures"] == []


def test_measure_cache_follows_the_passages(tmp_path, assistant):
    vocab = load_vocabulary()
    passages = list(assistant.passages)
    first = load_or_extract(passages, vocab, tmp_path)
    files = list(tmp_path.glob("measures-*.json"))
    assert len(files) == 1 and files[0].name == f"measures-{catalog_key(passages)}.json"
    stamp = files[0].stat().st_mtime_ns
    again = load_or_extract(passages, vocab, tmp_path)
    assert [m.to_dict() for m in again] == [m.to_dict() for m in first]
    assert files[0].stat().st_mtime_ns == stamp  # read, not rewritten
    changed = passages[:-1]  # a removed paragraph: another key, re-extracted, the stale cache replaced
    load_or_extract(changed, vocab, tmp_path)
    names = [f.name for f in tmp_path.glob("measures-*.json")]
    assert names == [f"measures-{catalog_key(changed)}.json"]
    files = list(tmp_path.glob("measures-*.json"))
    files[0].write_text("{broken", encoding="utf-8")  # an unreadable cache is re-extracted, not an error
    assert len(load_or_extract(changed, vocab, tmp_path)) == len([m for m in first if m.passage_id != passages[-1].id])
