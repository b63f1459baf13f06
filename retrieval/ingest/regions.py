"""Where a passage sits on its page, and whether its text came from OCR (a step after segmentation).

Pages read by OCR, and PDF pages read again for their ruled tables, keep the boxes of their lines
(`Document.layout`). `annotate(doc, passages)` gives each passage of such a page
* `ocr: true` when its page was read by OCR (a citation can say so), and
* `bbox`: "x0,y0,x1,y1", fractions of the page (top-left origin), the lines the passage was made of —
  a paragraph's lines, or the table row it describes — so the view can box it on the page image.
Passage ids do not change (they depend on section and text only).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

from retrieval.ingest.documents import Document
from retrieval.passage import Passage
from retrieval.readers import Span

PASSAGE_KEYS = ("page", "ocr", "bbox")  # metadata of one passage, not of its document
MIN_MATCH = 4  # a line shorter than this (normalised) is not matched on its own


def flat(text: str) -> str:
    """Text compared across reader and segmenter: NFKC, no whitespace."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _matches(span: Span, passage: str) -> bool:
    if "\t" in span.text:  # a table row: every filled cell is in the passage that describes it
        cells = [flat(c) for c in span.text.split("\t") if flat(c)]
        return bool(cells) and all(c in passage for c in cells)
    line = flat(span.text)
    if len(line) < MIN_MATCH:
        return line == passage
    return line in passage or passage[:24] in line or passage[-24:] in line


def locate(text: str, spans: list[Span]) -> tuple[float, float, float, float] | None:
    """The box around the longest run of consecutive lines that make up `text`, None when none does."""
    passage = flat(text)
    if not passage:
        return None
    best: list[Span] = []
    run: list[Span] = []
    for span in spans:
        if _matches(span, passage):
            run.append(span)
            if sum(len(s.text) for s in run) > sum(len(s.text) for s in best):
                best = list(run)
        else:
            run = []
    if not best:
        return None
    boxes = [s.box for s in best]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def annotate(doc: Document, passages: list[Passage]) -> list[Passage]:
    """The passages with `ocr` and `bbox` added where the document's layout gives them (see above)."""
    if not doc.layout and not doc.ocr_pages:
        return passages
    out = []
    for p in passages:
        page = int(p.meta.get("page", 1) or 1)
        extra: dict[str, object] = {}
        if page in doc.ocr_pages:
            extra["ocr"] = True
        spans = (doc.layout or {}).get(page)
        if spans and (box := locate(p.text, spans)):
            extra["bbox"] = ",".join(f"{v:.4f}" for v in box)
        out.append(replace(p, meta={**p.meta, **extra}) if extra else p)
    return out


def parse_bbox(value: object) -> tuple[float, float, float, float] | None:
    """A passage's `bbox` metadata back as four fractions, None when absent or malformed."""
    try:
        box = tuple(float(v) for v in str(value).split(","))
    except ValueError:
        return None
    if len(box) != 4 or not all(0.0 <= v <= 1.0 for v in box) or box[2] < box[0] or box[3] < box[1]:
        return None
    return box  # type: ignore[return-value]
