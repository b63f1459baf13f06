"""Saved profiles, push on library change, and the application calendar (issue 24), with real parts only: a
real `serve` process (and a second one on the same data: another replica), the CLI adding and removing a
document while it runs, real HTTP receivers for the webhooks, feedparser for the feed and icalendar for the
calendars, the records database on SQLite (and PostgreSQL for the delivery claim).

The document added is INVENTED (测试市 does not exist; the plan itself states no application windows).
Only 127.0.0.1 is contacted.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from docfixtures import FICTION, private_index, write_sidecar

pytestmark = [pytest.mark.server, pytest.mark.slow]
ADMIN = "admin-secret-24"
TITLE = "测试市高新技术企业倍增奖励办法"
DOC = f"""{TITLE}
{FICTION}
第一条 为加快培育高新技术企业，制定本办法。
第二条 对首次认定的高新技术企业，给予一次性奖励30万元。申报时间：2027年3月1日至4月15日。
第三条 对科技型中小企业购买科技服务的，给予最高10万元补助，受理时间为每年6月。
第四条 对新型研发机构给予运营补助，截止日期：2027年9月30日。
第五条 对孵化器给予奖励50万元，即日起至2027年12月31日受理。
第六条 绩效评价的申报时间另行通知。
"""
MEASURE = "给予一次性奖励30万元"
STEM = "给予一次性奖励"
HIGH_TECH = {"entity_type": "enterprise", "qualifications": ["高新技术企业"], "industry": "生物医药"}
RESEARCHER = {"entity_type": "researcher", "talent_category": "海外人才", "description": "外籍博士后"}


class Receiver:
    """A real HTTP webhook receiver on 127.0.0.1: records every request; answers 500 to the first `fail` ones."""

    def __init__(self, fail: int = 0):
        self.fail, self.requests, self.lock = fail, [], threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with outer.lock:
                    status = 500 if len(outer.requests) < outer.fail else 200
                    outer.requests.append({"headers": dict(self.headers), "body": body, "status": status,
                                           "time": time.monotonic()})
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def wait_for(check, timeout: float = 120, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def cli(env, *args):
    r = subprocess.run([sys.executable, "-m", "assistant", *args], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]


def seen_index(url, pid, token):
    return httpx.get(f"{url}/v1/profiles/{pid}", headers={"Authorization": f"Bearer {token}"}).json()["index"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory, built_settings, cli_env):
    from evals.benchmarks.load import serve

    root = tmp_path_factory.mktemp("profiles")
    settings = private_index(built_settings, root)
    env = {**cli_env, "PA_DATA_DIR": str(settings.data_dir), "PA_CORPUS_DIR": str(settings.corpus_dir),
           "PA_INDEX_POLL_SECONDS": "0.5", "PA_WEBHOOK_ALLOW_PRIVATE": "true", "PA_WEBHOOK_RETRY_SECONDS": "0.5",
           "PA_ADMIN_TOKEN": ADMIN}
    doc = root / "beishu.txt"
    doc.write_text(DOC, encoding="utf-8")
    write_sidecar(doc, {"title": TITLE, "issuer": "测试市科学技术局", "issued": "2026-11-01", "expires": "2029-12-31"})
    with serve(env, timeout=180, log_path=root / "server.log") as served:
        yield served.url, env, doc, root


def test_push_on_cli_add_signed_retried_once_across_replicas(setup):
    url, env, doc, root = setup
    matching, other = Receiver(fail=2), Receiver()
    try:
        # save two profiles: one the new document's measure fits, one it does not
        r = httpx.post(f"{url}/v1/profiles", json={"name": "某高企", "profile": HIGH_TECH, "webhook_url": matching.url})
        assert r.status_code == 201, r.text
        a = r.json()
        b = httpx.post(f"{url}/v1/profiles", json={"name": "某研究员", "profile": RESEARCHER,
                                                   "webhook_url": other.url}).json()
        auth = {"Authorization": f"Bearer {a['token']}"}
        start = httpx.get(f"{url}/v1/profiles/{a['id']}/measures", headers=auth).json()["measures"]
        assert len(start) == a["measures"] and all(m["title"] != MEASURE for m in start)
        before = seen_index(url, a["id"], a["token"])

        cli(env, "docs", "add", str(doc))  # another process: the running server follows the new index
        wait_for(lambda: any(q["status"] == 200 for q in matching.requests), what="the webhook delivery")
        time.sleep(2)  # room for a duplicate, were there one
        assert [q["status"] for q in matching.requests] == [500, 500, 200]  # the third attempt got it
        bodies = {q["body"] for q in matching.requests}
        assert len(bodies) == 1  # the same bytes on every attempt
        sent = matching.requests[-1]
        body = sent["body"]
        expected = "sha256=" + hmac.new(a["signing_secret"].encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(sent["headers"]["X-PA-Signature"], expected)
        event = json.loads(body)
        assert sent["headers"]["X-PA-Event-Id"] == event["event_id"] and event["profile_id"] == a["id"]
        titles = [m["title"] for m in event["measures"]]
        assert MEASURE in titles, titles
        m = event["measures"][titles.index(MEASURE)]
        assert any("高新技术企业" in w for w in m["why"]) and m["amount"] == "30万元"
        assert (m["deadline"]["start"], m["deadline"]["end"]) == ("2027-03-01", "2027-04-15")
        assert "申报时间" in m["deadline"]["text"]
        cite = m["citations"][0]
        assert cite["doc_title"] == TITLE and MEASURE in cite["quote"] and cite["section"] == "第二条"
        assert httpx.get(url + cite["view_url"]).status_code == 200
        waits = [q2["time"] - q1["time"] for q1, q2 in zip(matching.requests, matching.requests[1:])]
        assert waits[1] > waits[0] >= 0.4  # backoff doubles: 0.5 s, then 1 s
        assert not other.requests  # the researcher's profile: nothing new matches it
        wait_for(lambda: seen_index(url, b["id"], b["token"]) != before, what="profile b compared")

        deliveries = httpx.get(f"{url}/v1/profiles/{a['id']}/deliveries", headers=auth).json()["deliveries"]
        assert [(d["status"], d["attempts"]) for d in deliveries] == [("delivered", 3)]
        listed = httpx.get(f"{url}/v1/profiles", headers={"Authorization": f"Bearer {ADMIN}"}).json()["profiles"]
        assert {p["id"]: p["deliveries"] for p in listed}[a["id"]] == {"delivered": 1}

        # a second server (another replica) on the same data and database: no duplicate
        from evals.benchmarks.load import serve

        with serve(env, timeout=180, log_path=root / "server2.log") as second:
            url2 = second.url
            assert httpx.get(f"{url2}/v1/profiles/{a['id']}", headers=auth).status_code == 200
            time.sleep(3)
        assert len(matching.requests) == 3 and not other.requests

        # removed: nothing pushed; added again unchanged: not pushed again
        added = seen_index(url, a["id"], a["token"])
        cli(env, "docs", "remove", "beishu")
        removed = wait_for(lambda: (s := seen_index(url, a["id"], a["token"])) != added and s, what="the removal")
        cli(env, "docs", "add", str(doc))
        wait_for(lambda: seen_index(url, a["id"], a["token"]) not in (added, removed), what="the re-add")
        time.sleep(2)
        assert len(matching.requests) == 3 and not other.requests
        items = httpx.get(f"{url}/v1/profiles/{a['id']}/measures", headers=auth).json()["measures"]
        assert [i["title"] for i in items].count(MEASURE) == 1

        # a new version with another amount: pushed again, once, with the new amount
        readded = seen_index(url, a["id"], a["token"])
        doc.write_text(DOC.replace("30万元", "50万元"), encoding="utf-8")
        try:
            cli(env, "docs", "add", str(doc))
        finally:
            doc.write_text(DOC, encoding="utf-8")
        wait_for(lambda: len(matching.requests) == 4, what="the changed amount pushed")
        time.sleep(2)
        assert len(matching.requests) == 4 and matching.requests[-1]["status"] == 200 and not other.requests
        changed = json.loads(matching.requests[-1]["body"])["measures"]
        assert [m["amount"] for m in changed] == ["50万元"] and seen_index(url, a["id"], a["token"]) != readded
    finally:
        matching.close()
        other.close()


def test_feed_and_calendars_parse_with_real_clients(setup):
    import feedparser
    import icalendar

    url, env, doc, _ = setup
    if "beishu" not in {d["doc_id"] for d in httpx.get(f"{url}/v1/documents").json()["documents"]}:
        cli(env, "docs", "add", str(doc))
        wait_for(lambda: "beishu" in httpx.get(f"{url}/v1/calendar.ics").text or None, what="the document")
    cal = icalendar.Calendar.from_ical(httpx.get(f"{url}/v1/calendar.ics").content)
    events = cal.walk("VEVENT")

    def event(words):
        found = [e for e in events if words in str(e["DESCRIPTION"])]
        assert len(found) == 1, (words, [str(e["DESCRIPTION"]) for e in events])
        return found[0]

    window = event("申报时间：2027年3月1日至4月15日")
    assert window.decoded("DTSTART") == date(2027, 3, 1) and window.decoded("DTEND") == date(2027, 4, 16)
    assert "/v1/documents/beishu/view?passage=" in str(window["URL"]) and TITLE in str(window["DESCRIPTION"])
    deadline = event("截止日期：2027年9月30日")
    assert deadline.decoded("DTSTART") == date(2027, 9, 30) and deadline.decoded("DTEND") == date(2027, 10, 1)
    until = event("即日起至2027年12月31日受理")
    assert until.decoded("DTEND") == date(2028, 1, 1)
    yearly = event("受理时间为每年6月")
    assert yearly.decoded("DTSTART").month == 6 and yearly.decoded("DTEND") - yearly.decoded("DTSTART") == \
        date(2001, 7, 1) - date(2001, 6, 1) and str(yearly["RRULE"]["FREQ"][0]) == "YEARLY"
    assert not any("另行通知" in str(e["DESCRIPTION"]) for e in events)  # a window whose date cannot be read: not in the calendar

    saved = httpx.post(f"{url}/v1/profiles", json={"name": "日历测试", "profile": HIGH_TECH}).json()
    own = icalendar.Calendar.from_ical(httpx.get(f"{url}/v1/profiles/{saved['id']}/calendar.ics",
                                                 params={"token": saved["token"]}).content)
    mine = [e for e in own.walk("VEVENT") if STEM in str(e["SUMMARY"])]  # 30万元, or 50万元 after the new version
    assert [(e.decoded("DTSTART"), e.decoded("DTEND")) for e in mine] == [(date(2027, 3, 1), date(2027, 4, 16))]
    assert not any("孵化器" in str(e["SUMMARY"]) for e in own.walk("VEVENT"))  # not this profile's measure

    feed = feedparser.parse(httpx.get(f"{url}/v1/profiles/{saved['id']}/feed.atom",
                                      headers={"Authorization": f"Bearer {saved['token']}"}).content)
    assert not feed.bozo and feed.feed.title == "政策推送：日历测试"
    entry = next(e for e in feed.entries if e.title.startswith(STEM))
    assert "/v1/documents/beishu/view?passage=" in entry.link and "2027-03-01" in entry.content[0].value

    for path in ("feed.atom", "calendar.ics", "measures", ""):
        bad = httpx.get(f"{url}/v1/profiles/{saved['id']}/{path}".rstrip("/"), params={"token": "pat_wrong"})
        assert bad.status_code == 401 and STEM not in bad.text and "BEGIN:VCALENDAR" not in bad.text
    assert httpx.get(f"{url}/v1/profiles/{saved['id']}/feed.atom").status_code == 401
    assert httpx.get(f"{url}/v1/profiles", headers={"Authorization": f"Bearer {saved['token']}"}).status_code == 401


def test_profile_routes_token_rotate_update_delete(setup):
    url, _, _, _ = setup
    r = httpx.post(f"{url}/v1/profiles", json={"name": "x", "profile": HIGH_TECH, "webhook_url": "ftp://a/b"})
    assert r.status_code == 422 and "webhook_url" in r.text
    saved = httpx.post(f"{url}/v1/profiles", json={"name": "改动", "profile": HIGH_TECH}).json()
    auth = {"Authorization": f"Bearer {saved['token']}"}
    got = httpx.get(f"{url}/v1/profiles/{saved['id']}", headers=auth).json()
    assert got["profile"]["qualifications"] == ["高新技术企业"] and "token" not in json.dumps(got)
    secret = httpx.post(f"{url}/v1/profiles/{saved['id']}/rotate-secret", headers=auth).json()["signing_secret"]
    assert secret != saved["signing_secret"]
    items = httpx.get(f"{url}/v1/profiles/{saved['id']}/measures", headers=auth).json()
    assert items["profile"]["unread"] == len(items["measures"]) > 0
    changed = httpx.post(f"{url}/v1/profiles/{saved['id']}/measures/read", headers=auth, json={"ids": None}).json()
    assert changed["changed"] == len(items["measures"])
    assert httpx.get(f"{url}/v1/profiles/{saved['id']}", headers=auth).json()["unread"] == 0
    put = httpx.put(f"{url}/v1/profiles/{saved['id']}", headers=auth,
                    json={"name": "改名", "profile": {**HIGH_TECH, "park": "浏阳经开区"}})
    assert put.status_code == 200 and put.json()["name"] == "改名"
    assert httpx.delete(f"{url}/v1/profiles/{saved['id']}", params={"token": "wrong"}).status_code == 401
    assert httpx.delete(f"{url}/v1/profiles/{saved['id']}", headers=auth).status_code == 204
    assert httpx.get(f"{url}/v1/profiles/{saved['id']}", headers=auth).status_code == 401
