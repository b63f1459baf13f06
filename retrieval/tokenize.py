"""jieba tokens for BM25 and term matching, with a user dictionary of policy terms."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from importlib.resources import files

STOPWORDS = frozenset(
    """
    的 了 是 在 和 与 及 或 等 为 对 把 被 将 以 于 从 向 由 并 也 都 就 而 之 其 这 那 该 此 各 个 中 上 下
    吗 呢 吧 啊 么 呀 嘛 哪 哪些 哪个 什么 怎么 怎样 如何 多少 几 是否 有没有 有 没有 请问 请 一下 我 我们 你 你们 他们
    它 它们 这些 那些 这个 那个 关于 方面 情况 问题 具体 主要 相关 有关 进行 开展 怎么样 能 会 可以 要 需要 应该
    规划 本规划 哪几 几个 哪几个 几条 哪几条 几项 哪几项 几大 一共 总共 分别 是不是 要不要 能不能 有没有 什么样 哪一年
    时候 什么时候 开始 提出 提到 打算 比如 例如 这类 里面 那边 这边 方面 提及 说 讲 谈 指 指的是 主要是 都 还 又 再
    由谁 谁 哪个 哪家 哪里 哪儿 为什么 怎么办 数量 数目 呢 么 得 地 着 过 给 让 被 能否 是否是 规划里 规划中
    a an the of to in on for and or is are was were be been by with as at from what which who whom whose how
    much many does do did can could should would will shall may might this that these those it its about into
    please tell me us our we you your there their they any some
    """.split()
)
_TOKEN_KEEP = re.compile(r"[\w\u3400-\u9fff]")


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(60)
    tk = jieba.Tokenizer()
    tk.initialize()
    tk.load_userdict(str(files("retrieval") / "data" / "userdict.txt"))
    return tk


@lru_cache(maxsize=1)
def tokenizer_signature() -> str:
    """Changes when tokens would be cut differently: the stopwords or the user dictionary."""
    h = hashlib.sha1(" ".join(sorted(STOPWORDS)).encode("utf-8"))
    h.update((files("retrieval") / "data" / "userdict.txt").read_bytes())
    return h.hexdigest()[:16]


def prepare(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def tokenize(text: str, *, search: bool = True, keep_stopwords: bool = False) -> list[str]:
    """Tokens of text. search=True adds the sub-words of long words (高新技术企业 -> 高新, 技术, …)."""
    tk = _jieba()
    text = prepare(text)
    words = tk.cut_for_search(text) if search else tk.cut(text)
    out = []
    for w in words:
        w = w.strip()
        if not w or not _TOKEN_KEEP.search(w):
            continue
        if not keep_stopwords and w in STOPWORDS:
            continue
        out.append(w)
    return out


def word_freq(word: str) -> int:
    return _jieba().FREQ.get(word, 0)


PROPER_NOUN_FLAGS = ("ns", "nr", "nt", "nz")


def proper_nouns(text: str) -> list[str]:
    """Place, person and organisation names jieba recognises (深圳, 华为 …)."""
    return [w.word for w in _tagger().cut(prepare(text)) if w.flag in PROPER_NOUN_FLAGS and len(w.word) >= 2]


_NOT_CONTENT = {"v", "vd", "vg", "vi", "vq", "d", "dg", "p", "r", "rr", "rz", "c", "cc", "u", "uj", "ul", "uz",
                "ug", "uv", "ud", "x", "y", "e", "o", "m", "a", "ad", "ag", "an", "b", "z", "zg", "q", "f"}


def content_words(text: str) -> list[str]:
    """The words of a text that name things, in order (零部件, 液压件, 海外, 中南大学; not 获得, 即将, 一家)."""
    return [w.word for w in _tagger().cut(prepare(text)) if w.flag not in _NOT_CONTENT and len(w.word) >= 2]


@lru_cache(maxsize=1)
def _tagger():
    import jieba.posseg

    return jieba.posseg.POSTokenizer(_jieba())
