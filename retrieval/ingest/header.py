"""Header detection: the metadata a document says about itself in its header and footer.

`detect(text)` guesses, from the first ~40 lines and the last ~15 lines (and the clauses that say when
the document takes effect / expires): title, doc_number (brackets normalised to 〔〕), issued,
effective, expires (`有效期至…` or `有效期N年` counted from effective or issued) and issuer; status only
when a label says it (`有效性：现行有效`, e.g. in a web page's info box). `detect_labelled(text)` finds
the fields written with a label anywhere (发文字号：… 成文日期：… 发文机关：…). The names of the guessed
fields are returned with them, so the loader can say which values are guesses (`meta["guessed"]`);
known values (a sidecar, see `retrieval.ingest.sidecar`) always win over guesses. Dates and 文号 are read by
`retrieval.ingest.cnparse`.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from retrieval.ingest.cnparse import ANY_DATE, CN_COUNT, CN_ORDINAL, DATE, DOCNO, cn_small, normalize_doc_number, parse_date
from retrieval.ingest.sidecar import DATE_FIELDS

GUESSABLE = ("title", "issuer", "doc_number", "issued", "effective", "expires", "status")  # status: labelled only
HEADER_LINES = 40
FOOTER_LINES = 15

# ----------------------------------------------------------------------------- patterns

_DOCNO_LABEL = r"(?:发文字号|发文文号|发文号|文号|文件编号|文件字号)"
_LABEL_PREFIX = re.compile(r"^[\u4e00-\u9fff]{2,6}\s*[:：]\s*")

_TITLE_END = (r"(?:通知|办法|规定|规划|方案|意见|细则|措施|决定|条例|指引|计划|纲要|公告|通告|批复|复函|函|政策|"
              r"指南|规则|要点|目录|清单|标准|规程|制度|章程|公报|报告|通报|决议|命令|令|纪要|规范|导则|实施意见)")
_QUALIFIER = (r"[（(]\s*(?:试行|暂行|修订|修订稿|修正|征求意见稿|送审稿|草案|讨论稿|"
              r"(?:19|20)\d{2}\s*[—–\-－~至]+\s*(?:19|20)\d{2}\s*年?|(?:19|20)\d{2}\s*年?\s*(?:修订|修正|版)?)\s*[)）]")
_TITLE_LIKE = re.compile(rf"{_TITLE_END}\s*[》”]?\s*(?:{_QUALIFIER}\s*)*$")
_QUALIFIER_LINE = re.compile(rf"^\s*(?:{_QUALIFIER}\s*)+$")
_ORGAN = re.compile(r"(?:人民政府|政府|办公厅|办公室|委员会|管委会|总局|局|厅|委|部|院|中心|协会|联合会|党委|署|办|"
                    r"工作领导小组|领导小组|小组|银行|法院|检察院)$")
_STOP_HEADING = re.compile(rf"^(?:第{CN_ORDINAL}[章条节]|[{CN_COUNT}]+、|[(（][{CN_COUNT}]+[)）])")
_MARKERS = re.compile(r"^(?:特急|加急|平急|特提|绝密|机密|秘密|★|签发人|份号|密级|紧急程度|索引号|主题分类|主题词|"
                      r"公开方式|公开属性|信息来源|来源|发布时间|发布日期|成文日期|发文机关|发布机构|访问量|浏览次数|字号)")

_EFFECT_VERB = r"(?:正式)?(?:施行|实施|执行|生效|试行)"
_EFFECTIVE_RE = re.compile(rf"(?:自|从|于)?\s*({DATE})\s*(?:起|开始)\s*{_EFFECT_VERB}|(?:自|从)\s*({DATE})\s*{_EFFECT_VERB}")
_EFFECTIVE_ON_ISSUE = re.compile(rf"自\s*(?:印发|发布|公布|颁布|发文|签发|下发)\s*之日起\s*{_EFFECT_VERB}")
_THIS_DOC = re.compile(r"本(?:办法|规定|细则|方案|通知|意见|措施|规划|政策|条例|决定|指引|计划|规则|制度|实施细则|"
                       r"若干措施|实施意见|文件|公告|通告|指南|纲要)")
_EXPIRES_AT = re.compile(rf"有效期[^。；;\n]{{0,40}}?(?:至|到|截至|截止(?:到|于)?)\s*({DATE})")
_VALID_FROM = re.compile(rf"有效期\s*(?:为|是)?\s*(?:自|从)?\s*({DATE})\s*(?:起)?\s*(?:至|到)")
_VALID_YEARS = re.compile(rf"有效期\s*(?:为|是|暂定为?)?\s*(\d{{1,2}}|[两{CN_COUNT}]{{1,2}})\s*(?:年|周年)")

_LABELLED = {
    "doc_number": re.compile(rf"{_DOCNO_LABEL}\s*[:：]\s*({DOCNO})"),
    "issued": re.compile(rf"(?:成文日期|发文日期|印发日期|签发日期|公布日期|发布日期|发布时间)\s*[:：]\s*({ANY_DATE})"),
    "effective": re.compile(rf"(?:生效日期|施行日期|实施日期|生效时间|实施时间)\s*[:：]\s*({ANY_DATE})"),
    "expires": re.compile(rf"(?:失效日期|废止日期|有效期至|截止日期)\s*[:：]?\s*({ANY_DATE})"),
    "issuer": re.compile(r"(?:发文机关|发布机构|发文单位|发布单位|制发机关|发文机构|(?<![\u4e00-\u9fff])来源)\s*[:：]\s*"
                         r"([\u4e00-\u9fff（）()、]{2,40}?)(?=\s|$|[|｜,，;；]|发文|成文|发布|索引|主题|文号|生效|有效|公开)"),
    "status": re.compile(r"(?:有效性|时效性|效力状态|效力级别|文件状态|状态)\s*[:：]\s*"
                         r"(现行有效|已废止|已修订|已修改|部分失效|已失效|失效|废止|有效)"),
}


def _nfkc(s: str) -> str:
    return unicodedata.normalize("NFKC", s)


def add_years(iso: str, years: int) -> str:
    """The last day of a period of `years` years starting on iso (2023-06-01 + 3 -> 2026-05-31)."""
    start = dt.date.fromisoformat(iso)
    try:
        end = start.replace(year=start.year + years)
    except ValueError:  # 29 February
        end = start.replace(year=start.year + years, day=28) + dt.timedelta(days=1)
    return (end - dt.timedelta(days=1)).isoformat()


def looks_like_organ(text: str) -> bool:
    """`测试市科学技术局`, `测试市人民政府办公厅`: the name of an issuing body (and nothing else)."""
    return _organ(text) is not None


def _organ(text: str) -> str | None:
    """An issuing body's name (or several, space-separated -> joined with 、), else None."""
    parts = [p for p in re.split(r"[\s　]+", text.strip()) if p]
    if not parts or any(not (2 <= len(p) <= 30 and _ORGAN.search(p) and re.fullmatch(r"[\u4e00-\u9fff（）()]+", p))
                        for p in parts):
        return None
    return "、".join(parts)


# ----------------------------------------------------------------------------- detection


def detect_labelled(text: str) -> dict[str, str]:
    """Fields written with a label anywhere in text: 发文字号：… 成文日期：… 发文机关：… 有效性：…"""
    flat = _nfkc(text)
    found: dict[str, str] = {}
    for field_name, rx in _LABELLED.items():
        m = rx.search(flat)
        if not m:
            continue
        value = m.group(1)
        if field_name == "doc_number":
            value = normalize_doc_number(value)
        elif field_name in DATE_FIELDS:
            value = parse_date(value)
        elif field_name == "issuer":
            value = _organ(value)
        if value:
            found[field_name] = value
    return found


def _lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").split("\n")
            if ln.strip()]


def _standalone_date(line: str) -> tuple[str, bool] | None:
    """(iso, is_print_date) when the line is a date on its own (`2023年5月10日`, `2023年5月10日印发`,
    `（2023年5月10日市人民政府第5次常务会议通过）`)."""
    s = re.sub(r"\s+", "", _nfkc(line))
    m = re.fullmatch(rf"[(（]?({DATE})(印发|发布|公布|制定|成文|签发)?[)）]?", s)
    if m:
        iso = parse_date(m.group(1))
        return (iso, m.group(2) == "印发") if iso else None
    m = re.fullmatch(rf"[(（]({DATE})[^()（）]{{0,40}}(?:通过|审议|发布|印发|公布)[)）]", s)
    if m and (iso := parse_date(m.group(1))):
        return iso, False
    return None


def _doc_number_in_line(line: str) -> str | None:
    """The 文号 when the line (or one of its TAB/space-separated pieces) is only a 文号, labelled or not."""
    for piece in re.split(r"\t|\s{2,}|\u3000+", _nfkc(line)):
        piece = piece.strip()
        labelled = re.match(rf"^{_DOCNO_LABEL}\s*[:：]\s*", piece)
        if labelled:
            piece = piece[labelled.end():]
        if re.fullmatch(DOCNO, piece):
            return normalize_doc_number(piece)
    return None


def _is_title_like(line: str) -> bool:
    return bool(_TITLE_LIKE.search(_nfkc(line).strip())) and not line.rstrip().endswith(("。", "；", "：", ":"))


def _unbalanced(s: str) -> bool:
    return any(s.count(a) > s.count(b) for a, b in ("《》", "“”", "（）", "()"))


def _guess_title(header: list[str]) -> str | None:
    candidates: list[tuple[int, str]] = []
    for idx, line in enumerate(header):
        n = _nfkc(line)
        if _STOP_HEADING.match(n) or (idx > 0 and re.search(r"[:：]$", n) and len(n) <= 80):
            break  # a clause, a numbered section or the addressee line: the title is above
        if len(n) > 80 or "。" in n:
            if candidates:
                break
            continue
        if "\t" in line or _doc_number_in_line(line) or _standalone_date(line) or (re.search(DOCNO, n) and len(n) < 30):
            continue
        if re.fullmatch(r".{2,30}文件", n.replace(" ", "")) or _MARKERS.match(n) or _LABEL_PREFIX.match(n):
            continue
        if re.fullmatch(r"[(（][^()（）]*[)）]", n) and not _QUALIFIER_LINE.match(n):
            continue  # （此件主动公开） / （测试用虚构文件）
        if len(n) < 4 or not re.search(r"[\u4e00-\u9fff]", n):
            continue
        candidates.append((idx, line))
        if len(candidates) >= 6:
            break
    if not candidates:
        return None

    def with_qualifiers(pos: int, title: str) -> str:
        j = pos + 1
        while j < len(header) and _QUALIFIER_LINE.match(_nfkc(header[j])):
            title += header[j].strip()
            j += 1
        return title

    for k, (idx, line) in enumerate(candidates):
        if _QUALIFIER_LINE.match(_nfkc(line)):
            continue
        if _is_title_like(line):
            title = line
            if k > 0:
                pidx, prev = candidates[k - 1]
                if pidx == idx - 1 and not _is_title_like(prev) and len(prev) + len(line) <= 100 and (
                        _unbalanced(prev) or "关于" in prev or (line.startswith("关于") and _organ(prev))):
                    title = prev + line
            return _collapse(with_qualifiers(idx, title))
    idx, line = candidates[0]
    if _organ(line) and len(candidates) > 1:  # the issuer on a line of its own above an unusual title
        idx, line = candidates[1]
    return _collapse(with_qualifiers(idx, line))


def _collapse(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def _guess_issuer(header: list[str], footer: list[str], title: str | None) -> str | None:
    for line in header[:6]:  # 版头: 测试市科学技术局文件
        n = _nfkc(line).strip()
        if (m := re.fullmatch(r"(.{2,40}?)\s*文件", n)) and (organ := _organ(m.group(1))):
            return organ
    for i, line in enumerate(footer):  # signature: the body's name right above the date
        if _standalone_date(line) and i > 0 and (organ := _organ(footer[i - 1])):
            return organ
    if title and (m := re.match(r"^(.{2,40}?)\s*关于", _nfkc(title))):
        return _organ(m.group(1))
    return None


def _pick_clause(matches: list[tuple[int, str]], flat: str) -> str | None:
    """Of (position, iso) matches, the one in a `本办法…` clause, else the last."""
    if not matches:
        return None
    for pos, iso in reversed(matches):
        if _THIS_DOC.search(flat[max(0, pos - 30):pos + 1]):
            return iso
    return matches[-1][1]


def _years(s: str) -> int | None:
    if s.isdigit():
        return int(s)
    return cn_small(s)


def detect(text: str, known: Mapping[str, Any] | None = None, title_hint: str | None = None,
           hints: Mapping[str, str] | None = None) -> tuple[dict[str, Any], list[str]]:
    """(fields, guessed): `known` (e.g. a sidecar) completed with what the text says.

    Guesses fill only the fields `known` lacks (a None in `known` blocks the guess and is dropped).
    `hints` (labelled fields the reader saw, e.g. an HTML info box) and `title_hint` (an HTML <title>)
    come before guesses from the text. `guessed` names the fields that were filled, in field order."""
    known = dict(known or {})
    blocked = {k for k, v in known.items() if v is None}
    fields: dict[str, Any] = {k: v for k, v in known.items() if v is not None}
    lines = _lines(text)
    header, footer = lines[:HEADER_LINES], lines[-FOOTER_LINES:]
    guesses: dict[str, str] = {}

    def want(name: str) -> bool:
        return name not in fields and name not in blocked and name not in guesses

    labelled = dict(hints or {})
    for k, v in detect_labelled("\n".join(header)).items():
        labelled.setdefault(k, v)
    for k, v in labelled.items():
        if k in GUESSABLE and v and want(k):
            guesses[k] = v

    if want("title"):
        title = (title_hint or "").strip() or _guess_title(header)
        if title:
            guesses["title"] = title
    if want("doc_number"):
        for line in header:
            if number := _doc_number_in_line(line):
                guesses["doc_number"] = number
                break
    if want("issued"):
        sig = [d for d in (_standalone_date(line) for line in footer) if d]
        signed = [iso for iso, printed in sig if not printed] or [iso for iso, _ in sig]
        head = [d[0] for d in (_standalone_date(line) for line in header) if d]
        if signed:
            guesses["issued"] = signed[-1]
        elif head:
            guesses["issued"] = head[-1]
    if want("issuer") and (organ := _guess_issuer(header, footer, fields.get("title") or guesses.get("title"))):
        guesses["issuer"] = organ

    flat = re.sub(r"\s*\n\s*", "", _nfkc(text.replace("\f", "\n")))
    issued = fields.get("issued") or guesses.get("issued")
    if want("effective"):
        found = [(m.start(), parse_date(m.group(1) or m.group(2))) for m in _EFFECTIVE_RE.finditer(flat)]
        found += [(m.start(), parse_date(m.group(1))) for m in _VALID_FROM.finditer(flat)]
        if issued:
            found += [(m.start(), issued) for m in _EFFECTIVE_ON_ISSUE.finditer(flat)]
        found = sorted((p, iso) for p, iso in found if iso)
        if effective := _pick_clause(found, flat):
            guesses["effective"] = effective
    effective = fields.get("effective") or guesses.get("effective")
    if want("expires"):
        found = [(m.start(), parse_date(m.group(1))) for m in _EXPIRES_AT.finditer(flat)]
        found = [(p, iso) for p, iso in found if iso]
        if not found and (base := effective or issued):
            found = [(m.start(), add_years(base, n)) for m in _VALID_YEARS.finditer(flat)
                     if (n := _years(m.group(1))) and 0 < n <= 50]
        if expires := _pick_clause(found, flat):
            guesses["expires"] = expires

    guessed = [name for name in GUESSABLE if name in guesses]
    fields.update(guesses)
    return fields, guessed
