"""Document-derived text made inert for Markdown renderers (the chat clients of the OpenAI-compatible
endpoint — ChatBox, LobeChat, Open WebUI — and MCP clients render Markdown and some inline HTML).

    markdown_safe(text)        the text with every Markdown/HTML metacharacter backslash-escaped: no tag
                               (<img onerror>, <script>, <iframe>, <svg onload>), no link or image
                               ([t](javascript:…), ![t](http://beacon)), no autolink (<https://…>, a bare
                               https://… or www.…), no code, emphasis, table or math. A renderer shows the
                               characters themselves. The answer's own [n] citation marks stay as they are
                               (never followed by `(`, `:` or `[`, so never a link).
    MarkdownStream             the same for text that arrives in pieces (a streamed answer): what it has
                               given out is always a prefix of markdown_safe(everything fed so far)
    markdown_safe_json(text)   JSON text whose strings hold no such character (written as \\u escapes):
                               the same JSON value for a parser, inert for a renderer (MCP text content)

Links are never made from document text: the only links a reply carries are the service's own.
"""
from __future__ import annotations

import re

from assistant.answer import Citation
from assistant.integrations.records import SOURCES_HEADER

SPECIALS = "\\`*_~<[]|$&"  # and `>` where it starts a line (a quote); elsewhere it is only text
_ESCAPE = re.compile(r"\[\d{1,3}\](?![(:\[])|[" + re.escape(SPECIALS) + r"]|(?<![^\n])(?= {0,3}>)"
                     r"|(?<=[A-Za-z])(?=://)|(?<=\bwww)(?=\.)", re.I)
_HELD_TAIL = re.compile(r"(?:\[\d{1,3}\])*\[\d{0,3}\]?\Z|(?<=[A-Za-z]):/?\Z|(?<![^\n]) {1,3}\Z")  # not decided yet:
# a citation mark (is `(`, `:` or `[` next?), `https:/` (a URL?), a line's first spaces (a quote?)
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_SPECIALS = re.compile(r"[<>&\[\]()`!*|~$]|:(?=//)|(?<=www)\.")


def _escaped(match: re.Match) -> str:
    found = match.group()
    if len(found) > 1:  # a citation mark [n]
        return found
    return "\\" + found  # empty: before `://`, after `www`, before a line's `>` -> `https\://`, `www\.`, `\>`


def markdown_safe(text: str) -> str:
    return _ESCAPE.sub(_escaped, text)


class MarkdownStream:
    """Feed the pieces of a text, get out its markdown_safe form as far as it is decided."""

    def __init__(self) -> None:
        self.raw = ""
        self.sent = 0

    def feed(self, piece: str) -> str:
        self.raw += piece
        held = _HELD_TAIL.search(self.raw)
        return self._upto(held.start() if held else len(self.raw))

    def flush(self) -> str:
        return self._upto(len(self.raw))

    def _upto(self, end: int) -> str:
        safe = markdown_safe(self.raw[:end])
        out, self.sent = safe[self.sent:], max(self.sent, len(safe))
        return out


def sources_safe(citations: list[Citation]) -> str:
    """The numbered references under an answer ("[n] document · section"), the document's words made inert."""
    if not citations:
        return ""
    return "\n\n" + SOURCES_HEADER + "\n" + "\n".join(
        f"[{c.n}] {markdown_safe(c.doc_title)} · {markdown_safe(c.section)}" for c in citations)


def markdown_safe_json(text: str) -> str:
    return _JSON_STRING.sub(lambda m: _JSON_SPECIALS.sub(lambda c: f"\\u{ord(c.group()):04x}", m.group()), text)
