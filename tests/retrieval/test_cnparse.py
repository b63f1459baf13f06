"""retrieval.ingest.cnparse: Chinese numerals, dates and 文号 (the one module that parses them)."""
from __future__ import annotations

import re

import pytest

from retrieval.ingest.cnparse import (
    ANY_DATE,
    CN_COUNT,
    CN_NUMERAL,
    CN_ORDINAL,
    DATE,
    DOCNO,
    chinese_number,
    cn_small,
    cn_to_int,
    normalize_doc_number,
    parse_date,
)


@pytest.mark.parametrize("text,value", [
    ("五", 5), ("十", 10), ("十二", 12), ("二十", 20), ("三十一", 31), ("一百零五", 105), ("三千五百", 3500),
    ("两千", 2000), ("百", 100), ("零", 0), ("〇", 0),
    ("", 0),  # nothing to read
    ("一二", 2),  # lenient: a digit replaces the one before it
    ("五万", None), ("5", None), ("十x", None),
])
def test_cn_to_int(text, value):
    assert cn_to_int(text) == value


def test_cn_to_int_reads_every_numeral_character():
    assert all(cn_to_int(ch) is not None for ch in CN_NUMERAL)
    assert set(CN_NUMERAL) == set("零〇一二两三四五六七八九十百千")


@pytest.mark.parametrize("text,value", [
    ("五", 5), ("两", 2), ("十", 10), ("一十", 10), ("十二", 12), ("二十", 20), ("两十", 20), ("三十一", 31),
    ("九十九", 99),
    ("", None), ("零", None), ("〇", None), ("一二", None), ("十十", None), ("一百", None), ("十零", None),
    ("二十二十", None), ("5", None),
])
def test_cn_small_reads_one_to_ninety_nine_only(text, value):
    assert cn_small(text) == value


def test_cn_small_reads_what_chinese_number_writes():
    assert all(cn_small(chinese_number(n)) == n for n in range(1, 100))


@pytest.mark.parametrize("n,text", [
    (1, "一"), (10, "十"), (12, "十二"), (20, "二十"), (99, "九十九"), (100, "一百"), (105, "一百零五"),
    (110, "一百一十"), (1001, "一千零一"), (1100, "一千一百"), (2024, "二千零二十四"), (9999, "九千九百九十九"),
    (0, "0"), (-3, "-3"), (10000, "10000"),
])
def test_chinese_number(n, text):
    assert chinese_number(n) == text


def test_chinese_number_and_cn_to_int_agree_below_ten_thousand():
    assert all(cn_to_int(chinese_number(n)) == n for n in range(1, 10000))


@pytest.mark.parametrize("text,iso", [
    ("2023年5月10日", "2023-05-10"),
    ("2023 年 05 月 10 日", "2023-05-10"),
    ("２０２３年５月１０日", "2023-05-10"),
    ("二〇二三年五月十日", "2023-05-10"),
    ("二○二一年十二月三十一日", "2021-12-31"),
    ("二零二一年六月二十二日", "2021-06-22"),
    ("二〇二三年两月一日", None),  # 两 is not written in a month
    ("二〇二三年一二月一日", None),
    ("二〇二三年二月三十日", None),
    ("2023-05-10", "2023-05-10"),
    ("2023/5/1", "2023-05-01"),
    ("2023.5.1", "2023-05-01"),
    ("2023年2月30日", None),
    ("1899年1月1日", None),
    ("2023年", None),
    ("", None),
])
def test_parse_date(text, iso):
    assert parse_date(text) == iso


@pytest.mark.parametrize("text,number", [
    ("长科发〔2023〕12号", "长科发〔2023〕12号"),
    ("湘政办发[2022]5号", "湘政办发〔2022〕5号"),
    ("湘政办发［2022］5号", "湘政办发〔2022〕5号"),
    ("国科发区【2020】 32 号", "国科发区〔2020〕32号"),
    ("长政发（2019）7号", "长政发〔2019〕7号"),
    ("长政发 (2019) 7号", "长政发〔2019〕7号"),
    ("测政发〔2020〕第3号", "测政发〔2020〕第3号"),
    ("见测科发〔2023〕1号和测科发〔2023〕2号", "见测科发〔2023〕1号"),  # the first one
    ("没有文号", None),
    ("测科发〔1899〕1号", None),
])
def test_doc_numbers_are_normalised(text, number):
    assert normalize_doc_number(text) == number


def test_shared_patterns():
    assert re.fullmatch(DATE, "二〇二三年五月十日") and re.fullmatch(DATE, "2023年5月10日")
    assert not re.fullmatch(DATE, "2023-05-10") and re.fullmatch(ANY_DATE, "2023-05-10")
    assert re.fullmatch(DOCNO, "湘政办发〔2022〕5号") and re.fullmatch(DOCNO, "国科发区【2020】 32 号")
    assert re.fullmatch(rf"第{CN_ORDINAL}条", "第十二条") and re.fullmatch(rf"第{CN_ORDINAL}章", "第3章")
    assert re.fullmatch(rf"[{CN_COUNT}]+、", "十一、") and not re.fullmatch(rf"[{CN_COUNT}]+、", "百、")
