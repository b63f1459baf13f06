"""What `Assistant.ask` returns: the answer text, its numbered citations and notices."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterator, Literal
from urllib.parse import quote as url_quote

from retrieval.passage import Passage


@dataclass
class Citation:
    n: int
    passage_id: str
    doc_id: str
    doc_title: str
    section: str
    text: str
    quote: str = ""  # the sentence(s) of this passage the answer relies on
    meta: dict[str, Any] = field(default_factory=dict)
    view_url: str = ""  # the original document opened at this passage (GET /v1/documents/{doc_id}/view)

    @classmethod
    def of(cls, n: int, p: Passage, quote: str = "") -> "Citation":
        meta = {k: v for k, v in p.meta.items()
                if k in {"doc_number", "issuer", "issued", "effective", "status", "expires", "page", "source_url",
                         "ocr", "revised", "version", "superseded"}}
        return cls(n, p.id, p.doc_id, p.doc_title, p.section_path, p.text, quote, meta, view_url(p.doc_id, p.id))


def view_url(doc_id: str, passage_id: str) -> str:
    """Where the original document is shown, scrolled to and highlighting the passage (server-relative)."""
    return f"/v1/documents/{url_quote(doc_id, safe='')}/view?passage={url_quote(passage_id, safe='')}"


@dataclass
class Answer:
    question: str
    answer: str
    answerable: bool
    mode: str = "extractive"  # "extractive" | "llm"
    citations: list[Citation] = field(default_factory=list)
    related: list[Citation] = field(default_factory=list)  # nearest passages not cited (reading list)
    notices: list[str] = field(default_factory=list)
    standalone_question: str = ""  # the question as searched (follow-ups rewritten)
    source: str = "index"  # "index" (retrieved and answered now) | "curated" (written by staff, served as is)
    curated_id: int | None = None  # the curated answer served
    evidence: float | None = None  # the best retrieved passage's score (the question log keeps it)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StreamEvent:
    """One step of a streamed answer: the citations first, then text deltas, then the final answer.

    The final answer is authoritative: a client that showed the deltas replaces them with `answer.answer`
    (an LLM answer may be repaired by its post-checks after it was streamed).
    """

    type: Literal["citations", "delta", "answer"]
    citations: list[Citation] = field(default_factory=list)
    text: str = ""
    answer: Answer | None = None


def replay(answer: Answer, chunk: int = 12) -> Iterator[StreamEvent]:
    """Stream a finished answer: its citations, its text in small pieces, then the answer itself."""
    yield StreamEvent("citations", citations=list(answer.citations))
    text = answer.answer
    for i in range(0, len(text), chunk):
        yield StreamEvent("delta", text=text[i:i + chunk])
    yield StreamEvent("answer", answer=answer)
