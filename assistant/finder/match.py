"""Matching a profile against the measures: status, why, the conditions to verify, ranked and grouped.

A condition is `met` only when the profile shows it; when the profile says nothing about it, it is
`unknown` and the measure is `check` (需核实). `not_met` (the profile shows the opposite, e.g. a
科技型中小企业 for a measure for 龙头企业) makes the measure `unlikely`.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.finder.extract import Measure
from assistant.finder.profile import Facts
from assistant.finder.vocab import Vocabulary

MAX_MEASURES = 20
MAX_UNLIKELY = 3
MAX_PER_PASSAGE = 4  # distinct measures of one paragraph (一站式, 绿色通道, 住房…) yet room for others
MAX_GENERIC = 6  # measures that match only because the asker is “an enterprise” / “a researcher”
MAX_PER_KIND = {"产业方向": 3, "园区定位": 2}
STATUS_ORDER = {"likely": 0, "check": 1, "unlikely": 2}
CONCRETE = {"资金奖补": 0.6, "金融支持": 0.5, "政策便利": 0.5, "人才服务": 0.3, "成果转化": 0.2, "项目与攻关": 0.2}


@dataclass
class ConditionCheck:
    condition: str
    status: str  # met | not_met | unknown
    text: str = ""  # words of the passage that state it
    note: str = ""


@dataclass
class Matched:
    measure: Measure
    status: str
    why: list[str]
    conditions: list[ConditionCheck]
    score: float

    def to_dict(self) -> dict[str, Any]:
        m = self.measure
        return {
            "id": m.id, "title": m.title, "kind": m.kind, "status": self.status, "why": self.why,
            "conditions": [asdict(c) for c in self.conditions], "targets": m.targets, "industries": m.industries,
            "places": m.places, "score": round(self.score, 3),
            "citation": {"passage_id": m.passage_id, "doc_id": m.doc_id, "doc_title": m.doc_title,
                         "section": m.section, "text": "", "quote": " … ".join(m.sentences), **m.meta},
        }


@dataclass
class MatchResult:
    measures: list[Matched]
    facts: Facts
    considered: int = 0
    notices: list[str] = field(default_factory=list)

    def groups(self, order: list[str]) -> list[tuple[str, list[Matched]]]:
        kinds = sorted({m.measure.kind for m in self.measures},
                       key=lambda k: order.index(k) if k in order else len(order))
        return [(k, [m for m in self.measures if m.measure.kind == k]) for k in kinds]


def _target_check(m: Measure, facts: Facts, vocab: Vocabulary) -> tuple[ConditionCheck | None, list[str], float]:
    """The `对象` condition: is the asker one of those the measure supports?"""
    entries = [vocab.targets.by_id[t] for t in m.targets if t in vocab.targets.by_id]
    relevant = [e for e in entries if e.entity == facts.entity_type]
    if not relevant:
        return None, [], 0.0
    label = "对象：" + "、".join(e.id for e in relevant)
    specific = [e for e in relevant if not e.generic]
    hit = [e for e in (specific or relevant) if e.id in facts.targets]
    if hit:
        e = hit[0]
        shown = facts.targets[e.id] or e.id
        return (ConditionCheck(label, "met", e.id, f"资料显示：{shown}"),
                [f"对象“{e.id}”与资料中的“{shown}”相符"], 3.0 if not e.generic else 1.0)
    if specific and all(e.id in facts.excluded for e in specific):
        return ConditionCheck(label, "not_met", specific[0].id, "资料显示的身份与之不符"), [], 0.0
    declared = [t for t in facts.targets if t in vocab.targets.by_id and not vocab.targets.by_id[t].generic]
    weight = 0.2 if facts.entity_type == "institution" and declared else 0.6  # an institution said what it is
    return ConditionCheck(label, "unknown", (specific or relevant)[0].id, "资料未显示是否属于该对象，需核实"), [], weight


def _industry_check(m: Measure, facts: Facts, vocab: Vocabulary) -> tuple[ConditionCheck | None, list[str], float]:
    if not m.industries:
        return None, [], 0.0
    label = "领域：" + "、".join(m.industry_words[:6] or m.industries[:6])
    common = [i for i in m.industries if i in facts.industries]
    if common:
        word = facts.industries[common[0]]
        text_words = [w for w in m.industry_words if vocab.industries.ids(w) == [common[0]]]
        said = text_words[0] if text_words else common[0]
        strength = 1.2 if m.broad_industry and not text_words else 2.0
        return (ConditionCheck(label, "met", said, f"资料显示：{word}"),
                [f"行业“{word}”对应原文“{said}”"], strength)
    if not facts.industries:
        return ConditionCheck(label, "unknown", "", "资料未说明所属行业，需核实"), [], 0.3
    if m.broad_industry:
        return ConditionCheck(label, "unknown", "", "原文所列领域未穷尽（“等”），未列出贵方行业，需核实"), [], 0.0
    return ConditionCheck(label, "not_met", "", "原文所列领域不含资料中的行业"), [], 0.0


def _stated_checks(m: Measure, facts: Facts) -> tuple[list[ConditionCheck], list[str]]:
    out, why = [], []
    for c in m.conditions:
        fact = next((f for f in c.facts if f in facts.text), None)
        if fact:
            out.append(ConditionCheck(c.label, "met", c.text, f"资料显示：{fact}"))
            why.append(f"条件“{c.text}”与资料中的“{fact}”相符")
        else:
            out.append(ConditionCheck(c.label, "unknown", c.text, "资料未显示，需核实"))
    return out, why


def _text_overlap(m: Measure, facts: Facts, vocab: Vocabulary) -> list[str]:
    """Specific words of the profile that the measure's text repeats (液压件, 零部件, 中南大学 …)."""
    text = "".join(m.sentences) + m.heading
    words = [mm.word for lex in (vocab.industries, vocab.places) for mm in lex.find(facts.text)]
    return list(dict.fromkeys(w for w in (*words, *facts.words) if len(w) >= 2 and w in text))


def rare_words(facts: Facts, measures: list[Measure], max_share: float = 0.1) -> list[str]:
    """Words of the profile's free text that few measures contain: 零部件 and 液压件 tell measures apart,
    企业 and 我们 do not."""
    from retrieval.tokenize import content_words

    texts = ["".join(m.sentences) + m.heading for m in measures]
    out = []
    for w in dict.fromkeys(content_words(facts.text)):
        if len(w) < 2 or not re.search(r"[\u4e00-\u9fff]{2}|[A-Za-z]{3}", w):
            continue
        df = sum(w in t for t in texts)
        if 0 < df <= max(1, max_share * len(texts)):
            out.append(w)
    return out


def evaluate(m: Measure, facts: Facts, vocab: Vocabulary) -> Matched | None:
    """The measure judged against the facts; None when it is not for this kind of asker at all."""
    conditions: list[ConditionCheck] = []
    why: list[str] = []
    score = 0.0
    if m.kind == "园区定位":
        place = m.places[0] if m.places else ""
        ind, w, s = _industry_check(m, facts, vocab)
        if place in facts.places:
            why.append(f"园区“{facts.places[place]}”即原文“{m.heading}”")
            conditions.append(ConditionCheck(f"所在园区：{place}", "met", m.heading, f"资料显示：{facts.places[place]}"))
            status, score = "likely", 2.5
        elif place in facts.district_places and (not facts.industries or ind and ind.status == "met"):
            # only the district is known: a park of that district whose industries fit is worth a look
            district = facts.district_places[place]
            why.append(f"{place}位于资料所说的“{district}”")
            conditions.append(ConditionCheck(f"所在园区：{place}", "unknown", m.heading,
                                             f"资料显示位于{district}，需核实是否在{place}"))
            status, score = "check", 1.5
        else:
            return None
        if ind and ind.status == "met":
            why += w
            conditions.append(ind)
            score += s
        return Matched(m, status, why, conditions, score)
    if m.kind == "产业方向":
        common = [i for i in m.industries if i in facts.industries]
        if not common or facts.entity_type == "institution" and not facts.industries:
            return None
        overlap = _text_overlap(m, facts, vocab)
        ind, w, s = _industry_check(m, facts, vocab)
        why += w + [f"原文提到“{o}”" for o in overlap if all(o not in x for x in w)]
        conditions.append(ind)
        conditions.append(ConditionCheck("具体项目以年度申报指南为准", "unknown", "", "规划列出攻关方向，申报条件需核实"))
        return Matched(m, "check", why, conditions, 1.0 + s * 0.5 + 1.5 * len(overlap))
    target, w, s = _target_check(m, facts, vocab)
    if target is None:
        return None
    conditions.append(target)
    why += w
    score += s
    ind, w, s = _industry_check(m, facts, vocab)
    if ind:
        conditions.append(ind)
        why += w
        score += s
    places = [p for p in m.places if p in facts.places]
    if places:
        why.append(f"园区“{facts.places[places[0]]}”见于原文")
        score += 1.5
    elif m.places:
        near = [p for p in m.places if p in facts.district_places]
        if near:
            conditions.append(ConditionCheck(f"地点：{'、'.join(m.places)}", "unknown", near[0],
                                             f"资料显示位于{facts.district_places[near[0]]}，需核实是否在{near[0]}"))
    stated, w = _stated_checks(m, facts)
    conditions += stated
    why += w
    score += CONCRETE.get(m.kind, 0.0) + 0.2 * len(w)
    said = [o for o in _text_overlap(m, facts, vocab) if all(o not in x for x in why)]
    if said:  # the text repeats specific words of the profile
        why.append("原文提到" + "、".join(f"“{o}”" for o in said[:3]))
        score += 0.5 * min(len(said), 3)
    statuses = {c.status for c in conditions}
    status = "unlikely" if "not_met" in statuses else "check" if "unknown" in statuses else "likely"
    score += {"likely": 1.0, "check": 0.0, "unlikely": -3.0}[status]
    if not why:
        why.append("资料未直接对应原文对象，仅供参考")
    return Matched(m, status, why, conditions, score)


def _generic_only(check: ConditionCheck, vocab: Vocabulary) -> bool:
    entry = vocab.targets.by_id.get(check.text)
    return entry is not None and entry.generic


def match(measures: list[Measure], facts: Facts, vocab: Vocabulary, limit: int = MAX_MEASURES) -> MatchResult:
    facts.words = rare_words(facts, measures)
    judged = [r for r in (evaluate(m, facts, vocab) for m in measures) if r is not None]
    judged.sort(key=lambda r: (-r.score, STATUS_ORDER[r.status], r.measure.order))
    picked: list[Matched] = []
    per_kind: dict[str, int] = {}
    per_passage: dict[str, int] = {}
    titles: set[str] = set()
    unlikely = 0
    for r in judged:
        m = r.measure
        if r.score < 1.0 and r.status != "unlikely":
            continue  # nothing of the profile matched: not a list a person can act on
        if r.status == "unlikely" and (unlikely >= MAX_UNLIKELY or r.score < -1.5):
            continue
        if per_kind.get(m.kind, 0) >= MAX_PER_KIND.get(m.kind, limit):
            continue
        if per_passage.get(m.passage_id, 0) >= MAX_PER_PASSAGE or m.title in titles:
            continue
        generic = all(c.status != "met" or c.condition.startswith("对象：") and _generic_only(c, vocab)
                      for c in r.conditions)
        if generic and r.status == "likely":
            if per_kind.get("_generic", 0) >= MAX_GENERIC:
                continue
            per_kind["_generic"] = per_kind.get("_generic", 0) + 1
        picked.append(r)
        per_kind[m.kind] = per_kind.get(m.kind, 0) + 1
        per_passage[m.passage_id] = per_passage.get(m.passage_id, 0) + 1
        titles.add(m.title)
        unlikely += r.status == "unlikely"
        if len(picked) >= limit:
            break
    picked.sort(key=lambda r: (STATUS_ORDER[r.status], -r.score, r.measure.order))
    return MatchResult(picked, facts, considered=len(judged))
