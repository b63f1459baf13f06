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


_BREAKS = (SENTENCE_END, "，、：,:", " \u3000\t\n")  # where a too-long text is cut, best first


def cut_to(text: str, max_chars: int) -> list[str]:
    """`text` in pieces of at most `max_chars` characters, nothing but surrounding whitespace dropped.

    Each cut goes after the last sentence end in the second half of the window, else after a comma or
    clause mark there, else at a space there, else exactly at `max_chars` (text without punctuation)."""
    if max_chars < 1:
        raise ValueError(f"max_chars={max_chars}; must be >= 1")
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > max_chars:
        window = rest[:max_chars]
        at = max_chars
        for marks in _BREAKS:
            i = max(window.rfind(c) for c in marks)
            if i >= max_chars // 2:
                at = i + 1
                break
        piece, rest = rest[:at].strip(), rest[at:].strip()
        if piece:
            pieces.append(piece)
    if rest:
        pieces.append(rest)
    return pieces
