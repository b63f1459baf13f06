"""Post-checks on an LLM answer, before anyone sees it.

Every sentence ("claim") is checked against the passages it cites:
- each [n] must be a passage that was given;
- every figure — numbers with units, percentages, years, document numbers such as 〔2021〕30号 — must occur
  in a passage the sentence cites (instruction-like text planted in a passage does not count as evidence);
- a sentence with a figure and no citation, or a substantial sentence with no citation, fails;
- a sentence that repeats an instruction ("忽略以上规则…", "system:", "developer mode") fails;
- a sentence that repeats the system prompt (its rules, the <passage> markup) fails;
- a link (http://…, www.…, a bare domain) must occur in a passage the sentence cites, outside planted text;
- a bracketed source the passages do not name (【来源：国务院文件】) fails.
Failing sentences are dropped; the caller decides whether enough is left to show.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from assistant.llm.prompt import REWRITE_SYSTEM, SYSTEM
from assistant.language.safety import INSTRUCTION, instruction_free, split_at_instruction
from retrieval.ingest.cnparse import CN_NUMERAL, cn_to_int
from retrieval.passage import Passage

_BRACKETS = str.maketrans({"【": "[", "】": "]", "［": "[", "］": "]"})
MARK = re.compile(r"\[(\d{1,3}(?:\s*[,，、\-–~]\s*\d{1,3})*)\]")
_MARKS_AFTER_END = re.compile(r"([。！？!?；;]+)((?:\s*\[\d{1,3}(?:\s*[,，、\-–~]\s*\d{1,3})*\])+)")
_PIECE = re.compile(r"[^。！？!?；;\n]*(?:[。！？!?；;]+(?:\[[\d,，、\-–~\s]+\])*|\n+|$)")
_LIST_MARKER = re.compile(r"^\s*(?:\d{1,2}[.、)）]|[-*•]\s|（[一二三四五六七八九十]+）)\s*")

DOCNO = re.compile(r"[〔\[(（]\s*(\d{4})\s*[〕\])）]\s*(\d{1,4})\s*号")
MONEY_UNITS = ("万亿元", "亿元", "万元", "千元", "元", "万亿", "亿", "万")
PERCENT_UNITS = ("%", "‰", "个百分点")
NUM = re.compile(r"(?<![\d.])(\d+(?:,\d{3})*(?:\.\d+)?)\s*(" + "|".join(map(re.escape, PERCENT_UNITS + MONEY_UNITS)) +
                 r"|年)?")
CN_AMOUNT = re.compile(rf"([{CN_NUMERAL}]+)\s*(万亿元|亿元|万元|元|万|亿|%|个百分点)")

# the system prompt's own wording and markup: an answer has no business repeating them
PROMPT_MARKUP = re.compile(r"<\s*/?\s*passage\b|系统提示|提示词|system prompt|my (?:instructions|rules|prompt)|"
                           r"我的(?:指令|规则|设定|提示)", re.I)
URL = re.compile(r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]+|"
                 r"(?<![A-Za-z0-9.@-])[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*"
                 r"\.(?:com|cn|net|org|gov|edu|info|io|top|xyz|cc|me|vip|site|online|link)\b(?:/[^\s，。；、）)\]]*)?",
                 re.I)
SOURCE = re.compile(r"[\[(（]\s*(?:资料来源|来源|出处|引自|source)\s*[:：]\s*([^\])）]{1,60}?)\s*[\])）]", re.I)
LLM_REFUSAL = re.compile(r"资料中没有|没有相关(?:内容|信息|规定)|未(?:提及|涉及|找到)|无法(?:回答|确定)|"
                         r"(?:do(?:es)? not|don't) (?:contain|mention|provide)|no (?:relevant )?information|cannot answer", re.I)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
INTRO_MAX = 30  # an uncited sentence this short without figures is a transition ("主要措施如下：")


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def parse_marks(text: str) -> list[int]:
    out: list[int] = []
    for m in MARK.finditer(text):
        for part in re.split(r"\s*[,，、]\s*", m.group(1)):
            if re.fullmatch(r"\d+\s*[\-–~]\s*\d+", part):
                a, b = (int(x) for x in re.split(r"\s*[\-–~]\s*", part))
                out += list(range(a, b + 1)) if 0 < b - a < 20 else [a, b]
            elif part.strip().isdigit():
                out.append(int(part))
    return out


def pieces(text: str) -> list[str]:
    """The answer split into sentences/lines, verbatim (separators kept), marks moved before the full stop."""
    text = _MARKS_AFTER_END.sub(lambda m: m.group(2).strip() + m.group(1), text.translate(_BRACKETS))
    return [p for p in _PIECE.findall(text) if p]


@dataclass
class Figure:
    text: str
    number: str
    unit: str


def figures(sentence: str) -> tuple[list[Figure], list[tuple[str, str]]]:
    """(numbers with their unit, document numbers) in a sentence, citation marks and list markers removed."""
    s = nfkc(MARK.sub(" ", sentence))
    s = _LIST_MARKER.sub("", s)
    docnos = [(m.group(1), m.group(2)) for m in DOCNO.finditer(s)]
    s_wo_docno = DOCNO.sub(" ", s)
    out = [Figure(m.group(0), m.group(1).replace(",", ""), m.group(2) or "") for m in NUM.finditer(s_wo_docno)]
    for m in CN_AMOUNT.finditer(s_wo_docno):
        value = cn_to_int(m.group(1))
        if value is not None and value > 0:
            out.append(Figure(m.group(0), str(value), m.group(2)))
    return out, docnos


def _has_number(evidence: str, number: str) -> bool:
    return re.search(rf"(?<![\d.]){re.escape(number)}(?![\d]|\.\d)", evidence) is not None


def _cn_forms(evidence: str) -> str:
    """Evidence with Chinese-numeral amounts also spelled in digits (五十万元 -> 50万元)."""
    extra = []
    for m in CN_AMOUNT.finditer(evidence):
        value = cn_to_int(m.group(1))
        if value is not None:
            extra.append(f"{value}{m.group(2)}")
    return evidence + (" " + " ".join(extra) if extra else "")


def figure_supported(fig: Figure, evidence: str, years: set[str]) -> bool:
    if fig.unit == "年" or (not fig.unit and re.fullmatch(r"(?:19|20)\d\d", fig.number)):
        return fig.number in years or _has_number(evidence, fig.number)
    if not _has_number(evidence, fig.number):
        return False
    if fig.unit in MONEY_UNITS or fig.unit in PERCENT_UNITS:
        unit = fig.unit
        if re.search(rf"(?<![\d.]){re.escape(fig.number)}\s*{re.escape(unit)}", evidence):
            return True
        # a table row carries its unit in the header: 研发经费投入强度(%)：… 2.5
        return re.search(rf"[(（]\s*{re.escape(unit)}", evidence) is not None
    return True


def _bigrams(s: str) -> set[str]:
    s = re.sub(r"\s+", "", nfkc(MARK.sub("", s)))
    return {s[i:i + 2] for i in range(len(s) - 1)}


def overlap(a: str, b: str) -> float:
    x, y = _bigrams(a), _bigrams(b)
    return len(x & y) / len(x) if x else 0.0


_PROMPT_LINES = [ln for ln in re.split(r"[\n。]", SYSTEM + "\n" + REWRITE_SYSTEM) if len(_bigrams(ln)) >= 6]


def repeats_prompt(body: str) -> bool:
    """The sentence repeats the system prompt: its markup, or most of one of its rules."""
    if PROMPT_MARKUP.search(body):
        return True
    if LLM_REFUSAL.search(body) or len(_bigrams(body)) < 8:  # "资料中没有相关内容" is the prompt's own refusal
        return False
    return any(overlap(body, line) >= 0.6 for line in _PROMPT_LINES)


def urls(text: str) -> list[str]:
    """Links in a text (citation marks removed first, so "…/apply[2]" is not read as part of the link)."""
    return [u.rstrip(".,;:!?'") for u in URL.findall(nfkc(MARK.sub(" ", text)))]


def _url_key(url: str) -> str:
    return re.sub(r"^(?:https?://)?(?:www\.)?", "", url.lower()).rstrip("/")


def url_supported(url: str, evidence: str) -> bool:
    key = _url_key(url)
    return bool(key) and any(_url_key(u) == key or _url_key(u).startswith(key + "/") for u in urls(evidence))


def source_given(name: str, passages: list[Passage]) -> bool:
    """A bracketed source the answer names is one of the passages' documents (title or issuer)."""
    n = re.sub(r"[\s《》“”\"]", "", nfkc(name))
    for p in passages:
        names = [p.doc_title, str(p.meta.get("issuer") or ""), str(p.meta.get("doc_number") or "")]
        for t in (re.sub(r"[\s《》“”\"]", "", nfkc(x)) for x in names):
            if t and len(n) >= 2 and (n in t or t in n):
                return True
    return False


@dataclass
class Claim:
    text: str  # verbatim piece of the answer (marks included)
    marks: list[int]
    reason: str = ""  # why it failed; empty when it passed

    @property
    def ok(self) -> bool:
        return not self.reason


@dataclass
class CheckResult:
    claims: list[Claim] = field(default_factory=list)

    @property
    def kept(self) -> list[Claim]:
        return [c for c in self.claims if c.ok]

    @property
    def dropped(self) -> list[Claim]:
        return [c for c in self.claims if not c.ok]

    @property
    def cited(self) -> list[Claim]:
        return [c for c in self.kept if c.marks]


def _planted(passages: list[Passage]) -> list[str]:
    return [s for p in passages for s in split_at_instruction(p.text)[1]]


def check(answer: str, passages: list[Passage], years: set[str] | None = None) -> CheckResult:
    years = years or set()
    planted = _planted(passages)
    clean = [instruction_free(p.text) for p in passages]
    evidence = [_THOUSANDS.sub("", nfkc(f"{p.doc_title}\n{p.section_path}\n{_cn_forms(t)}")) for p, t in zip(passages, clean)]
    # where a link may come from: the passage text (planted text excluded) and the document's own address
    link_evidence = [f"{t}\n{p.meta.get('source_url') or ''}" for p, t in zip(passages, clean)]
    result = CheckResult()
    for piece in pieces(answer):
        body = MARK.sub("", piece).strip()
        if not body or not re.search(r"\w", body):
            result.claims.append(Claim(piece, parse_marks(piece)))  # punctuation / blank line / bare marks
            continue
        marks = parse_marks(piece)
        claim = Claim(piece, marks)
        result.claims.append(claim)
        figs, docnos = figures(piece)
        bad = [n for n in marks if not 1 <= n <= len(passages)]
        links = urls(piece)
        sources = SOURCE.findall(piece)
        if INSTRUCTION.search(body):
            claim.reason = "repeats an instruction planted in a passage"
        elif repeats_prompt(body):
            claim.reason = "repeats the system prompt"
        elif bad:
            claim.reason = f"cites {', '.join(f'[{n}]' for n in bad)}, which was not given"
        elif any(not source_given(name, passages) for name in sources):
            claim.reason = "names a source that no passage comes from"
        # the reasons below do not repeat the link: they are shown to the user
        elif links and not marks:
            claim.reason = "gives a link without a citation"
        elif links and any(not url_supported(u, "\n".join(link_evidence[n - 1] for n in set(marks))) for u in links):
            cited = "".join(f"[{n}]" for n in sorted(set(marks)))
            claim.reason = f"gives a link that is not in the cited passage {cited}"
        elif not marks:
            if figs or docnos:
                claim.reason = f"states {figs[0].text.strip() if figs else '〔%s〕%s号' % docnos[0]} without a citation"
            elif len(body) > INTRO_MAX and not body.endswith(("：", ":")):
                claim.reason = "has no citation"
        else:
            ev = "\n".join(evidence[n - 1] for n in sorted(set(marks)))
            ev_docnos = set(DOCNO.findall(ev))
            missing = [f.text.strip() for f in figs if not figure_supported(f, ev, years)]
            missing += [f"〔{y}〕{n}号" for y, n in docnos if (y, n) not in ev_docnos]
            if missing:
                cited = "".join(f"[{n}]" for n in sorted(set(marks)))
                claim.reason = f"{missing[0]} is not in the cited passage {cited}"
        if not claim.reason and len(_bigrams(body)) >= 6 and any(overlap(body, s) >= 0.6 for s in planted):
            claim.reason = "repeats an instruction planted in a passage"
    return result


def is_refusal(answer: str) -> bool:
    """The model says the passages do not answer the question (and cites nothing)."""
    return bool(LLM_REFUSAL.search(answer)) and not parse_marks(answer)


def unsupported_figures(text: str, passages: list[Passage]) -> list[str]:
    """The figures, amounts, dates and document numbers of `text` that occur in none of `passages` (the rule
    `check` applies to each cited sentence, here to a whole text against all its passages)."""
    evidence = _THOUSANDS.sub("", nfkc("\n".join(f"{p.doc_title}\n{p.section_path}\n{_cn_forms(p.text)}"
                                                 for p in passages)))
    have = set(DOCNO.findall(evidence))
    missing: list[str] = []
    for piece in pieces(text):
        figs, docnos = figures(piece)
        missing += [f.text.strip() for f in figs if not figure_supported(f, evidence, set())]
        missing += [f"〔{y}〕{n}号" for y, n in docnos if (y, n) not in have]
    return list(dict.fromkeys(missing))
