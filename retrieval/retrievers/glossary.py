"""Query-side vocabulary: what users type -> the words the documents use.

Three files in retrieval/data, one format (`[[term]] canonical, aliases, also, type`):
- glossary.toml: abbreviations and names of the plan's entities (高企, 科小, 大科城 …), with slot types
  used to rewrite follow-ups ("科小呢？");
- thesaurus.toml: plain and colloquial Chinese (缺钱, 外国人来这边工作, 电动车, 找技术 …);
- en_glossary.toml: English terms (new-energy vehicles, venture capital, Yuelu Mountain …).
Written from general policy vocabulary, not from evaluation questions. Earlier files win a shared alias.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

from retrieval.tokenize import tokenize
from importlib.resources import files


@dataclass(frozen=True)
class Term:
    canonical: str
    aliases: tuple[str, ...]
    type: str | None = None
    also: tuple[str, ...] = ()


@dataclass
class Expansion:
    query: str
    added: list[str] = field(default_factory=list)  # canonical/related terms the query did not contain
    terms: list[Term] = field(default_factory=list)  # glossary terms the query mentions

    normalized: str = ""  # the query with each alias the documents do not use replaced by its canonical term

    @property
    def text(self) -> str:
        """The query plus what the glossary adds: what retrievers search for."""
        return self.query if not self.added else f"{self.query} {' '.join(self.added)}"

    @property
    def extra(self) -> str:
        """The added words `normalized` does not already hold: retrievers may weigh them below the query's own."""
        return " ".join(w for w in self.added if w not in self.normalized)


_LATIN = re.compile(r"[A-Za-z0-9&＆ .\-]+")


def _alternation(aliases: list[str]) -> str:
    return "|".join(re.escape(a) for a in sorted(aliases, key=len, reverse=True))


class Glossary:
    def __init__(self, terms: list[Term]):
        self.terms = terms
        # every alias (and canonical term) -> the first term that lists it; latin ones match whole words, any case
        self._owner: dict[str, Term] = {}
        for term in terms:
            for alias in (term.canonical, *term.aliases):
                self._owner.setdefault(alias.lower() if _LATIN.fullmatch(alias) else alias, term)
        latin = [a for a in self._owner if _LATIN.fullmatch(a)]
        other = [a for a in self._owner if not _LATIN.fullmatch(a)]
        # a lookahead finds, at every position, the longest alias starting there (overlaps included)
        self._latin = re.compile(rf"(?<![A-Za-z])(?=({_alternation(latin)})(?![A-Za-z]))", re.IGNORECASE) if latin else None
        self._other = re.compile(rf"(?=({_alternation(other)}))") if other else None

    @classmethod
    def load(cls, *paths) -> "Glossary":
        """The terms of the given TOML files (default: glossary.toml), earlier files first."""
        terms = []
        for source in paths or (files("retrieval") / "data" / "glossary.toml",):
            data = tomllib.loads(source.read_text(encoding="utf-8"))
            terms += [Term(canonical=t["canonical"], aliases=tuple(t.get("aliases", ())), type=t.get("type"),
                           also=tuple(t.get("also", ()))) for t in data.get("term", [])]
        return cls(terms)

    def find(self, text: str) -> list[tuple[Term, int, int]]:
        """Glossary terms mentioned in text, as (term, start, end) of the longest non-overlapping matches."""
        found: list[tuple[Term, int, int]] = []
        for rx, key in ((self._other, str), (self._latin, str.lower)):
            for m in rx.finditer(text) if rx is not None else ():
                found.append((self._owner[key(m.group(1))], m.start(1), m.end(1)))
        found.sort(key=lambda f: (-(f[2] - f[1]), f[1]))
        taken: list[tuple[Term, int, int]] = []
        for f in found:
            if all(f[2] <= t[1] or f[1] >= t[2] for t in taken):
                taken.append(f)
        return sorted(taken, key=lambda f: f[1])

    def expand(self, query: str, used: Callable[[str], bool] | None = None) -> Expansion:
        """`used(alias)`: the documents use this alias themselves (大科城, 芯片); it then stays in
        `normalized` as typed (the canonical term is still added for the retrievers)."""
        exp = Expansion(query=query)
        found = self.find(query)
        norm = query
        for term, s, e in reversed(found):
            alias = query[s:e]
            if used is not None and used(alias):
                continue
            # words of the alias that the documents use and the canonical term lacks stay
            # (生物安全实验室 -> 生物安全 实验室): the canonical term may be broader than what was asked
            kept = [w for w in tokenize(alias, search=False) if len(w) >= 2 and w not in term.canonical
                    and used is not None and used(w)]
            norm = norm[:s] + " ".join([term.canonical, *kept]) + norm[e:]
        exp.normalized = norm
        for term, _s, _e in found:
            if term in exp.terms:
                continue
            exp.terms.append(term)
            for word in (term.canonical, *term.also):
                if word not in query and word not in exp.added:
                    exp.added.append(word)
        return exp


@lru_cache(maxsize=4)
def default_glossary(thesaurus: bool = True, english: bool = True) -> Glossary:
    """The bundled vocabulary: the glossary, plus the colloquial thesaurus and the English glossary."""
    data = files("retrieval") / "data"
    names = ["glossary.toml"] + ["thesaurus.toml"] * thesaurus + ["en_glossary.toml"] * english
    return Glossary.load(*(data / n for n in names))
