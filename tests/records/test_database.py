"""The records database (assistant.records): migrations on first use, feedback stored and listed, the old
feedback.jsonl imported once, even when several processes start at once; on SQLite and on PostgreSQL
(`database_url` runs each test on both; PostgreSQL needs PA_TEST_DATABASE_URL, which `.ci/run` sets)."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import inspect, text

from assistant.errors import ConfigError, FeedbackError, RecordsUnavailable
from assistant.records import Database, DatabaseConfig
from assistant.records.feedback import import_legacy, list_feedback, record_feedback

QUESTION = "到2025年高新技术企业数量目标是多少？"
ANSWER = {"answer": "高新技术企业数(家)：2025年目标 6000[1]", "answerable": True, "mode": "extractive",
          "citations": [{"n": 1, "passage_id": "plan:1", "doc_id": "plan", "doc_title": "规划", "section": "表1",
                         "text": "全文不存"}]}


def test_first_use_migrates_to_the_newest_schema_once(database_url, tmp_path):
    db = Database(DatabaseConfig.of(database_url, tmp_path))
    with db.session() as s:
        tables = set(inspect(s.connection()).get_table_names())
        version = s.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert {"feedback", "record_imports", "alembic_version"} <= tables
    from assistant.records.db import MIGRATIONS
    newest = sorted(p.stem for p in (MIGRATIONS / "versions").glob("[0-9]*.py"))[-1]
    assert version == newest
    other = Database(DatabaseConfig.of(database_url, tmp_path))  # a second process: nothing left to do
    with other.session() as s:
        assert s.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1


def test_feedback_is_stored_without_passage_text_and_listed_oldest_first(database_url, tmp_path):
    db = Database(DatabaseConfig.of(database_url, tmp_path))
    before = datetime.now(timezone.utc).replace(microsecond=0)
    first = record_feedback(db, question=QUESTION, answer=ANSWER, vote="up", comment="  准确  ")
    second = record_feedback(db, question="长沙的房价？", answer={}, vote="down", comment="长" * 5000)
    listed = list_feedback(db)
    assert listed == [first, second]
    assert first["comment"] == "准确" and second["comment"] == "长" * 2000
    assert first["citations"] == [{"n": 1, "passage_id": "plan:1", "doc_title": "规划", "section": "表1"}]
    assert datetime.fromisoformat(first["time"]) >= before
    assert list_feedback(db, since=datetime(2100, 1, 1, tzinfo=timezone.utc)) == []


@pytest.mark.parametrize("vote", ["UP", "meh", "", None])
def test_a_bad_vote_is_refused_naming_what_is_allowed(vote, tmp_path):
    db = Database(DatabaseConfig.of(None, tmp_path))
    with pytest.raises(FeedbackError, match="allowed: up, down"):
        record_feedback(db, question=QUESTION, answer=ANSWER, vote=vote)
    assert list_feedback(db) == []


def legacy_lines(n: int) -> str:
    rows = [json.dumps({"time": f"2026-01-01T00:00:{i:02d}+00:00", "question": f"问题{i}", "answer": "答", "answerable": True,
                        "mode": "extractive", "citations": [], "vote": "up" if i % 2 else "down", "comment": f"意见{i}"},
                       ensure_ascii=False) for i in range(n)]
    return "\n".join(rows[:3] + ["{torn line"] + rows[3:]) + "\n"


def test_the_old_feedback_file_is_imported_once_by_one_of_several_processes(database_url, tmp_path):
    (tmp_path / "feedback.jsonl").write_text(legacy_lines(12), encoding="utf-8")
    dbs = [Database(DatabaseConfig.of(database_url, tmp_path)) for _ in range(4)]  # four workers starting
    counts: list[int] = []
    barrier = threading.Barrier(len(dbs))

    def start(db):
        barrier.wait()
        counts.append(import_legacy(db, tmp_path))

    threads = [threading.Thread(target=start, args=(db,)) for db in dbs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(counts) == [0, 0, 0, 12]
    listed = list_feedback(dbs[0])
    assert [e["question"] for e in listed] == [f"问题{i}" for i in range(12)]
    assert listed[5] == {"time": "2026-01-01T00:00:05+00:00", "question": "问题5", "answer": "答", "answerable": True,
                         "mode": "extractive", "citations": [], "vote": "up", "comment": "意见5"}
    assert (tmp_path / "feedback.jsonl").read_text(encoding="utf-8") == legacy_lines(12)  # the file is kept
    assert import_legacy(Database(DatabaseConfig.of(database_url, tmp_path)), tmp_path) == 0  # a restart


@pytest.mark.parametrize("url", ["mysql://u:p@h/db", "not a url", "redis://h"])
def test_a_database_url_that_cannot_work_is_refused_naming_what_is_allowed(url, tmp_path):
    with pytest.raises(ConfigError, match="allowed") as info:
        DatabaseConfig.of(url, tmp_path)
    assert ":p@" not in str(info.value)


def test_a_database_that_is_down_is_named_without_its_password(tmp_path):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there
    db = Database(DatabaseConfig.of(f"postgresql+psycopg://pa:SECRET@127.0.0.1:{port}/pa", tmp_path))
    with pytest.raises(RecordsUnavailable) as info:
        with db.session():
            pass
    assert f"127.0.0.1:{port}" in str(info.value) and "SECRET" not in str(info.value)
    with pytest.raises(FeedbackError, match="could not store"):
        record_feedback(db, question=QUESTION, answer=ANSWER, vote="up")
