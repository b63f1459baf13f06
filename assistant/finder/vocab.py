"""The finder's vocabulary (data/finder.toml): targets, kinds of support, industries, places, conditions."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

ENTITY_TYPES = ("enterprise", "researcher", "institution")


@dataclass(frozen=True)
class Entry:
    """One named thing the finder recognises, with the words that name it."""

    id: str
    aliases: tuple[str, ...]
    entity: str = ""  # targets: enterprise | researcher | institution
    implies: tuple[str, ...] = ()  # targets: what a holder of this one also is
    excludes: tuple[str, ...] = ()  # targets: what a holder of this one cannot be
    generic: bool = False  # targets: a broad word that does not make a measure specific
    parents: tuple[str, ...] = ()  # industries: broader words that cover this industry
    districts: tuple[str, ...] = ()  # places: the districts the place lies in
    serves: tuple[str, ...] = ()  # targets: whom a measure for this target ultimately supports


@dataclass(frozen=True)
class ConditionRule:
    label: str
    words: tuple[str, ...]
    facts: tuple[str, ...]


@dataclass(frozen=True)
class Match:
    entry: Entry
    word: str
    start: int


class Lexicon:
    """Finds entries in text: longest words first, matches never overlap."""

    def __init__(self, entries: list[Entry], extra: dict[str, tuple[str, ...]] | None = None):
        self.entries = entries
        self.by_id = {e.id: e for e in entries}
        words: dict[str, Entry] = {}
        for e in entries:
            for w in (*e.aliases, *((extra or {}).get(e.id, ()))):
                words.setdefault(w, e)
        self._words = words
        ordered = sorted(words, key=len, reverse=True)
        self._rx = re.compile("|".join(_pattern(w) for w in ordered)) if ordered else None

    def find(self, text: str) -> list[Match]:
        if not self._rx or not text:
            return []
        return [Match(self._words[m.group(0)] if m.group(0) in self._words else self._lookup(m.group(0)),
                      m.group(0), m.start()) for m in self._rx.finditer(text)]

    def _lookup(self, found: str) -> Entry:  # case-insensitive latin words (AI, 5G)
        for w, e in self._words.items():
            if w.lower() == found.lower():
                return e
        raise KeyError(found)

    def ids(self, text: str) -> list[str]:
        """Entry ids in order of first mention, each once."""
        seen: dict[str, None] = {}
        for m in self.find(text):
            seen.setdefault(m.entry.id, None)
        return list(seen)


def _pattern(word: str) -> str:
    escaped = re.escape(word)
    if re.fullmatch(r"[A-Za-z0-9]+", word):  # latin words: whole words, any case
        return rf"(?i:(?<![A-Za-z]){escaped}(?![A-Za-z]))"
    return escaped


@dataclass
class Vocabulary:
    targets: Lexicon
    kinds: list[tuple[str, tuple[str, ...]]]
    industries: Lexicon
    parents: Lexicon  # broader industry words -> the industries they cover (one entry per word)
    places: Lexicon
    districts: Lexicon  # district names -> a pseudo entry whose aliases are the places in it
    conditions: list[ConditionRule]
    support_words: tuple[str, ...]
    talent_words: tuple[str, ...]
    skip_sections: tuple[str, ...] = ()
    partner_words: tuple[str, ...] = ()
    open_calls: tuple[str, ...] = ()
    open_call_targets: tuple[str, ...] = ()
    kind_order: list[str] = field(default_factory=list)

    def target(self, tid: str) -> Entry:
        return self.targets.by_id[tid]

    def closure(self, target_ids: set[str]) -> set[str]:
        """The targets a profile holding `target_ids` is, with everything they imply."""
        out = set(target_ids)
        todo = list(target_ids)
        while todo:
            entry = self.targets.by_id.get(todo.pop())
            for t in entry.implies if entry else ():
                if t not in out:
                    out.add(t)
                    todo.append(t)
        return out

    def kind_of(self, text: str) -> str:
        for kid, words in self.kinds:
            if any(w in text for w in words):
                return kid
        return "其他支持"

    def industries_under(self, word: str) -> set[str]:
        """Industries a broad word (先进制造, 战略性新兴产业) covers."""
        return {e.id for e in self.industries.entries if word in e.parents}


@lru_cache(maxsize=4)
def load_vocabulary(path: str | None = None) -> Vocabulary:
    source = Path(path) if path else files("assistant.finder") / "data" / "finder.toml"
    data = tomllib.loads(source.read_text(encoding="utf-8"))

    def entries(key: str) -> list[Entry]:
        return [Entry(id=d["id"], aliases=tuple(d.get("aliases", ())), entity=d.get("entity", ""),
                      implies=tuple(d.get("implies", ())), excludes=tuple(d.get("excludes", ())),
                      generic=bool(d.get("generic", False)), parents=tuple(d.get("parents", ())),
                      districts=tuple(d.get("districts", ())), serves=tuple(d.get("serves", ())))
                for d in data.get(key, [])]

    targets, industries, places = entries("target"), entries("industry"), entries("place")
    for t in targets:
        if t.entity not in ENTITY_TYPES:
            raise ValueError(f"finder.toml: target {t.id!r} has entity {t.entity!r}; allowed: {ENTITY_TYPES}")
    parent_words = sorted({p for e in industries for p in e.parents})
    by_district: dict[str, list[str]] = {}
    for p in places:
        for d in p.districts:
            by_district.setdefault(d, []).append(p.id)
    kinds = [(k["id"], tuple(k["words"])) for k in data.get("kind", [])]
    support = data.get("support", {})
    return Vocabulary(
        targets=Lexicon(targets),
        kinds=kinds,
        industries=Lexicon(industries),
        parents=Lexicon([Entry(id=w, aliases=(w,)) for w in parent_words]),
        places=Lexicon(places),
        districts=Lexicon([Entry(id=d, aliases=(d,), implies=tuple(ps)) for d, ps in by_district.items()]),
        conditions=[ConditionRule(c["label"], tuple(c["words"]), tuple(c.get("facts", ())))
                    for c in data.get("condition", [])],
        support_words=tuple(support.get("words", ())),
        talent_words=tuple(support.get("talent_words", ())),
        skip_sections=tuple(support.get("skip_sections", ())),
        partner_words=tuple(support.get("partner_words", ())),
        open_calls=tuple(support.get("open_calls", ())),
        open_call_targets=tuple(support.get("open_call_targets", ())),
        kind_order=[k for k, _ in kinds] + ["产业方向", "园区定位", "其他支持"],
    )
