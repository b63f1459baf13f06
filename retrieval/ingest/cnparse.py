"""Chinese numerals, dates and document numbers (文号): the one place they are parsed.

* numerals: `cn_to_int("一百零五")` -> 105 (amounts in an answer), `cn_small("三十一")` -> 31 (a month, a
  day, a count of years: 1–99 written the usual way, anything else None), and the other way
  `chinese_number(12)` -> "十二" (Word's automatic clause numbering);
* dates: `parse_date("二〇二三年五月十日")` -> "2023-05-10" (also `2023年5月10日`, `2023-05-10`, `2023/5/10`);
* 文号: `normalize_doc_number("湘政办发[2022]5号")` -> "湘政办发〔2022〕5号";
* the regular-expression fragments the header detector, the segmenter and the answer check share:
  DATE / ANY_DATE (a date in running text / in a labelled field), DOCNO (a 文号), CN_COUNT (the
  numerals of `一、` and `（一）`), CN_ORDINAL (the number of `第十二条`), CN_NUMERAL (what cn_to_int reads).
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

# ----------------------------------------------------------------------------- numerals

_DIGIT_VALUE = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
                "九": 9}
_UNIT_VALUE = {"十": 10, "百": 100, "千": 1000}
CN_DIGITS = "一二三四五六七八九"
CN_COUNT = CN_DIGITS + "十"  # 一、 （一） 第十二章: small counts
CN_ORDINAL = rf"[{CN_COUNT}百零\d]+"  # the number in 第X章 / 第X节 / 第X条
CN_NUMERAL = "".join(_DIGIT_VALUE) + "".join(_UNIT_VALUE)  # every character cn_to_int reads
_SMALL = re.compile(r"[一二两三四五六七八九]|[一二两三四五六七八九]?十[一二两三四五六七八九]?")  # 1–99


def cn_to_int(s: str) -> int | None:
    """`五` -> 5, `十二` -> 12, `一百零五` -> 105, `三千五百` -> 3500; None for a character that is not a
    numeral (CN_NUMERAL). Lenient: a digit overwrites the one before it (`一二` -> 2), `` -> 0."""
    total, current = 0, 0
    for ch in s:
        if ch in _DIGIT_VALUE:
            current = _DIGIT_VALUE[ch]
        elif ch in _UNIT_VALUE:
            total += (current or 1) * _UNIT_VALUE[ch]
            current = 0
        else:
            return None
    return total + current


def cn_small(s: str) -> int | None:
    """A number from 1 to 99 written the usual way: `五` -> 5, `十` -> 10, `十二` -> 12, `二十` -> 20,
    `三十一` -> 31 (`两` counts as 2); None for anything else (`零`, `一二`, `一百`, ``)."""
    return cn_to_int(s) if _SMALL.fullmatch(s) else None


_NUMERAL_CHARS = "零" + CN_DIGITS  # chinese_number's digits, by value


def chinese_number(n: int) -> str:
    """1 -> 一, 10 -> 十, 12 -> 十二, 20 -> 二十, 105 -> 一百零五 (numbering up to 9999; other n as digits)."""
    if n <= 0:
        return str(n)
    if n < 10:
        return _NUMERAL_CHARS[n]
    if n < 20:
        return "十" + (_NUMERAL_CHARS[n % 10] if n % 10 else "")
    if n < 100:
        return _NUMERAL_CHARS[n // 10] + "十" + (_NUMERAL_CHARS[n % 10] if n % 10 else "")
    if n < 1000:
        rest = n % 100
        tail = "" if rest == 0 else ("零" + chinese_number(rest) if rest < 10 else
                                     ("一" + chinese_number(rest) if rest < 20 else chinese_number(rest)))
        return _NUMERAL_CHARS[n // 100] + "百" + tail
    if n < 10000:
        rest = n % 1000
        tail = "" if rest == 0 else ("零" + chinese_number(rest) if rest < 100 else chinese_number(rest))
        return _NUMERAL_CHARS[n // 1000] + "千" + tail
    return str(n)


# ----------------------------------------------------------------------------- dates

_CN_YEAR_DIGIT = "〇○零" + CN_DIGITS  # 二〇二三 / 二○二三 / 二零二三
_AR_DATE = r"(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"
_CN_DATE = rf"[{_CN_YEAR_DIGIT}]{{4}}\s*年\s*[{CN_COUNT}]{{1,3}}\s*月\s*[{CN_COUNT}]{{1,3}}\s*日"
DATE = rf"(?:{_AR_DATE}|{_CN_DATE})"  # a date in running text
_NUM_DATE = r"(?:19|20)\d{2}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{1,2}"
ANY_DATE = rf"(?:{DATE}|{_NUM_DATE})"  # in a labelled field (成文日期：2023-05-10) the numeric forms count too

_ARABIC_PARTS = re.compile(r"((?:19|20)\d{2})(?:年(\d{1,2})月(\d{1,2})日|[-/.](\d{1,2})[-/.](\d{1,2}))")
_CHINESE_PARTS = re.compile(rf"([{_CN_YEAR_DIGIT}O0]{{4}})年([{CN_COUNT}]{{1,3}})月([{CN_COUNT}]{{1,3}})日")
_YEAR_DIGIT_VALUE = {**{c: v for c, v in _DIGIT_VALUE.items() if c != "两"}, "○": 0, "O": 0, "0": 0}


def _nfkc(s: str) -> str:
    return unicodedata.normalize("NFKC", s)


def parse_date(text: str) -> str | None:
    """`2023年5月10日` / `二〇二三年五月十日` / `2023-05-10` / `2023/5/10` -> "2023-05-10"; None if not a date."""
    s = re.sub(r"\s+", "", _nfkc(text))
    if m := _ARABIC_PARTS.fullmatch(s):
        y, mo, d = int(m.group(1)), int(m.group(2) or m.group(4)), int(m.group(3) or m.group(5))
    else:
        m = _CHINESE_PARTS.fullmatch(s)
        if not m:
            return None
        y = int("".join(str(_YEAR_DIGIT_VALUE[c]) for c in m.group(1)))
        mo, d = cn_small(m.group(2)), cn_small(m.group(3))
        if mo is None or d is None:
            return None
    try:
        return dt.date(y, mo, d).isoformat()
    except ValueError:
        return None


# ----------------------------------------------------------------------------- 文号

_OPEN, _CLOSE = r"[〔\[【(（{［]", r"[〕\]】)）}］]"
_ISSUER_CODE, _YEAR, _SERIAL = r"[\u4e00-\u9fffA-Za-z]{1,14}", r"(?:19|20)\d{2}", r"\d{1,5}"
DOCNO = rf"{_ISSUER_CODE}\s*{_OPEN}\s*{_YEAR}\s*{_CLOSE}\s*第?\s*{_SERIAL}\s*号"  # 湘政办发〔2022〕5号
_DOCNO_PARTS = re.compile(rf"({_ISSUER_CODE})\s*{_OPEN}\s*({_YEAR})\s*{_CLOSE}\s*(第?)\s*({_SERIAL})\s*号")


def normalize_doc_number(text: str) -> str | None:
    """`湘政办发[2022]5号` -> `湘政办发〔2022〕5号` (the first 文号 in text; brackets normalised, spaces dropped)."""
    m = _DOCNO_PARTS.search(_nfkc(text))
    if not m:
        return None
    return f"{m.group(1)}〔{m.group(2)}〕{m.group(3)}{m.group(4)}号"
