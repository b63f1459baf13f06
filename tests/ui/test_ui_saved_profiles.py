"""The 政策匹配 tab's saved-profile panel without a browser: the handlers on the session index and a real SQLite
records database (save shows the token once, the inbox lists what matched when saved as unread, a wrong token
is refused, 全部标为已读 marks them read), and the pure renderers (escaping, deadlines, calendar links)."""
from __future__ import annotations

from datetime import date

import gradio as gr
import pytest

from assistant.finder import Profile
from assistant.finder.calendar import Window
from assistant.records import Database, DatabaseConfig
from assistant.service.service import Service
from ui.match_tab import match_tab
from ui.saved_profiles import EMPTY_INBOX, render_deadlines, render_inbox

FORM = ("enterprise", ["高新技术企业"], "生物医药", "浏阳经开区", "", "", "")


def _handlers(service: Service, records: Database) -> dict:
    with gr.Blocks() as demo:
        match_tab(service, records)
    return {f.fn.__name__: f.fn for f in demo.fns.values()}


def test_save_then_inbox_unread_then_read(built_settings, assistant, tmp_path):
    records = Database(DatabaseConfig(f"sqlite:///{tmp_path / 'records.sqlite3'}"))
    h = _handlers(Service(built_settings, assistant=assistant), records)
    note, pid, token, inbox, soon = h["save"]("浏阳某药企", "", *FORM)
    assert token in note and pid in note and "只显示这一次" in note
    assert inbox.count("pa-unread") >= 1 and "未读" in inbox
    matched = assistant.match(Profile(entity_type="enterprise", qualifications=["高新技术企业"], industry="生物医药",
                                      park="浏阳经开区"))
    expected = [m["title"] for m in matched["measures"] if m["status"] == "likely"]
    assert expected and all(t in inbox for t in expected)  # the positive verdicts, nothing else
    assert f"/v1/profiles/{pid}/calendar.ics?token=" in soon and "/v1/calendar.ics" in soon
    with pytest.raises(gr.Error, match="令牌不正确"):
        h["show"](pid, "pat_wrong")
    inbox, _ = h["read_all"](pid, token)
    assert "pa-unread" not in inbox and "已读" in inbox
    with pytest.raises(gr.Error, match="无法保存"):
        h["save"]("x", "http://127.0.0.1:9/hook", *FORM)  # loopback: refused (PA_WEBHOOK_ALLOW_PRIVATE unset)
    records.dispose()


def test_renderers_escape_and_show_deadlines():
    item = {"id": 1, "read": False, "title": "<script>x</script>奖励", "why": ["对象相符"], "amount": "30万元",
            "deadline": {"kind": "window", "start": "2027-03-01", "end": "2027-04-15", "text": "申报时间：2027年3月1日至4月15日"},
            "citations": [{"doc_title": "测试办法", "section": "第二条", "view_url": "/v1/documents/a/view?passage=a:1"}],
            "time": "2026-12-08T01:00:00"}
    page = render_inbox([item])
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "2027-03-01 至 2027-04-15" in page and "30万元" in page and "/v1/documents/a/view?passage=a:1" in page
    assert EMPTY_INBOX in render_inbox([])
    w = Window("deadline", "截止日期：2027年9月30日", None, "2027-09-30", "a:1", "a", "测试办法", "第四条")
    html = render_deadlines([(date(2027, 9, 30), w)], [("日历", "/v1/calendar.ics")])
    assert "2027-09-30" in html and "截止日期：2027年9月30日" in html and 'href="/v1/calendar.ics"' in html
