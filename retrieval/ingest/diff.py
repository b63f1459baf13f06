"""What changed between two versions of a document, clause by clause, with the changed figures called out.

`diff_clauses(old, new)` takes each version's clauses — (section path, text), e.g. its passages in order —
and pairs them:
1. the same text (a clause renumbered when one before it was removed counts as the same: the leading
   `第X条` / `一、` / `（一）` / `1.` is not compared) — unchanged, not reported;
2. of the rest, the most similar pairs (SequenceMatcher ratio >= SIMILAR) — `changed`;
3. what is left — `added` (only in the new version) and `removed` (only in the old one).
Each `changed` clause lists its changed figures (`figure_changes`): amounts, percentages, dates, counts
and durations, each with the words just before it, as a person would say it: `奖励20万元 → 30万元`.
The changes come in the order of the new version, a removed clause where it stood in the old one.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher

from retrieval.ingest.cnparse import CN_ORDINAL
from retrieval.tokenize import tokenize

SIMILAR = 0.55  # clauses at least this similar are one clause changed, not one removed and one added
CONTEXT_CHARS = 8  # the words before a figure that say what it is are looked for this far back
CONTEXT_MIN = 4  # ... and taken, whole words, until they are at least this long

_NUM = r"(?:\d[\d,，]*(?:\.\d+)?|[零〇一二两三四五六七八九十百千万]+)"
_UNIT = r"(?:万元|亿元|千元|元|万|亿|家|个月|个|人次|人|项|名|次|倍|年度|年|月|天|日|小时|平方米|岁|台|套|件)"
FIGURE_RE = re.compile(
    r"\d{4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?"  # 2024年9月30日 / 2024年9月
    r"|\d{1,2}\s*月\s*\d{1,2}\s*日"  # 9月30日
    r"|百分之[零〇一二两三四五六七八九十百点]+"  # 百分之三
    r"|\d+(?:\.\d+)?\s*[%％‰]"  # 15%
    rf"|\d[\d,，]*(?:\.\d+)?\s*{_UNIT}?"  # 20万元, 3年, 500
    rf"|[零〇一二两三四五六七八九十百千]+\s*{_UNIT}"  # 十二个月, 三年 (Chinese numerals need a unit)
)
_NUMBERING = re.compile(rf"^\s*(?:第{CN_ORDINAL}[条章节]|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[)）]|\d{{1,2}}[.．、])\s*")
_STOP = re.compile(r"[，。；：、,.;:（）()\s]")


@dataclass
class Change:
    kind: str  # added | removed | changed
    section: str  # the clause's section path (the new version's, for a changed clause)
    old: str | None = None
    new: str | None = None
    old_section: str | None = None
    figures: list[str] = field(default_factory=list)  # `奖励20万元 → 30万元`

    def to_dict(self) -> dict:
        return asdict(self)


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _body(text: str) -> str:
    """A clause without its numbering, for comparing (renumbered clauses are the same clause)."""
    return _flat(_NUMBERING.sub("", text, count=1))


def _spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in FIGURE_RE.finditer(text)]


def _widen(i: int, j: int, spans: list[tuple[int, int]]) -> tuple[int, int, bool]:
    """[i, j) widened to the figures it touches; whether it touches one."""
    if j > i:
        touched = [s for s in spans if s[0] < j and s[1] > i]
    else:  # an insertion at i: the figure it lands in
        touched = [s for s in spans if s[0] <= i < s[1]]
    if not touched:
        return i, j, False
    return min(i, *(s[0] for s in touched)), max(j, *(s[1] for s in touched)), True


def _context(before: str) -> str:
    """The whole words just before a figure (`额度最高为`, `一次性奖励`), back to a punctuation mark."""
    words = tokenize(_STOP.split(before)[-1], search=False, keep_stopwords=True)
    taken = ""
    for word in reversed(words):
        if len(taken) >= CONTEXT_MIN:
            break
        taken = word + taken
    return taken


def figure_changes(old: str, new: str) -> list[str]:
    """The figures that differ between two versions of a clause: `context old → new` each."""
    old, new = unicodedata.normalize("NFKC", old), unicodedata.normalize("NFKC", new)
    old_spans, new_spans = _spans(old), _spans(new)
    out: list[str] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        a0, a1, in_old = _widen(i1, i2, old_spans)
        b0, b1, in_new = _widen(j1, j2, new_spans)
        if not (in_old or in_new):
            continue
        before = _context(old[max(0, a0 - CONTEXT_CHARS):a0] if in_old else new[max(0, b0 - CONTEXT_CHARS):b0])
        was = old[a0:a1].strip() if in_old else "（无）"
        now = new[b0:b1].strip() if in_new else "（无）"
        text = f"{before}{was} → {now}"
        if was != now and text not in out:
            out.append(text)
    return out


def diff_clauses(old: list[tuple[str, str]], new: list[tuple[str, str]]) -> list[Change]:
    """Clauses (section path, text) of two versions -> what was added, removed and changed (see above)."""
    old_body = [_body(t) for _s, t in old]
    new_body = [_body(t) for _s, t in new]
    pair: dict[int, int] = {}  # new index -> old index
    free_old = set(range(len(old)))
    for j, body in enumerate(new_body):  # 1. the same text, first occurrence in order
        i = next((i for i in sorted(free_old) if old_body[i] == body), None)
        if i is not None:
            pair[j] = i
            free_old.discard(i)
    candidates = sorted(
        ((SequenceMatcher(None, old_body[i], new_body[j], autojunk=False).ratio(), j, i)
         for j in range(len(new)) if j not in pair for i in free_old),
        reverse=True)
    changed: set[int] = set()
    for ratio, j, i in candidates:  # 2. the most similar pairs
        if ratio < SIMILAR:
            break
        if j in pair or i not in free_old:
            continue
        pair[j] = i
        free_old.discard(i)
        changed.add(j)
    changes: list[tuple[float, Change]] = []  # (position in the new version's order, change)
    for j, (section, text) in enumerate(new):
        if j not in pair:
            changes.append((j, Change("added", section, new=text)))
            continue
        i = pair[j]
        if j in changed:
            old_section, old_text = old[i]
            changes.append((j, Change("changed", section, old=old_text, new=text,
                                      old_section=old_section if old_section != section else None,
                                      figures=figure_changes(old_text, text))))
    for i in sorted(free_old):  # 3. removed: after the new clause paired with the old one before it
        before = [j for j, k in pair.items() if k < i]
        changes.append((max(before) + 0.5 if before else -0.5, Change("removed", old[i][0], old=old[i][1])))
    return [c for _pos, c in sorted(changes, key=lambda t: t[0])]
