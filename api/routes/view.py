"""The original document, opened at a cited place: GET /v1/documents/{doc_id}/view and its page images.

Public like /v1/passages (same rate limit). The file is found by walking corpus/ for the indexed doc_id
(`retrieval.ingest.outline.find_source`): nothing in the request is ever used as a path. The document is read
again as the index read it (OCR results come from the OCR cache), rendered as HTML with every text
escaped (`ui.original`), and kept for the next view of the same file; when the file cannot be read the
indexed passages are shown instead, with a note.
"""
from __future__ import annotations

import io
import logging
import secrets
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path as PathParam, Query
from fastapi.responses import HTMLResponse, Response

from api.deps import AssistantDep, SettingsDep
from api.schemas import Problem
from assistant.errors import AssistantError
from retrieval.ingest.documents import load_document
from retrieval.ingest.outline import Item, find_source, outline, passages_outline
from retrieval.passage import Passage
from retrieval.readers import ReadLimits
from retrieval.readers._image import open_image
from retrieval.readers._pdfpages import page_count, page_png, text_boxes
from retrieval.ingest.regions import parse_bbox
from ui.original import Scan, original_page

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["浏览 browse"])

PAGE_DPI = 110  # page images in the view
MAX_SIDE = 1600  # an image document is shown at most this wide or high
PAGED = (".pdf",)
IMAGES = (".png", ".jpg", ".jpeg")
DocId = Annotated[str, PathParam(max_length=200, description="A doc_id from GET /v1/documents or a citation")]


class _Lru:
    """A small thread-safe cache (outlines and page images of the files last viewed)."""

    def __init__(self, size: int):
        self.size, self.data, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key, make):
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        value = make()
        with self.lock:
            self.data[key] = value
            while len(self.data) > self.size:
                self.data.popitem(last=False)
        return value


_sources, _outlines, _pages = _Lru(256), _Lru(16), _Lru(32)


def _doc_passages(assistant, doc_id: str) -> list[Passage]:
    passages = [p for p in assistant.passages if p.doc_id == doc_id]
    if not passages:
        raise HTTPException(404, f"no document with doc_id {doc_id!r}; see GET /v1/documents")
    return passages


def _source(assistant, settings, doc_id: str) -> Path | None:
    return _sources.get((str(settings.corpus_dir), doc_id, assistant.info.collection),
                        lambda: find_source(settings.corpus_dir, doc_id))


def _stamp(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path), st.st_mtime_ns, st.st_size


def _outline(source: Path | None, limits: ReadLimits, doc_id: str, passages: list[Passage]) -> tuple[list[Item], str]:
    """The document's items with the passages located, or the passages alone (and a note saying why)."""
    if source is None:
        return passages_outline(passages), "原文件不在本服务器上，以下为索引中的段落"

    def read():
        doc = load_document(source, limits)
        if doc.doc_id != doc_id:
            raise AssistantError(f"{source.name} is now {doc.doc_id!r}")
        return doc

    try:
        doc = _outlines.get(_stamp(source) + (doc_id,), read)
    except (AssistantError, OSError) as exc:
        log.warning("view of %s: the original cannot be read (%s)", doc_id, exc)
        return passages_outline(passages), "原文件暂时无法读取，以下为索引中的段落"
    return outline(doc, passages), ""


def _scans(source: Path | None, doc_id: str, cited: Passage | None, pages_url: str) -> list[Scan]:
    """The cited passage's page image with its boxes (PDFs and images only)."""
    if source is None or source.suffix.lower() not in PAGED + IMAGES:
        return []
    page = int((cited.meta.get("page") if cited else None) or 1)
    boxes = []
    if cited is not None:
        box = parse_bbox(cited.meta.get("bbox"))
        if box is not None:
            boxes = [box]
        elif source.suffix.lower() in PAGED:
            try:
                boxes = text_boxes(source, page, cited.text)
            except Exception:  # noqa: BLE001 - no box is better than no page
                log.debug("no text boxes for %s", cited.id, exc_info=True)
    caption = f"第{page}页原件" + ("（OCR识别，框出引用段落）" if cited is not None and cited.meta.get("ocr") else
                                 "（框出引用段落）" if boxes else "")
    return [Scan(page, f"{pages_url}/{page}", boxes, caption)]


@router.get("/documents/{doc_id}/view",
            responses={200: {"content": {"text/html": {}}, "description": "The document as an HTML page"},
                       404: {"model": Problem}, 503: {"model": Problem}},  # JSON Problems, not HTML
            summary="The original document as HTML, scrolled to a cited passage and highlighting it")
def view_document(doc_id: DocId, assistant: AssistantDep, settings: SettingsDep,
                  passage: Annotated[str | None, Query(max_length=200, description="The cited passage's id")] = None
                  ) -> HTMLResponse:
    passages = _doc_passages(assistant, doc_id)
    cited = None
    if passage is not None:
        cited = assistant.passage(passage)
        if cited is None or cited.doc_id != doc_id:
            raise HTTPException(404, f"no passage {passage!r} in document {doc_id!r}")
    source = _source(assistant, settings, doc_id)
    items, note = _outline(source, settings.read_limits(), doc_id, passages)
    if cited is not None and not any(cited.id in {m[2] for m in i.marks} | set(i.row_marks.values()) for i in items):
        note = note or "引用段落未能在原文中定位（原文件可能已更新）"
    first = passages[0].meta
    meta = [str(first.get("doc_number", "") or ""), str(first.get("issued", "") or ""), str(first.get("status", "") or "")]
    if cited is not None and cited.meta.get("page"):
        meta.append(f"引用：第{cited.meta['page']}页")
    if cited is not None and cited.meta.get("ocr"):
        meta.append("OCR识别")
    nonce = secrets.token_urlsafe(16)
    body = original_page(passages[0].doc_title, meta, items, cited.id if cited else None,
                         _scans(source, doc_id, cited, f"/v1/documents/{quote(doc_id, safe='')}/pages"), nonce, note)
    csp = (f"default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; "
           "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
    return HTMLResponse(body, headers={"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff"})


@router.get("/documents/{doc_id}/pages/{page}", response_class=Response,
            responses={200: {"content": {"image/png": {}}}, 404: {"model": Problem}},
            summary="A page of a PDF (or an image document) as PNG, for the view")
def page_image(doc_id: DocId, page: Annotated[int, PathParam(ge=1, le=100000)], assistant: AssistantDep,
               settings: SettingsDep) -> Response:
    _doc_passages(assistant, doc_id)
    source = _source(assistant, settings, doc_id)
    suffix = source.suffix.lower() if source is not None else ""
    if suffix not in PAGED + IMAGES:
        raise HTTPException(404, f"document {doc_id!r} has no page images (only PDFs and images do)")

    def render() -> bytes:
        if suffix in IMAGES:
            if page != 1:
                raise HTTPException(404, f"an image document has one page, not {page}")
            image = open_image(source, settings.read_limits())
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            out = io.BytesIO()
            image.save(out, format="PNG")
            return out.getvalue()
        if page > (count := page_count(source)):
            raise HTTPException(404, f"document {doc_id!r} has {count} pages, not {page}")
        return page_png(source, page, PAGE_DPI, settings.max_image_pixels)

    try:
        png = _pages.get(_stamp(source) + (page,), render)
    except HTTPException:
        raise
    except Exception as exc:  # noqa: BLE001 - a file PDFium cannot render: no page, never a 500
        log.warning("page %d of %s cannot be rendered: %s", page, doc_id, exc)
        raise HTTPException(404, f"page {page} of {doc_id!r} cannot be shown ({type(exc).__name__})") from None
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})
