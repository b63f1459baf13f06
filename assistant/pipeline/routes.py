"""Step 2 of `ask`: questions answered without the evidence stage, each by a Route that says why it took them.

    routes = [SupportRoute, DocumentRoute, ListRoute]     # built once per Assistant, tried in this order
    routed = first route whose take(query) is not None    # Routed(answer, why)

- SupportRoute: a question that describes who asks (“我们是…企业，能享受哪些支持？”) gets the support finder's
  measures for that profile.
- DocumentRoute: a question about a document itself (文号, 印发日期, 发布机关, 施行) gets its own metadata.
- ListRoute (extractive answers only: an LLM writes its own lists): an enumeration question gets every item
  under the heading that names what is asked, each cited.

A routed answer goes through the same finish as every answer (standalone question, validity notices of the
cited documents; `Assistant._finish`). A question with search filters is never routed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

from assistant.answer import Answer
from assistant.pipeline.docinfo import docinfo_answer
from assistant.finder import Profile, load_vocabulary
from assistant.finder.chat import answer_from_match, support_profile
from assistant.pipeline.listing import Lister
from assistant.pipeline.understand import Query
from assistant.language.stats import TermStats
from retrieval.passage import Passage


@dataclass
class Routed:
    answer: Answer
    why: str  # which route took the question and on what grounds (logged; `Step.route`)


class Route(Protocol):
    name: str

    def take(self, query: Query) -> Routed | None: ...


class SupportRoute:
    name = "support finder"

    def __init__(self, match: Callable[[Profile], dict[str, Any]], passages: Callable[[], list[Passage]]):
        self.match = match  # Assistant.match (the measures load only when a question is routed here)
        self.passages = passages

    def take(self, query: Query) -> Routed | None:
        if query.history:
            return None
        profile = support_profile(query.question, load_vocabulary())
        if profile is None:
            return None
        answer = answer_from_match(query.question, self.match(profile), self.passages())
        return Routed(answer, f"{self.name}: the question describes who asks ({profile.entity_type}: {profile.text[:80]})")


class DocumentRoute:
    name = "document metadata"

    def __init__(self, in_force: list[Passage], stats: TermStats):
        self.in_force = in_force
        self.stats = stats

    def take(self, query: Query) -> Routed | None:
        answer = docinfo_answer(query, self.in_force, self.stats)
        return None if answer is None else Routed(answer, f"{self.name}: the question asks about a document itself")


class ListRoute:
    name = "structure-aware list"

    def __init__(self, lister: Lister):
        self.lister = lister

    def take(self, query: Query) -> Routed | None:
        answer = self.lister.answer(query)
        return None if answer is None else Routed(answer, f"{self.name}: an enumeration is asked and one heading "
                                                          f"names it")


def route(routes: list[Route], query: Query) -> Routed | None:
    """The first route that takes the question (none for a question with search filters)."""
    if query.filters:
        return None
    for r in routes:
        routed = r.take(query)
        if routed is not None:
            return routed
    return None
