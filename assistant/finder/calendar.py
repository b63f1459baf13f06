"""Application windows (申报/受理时间, 截止日期, 即日起至…, 每年X月) read from the documents, and iCalendar.

    windows_in(passage)            # [Window(kind, start, end, month, text=the clause that states it), ...]
    calendar_ics(events, name)     # RFC 5545 text: all-day events, the last day inclusive as a person reads it

A window is read only from what the clause says: a year that the clause does not give is not guessed (the
end date borrows the start's year, or the next one when it would fall before the start); a clause whose
date cannot be read is kept as text (`kind="text"`), shown as such and left out of the calendar.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable

from retrieval.passage import Passage

_D = r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*日"  # (year)? month day
_ISO = r"(\d{4})[-./](\d{1,2})[-./](\d{1,2})"
_TO = r"\s*(?:至|到|—|–|-|~|～)\s*"
_TRIGGER = re.compile(r"(?:申报|受理|申请|报名|征集|集中申报)(?:时间|期限|日期|期间|截止时间|截止日期)|截止(?:日期|时间)|截至|即日起|每年")
_RANGE = re.compile(_D + _TO + _D)
_ISO_RANGE = re.compile(_ISO + _TO + _ISO)
_UNTIL = re.compile(r"(?:截止(?:日期|时间)?|截至)\s*(?:为|是|：|:)?\s*" + _D + r"|" + _D + r"\s*(?:前|之前|止|截止)")
_FROM_NOW = re.compile(r"即日起\s*(?:至|到)\s*" + _D)
_YEARLY = re.compile(r"每年\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日\s*(?:至|到|—|-|～)\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日)?(?:\s*(?:至|到)\s*(\d{1,2})\s*月)?")
_CLAUSE = re.compile(r"[^。；;\n]+")
_UNREADABLE = re.compile(r"(?:申报|受理|申请|报名)(?:时间|期限|日期)|截止(?:日期|时间)")


@dataclass(frozen=True)
class Window:
    """kind: window (start..end) | deadline (end only) | yearly (every year, months) | text (date not readable)."""

    kind: str
    text: str  # the clause that states it, verbatim
    start: str | None = None  # ISO dates; for yearly: MM-DD
    end: str | None = None
    passage_id: str = ""
    doc_id: str = ""
    doc_title: str = ""
    section: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def last_day(self) -> date | None:
        return date.fromisoformat(self.end) if self.kind in ("window", "deadline") and self.end else None


def _date(y: str | None, m: str, d: str, year: int | None) -> date | None:
    try:
        return date(int(y) if y else year, int(m), int(d)) if (y or year) else None
    except ValueError:
        return None


def _read(clause: str) -> tuple[str, date | None, date | None] | None:
    """(kind, start, end) of a clause, or None when it states no readable window."""
    if m := _YEARLY.search(clause):
        month = int(m.group(1))
        if not 1 <= month <= 12:
            return None
        if m.group(2):  # 每年3月1日至4月15日
            s, e = _date("2000", m.group(1), m.group(2), None), _date("2000", m.group(3), m.group(4), None)
        else:  # 每年6月 / 每年3月至5月
            last = int(m.group(5) or month)
            if not 1 <= last <= 12:
                return None
            s = date(2000, month, 1)
            e = (date(2000 + (last == 12), last % 12 + 1, 1) - timedelta(days=1))
        return ("yearly", s, e) if s and e else None
    if m := _RANGE.search(clause):
        start = _date(m.group(1), m.group(2), m.group(3), None)
        if start is None:
            return None  # 3月1日至4月15日 without a year: not guessed
        end = _date(m.group(4), m.group(5), m.group(6), start.year)
        if end and not m.group(4) and end < start:
            end = _date(None, m.group(5), m.group(6), start.year + 1)
        return ("window", start, end) if end and end >= start else None
    if m := _ISO_RANGE.search(clause):
        start, end = _date(*m.group(1, 2, 3), None), _date(*m.group(4, 5, 6), None)
        return ("window", start, end) if start and end and end >= start else None
    if m := _FROM_NOW.search(clause):
        end = _date(m.group(1), m.group(2), m.group(3), None)
        return ("deadline", None, end) if end else None
    if m := _UNTIL.search(clause):
        g = m.groups()
        end = _date(g[0], g[1], g[2], None) if g[1] else _date(g[3], g[4], g[5], None)
        return ("deadline", None, end) if end else None
    return None


def windows_in(p: Passage) -> list[Window]:
    """The application windows a passage states, each with its clause."""
    if not _TRIGGER.search(p.text):
        return []
    out: list[Window] = []
    base = dict(passage_id=p.id, doc_id=p.doc_id, doc_title=p.doc_title, section=p.section_path)
    for clause in (c.strip() for c in _CLAUSE.findall(p.text)):
        if not _TRIGGER.search(clause):
            continue
        got = _read(clause)
        if got is None:
            if _UNREADABLE.search(clause):
                out.append(Window("text", clause, **base))
            continue
        kind, start, end = got
        if kind == "yearly":
            out.append(Window(kind, clause, start.strftime("%m-%d"), end.strftime("%m-%d"), **base))
        else:
            out.append(Window(kind, clause, start.isoformat() if start else None, end.isoformat(), **base))
    return out


def windows_of(passages: Iterable[Passage]) -> dict[str, list[Window]]:
    """passage id -> its windows (passages without any left out)."""
    return {p.id: w for p in passages if (w := windows_in(p))}


# ---------------------------------------------------------------------------------------------- iCalendar
def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", r"\;").replace(",", r"\,").replace("\r", "").replace("\n", r"\n")


def _fold(line: str) -> str:
    """Lines of at most 75 octets (RFC 5545 3.1), continued with a space; never inside a UTF-8 character."""
    out, cur = [], b""
    for ch in line:
        b = ch.encode()
        if len(cur) + len(b) > (75 if not out else 74):
            out.append(cur.decode())
            cur = b""
        cur += b
    out.append(cur.decode())
    return "\r\n ".join(out)


def _next_yearly(w: Window, today: date) -> tuple[date, date]:
    """The first occurrence of a yearly window that has not ended by `today`."""
    for year in (today.year, today.year + 1):
        sm, sd = map(int, w.start.split("-"))
        em, ed = map(int, w.end.split("-"))
        start, end = date(year, sm, sd), date(year + (em < sm), em, ed)
        if end >= today:
            return start, end
    return start, end


def ics_event(w: Window, uid: str, summary: str, url: str, today: date) -> list[str] | None:
    """One VEVENT (lines) for a dated window; None for a window shown as text only."""
    if w.kind == "text":
        return None
    rrule = None
    if w.kind == "yearly":
        start, end = _next_yearly(w, today)
        rrule = "RRULE:FREQ=YEARLY"
    else:
        end = date.fromisoformat(w.end)
        start = date.fromisoformat(w.start) if w.start else end
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VEVENT", f"UID:{uid}", f"DTSTAMP:{stamp}", f"DTSTART;VALUE=DATE:{start:%Y%m%d}",
             f"DTEND;VALUE=DATE:{end + timedelta(days=1):%Y%m%d}",  # DTEND is exclusive: the last day is included
             f"SUMMARY:{_escape(summary)}",
             f"DESCRIPTION:{_escape(f'{w.text}（{w.doc_title} {w.section}）')}"]
    if url:
        lines.append(f"URL:{url}")
    if rrule:
        lines.append(rrule)
    return [*lines, "END:VEVENT"]


def calendar_ics(events: list[list[str]], name: str) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//policy-assistant//calendar//ZH", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH", f"X-WR-CALNAME:{_escape(name)}"]
    for ev in events:
        lines += ev
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def upcoming(windows: Iterable[Window], today: date, n: int = 5) -> list[tuple[date, Window]]:
    """The next `n` last days (deadlines) on or after `today`, soonest first."""
    out = []
    for w in windows:
        if w.kind == "yearly":
            out.append((_next_yearly(w, today)[1], w))
        elif w.last_day and w.last_day >= today:
            out.append((w.last_day, w))
    return sorted(out, key=lambda x: x[0])[:n]


def measure_windows(measures: Iterable[Any], passages: dict[str, Passage],
                    by_passage: dict[str, list[Window]]) -> dict[str, list[Window]]:
    """measure id -> its windows: those of its own passage, else those its document states in a passage of
    no measure (a 申报 article: “第六条 申报时间：…”), which then apply to every measure of the document."""
    measures = list(measures)
    with_measures = {m.passage_id for m in measures}
    per_doc: dict[str, list[Window]] = {}
    for pid, ws in by_passage.items():
        if pid not in with_measures and pid in passages:
            per_doc.setdefault(passages[pid].doc_id, []).extend(ws)
    return {m.id: by_passage.get(m.passage_id) or per_doc.get(m.doc_id, []) for m in measures}
