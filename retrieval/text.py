"""Text helpers shared by segmentation, retrieval and answering."""
from __future__ import annotations

import re
import unicodedata

SENTENCE_END = "。！？；!?;"
_CLOSERS = "”’」』）)】"
_SENTENCE_RE = re.compile(rf"[^{SENTENCE_END}]*(?:[{SENTENCE_END}]+[{_CLOSERS}]*|$)")
_WS_RE = re.compile(r"\s+")
_CJK_RE = re.compile(r"[\u3400-\u9fff]")


def normalize(text: str) -> str:
    """NFKC and no whitespace: how evidence strings and figures are compared."""
    return _WS_RE.sub("", unicodedata.normalize("NFKC", text))


def split_sentences(text: str) -> list[str]:
    """Split at 。！？； (and ASCII equivalents), keeping the punctuation and closing quotes."""
    parts = [m.group(0) for m in _SENTENCE_RE.finditer(text)]
    return [p for p in (s.strip() for s in parts) if p]


def cjk_ratio(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for c in letters if _CJK_RE.match(c)) / len(letters)


def is_cjk(ch: str) -> bool:
    return bool(_CJK_RE.match(ch))
