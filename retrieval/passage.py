"""The one record carried from segmentation to index to citation."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

SECTION_SEP = " > "


@dataclass(frozen=True)
class Passage:
    """A citable unit of a document: a paragraph (or part of one), a table row, a header block."""

    id: str
    doc_id: str
    doc_title: str
    section: tuple[str, ...]
    text: str
    order: int
    kind: str = "paragraph"  # paragraph | table_row | front_matter | back_matter | heading (one with nothing under it)
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def section_path(self) -> str:
        return SECTION_SEP.join(self.section)

    @property
    def index_text(self) -> str:
        """What retrievers see: the section titles give a paragraph its context."""
        return f"{self.section_path}\n{self.text}" if self.section else self.text

    @property
    def content_hash(self) -> str:
        return hashlib.sha1(self.index_text.encode("utf-8")).hexdigest()

    def to_metadata(self) -> dict[str, Any]:
        """Flat metadata for the vector store (str/int/float/bool values only)."""
        md: dict[str, Any] = {
            "doc_id": self.doc_id,
            "doc_title": self.doc_title,
            "section": json.dumps(list(self.section), ensure_ascii=False),
            "section_path": self.section_path,
            "order": self.order,
            "kind": self.kind,
            "content_hash": self.content_hash,
        }
        for key, value in self.meta.items():
            if isinstance(value, (str, int, float, bool)):
                md[key if key not in md else f"doc_{key}"] = value
        return md

    @classmethod
    def from_record(cls, pid: str, text: str, md: dict[str, Any]) -> "Passage":
        reserved = {"doc_id", "doc_title", "section", "section_path", "order", "kind", "content_hash"}
        return cls(
            id=pid,
            doc_id=md["doc_id"],
            doc_title=md["doc_title"],
            section=tuple(json.loads(md["section"])),
            text=text,
            order=int(md["order"]),
            kind=md.get("kind", "paragraph"),
            meta={k: v for k, v in md.items() if k not in reserved},
        )


def passage_id(doc_id: str, section: tuple[str, ...], text: str, occurrence: int = 0) -> str:
    """Stable id: the same text at the same place gets the same id on every rebuild."""
    key = SECTION_SEP.join(section) + "\x1f" + text + (f"\x1f{occurrence}" if occurrence else "")
    return f"{doc_id}:{hashlib.sha1(key.encode('utf-8')).hexdigest()[:12]}"


@dataclass
class Hit:
    """A passage found for a query, with the score that ranked it."""

    passage: Passage
    score: float
    sources: dict[str, float] = field(default_factory=dict)  # retriever name -> its own score

    @property
    def id(self) -> str:
        return self.passage.id
