"""Structure-aware answers to enumeration questions: the items of a heading, each cited.

"十四五科技规划的基本原则有哪几条？" — the five principles are sibling passages under the heading
（二）基本原则; quoting one of them answers a fifth of the question. For a question that asks for a list
(`Query.wants_list`), the document's outline is searched for the heading that names what is asked:

    node score = IDF-weighted share of the question's specific terms in the heading (the document title
                 and the ancestors' headings count LINEAGE_WEIGHT), over every section heading of the library
If the best node has items (child sections, or table rows) and matches better than any of its items,
the answer lists every item's lead phrase with a citation each (up to MAX_CITED; the rest, if any, are
related reading). Otherwise the question is answered as usual (the list is inside one passage).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from assistant.answer import Answer, Citation
from assistant.pipeline.compose import source_phrase
from assistant.pipeline.sentences import sentences
from assistant.pipeline.understand import Query
from assistant.language.terms import present_terms, specific_terms
from assistant.language.stats import TermStats
from retrieval.passage import Passage

MIN_SCORE = 0.6  # the heading must name most of what is asked
LINEAGE_WEIGHT = 0.5
MAX_CITED = 15


@dataclass
class Node:
    path: tuple[str, ...]
    children: dict[str, "Node"] = field(default_factory=dict)
    own: list[Passage] = field(default_factory=list)  # passages directly under this heading

    def first(self) -> Passage | None:
        """The first passage of this section (its own, else its first item's)."""
        if self.own:
            return self.own[0]
        return next((c.first() for c in self.children.values() if c.first() is not None), None)


def outline(passages: list[Passage]) -> dict[tuple[str, ...], Node]:
    """Every section path of the library (per document) -> its node, in document order."""
    nodes: dict[tuple[str, ...], Node] = {}
    for p in passages:
        path = (p.doc_id, *p.section)
        for depth in range(1, len(path) + 1):
            key = path[:depth]
            node = nodes.setdefault(key, Node(key))
            if depth > 1:
                nodes[key[:-1]].children.setdefault(key[-1], node)
        nodes[path].own.append(p)
    return nodes


def items(node: Node) -> list[tuple[str, Passage]]:
    """(lead phrase, passage) of each item: child sections, else the table rows directly under it."""
    if len(node.children) == 1:  # (三)… > 专栏4—3 …: the box holds the items
        return items(next(iter(node.children.values())))
    if len(node.children) >= 2:
        return [(name, child.first()) for name, child in node.children.items() if child.first() is not None]
    rows = [p for p in node.own if p.kind == "table_row"]
    return [(p.text.split("：", 1)[0], p) for p in rows] if len(rows) >= 2 else []


class Lister:
    def __init__(self, passages: list[Passage], stats: TermStats, specific_df_share: float = 0.2):
        self.nodes = outline(passages)
        self.titles = {p.doc_id: p.doc_title for p in passages}
        self.stats = stats
        self.specific_df_share = specific_df_share

    def score(self, query: Query, specific: set[str], path: tuple[str, ...]) -> float:
        weights = query.terms.weights
        total = sum(weights[t] for t in specific)
        own = present_terms(query.terms, path[-1]) & specific
        lineage = present_terms(query.terms, " ".join((self.titles[path[0]], *path[1:-1]))) & specific - own
        return (sum(weights[t] for t in own) + LINEAGE_WEIGHT * sum(weights[t] for t in lineage)) / total

    def best_node(self, query: Query) -> Node | None:
        specific = specific_terms(query.terms, self.stats, self.specific_df_share)
        if not specific:
            return None
        scored = sorted(((self.score(query, specific, path), len(path), node) for path, node in self.nodes.items()
                         if len(path) > 1), key=lambda x: (-x[0], x[1]))
        if not scored or scored[0][0] < MIN_SCORE:
            return None
        score, _, node = scored[0]
        listed = items(node)
        if not listed:
            return None
        best_item = max(self.score(query, specific, (*node.path, lead)) for lead, _ in listed)
        return node if score > best_item else None

    def answer(self, query: Query) -> Answer | None:
        if not query.wants_list:
            return None
        node = self.best_node(query)
        if node is None:
            return None
        listed = items(node)
        cited, rest = listed[:MAX_CITED], listed[MAX_CITED:]
        # the heading's own paragraph often names the items in one sentence: it is cited first
        intro = next((p for p in node.own if p.kind not in ("table_row", "heading")), None)
        first = 1 if intro is not None else 0
        citations = ([Citation.of(1, intro, _lead_sentence(intro))] if intro is not None else []) + \
            [Citation.of(n, p, _lead_sentence(p)) for n, (_, p) in enumerate(cited, start=1 + first)]
        heading = node.path[-1]
        numbered = list(enumerate(cited, start=1 + first))
        if query.latin:
            body = "; ".join(f"{lead} [{n}]" for n, (lead, _) in numbered)
            text = f"{source_phrase([p for _, p in cited], True)}, “{heading}”{' [1]' if first else ''} has " \
                   f"{len(listed)} items: {body}"
        else:
            body = "；".join(f"{lead}[{n}]" for n, (lead, _) in numbered)
            text = f"{source_phrase([p for _, p in cited])}，“{heading}”{'[1]' if first else ''}包括以下{len(listed)}项：{body}。"
        related = [Citation.of(0, p) for _, p in rest]
        return Answer(question=query.question, answer=text, answerable=True, mode="extractive",
                      citations=citations, related=related)


def _lead_sentence(p: Passage) -> str:
    return p.text if p.kind == "table_row" else sentences(p.text)[0]
