"""Is the answer in what was retrieved? Term coverage, asked-for answer types, and specific figures.

Checks calibrated on the dev set (`python -m evals run`, thresholds in `Thresholds` below):
- coverage: the IDF-weighted share of the question's terms found in the best sentence/passage.
  A term the corpus never uses (深圳, 房价) weighs the most, so questions about other things score low.
- answer type: a question asking for an amount of money, a phone number, an address or a deadline
  needs a sentence that holds one; the plan has none, so such questions are refused, not guessed.
- specifics: a year or number in the question must occur in the passage that answers it.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from retrieval.passage import Passage
from retrieval.text import cjk_ratio, normalize
from retrieval.tokenize import proper_nouns, tokenize

ANSWER_TYPES: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    # asked for                                          must occur in the answering sentence
    "money": (
        re.compile(r"多少钱|多少万|多少元|多少亿|几万|金额|额度|补贴标准|奖励标准|资助标准|补贴多少|奖励多少|资助多少|奖补多少|"
                   r"给多少|拿多少|发多少|how much money|how much (?:funding|subsidy|support|is the (?:subsidy|grant|award|reward))|"
                   r"规模有多大|多大规模|资金规模|基金规模|多少资金|多少经费|\bamount\b|\byuan\b|\brmb\b|how (?:big|large) is the fund", re.I),
        re.compile(r"\d[\d,.]*\s*(?:万元|亿元|元|万|亿)|[一二三四五六七八九十百千]+(?:万元|亿元|元)"),
    ),
    "contact": (
        re.compile(r"电话|热线|联系方式|联系人|邮箱|网址|官网|地址在|办公地址|在哪里办|哪里申请|phone|hotline|contact|e-?mail|website|address", re.I),
        re.compile(r"\d{3,4}-?\d{7,8}|1[3-9]\d{9}|@|https?://|www\.|路\d+号"),
    ),
    "deadline": (
        re.compile(r"截止|截至日期|申报时间|申请时间|什么时候申报|什么时候申请|何时申报|何时申请|报名时间|deadline|when (?:can|should|do) (?:we|i) apply|application period", re.I),
        re.compile(r"\d{1,2}月\d{1,2}日|\d{4}-\d{1,2}-\d{1,2}|\d{4}年\d{1,2}月"),
    ),
    "date": (
        re.compile(r"哪天|哪一天|几月几[日号]|具体日期|什么日期|哪个日期|on what date|which day|what date", re.I),
        re.compile(r"\d{1,2}月\d{1,2}日|\d{4}-\d{1,2}-\d{1,2}|\d{4}年\d{1,2}月"),
    ),
}
@dataclass
class Thresholds:
    """Calibrated on evals/sets/plan_dev.jsonl with `python -m evals run` (see the README)."""

    min_coverage: float = 0.55  # best passage must cover this share of the question's terms
    min_dense: float = 0.80  # ... unless the vector match is at least this close
    runner_up: float = 0.85  # a further sentence is quoted if it scores this close to the best
    specific_ratio: float = 0.8  # a sentence with the asked year/figure must cover this share of the best match
    specific_df_share: float = 0.2  # a term in more than this share of passages is not specific (长沙, 规划)


_ORG = re.compile(r"[\u4e00-\u9fffA-Za-z]{2,8}?(?:有限公司|公司|集团|重工|重科|股份|控股|银行|证券)")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?![\d.])")


class TermStats:
    """Document frequencies of tokens over all passages (for IDF weights)."""

    def __init__(self, passages: list[Passage]):
        self.n = max(len(passages), 1)
        df: dict[str, int] = {}
        for p in passages:
            for tok in set(tokenize(p.index_text)):
                df[tok] = df.get(tok, 0) + 1
        self.df = df
        self.max_idf = math.log((self.n + 1) / 0.5)
        self.corpus_text = normalize("".join(p.index_text for p in passages)).lower()

    def uses(self, phrase: str) -> bool:
        """The documents contain this phrase (a CJK word of 2+ characters) verbatim."""
        return len(phrase) >= 2 and not phrase.isascii() and normalize(phrase).lower() in self.corpus_text

    def idf(self, tok: str) -> float:
        d = self.df.get(tok, 0)
        if d == 0 and len(tok) >= 2 and tok in self.corpus_text:
            d = 1  # a word jieba splits differently inside the corpus is still known
        return math.log((self.n + 1) / (d + 0.5)) if d else self.max_idf


@dataclass
class QueryTerms:
    weights: dict[str, float]  # token -> IDF weight (question terms plus glossary additions)
    unknown_names: list[str]  # place/person/organisation names the corpus never mentions
    asked_types: list[str]
    years: list[str]
    numbers: list[str]
    latin: bool


def analyse(question: str, search_text: str, stats: TermStats) -> QueryTerms:
    """search_text: the (standalone) question with glossary aliases replaced by canonical terms."""
    latin = cjk_ratio(question) < 0.5
    tokens = tokenize(search_text)
    if latin:  # English words never occur in the Chinese text: judge by the glossary's Chinese terms
        tokens = [t for t in tokens if not re.fullmatch(r"[a-z][a-z\-']*", t)]
    weights: dict[str, float] = {}
    for t in tokens:
        if len(t) == 1 and not t.isdigit():  # single characters carry little meaning
            continue
        weights[t] = stats.idf(t)
    asked = [name for name, (ask, _) in ANSWER_TYPES.items() if ask.search(question)]
    years = _YEAR.findall(search_text)
    plain = re.sub(r"(?<=\d),(?=\d{3})", "", normalize(search_text))
    numbers = [] if latin else [n for n in _NUMBER.findall(plain) if n not in years]
    names = proper_nouns(search_text) + _ORG.findall(search_text)  # places, people, companies
    unknown = [w for w in dict.fromkeys(names) if stats.idf(w) >= stats.max_idf - 1e-9]
    return QueryTerms(weights, unknown, asked, years, numbers, latin)


def specific_terms(terms: QueryTerms, stats: TermStats, max_df_share: float = 0.2) -> set[str]:
    """The question's terms that are not everywhere in the corpus (长沙, 规划, 科技 are): what it is about."""
    limit = max_df_share * stats.n
    return {t for t in terms.weights if stats.df.get(t, 0) <= limit and not t.replace(".", "").isdigit()}


def present_terms(terms: QueryTerms, text: str) -> set[str]:
    """The query terms that occur in text (as tokens, or as substrings for words jieba cuts otherwise)."""
    toks = set(tokenize(text))
    low = normalize(text).lower()
    return {t for t in terms.weights if t in toks or (len(t) >= 2 and t in low)}


def share(terms: QueryTerms, present: set[str], skip: frozenset[str] | set[str] = frozenset()) -> float:
    """IDF-weighted share of the query terms in `present` (terms in `skip` left out)."""
    weights = {t: w for t, w in terms.weights.items() if t not in skip}
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in present) / total if total else 0.0


def coverage(terms: QueryTerms, text: str, skip: frozenset[str] | set[str] = frozenset()) -> float:
    """IDF-weighted share of the query terms present in text (terms in `skip` left out)."""
    return share(terms, present_terms(terms, text), skip)


def period_years(period: object) -> set[str]:
    """Years a document covers ("2021–2025" -> 2021..2025): its targets need not repeat them."""
    found = [int(y) for y in _YEAR.findall(str(period or ""))]
    return {str(y) for y in range(min(found), max(found) + 1)} if found else set()


def provides(terms: QueryTerms, sentence: str, implicit_years: set[str] = frozenset()) -> bool:
    """Does the sentence hold every asked-for answer type and every year/number of the question?

    A year inside the document's own period counts as given (a plan's 发展目标 are 2025 targets
    even where the sentence does not repeat the year), unless the sentence names other years.
    """
    low = normalize(sentence)
    stated = set(_YEAR.findall(low))
    for x in terms.years:
        if x not in stated and not (x in implicit_years and not stated):
            return False
    if any(not re.search(rf"(?<![\d.]){re.escape(x)}(?![\d])(?!\.\d)", low) for x in terms.numbers):
        return False
    return all(ANSWER_TYPES[name][1].search(sentence) for name in terms.asked_types)
