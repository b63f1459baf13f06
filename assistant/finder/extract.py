"""Measure extraction: the sentences of a passage that promise support become measures.

A measure records who it targets, the kind of support, the industries and places it names, the
conditions its text states, and the passage it comes from. Rules and the vocabulary only: the same
passages always give the same measures, so they are cached with the index (see catalog.py).

Two more kinds come from the document's structure rather than from a support word, because a person
looking for support needs them too: a park's paragraph that says what it concentrates on (园区定位) and
the paragraphs of an industry's 专栏 (产业方向: the technologies the plan wants developed, i.e. where
projects and 揭榜挂帅 calls will go).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.finder.vocab import Vocabulary
from retrieval.passage import Passage

_SENTENCE = re.compile(r"[^。；;！!？?]+[。；;！!？?]?")
_CLAUSE = re.compile(r"[^，,：:。；;]+")
_NUMBERING = re.compile(r"^\s*(?:[（(]?[一二三四五六七八九十\d]+[）)、.．]|专栏\s*\d+\s*[—\-–]+\s*\d+)\s*")
_FOR_WHOM = re.compile(r"对([^，,。；;]{2,40}?)(?:的|等)(?:，|,)?(?:给予|予以)")
_FOCUS = re.compile(r"重点(?:发展|打造|建设)|打造|聚焦|构建")
SKIP_KINDS = {"front_matter", "back_matter"}
TITLE_CHARS = 40


@dataclass
class StatedCondition:
    label: str
    text: str  # the words of the passage that state it
    facts: list[str] = field(default_factory=list)  # profile facts that show it is met (none: always 需核实)


@dataclass
class Measure:
    id: str
    passage_id: str
    doc_id: str
    doc_title: str
    section: str
    heading: str
    title: str
    kind: str
    sentences: list[str]
    targets: list[str]  # target ids, specific ones first
    industries: list[str]  # industry ids named (or implied by a broader word) in the measure or its heading
    industry_words: list[str]  # the words found, for `why`
    broad_industry: bool  # the industries are named by a broad word (战略性新兴产业) or a list ending in 等
    places: list[str]
    conditions: list[StatedCondition]
    order: int
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Measure":
        d = dict(d)
        d["conditions"] = [StatedCondition(**c) for c in d.get("conditions", [])]
        return cls(**d)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def heading_of(p: Passage) -> str:
    """The passage's own heading without its numbering (“2. 加强高新技术企业培育” -> 加强高新技术企业培育)."""
    if not p.section:
        return ""
    return _NUMBERING.sub("", p.section[-1]).strip(" 。.")


def _title(unit: list[str]) -> str:
    """The clause that says what is supported (its neighbour too when it is only a few characters)."""
    pick = unit[0].rstrip("，,")
    if len(pick) < 10 and len(unit) > 1:
        pick = f"{pick}，{unit[1].rstrip('，,')}"
    pick = _NUMBERING.sub("", pick).strip(" 。；")
    return pick if len(pick) <= TITLE_CHARS else pick[:TITLE_CHARS - 1] + "…"


def _industries(vocab: Vocabulary, text: str, parents: bool = True) -> tuple[list[str], list[str], bool]:
    """Industry ids named in text, the words that named them, and whether only broadly (a parent word)."""
    ids: dict[str, None] = {}
    words: list[str] = []
    spans = []
    for m in vocab.industries.find(text):
        ids.setdefault(m.entry.id, None)
        spans.append((m.start, m.start + len(m.word)))
        if m.word not in words:
            words.append(m.word)
    broad = False
    if not parents:
        return list(ids), words, False
    for m in vocab.parents.find(text):
        if any(a <= m.start < b for a, b in spans):
            continue
        if m.word not in words:
            words.append(m.word)
        for iid in vocab.industries_under(m.word):
            if iid not in ids:
                ids.setdefault(iid, None)
                broad = True
    if ids and re.search(r"等(?:领域|产业|战略性新兴产业|优势产业|方向)", text):
        broad = True
    return list(ids), words, broad


def _conditions(vocab: Vocabulary, text: str) -> list[StatedCondition]:
    found: list[StatedCondition] = []
    rest = text
    for rule in vocab.conditions:
        hit = next((w for w in rule.words if w in rest), None)
        if hit and all(c.label != rule.label for c in found):
            found.append(StatedCondition(rule.label, hit, list(rule.facts)))
            for w in rule.words:  # a word of this condition does not state another one (入库培育 ≠ 入库)
                rest = rest.replace(w, "\x00")
    for m in _FOR_WHOM.finditer(text):
        phrase = m.group(1).strip()
        if any(c.text in phrase or phrase in c.text for c in found):
            continue
        if any(w in phrase for c in found for w in c.text.split()):
            continue
        found.append(StatedCondition(phrase, phrase, []))
    return found


def _targets(vocab: Vocabulary, text: str) -> list[str]:
    ids = vocab.targets.ids(text)
    return sorted(ids, key=lambda t: vocab.target(t).generic)  # specific first, order kept


def extract_measures(passages: list[Passage], vocab: Vocabulary) -> list[Measure]:
    measures: list[Measure] = []
    for p in passages:
        if p.kind in SKIP_KINDS:
            measures.extend(_structural(p, vocab))
            continue
        measures.extend(_support_measures(p, vocab))
        measures.extend(_structural(p, vocab))
    return measures


def _units(sentence: str, vocab: Vocabulary) -> list[list[str]]:
    """The sentence's clauses grouped into units, each starting at a clause that promises support."""
    clauses = [c.strip() for c in re.findall(r"[^，,]+[，,]?", sentence) if c.strip()]
    units: list[list[str]] = []
    for c in clauses:
        if _promises(c, vocab):
            units.append([c])
        elif units:
            units[-1].append(c)
    return units


def _promises(clause: str, vocab: Vocabulary) -> bool:
    if any(w in clause for w in vocab.support_words):
        return True
    return any(w in clause for w in vocab.talent_words) and any(
        vocab.target(t).entity == "researcher" for t in vocab.targets.ids(clause))


def _primary(clause: str, vocab: Vocabulary) -> list[str]:
    """Targets the clause supports: those not named as partners (支持龙头企业联合高校 -> 龙头企业)."""
    out: list[str] = []
    for m in vocab.targets.find(clause):
        before = clause[:m.start]
        cut = max((before.rfind(w) for w in vocab.partner_words), default=-1)
        first = next((before.find(w) for w in vocab.support_words + vocab.talent_words if w in before), -1)
        if cut >= 0 and first >= 0 and cut > first and out:
            continue  # named after 联合/与 and after the supported one: a partner
        if m.entry.id not in out:
            out.append(m.entry.id)
    return sorted(out, key=lambda t: vocab.target(t).generic)


def _support_measures(p: Passage, vocab: Vocabulary) -> list[Measure]:
    if any(w in s for s in p.section for w in vocab.skip_sections):
        return []
    heading = heading_of(p)
    context = " ".join(p.section)
    heading_targets = _targets(vocab, f"{heading} {_lead(p.text)}")
    groups: dict[tuple[str, tuple[str, ...], int], list[str]] = {}
    titles: dict[tuple[str, tuple[str, ...], int], str] = {}
    scope: dict[tuple[str, tuple[str, ...], int], str] = {}
    last: list[str] = []
    for si, s in enumerate(sentences(p.text)):
        if _NUMBERING.sub("", s).strip(" 。.") == heading:
            continue  # the heading repeated as the paragraph's lead (“1. 强化高端科技人才引进。”)
        for unit in _units(s, vocab):
            text = "".join(unit)
            targets = _primary(unit[0], vocab)
            if not targets and "其" in unit[0]:  # 支持其… refers to the subject named before it
                named = _targets(vocab, s[:s.find(unit[0])])
                targets = [t for t in named if not vocab.target(t).generic][-1:] or list(last)
            if targets and all(vocab.target(t).generic for t in targets):
                specific = [t for t in heading_targets if not vocab.target(t).generic]
                targets = specific or targets  # “给予支持” under “加强高新技术企业培育”: the heading says who
            before = s[:s.find(unit[0])]
            open_call = list(vocab.open_call_targets) if any(w in text for w in vocab.open_calls) else []
            for fallback in (_targets(vocab, text), _targets(vocab, before), heading_targets, open_call):
                if targets:
                    break
                targets = fallback  # who is supported: named in the unit, before it, in the heading
            if not targets:
                continue
            last = targets
            served = [x for t in targets for x in vocab.target(t).serves if x not in targets]
            targets = [*targets, *served]  # 鼓励金融机构发展科技立项贷: the borrowers are supported too
            # units merge only within a sentence (做大…风险补偿基金，加大…信贷支持): across sentences
            # they would share conditions that only one of them states
            # the kind: what the supporting clause says, else its sentence and heading (科技金融专项基金), else the rest
            kind = vocab.kind_of(unit[0])
            if kind == "其他支持":
                kind = vocab.kind_of(f"{_full_sentence(p.text, s)} {heading}")
            if kind == "其他支持":
                kind = vocab.kind_of(text)
            key = (kind, tuple(targets), si)
            pieces = groups.setdefault(key, [])
            clean = text.rstrip("，,")
            adjacent = next((j for j in (f"{pieces[-1]}，{clean}", f"{pieces[-1]},{clean}") if j in s), None) \
                if pieces else None
            if adjacent:
                pieces[-1] = adjacent  # neighbouring clauses stay one verbatim quote
            else:
                pieces.append(clean)
            scope.setdefault(key, _full_sentence(p.text, s))  # industries named in the sentence scope it
            titles.setdefault(key, _title(unit))
    out = []
    for n, ((kind, specific, _), units) in enumerate(groups.items()):
        text = "，".join(units)
        industries, words, broad = _industries(vocab, f"{context} {scope[(kind, specific, _)]}")
        out.append(Measure(
            id=f"{p.id}#{n}", passage_id=p.id, doc_id=p.doc_id, doc_title=p.doc_title, section=p.section_path,
            heading=heading, title=titles[(kind, specific, _)], kind=kind, sentences=units,
            targets=list(specific), industries=industries, industry_words=words, broad_industry=broad,
            places=vocab.places.ids(f"{heading} {text}"), conditions=_conditions(vocab, text), order=p.order,
            meta=_meta(p)))
    return out


def _structural(p: Passage, vocab: Vocabulary) -> list[Measure]:
    """园区定位 (a place's paragraph saying what it concentrates on) and 产业方向 (an industry 专栏 item)."""
    heading = heading_of(p)
    if p.kind in SKIP_KINDS or not heading:
        return []
    lead = _lead(p.text)
    places = vocab.places.ids(heading)
    if places and _FOCUS.search(p.text) and len(heading) <= 40 and "专栏" in " ".join(p.section):
        industries, words, broad = _industries(vocab, p.text, parents=False)
        return [Measure(id=f"{p.id}#place", passage_id=p.id, doc_id=p.doc_id, doc_title=p.doc_title,
                        section=p.section_path, heading=heading, title=f"{places[0]}产业定位与重点发展方向",
                        kind="园区定位", sentences=_leading(p.text, 2), targets=["企业"], industries=industries,
                        industry_words=words, broad_industry=broad, places=places[:1], conditions=[],
                        order=p.order, meta=_meta(p))]
    box = next((s for s in p.section if s.startswith("专栏")), None)
    if box and vocab.industries.ids(box) and lead:
        industries, _, _ = _industries(vocab, box, parents=False)  # the 专栏's industry, not every word in it
        words = list(dict.fromkeys(m.word for m in vocab.industries.find(f"{box} {heading} {p.text}")))
        topic = _NUMBERING.sub("", box)
        topic = re.sub(r"^长沙|(?:技术)?创新发展重点$", "", topic).strip()
        return [Measure(id=f"{p.id}#focus", passage_id=p.id, doc_id=p.doc_id, doc_title=p.doc_title,
                        section=p.section_path, heading=heading, title=f"{topic}：{heading}（重点攻关方向）",
                        kind="产业方向", sentences=_leading(p.text, 3), targets=["企业", "科研院所", "科研人员"],
                        industries=industries, industry_words=words, broad_industry=False,
                        places=vocab.places.ids(p.text), conditions=[], order=p.order, meta=_meta(p))]
    return []


def _leading(text: str, n: int) -> list[str]:
    """The first n sentences, as one verbatim piece when they are contiguous in the text."""
    first = sentences(text)[:n]
    joined = "".join(first)
    return [joined] if joined in text else first


def _full_sentence(text: str, part: str) -> str:
    """The sentence up to 。 that a ；-separated part belongs to."""
    at = text.find(part)
    if at < 0:
        return part
    start = max(text.rfind(c, 0, at) for c in "。！？!?") + 1
    ends = [i for i in (text.find(c, at + len(part) - 1) for c in "。！？!?") if i >= 0]
    return text[start:(min(ends) + 1) if ends else len(text)]


def _lead(text: str) -> str:
    """The first sentence when it is a short heading-like lead (“1. 培育科技型中小企业。”)."""
    first = sentences(text)[:1]
    return first[0] if first and len(first[0]) <= 24 else ""


def _meta(p: Passage) -> dict[str, Any]:
    return {k: v for k, v in p.meta.items()
            if k in {"doc_number", "issuer", "issued", "effective", "status", "expires", "page", "source_url"}}
