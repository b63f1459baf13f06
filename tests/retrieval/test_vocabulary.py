"""The bundled vocabulary: the glossary, the colloquial thesaurus and the English glossary."""
from __future__ import annotations

import re
import tomllib
import unicodedata
from importlib.resources import files

import pytest

from retrieval.retrievers.glossary import default_glossary

DATA = files("retrieval") / "data"


def terms(name):
    return tomllib.loads((DATA / name).read_text(encoding="utf-8"))["term"]


@pytest.mark.parametrize("name, min_terms", [("thesaurus.toml", 300), ("en_glossary.toml", 400)])
def test_files_are_sound(name, min_terms):
    entries = terms(name)
    assert len(entries) >= min_terms
    seen = {}
    for t in entries:
        assert isinstance(t["canonical"], str) and t["aliases"], t
        for alias in t["aliases"]:
            key = unicodedata.normalize("NFKC", alias).lower()
            assert seen.setdefault(key, t["canonical"]) == t["canonical"], f"{alias!r} under two terms"
            if not alias.isascii():
                assert len(alias) >= 2, alias
                assert not re.search(r"多少|几|什么|哪|怎么|如何|吗|啥|咋", alias), f"{alias!r} is a question phrase"


def test_names_of_other_things_are_no_aliases():
    aliases = {a for name in ("thesaurus.toml", "en_glossary.toml") for t in terms(name) for a in t["aliases"]}
    assert not aliases & {"深圳", "上海", "三一重工", "比亚迪", "支付宝", "Shenzhen", "Tesla"}


@pytest.mark.parametrize("question, canonical", [
    ("我们公司缺钱怎么办", "融资"), ("电动车有什么支持", "新能源汽车"), ("老外来长沙工作有啥便利", "外籍专家"),
    ("搞自动驾驶的企业", "智能网联汽车"),
    ("What does the plan say about new-energy vehicles?", "新能源汽车"),
    ("Is there support for venture capital?", "创业投资"),
])
def test_plain_and_english_questions_reach_the_documents_words(question, canonical):
    expansion = default_glossary().expand(question)
    assert canonical in expansion.normalized or canonical in expansion.added, (expansion.normalized, expansion.added)


def test_thesaurus_and_english_glossary_can_be_switched_off():
    plain = default_glossary(thesaurus=False, english=False)
    assert len(plain.terms) < len(default_glossary().terms)
    assert not any(t.canonical == "新能源汽车" for t, *_ in plain.find("电动车"))


def test_an_alias_the_documents_use_stays_as_typed():
    used = {"大科城", "芯片"}.__contains__
    exp = default_glossary().expand("大科城的芯片项目", used=used)
    assert "大科城" in exp.normalized and "芯片" in exp.normalized
    assert "岳麓山大学科技城" in exp.added
