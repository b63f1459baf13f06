"""Metadata: sidecars (JSON / YAML), validation, and guesses from the document's header and footer.

The documents are INVENTED fixtures (tests/docfixtures.py) except the bundled plan in corpus/.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import docfixtures as fx
import pytest

import assistant  # noqa: F401
from assistant.errors import DocumentError
from retrieval.ingest.documents import iter_corpus, load_document
from retrieval.ingest.header import add_years, detect, detect_labelled
from retrieval.ingest.sidecar import find_sidecar, read_sidecar
from retrieval.ingest.segment import segment

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "corpus" / "changsha-sti-plan-2021-2025.txt"
PLAN_META = ROOT / "corpus" / "changsha-sti-plan-2021-2025.meta.json"


def guessed(doc) -> list[str]:
    return [g for g in str(doc.meta.get("guessed", "")).split(",") if g]


# ----------------------------------------------------------------------------- sidecars


def test_json_sidecar_named_after_the_file(tmp_path):
    meta = {"doc_id": "voucher-2023", "title": "测试市科技创新券管理办法（测试）", "issuer": "测试市科学技术局",
            "doc_number": "测科发〔2023〕12号", "issued": "2023-05-10", "effective": "2023-06-01",
            "expires": "2026-05-31", "region": "测试市", "status": "现行有效", "source_url": "https://example.invalid/1",
            "doc_type": "measures", "period": "2023–2026"}
    path = fx.make_docx_with_subsidy_table(tmp_path, meta=meta)
    assert find_sidecar(path) == tmp_path / (path.name + ".meta.json")
    doc = load_document(path)
    assert doc.doc_id == "voucher-2023"
    assert doc.title == meta["title"]
    for key in ("issuer", "doc_number", "issued", "effective", "expires", "region", "status", "source_url",
                "doc_type", "period"):
        assert doc.meta[key] == meta[key], key
    assert "guessed" not in doc.meta  # everything was given


@pytest.mark.parametrize("suffix", [".meta.yaml", ".meta.yml"])
def test_yaml_sidecar_with_dates_named_after_the_stem(tmp_path, suffix):
    path = fx.make_markdown(tmp_path)
    (tmp_path / (path.stem + suffix)).write_text(
        "doc_id: rd-subsidy\n"
        "title: 测试市研发费用补助实施细则\n"
        "issued: 2022-08-15\n"          # YAML parses these as dates
        "effective: 2022-09-01\n"
        "expires: 2024-08-31\n"
        "status: 已废止\n"
        "printed: 2022-08-16\n"         # any other key with a date: an ISO string too
        "keywords: [研发, 补助]\n"
        "version: 2\n", encoding="utf-8")
    doc = load_document(path)
    assert doc.doc_id == "rd-subsidy"
    assert doc.meta["issued"] == "2022-08-15" and isinstance(doc.meta["issued"], str)
    assert doc.meta["effective"] == "2022-09-01"
    assert doc.meta["expires"] == "2024-08-31"
    assert doc.meta["printed"] == "2022-08-16"
    assert doc.meta["status"] == "已废止"
    assert doc.meta["keywords"] == "研发、补助"
    assert doc.meta["version"] == 2
    assert all(isinstance(v, (str, int, float, bool)) for v in doc.meta.values())  # Chroma needs scalars
    # what the sidecar lacks (doc_number) is guessed from the text: 测科发[2022]8号
    assert doc.meta["doc_number"] == "测科发〔2022〕8号"
    assert guessed(doc) == ["doc_number"]


def test_yaml_sidecar_via_the_fixture_writer(tmp_path):
    path = fx.make_txt(tmp_path)
    fx.write_sidecar(path, {"doc_id": "rd-inst", "issued": dt.date(2021, 4, 2), "region": "测试市"}, fmt="yaml")
    doc = load_document(path)
    assert doc.doc_id == "rd-inst" and doc.meta["issued"] == "2021-04-02" and doc.meta["region"] == "测试市"


@pytest.mark.parametrize("fmt,field,value", [
    ("json", "issued", "2023/5/10"),
    ("json", "effective", "2023年6月1日"),
    ("json", "expires", "2023-02-30"),  # not a day of the calendar
    ("yaml", "issued", "10.05.2023"),
    ("yaml", "expires", 20260531),
])
def test_a_bad_date_names_the_field_the_value_and_the_format(tmp_path, fmt, field, value):
    path = fx.make_txt(tmp_path)
    side = fx.write_sidecar(path, {"doc_id": "x", field: value}, fmt=fmt)
    with pytest.raises(DocumentError) as e:
        load_document(path)
    assert e.value.path == str(side)
    assert repr(field) in e.value.reason
    assert str(value) in e.value.reason
    assert "YYYY-MM-DD" in e.value.reason


def test_invalid_sidecars_are_reported_with_the_sidecar_path(tmp_path):
    path = fx.make_txt(tmp_path)
    side = tmp_path / (path.name + ".meta.yaml")
    side.write_text("title: [未闭合\n", encoding="utf-8")
    with pytest.raises(DocumentError, match="not valid YAML") as e:
        load_document(path)
    assert e.value.path == str(side)
    side.write_text("- 一个列表\n- 不是映射\n", encoding="utf-8")
    with pytest.raises(DocumentError, match="mapping"):
        load_document(path)
    side.write_text("issuer:\n  name: 测试市科学技术局\n", encoding="utf-8")
    with pytest.raises(DocumentError, match="'issuer'"):
        load_document(path)
    side.unlink()
    side = tmp_path / (path.name + ".meta.json")
    side.write_text('{"doc_id": "x", ', encoding="utf-8")
    with pytest.raises(DocumentError, match="not valid JSON"):
        load_document(path)


def test_two_sidecars_for_one_document_is_an_error(tmp_path):
    path = fx.make_txt(tmp_path, meta={"doc_id": "a"})
    (tmp_path / (path.stem + ".meta.yaml")).write_text("doc_id: b\n", encoding="utf-8")
    with pytest.raises(DocumentError, match="several metadata files"):
        load_document(path)


def test_sidecars_are_not_read_as_documents(tmp_path):
    path = fx.make_txt(tmp_path, meta={"doc_id": "a"})
    (tmp_path / "other.txt").write_text("另一份测试用虚构文件的正文。\n", encoding="utf-8")
    (tmp_path / "other.meta.yml").write_text("doc_id: b\n", encoding="utf-8")
    docs, errors = iter_corpus(tmp_path)
    assert errors == []
    assert sorted(d.doc_id for d in docs) == ["a", "b"]
    assert path.exists()


def test_null_in_a_sidecar_means_none_and_is_not_guessed(tmp_path):
    path = fx.make_docx_with_subsidy_table(tmp_path)
    (tmp_path / (path.name + ".meta.yaml")).write_text("expires: null\neffective: ~\n", encoding="utf-8")
    doc = load_document(path)
    assert "expires" not in doc.meta and "effective" not in doc.meta
    assert "expires" not in guessed(doc) and "effective" not in guessed(doc)


def test_the_reserved_guessed_key_cannot_be_set_by_a_sidecar(tmp_path):
    path = fx.make_txt(tmp_path, meta={"doc_id": "x", "title": "给定标题", "guessed": "nonsense"})
    doc = load_document(path)
    assert "nonsense" not in doc.meta.get("guessed", "")
    assert "title" not in guessed(doc)


# ----------------------------------------------------------------------------- parsing helpers (dates and 文号: test_cnparse.py)


def test_add_years_ends_the_day_before():
    assert add_years("2023-06-01", 3) == "2026-05-31"
    assert add_years("2024-01-01", 1) == "2024-12-31"
    assert add_years("2024-02-29", 1) == "2025-02-28"


# ----------------------------------------------------------------------------- detection from the text

HEADERS = {
    "red-head notice": (
        ("测试市科学技术局文件\n\n测科发〔2023〕12号\n\n"
         "测试市科学技术局关于印发《测试市科技创新券管理办法》的通知\n\n"
         "各区县（市）科技局：\n现将办法印发给你们，请遵照执行。\n\n测试市科学技术局\n2023年5月10日\n"),
        {"title": "测试市科学技术局关于印发《测试市科技创新券管理办法》的通知", "issuer": "测试市科学技术局",
         "doc_number": "测科发〔2023〕12号", "issued": "2023-05-10"}),
    "title over two lines, ascii brackets": (
        ("（测试用虚构文件）\n测试市科学技术局关于印发《测试市科技创新券\n管理办法（试行）》的通知\n"
         "测科发[2023]12号\n各区县（市）科技局：\n正文。\n测试市科学技术局\n2023年5月10日\n"),
        {"title": "测试市科学技术局关于印发《测试市科技创新券管理办法（试行）》的通知", "issuer": "测试市科学技术局",
         "doc_number": "测科发〔2023〕12号", "issued": "2023-05-10"}),
    "regulation adopted at a meeting": (
        ("测试市科技成果转化条例\n（2022年11月30日测试市第十六届人民代表大会常务委员会第五次会议通过）\n"
         "第一章 总则\n第一条 为促进科技成果转化，制定本条例。\n第三十条 本条例自2023年3月1日起施行。\n"),
        {"title": "测试市科技成果转化条例", "issued": "2022-11-30", "effective": "2023-03-01"}),
    "plan with a period line, Chinese-numeral date, 有效期五年": (
        ("测试市“十四五”科技创新规划\n（2021—2025年）\n一、总体要求\n本规划自印发之日起施行，有效期五年。\n"
         "测试市人民政府\n二〇二一年六月二十二日\n"),
        {"title": "测试市“十四五”科技创新规划（2021—2025年）", "issuer": "测试市人民政府", "issued": "2021-06-22",
         "effective": "2021-06-22", "expires": "2026-06-21"}),
    "web page with labels": (
        ("索引号：000000/2023-00012\n发文机关：测试市科学技术局\n发文字号：测科发〔2023〕15号\n成文日期：2023-06-15\n"
         "测试市高新技术企业培育若干措施\n第一条 为加快培育，制定本措施。\n"
         "第六条 本措施有效期自2023年7月1日至2026年6月30日。\n"),
        {"title": "测试市高新技术企业培育若干措施", "issuer": "测试市科学技术局", "doc_number": "测科发〔2023〕15号",
         "issued": "2023-06-15", "effective": "2023-07-01", "expires": "2026-06-30"}),
    "signature and print date in the footer": (
        ("关于开展2024年度测试市科技计划项目申报工作的通知\n各有关单位：\n请按要求申报。\n"
         "测试市科学技术局\n2024年1月5日\n（此件主动公开）\n测试市科学技术局办公室 2024年1月6日印发\n"),
        {"title": "关于开展2024年度测试市科技计划项目申报工作的通知", "issuer": "测试市科学技术局",
         "issued": "2024-01-05"}),
    "only a print date": (
        ("测试市科技型企业认定办法\n第一条 为规范认定，制定本办法。\n第九条 本办法自2020年1月1日起实施，有效期至2022年12月31日。\n"
         "测试市科学技术局办公室\n2019年12月20日印发\n"),
        {"title": "测试市科技型企业认定办法", "issuer": "测试市科学技术局办公室", "issued": "2019-12-20",
         "effective": "2020-01-01", "expires": "2022-12-31"}),
    "nothing to find": (
        ("这是一段没有标题格式的说明文字，长度超过八十个字符的第一行不会被当作标题，因为它更像是正文段落而不是文件标题，"
         "测试用虚构文件到此为止。\n第二段。\n"),
        {}),
}


@pytest.mark.parametrize("name", list(HEADERS))
def test_detect_from_headers(name):
    text, expected = HEADERS[name]
    fields, names = detect(text)
    assert fields == expected
    assert names == [k for k in ("title", "issuer", "doc_number", "issued", "effective", "expires") if k in expected]


def test_effective_prefers_this_documents_clause_over_others():
    text = ("测试市科技奖励办法\n第一条 《测试市旧办法》自2015年1月1日起施行。\n"
            "第十条 本办法自2023年1月1日起施行，原办法同时废止。\n第十一条 解释权归测试市科学技术局。\n")
    fields, _ = detect(text)
    assert fields["effective"] == "2023-01-01"


def test_expiry_in_years_counts_from_effective_then_issued():
    fields, names = detect("测试市某办法\n本办法自2023年6月1日起施行，有效期3年。\n")
    assert fields["expires"] == "2026-05-31" and "expires" in names
    fields, _ = detect("测试市某办法\n本办法有效期2年。\n", known={"issued": "2022-03-01"})
    assert fields["expires"] == "2024-02-29"
    fields, names = detect("测试市某办法\n本办法有效期2年。\n")  # no date to count from
    assert "expires" not in fields and "expires" not in names


def test_known_values_win_and_are_not_listed_as_guessed():
    text, _ = HEADERS["red-head notice"]
    fields, names = detect(text, known={"title": "给定的标题", "doc_number": "测科发〔2023〕99号"})
    assert fields["title"] == "给定的标题" and fields["doc_number"] == "测科发〔2023〕99号"
    assert names == ["issuer", "issued"]


def test_title_hint_and_labelled_hints_come_before_text_guesses():
    text, _ = HEADERS["red-head notice"]
    fields, names = detect(text, title_hint="网页标题", hints={"doc_number": "测科发〔2023〕77号"})
    assert fields["title"] == "网页标题" and fields["doc_number"] == "测科发〔2023〕77号"
    assert "title" in names and "doc_number" in names


def test_status_is_taken_only_from_a_label():
    text, _ = HEADERS["red-head notice"]
    fields, names = detect(text + "有效性：已废止\n")
    assert fields["status"] == "已废止" and names[-1] == "status"
    fields, names = detect(text + "该文件现已废止。\n")  # free text is not a label
    assert "status" not in fields and "status" not in names


def test_detect_labelled():
    got = detect_labelled("发文机关： 测试市科学技术局  发文字号：测科发[2023]15号 成文日期：2023年06月15日 有效性：现行有效")
    assert got == {"issuer": "测试市科学技术局", "doc_number": "测科发〔2023〕15号", "issued": "2023-06-15",
                   "status": "现行有效"}


# ----------------------------------------------------------------------------- documents


def test_guessed_lists_exactly_the_detected_fields(tmp_path):
    doc = load_document(fx.make_docx_with_subsidy_table(tmp_path))
    assert doc.title == fx.DOCX_TITLE
    assert doc.meta["doc_number"] == "测科发〔2023〕12号"
    assert doc.meta["issued"] == "2023-05-10"
    assert doc.meta["effective"] == "2023-06-01"
    assert doc.meta["expires"] == "2026-05-31"  # 有效期3年 from 2023-06-01
    assert doc.meta["issuer"] == "测试市科学技术局"
    assert doc.meta["guessed"] == "title,issuer,doc_number,issued,effective,expires"
    assert set(guessed(doc)) == {k for k in doc.meta if k != "guessed"} | {"title"}


def test_html_document_metadata(tmp_path):
    doc = load_document(fx.make_html_page(tmp_path))
    assert doc.title == "测试市科学技术局关于印发《测试市高新技术企业培育若干措施》的通知"
    assert doc.meta["doc_number"] == "测科发〔2023〕15号"
    assert doc.meta["issued"] == "2023-06-15"
    assert doc.meta["effective"] == "2023-07-01"
    assert doc.meta["expires"] == "2026-06-30"
    assert set(guessed(doc)) == {"title", "issuer", "doc_number", "issued", "effective", "expires"}


def test_pdf_document_metadata(tmp_path):
    fx.require_cjk_font()
    doc = load_document(fx.make_text_pdf(tmp_path, pages=3))
    assert doc.title == fx.PDF_TITLE
    assert doc.meta["doc_number"] == "测科发〔2024〕3号"
    assert doc.meta["issued"] == "2024-02-01"
    assert doc.meta["effective"] == "2024-03-01"
    assert "guessed" in doc.meta


def test_sidecar_overrides_guesses(tmp_path):
    path = fx.make_docx_with_subsidy_table(tmp_path, meta={"title": "给定标题", "doc_number": "测科发〔2023〕99号",
                                                           "issued": "2023-05-11"})
    doc = load_document(path)
    assert doc.title == "给定标题"
    assert doc.meta["doc_number"] == "测科发〔2023〕99号"
    assert doc.meta["issued"] == "2023-05-11"
    assert guessed(doc) == ["issuer", "effective", "expires"]


def test_file_name_is_the_last_resort_title(tmp_path):
    path = fx.make_txt(tmp_path, name="说明.txt", text="这是一段没有标题格式的说明文字，长度超过八十个字符的第一行不会被当作标题，"
                                                      "因为它更像是正文段落而不是文件标题，测试用虚构文件到此为止。\n")
    doc = load_document(path)
    assert doc.title == "说明"
    assert guessed(doc) == ["title"]
    assert "title" not in detect(doc.text)[0]  # nothing in the text is a title: the name is


def test_bundled_plan_keeps_its_sidecar_values():
    sidecar = json.loads(PLAN_META.read_text(encoding="utf-8"))
    doc = load_document(PLAN)
    assert doc.doc_id == "changsha-sti-plan-2021-2025"
    assert doc.title == sidecar["title"]
    assert doc.meta["doc_number"] == "长政办发〔2021〕30号"
    for key, value in sidecar.items():
        if key not in ("doc_id", "title"):
            assert doc.meta[key] == value, key
    assert not set(guessed(doc)) & set(sidecar)  # nothing the sidecar says is guessed
    assert read_sidecar(PLAN_META)["period"] == "2021–2025"
    passages = segment(doc)
    assert passages and all(p.meta["doc_number"] == "长政办发〔2021〕30号" for p in passages)


def test_bundled_plan_without_its_sidecar_is_guessed_from_the_text(tmp_path):
    shutil.copy(PLAN, tmp_path / PLAN.name)
    doc = load_document(tmp_path / PLAN.name)
    assert doc.meta["doc_number"] == "长政办发〔2021〕30号"
    assert doc.meta["issuer"] == "长沙市人民政府办公厅"
    assert doc.meta["issued"] == "2021-06-22"
    assert "关于印发长沙市“十四五”科技创新发展规划" in doc.title
    assert {"title", "doc_number", "issuer", "issued"} <= set(guessed(doc))
