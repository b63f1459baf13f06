"""The question log: what is kept (and that no client address or identity is), the vote a question got,
old rows purged, PA_QUESTION_LOG=false, and a database that is down: the question is answered, the lost row
counted in /metrics. On SQLite and PostgreSQL."""
from __future__ import annotations

import socket
from datetime import datetime, timedelta, timezone

from fastapi.testclient import TestClient
from helpers import test_settings

from api.app import create_app
from assistant.answer import Answer, Citation
from assistant.records import Database, DatabaseConfig
from assistant.records.feedback import record_feedback
from assistant.records.models import Question
from assistant.records.questions import QuestionLog, QuestionLogConfig, purge, questions

KEYS = {"id", "time", "channel", "question", "standalone", "refused", "source", "curated_id", "passage_ids",
        "evidence", "latency_ms", "vote"}


def answer(answerable: bool = True) -> Answer:
    cites = [Citation(1, "plan:1", "plan", "规划", "表1", "高新技术企业数 6000")] if answerable else []
    return Answer("问题", "答", answerable, citations=cites, standalone_question="完整的问题", evidence=1.25)


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_a_question_is_kept_with_what_staff_need_and_nothing_about_who_asked(database_url, tmp_path):
    db = Database(DatabaseConfig.of(database_url, tmp_path))
    log = QuestionLog(db, QuestionLogConfig())
    first = log.record("api", "到2025年高企目标？", answer(), 0.0123)
    second = log.record("mcp", "深圳的政策？", answer(False), 0.5)
    rows = questions(db)
    assert [r["id"] for r in rows] == [second, first]  # newest first
    assert set(rows[0]) == KEYS and set(Question.__table__.columns.keys()) == KEYS  # no address, no identity
    assert rows[1]["passage_ids"] == ["plan:1"] and rows[1]["standalone"] == "完整的问题"
    assert rows[1]["evidence"] == 1.25 and rows[1]["latency_ms"] == 12.3 and rows[1]["refused"] is False
    assert [r["id"] for r in questions(db, "refused")] == [second]
    record_feedback(db, question="深圳的政策？", answer=answer(False).to_dict(), vote="down", question_id=second)
    assert [r["id"] for r in questions(db, "downvoted")] == [second]
    assert questions(db, since=datetime.now(timezone.utc) + timedelta(minutes=1)) == []


def test_old_questions_are_purged_and_logging_can_be_off(database_url, tmp_path):
    db = Database(DatabaseConfig.of(database_url, tmp_path))
    log = QuestionLog(db, QuestionLogConfig(days=90))
    old, new = log.record("ui", "旧", answer(), 0.1), log.record("ui", "新", answer(), 0.1)
    with db.session() as s:
        s.get(Question, old).time = datetime.now(timezone.utc) - timedelta(days=91)
    newest = QuestionLog(db, QuestionLogConfig(days=90)).record("api", "再问", answer(), 0.1)  # a process starting
    assert [r["id"] for r in questions(db)] == [newest, new]  # its first row purged the old one
    assert purge(db, 90) == 0
    off = QuestionLog(db, QuestionLogConfig(enabled=False))
    assert off.record("api", "不记", answer(), 0.1) is None and off.lost == 0
    assert len(questions(db)) == 2


def test_a_database_that_is_down_costs_the_row_not_the_request(tmp_path):
    lost: list[int] = []
    db = Database(DatabaseConfig.of(f"postgresql+psycopg://pa:pw@127.0.0.1:{closed_port()}/pa", tmp_path))
    log = QuestionLog(db, QuestionLogConfig(), on_lost=lost.append)
    assert log.record("api", "问题", answer(), 0.1) is None
    assert log.record("api", "问题", answer(), 0.1) is None  # not tried again at once: counted all the same
    assert log.lost == 2 and lost == [1, 1]


def test_the_api_answers_while_the_database_is_down_and_metrics_count_the_lost_rows(built_settings, assistant,
                                                                                    tmp_path):
    settings = test_settings(data_dir=tmp_path / "data", corpus_dir=built_settings.corpus_dir,
                             database_url=f"postgresql+psycopg://pa:pw@127.0.0.1:{closed_port()}/pa")
    with TestClient(create_app(settings, assistant=assistant, ui=False)) as client:
        for q in ("到2025年高新技术企业数量目标是多少？", "2025年技术合同成交额目标是多少？"):
            r = client.post("/v1/ask", json={"question": q})
            assert r.status_code == 200 and r.json()["answerable"] is True, r.text
        chat = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "大科城的定位？"}]})
        assert chat.status_code == 200
        metrics = client.get("/metrics").text
    lost = [line for line in metrics.splitlines() if line.startswith("pa_question_log_lost_total")]
    assert lost and float(lost[0].split()[-1]) == 3.0, lost
