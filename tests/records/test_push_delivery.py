"""Application windows read from an invented document in the common phrasings, their iCalendar (parsed with
icalendar), and webhook deliveries claimed in the database: two workers racing over the same events send each
exactly once (SQLite and PostgreSQL), a receiver that keeps failing gets `max_attempts` tries and the event is
marked failed, a loopback receiver is refused unless private addresses are allowed. Only 127.0.0.1 is contacted.
"""
from __future__ import annotations

import json
import threading
import uuid
from datetime import date

import pytest
from docfixtures import FICTION
from test_profiles_push import DOC, Receiver

from assistant.errors import InvalidQuery
from assistant.finder.calendar import calendar_ics, ics_event, upcoming, windows_in
from assistant.records import Database, DatabaseConfig
from assistant.records.models import PushEvent
from assistant.records.profiles import ADMIN, Profiles
from assistant.records.push import Snapshot
from assistant.records.webhook import Deliverer, WebhookConfig, check_url

MORE = f"""测试市科技项目申报通知
{FICTION}
一、申报时间：2027年11月20日至2028年1月10日。
二、受理时间：3月1日至4月15日。
三、申报时间：2027-05-06至2027-05-20。
"""


def passages_of(tmp_path, text, name):
    from retrieval.ingest.documents import load_document
    from retrieval.ingest.segment import segment

    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return segment(load_document(path))


def test_windows_in_common_phrasings(tmp_path):
    found = [w for p in passages_of(tmp_path, DOC, "beishu.txt") + passages_of(tmp_path, MORE, "tongzhi.txt")
             for w in windows_in(p)]
    got = {(w.kind, w.start, w.end) for w in found}
    assert {("window", "2027-03-01", "2027-04-15"), ("yearly", "06-01", "06-30"), ("deadline", None, "2027-09-30"),
            ("deadline", None, "2027-12-31"), ("window", "2027-11-20", "2028-01-10"),
            ("window", "2027-05-06", "2027-05-20")} <= got
    texts = {w.text: w for w in found if w.kind == "text"}
    # no year, or no date at all: kept as the clause, never given a guessed date
    assert any("3月1日至4月15日" in t for t in texts) and any("另行通知" in t for t in texts)
    assert all(w.start is None and w.end is None for w in texts.values())
    window = next(w for w in found if w.start == "2027-03-01")
    assert "申报时间：2027年3月1日至4月15日" in window.text and window.section == "第二条"

    events = [ev for i, w in enumerate(found) if (ev := ics_event(w, f"{i}@test", "申报：" + w.doc_title * 4,
                                                                  "http://127.0.0.1/v", date(2026, 12, 8)))]
    import icalendar

    cal = icalendar.Calendar.from_ical(calendar_ics(events, "测试日历"))
    parsed = {(e.decoded("DTSTART"), e.decoded("DTEND")) for e in cal.walk("VEVENT")}
    assert (date(2027, 3, 1), date(2027, 4, 16)) in parsed  # the last day included: DTEND is the day after
    assert (date(2027, 9, 30), date(2027, 10, 1)) in parsed and (date(2027, 6, 1), date(2027, 7, 1)) in parsed
    assert len(parsed) == len(found) - len(texts)  # the text-only windows are not in the calendar
    long = next(e for e in cal.walk("VEVENT") if e.decoded("DTSTART") == date(2027, 3, 1))
    assert str(long["SUMMARY"]) == "申报：" + window.doc_title * 4  # folded lines read back whole
    soon = upcoming(found, date(2027, 5, 1), 2)
    assert [d for d, _ in soon] == [date(2027, 5, 20), date(2027, 6, 30)]


def _events(db, profile_id, url, n):
    ids = [uuid.uuid4().hex for _ in range(n)]
    with db.session() as s:
        for eid in ids:
            s.add(PushEvent(id=eid, profile_id=profile_id, kind="push", url=url, status="pending",
                            body=json.dumps({"event_id": eid, "profile_id": profile_id, "measures": []})))
    return ids


def test_each_event_delivered_once_by_racing_workers(database_url):
    db = Database(DatabaseConfig(database_url))
    receiver = Receiver()
    try:
        saved = Profiles(db).create("并发", {"entity_type": "enterprise"}, receiver.url, Snapshot("idx", "t"))
        ids = _events(db, saved.id, receiver.url, 20)
        config = WebhookConfig(retry_seconds=0.05, max_attempts=3, allow_private=True, timeout_seconds=5)
        workers = [Deliverer(db, config, worker=f"w{i}") for i in range(2)]
        threads = [threading.Thread(target=lambda w=w: [None for _ in iter(w.run_once, False)]) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        sent = [r["headers"]["X-PA-Event-Id"] for r in receiver.requests]
        assert sorted(sent) == sorted(ids)  # every event, each once
        assert [(d["status"], d["attempts"]) for d in Profiles(db).deliveries(saved.id, ADMIN)] == [("delivered", 1)] * 20
        for w in workers:
            w.stop()
    finally:
        receiver.close()
        db.dispose()


def test_failing_receiver_then_failed_and_private_refused(tmp_path):
    db = Database(DatabaseConfig(f"sqlite:///{tmp_path / 'r.sqlite3'}"))
    failing = Receiver(fail=10**6)
    try:
        saved = Profiles(db).create("失败", {"entity_type": "enterprise"}, failing.url, Snapshot("idx", "t"))
        _events(db, saved.id, failing.url, 1)
        worker = Deliverer(db, WebhookConfig(retry_seconds=0.05, max_attempts=3, allow_private=True), worker="w")
        while len(failing.requests) < 3:
            if not worker.run_once():
                threading.Event().wait(worker.idle)
        [d] = Profiles(db).deliveries(saved.id, ADMIN)
        assert (d["status"], d["attempts"]) == ("failed", 3) and "HTTP 500" in d["last_error"]
        assert not worker.run_once() and len(failing.requests) == 3  # failed: never tried again

        with pytest.raises(InvalidQuery, match="webhook_url"):
            check_url(failing.url, allow_private=False)
        _events(db, saved.id, failing.url, 1)
        strict = Deliverer(db, WebhookConfig(retry_seconds=0.01, max_attempts=1, allow_private=False), worker="s")
        assert strict.run_once()
        [last, _] = Profiles(db).deliveries(saved.id, ADMIN)
        assert last["status"] == "failed" and "loopback/private" in last["last_error"]
        assert len(failing.requests) == 3  # nothing reached the loopback receiver
        worker.stop()
        strict.stop()
    finally:
        failing.close()
        db.dispose()
