"""Questions about a document itself — its 文号, when it was issued, who issued it, when it takes effect —
answered from the document's metadata, citing the header or footer passage that states it.

    docinfo_answer(query, passages) -> Answer | None
A question qualifies when it asks for one of the fields below and names nothing but the document (its
title words, 规划/文件/通知 …): "这个规划的发文字号是多少？", "规划从什么时候开始执行？",
"Who issued the plan?". The value must be stated by a passage of that document, which is cited.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.answer import Answer, Citation
from assistant.pipeline.understand import Query
from assistant.language.terms import specific_terms
from assistant.language.stats import TermStats
from retrieval.passage import Passage
from retrieval.text import normalize

FIELDS: dict[str, re.Pattern[str]] = {
    "doc_number": re.compile(r"文号|发文字号|发文号|文件编号|文件号|字号|document number|reference number|file number", re.I),
    "issued": re.compile(r"(?:哪天|哪一天|何时|什么时候|几月几[号日]|哪年哪月)(?:印发|发布|发文|出台|下发|公布)|"
                         r"(?:印发|发布|发文|成文|出台|下发|公布)(?:的)?(?:日期|时间)|哪天发的|什么时候发的|"
                         r"when was .{0,60}(?:issued|published|released)|issue date|date of issue|publication date", re.I),
    "issuer": re.compile(r"(?:发布|发文|印发|制定|出台)(?:的)?(?:机关|单位|部门)|哪个(?:单位|部门|机关)(?:发|印发|发布|制定)|"
                         r"谁(?:发|印发|发布|制定)的|who (?:issued|published|released)|issuing (?:authority|body|agency|department)", re.I),
    "effective": re.compile(r"施行|生效|(?:什么时候|何时|哪天)(?:开始)?(?:执行|实施)|开始执行|实施日期|有效期|适用期限|"
                            r"take effect|takes effect|come into (?:force|effect)|effective (?:date|from)|in force|valid until", re.I),
}
LABELS = {"doc_number": ("发文字号", "document number"), "issued": ("印发日期", "issue date"),
          "issuer": ("发布机关", "issuing authority"), "effective": ("施行时间", "entry into force")}
_EFFECT = re.compile(r"[^。；;]*(?:施行|生效|有效期)[^。；;]*[。；;]?")
DOC_WORDS = {"规划", "文件", "通知", "政策", "办法", "本规划", "这个", "该", "plan", "document", "policy",
             # field words as the vocabulary writes them (an English "issued" becomes 印发)
             "印发", "发布", "发文", "施行", "生效", "实施", "执行", "文号", "字号", "有效期", "机关", "单位", "日期", "时间"}


@dataclass
class Stated:
    passage: Passage
    quote: str
    value: str


def asked_field(question: str) -> str | None:
    for name, rx in FIELDS.items():
        if rx.search(question):
            return name
    return None


def _cn_date(iso: str) -> str:
    y, m, d = (int(x) for x in iso[:10].split("-"))
    return f"{y}年{m}月{d}日"


def _in_field_words(term: str, text: str) -> bool:
    """The term overlaps a phrase that asks for a field (哪天印发, 哪个单位发的文) in text."""
    spans = [m.span() for rx in FIELDS.values() for m in rx.finditer(text)]
    starts = [i for i in range(len(text)) if text.startswith(term, i)]
    return any(s < e0 and s + len(term) > s0 for s in starts for s0, e0 in spans)


def _names_only_the_document(query: Query, stats: TermStats, docs: dict[str, list[Passage]]) -> bool:
    """Every specific term of the question is a word of a document's title, issuer or 文号, or part of
    the phrase asking for the field."""
    heads = normalize(" ".join(f"{ps[0].doc_title} {ps[0].meta.get('issuer', '')} {ps[0].meta.get('doc_number', '')}"
                               for ps in docs.values())).lower()
    texts = (query.question.lower(), query.normalized.lower())
    rest = {t for t in specific_terms(query.terms, stats) - DOC_WORDS
            if not any(_in_field_words(t, x) for x in texts)}
    return all(t in heads for t in rest)


def _stated(field: str, passages: list[Passage]) -> Stated | None:
    """The passage of this document that states the field's value (header and footer first)."""
    meta = passages[0].meta
    order = sorted(passages, key=lambda p: p.kind not in ("front_matter", "back_matter"))
    if field == "effective":
        for p in reversed(order):  # the closing clauses say when a document takes effect
            m = _EFFECT.search(p.text)
            if m:
                return Stated(p, m.group(0).strip(), m.group(0).strip().rstrip("。；;"))
        return None
    value = str(meta.get(field) or "")
    if not value:
        return None
    forms = [_cn_date(value), value] if field == "issued" else [value]
    for p in order:
        flat = normalize(p.text)
        for form in forms:
            at = flat.find(normalize(form))
            if at >= 0:
                return Stated(p, form, form)
    return None


KINDS = ("规划", "办法", "通知", "意见", "方案", "细则", "措施", "条例", "规定", "指引", "计划", "纲要")


def _named_document(query: Query, docs: dict[str, list[Passage]]) -> list[Passage] | None:
    """The document the question means: the one its title words name best, the one of the kind it names
    (这个规划 -> the only 规划), the only document, or the one the conversation is about; None when unclear."""
    def overlap(ps: list[Passage]) -> int:
        return sum(t in ps[0].doc_title for t in query.terms.weights)

    ranked = sorted(docs.values(), key=lambda ps: -overlap(ps))
    if ranked and overlap(ranked[0]) and (len(ranked) == 1 or overlap(ranked[0]) > overlap(ranked[1])):
        return ranked[0]
    for kind in KINDS:
        if kind in query.question:
            of_kind = [ps for ps in docs.values() if kind in ps[0].doc_title]
            if len(of_kind) == 1:
                return of_kind[0]
    if len(docs) == 1:
        return ranked[0]
    return _discussed_document(query, docs)


def _discussed_document(query: Query, docs: dict[str, list[Passage]]) -> list[Passage] | None:
    """A follow-up (那是哪个单位发的文？) means the document the latest turn that names one was about."""
    for message in reversed(query.history or []):
        content = str(message.get("content") or "")
        named = [ps for ps in docs.values() if ps[0].doc_title and ps[0].doc_title in content]
        if named:
            return named[0] if len(named) == 1 else None
    return None


EACH_MAX = 5  # a question naming no document, in a library of several: the field of each, up to this many


def _field_line(field: str, passages: list[Passage], n: int, latin: bool) -> tuple[str, Citation] | None:
    """“《title》的发布机关：X[n]” and its citation; None when the document neither states nor records it."""
    stated = _stated(field, passages)
    from_meta = stated is None
    if from_meta:  # recorded in the document's metadata (a sidecar) but not in its text: say so
        value = str(passages[0].meta.get(field) or "")
        if not value:
            return None
        value = _cn_date(value) if field == "issued" else value
        stated = Stated(passages[0], "", value)
    p = stated.passage
    zh, en = LABELS[field]
    if latin:
        source = " (from the document's metadata, not its text)" if from_meta else ""
        text = f"The {en} of 《{p.doc_title}》: “{stated.value}”{source} [{n}]"
    else:
        source = "（据文件登记信息，正文未载明）" if from_meta else ""
        text = f"《{p.doc_title}》的{zh}：{stated.value}{source}[{n}]"
    return text, Citation.of(n, p, stated.quote)


def docinfo_answer(query: Query, passages: list[Passage], stats: TermStats) -> Answer | None:
    field = asked_field(query.question)
    if field is None:
        return None
    docs: dict[str, list[Passage]] = {}
    for p in passages:
        docs.setdefault(p.doc_id, []).append(p)
    if not _names_only_the_document(query, stats, docs):
        return None
    named = _named_document(query, docs)
    lines: list[tuple[str, Citation]] = []
    for ps in [named] if named is not None else list(docs.values()):
        line = _field_line(field, ps, len(lines) + 1, query.latin)
        if line is not None:
            lines.append(line)
        if len(lines) == EACH_MAX:
            break
    if not lines:
        return None
    if len(lines) == 1:
        text = lines[0][0]
    else:  # which document is meant is unclear: each one's, labelled by title
        lead = "Each indexed document's:\n" if query.latin else "未指明哪份文件，各文件的情况如下：\n"
        text = lead + "\n".join(f"- {t}" for t, _ in lines)
    return Answer(question=query.question, answer=text, answerable=True, mode="extractive",
                  citations=[c for _, c in lines])
