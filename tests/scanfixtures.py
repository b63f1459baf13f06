"""INVENTED documents as agencies publish them, made at test time: scans, photos, ruled tables, workbooks,
two versions of one policy. Like tests/docfixtures.py, every document is fictitious (测试市 does not
exist) and says so with `（测试用虚构文件）`.

    make_scanned_policy(dir)             a PDF whose 2 pages are only images of text, rotated slightly
    (render_page, make_scanned_pages: evals/benchmarks/scanned.py, shared with the OCR benchmark)
    make_photo(dir)                      a PNG photo of one page
    make_ruled_table_pdf(dir)            a PDF with a ruled 奖补标准表 (unit line, header) spanning two pages
    make_merged_xlsx(dir)                a workbook: a title merged across, a unit row, categories merged down
    policy_versions()                    the text of version 1 and 2 of a 办法 (an amount, a clause removed)
    scan_library (a session fixture)     a private library with the scan, the table PDF, the workbook, the photo
    Unchanged(settings).check()          corpus/ byte for byte and the active index, as they were
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from docfixtures import FICTION, find_cjk_font, private_index, require_cjk_font

from evals.benchmarks.scanned import images_to_pdf, make_scanned_pages, render_page  # noqa: F401 - re-exported for the tests

SCAN_TITLE = "测试市首台套重大技术装备奖励办法"
SCAN_PAGES = [
    [FICTION, SCAN_TITLE,
     "第一条 为鼓励测试市企业研制首台套重大技术装备，提升装备制造业创新能力，根据有关规定，结合本市实际，制定本办法。",
     "第二条 本办法适用于在测试市依法登记注册、具有独立法人资格的装备制造企业。"],
    ["第三条 对经认定的首台套重大技术装备，按单台销售价格的百分之十给予研制企业一次性奖励，每家企业每年奖励金额最高80万元。",
     "第四条 申报材料应当于每年9月30日前报送市工业和信息化局。",
     "第五条 本办法自2024年5月1日起施行。"],
]
SCAN_Q = "首台套重大技术装备每家企业每年奖励最高多少？"
SCAN_FIGURE = "80万元"
SCAN_FIGURE_PAGE = 2


def make_scanned_policy(directory: Path, name: str = "首台套奖励办法-扫描件.pdf") -> Path:
    """A 2-page PDF of page images only (no text layer): SCAN_PAGES, rotated slightly."""
    return images_to_pdf([render_page(p, rotate=0.8 if i % 2 else -0.6) for i, p in enumerate(SCAN_PAGES)],
                         Path(directory) / name)


PHOTO_TITLE = "测试市科技特派员补贴通知"
PHOTO_LINES = [FICTION, PHOTO_TITLE, "一、对选派到乡村的科技特派员，每人每月给予生活补贴2000元。",
               "二、补贴期限不超过两年。"]


def make_photo(directory: Path, name: str = "通知照片.png") -> Path:
    path = Path(directory) / name
    render_page(PHOTO_LINES, rotate=1.2, size=(1100, 700)).save(path)
    return path


TABLE_TITLE = "测试市高新技术企业奖补实施细则"
TABLE_HEADER = ["支持类型", "支持标准", "备注"]
TABLE_ROWS = [["首次认定奖励", "30", "一次性"], ["重新认定奖励", "10", "一次性"], ["研发后补助", "最高200", "按增量核定"],
              ["孵化器绩效奖励", "50", "年度考核优秀"], ["技术合同奖励", "5", "按登记额"], ["专利导航补助", "15", "每项"]]
TABLE_Q = "首次认定高新技术企业一次性奖励多少？"


def make_ruled_table_pdf(directory: Path, name: str = "奖补细则.pdf") -> Path:
    """Clauses, `单位：万元`, a ruled table whose rows continue on page 2 (without the header)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_font("cjk", "", str(find_cjk_font()))
    pdf.set_font("cjk", size=11)
    pdf.add_page()
    y = 20
    for line in [FICTION, TABLE_TITLE, "第一条 为加快高新技术企业培育，制定本细则。", "第二条 奖补标准见下表。",
                 "高新技术企业奖补标准表", "单位：万元"]:
        pdf.set_xy(15, y)
        pdf.cell(0, 8, line)
        y += 10
    pages = [[TABLE_HEADER] + TABLE_ROWS[:4], TABLE_ROWS[4:]]
    for k, rows in enumerate(pages):
        if k:
            pdf.add_page()
            y = 20
        for row in rows:
            x = 15
            for cell in row:
                pdf.set_xy(x, y)
                pdf.cell(55, 9, cell, border=1)
                x += 55
            y += 9
        pdf.set_xy(100, 285)
        pdf.cell(0, 6, f"- {k + 1} -")
    pdf.set_xy(15, y + 6)
    pdf.cell(0, 8, "第三条 本细则自2024年1月1日起施行。")
    path = Path(directory) / name
    pdf.output(str(path))
    return path


XLSX_TITLE = "测试市人才引进奖补标准"
XLSX_Q = "博士研究生安家补贴多少？"


def make_merged_xlsx(directory: Path, name: str = "人才奖补标准.xlsx") -> Path:
    """A title merged across the columns, a unit row, a header, categories merged down two rows."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "安家补贴"
    ws.append([XLSX_TITLE, None, None])
    ws.merge_cells("A1:C1")
    ws.append(["单位：万元", None, None])
    ws.append(["人才类别", "学历", "安家补贴"])
    ws.append(["全职引进", "博士研究生", 15])
    ws.append([None, "硕士研究生", 6])
    ws.merge_cells("A4:A5")
    ws.append(["柔性引进", "博士研究生", 5])
    ws.append([FICTION, None, None])
    ws.merge_cells("A7:C7")
    other = wb.create_sheet("生活补贴")
    other.append(["类别", "每月补贴（元）"])
    other.append(["青年科技人才", 1500])
    path = Path(directory) / name
    wb.save(path)
    return path


VERSION_TITLE = "测试市科技创新券管理办法"
VERSION_1 = f"""{VERSION_TITLE}
{FICTION}
第一条 为支持科技型中小企业开展研发活动，制定本办法。
第二条 每家企业每年申领的创新券额度最高为20万元。
第三条 创新券自发放之日起十二个月内有效。
第四条 企业申领创新券须提交上一年度财务报表。
第五条 本办法自2023年1月1日起施行。
"""
VERSION_2 = f"""{VERSION_TITLE}
{FICTION}
第一条 为支持科技型中小企业开展研发活动，制定本办法。
第二条 每家企业每年申领的创新券额度最高为30万元。
第三条 创新券自发放之日起十二个月内有效。
第四条 本办法自2024年1月1日起施行。
"""


def policy_versions() -> tuple[str, str]:
    """Version 1 and 2: the amount 20万元 -> 30万元, the clause on 财务报表 removed, the date changed."""
    return VERSION_1, VERSION_2


# ---------------------------------------------------------------- the library of them

TOKEN = "t0ken-16"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Library:
    settings: object
    files: dict[str, Path]  # kind -> the source file added
    doc_ids: dict[str, str]  # kind -> its doc_id


@pytest.fixture(scope="session")
def scan_library(built_settings, tmp_path_factory) -> Library:
    require_cjk_font()
    from assistant.library.documents import add_documents

    root = tmp_path_factory.mktemp("issue16")
    src = root / "incoming"
    src.mkdir()
    files = {"scan": make_scanned_policy(src), "table": make_ruled_table_pdf(src),
             "xlsx": make_merged_xlsx(src), "photo": make_photo(src)}
    settings = private_index(built_settings, root / "lib", admin_token=TOKEN)
    result = add_documents(settings, list(files.values()))
    by_file = {d.file: d.doc_id for d in result.documents}
    return Library(settings, files, {kind: by_file[path.name] for kind, path in files.items()})


def snapshot(corpus: Path) -> dict[str, bytes]:
    """Every file under corpus/ (hidden ones included) with its bytes."""
    return {str(p.relative_to(corpus)): p.read_bytes() for p in sorted(corpus.rglob("*")) if p.is_file()}


class Unchanged:
    """What must not change when a document is refused: corpus/ byte for byte, the active index."""

    def __init__(self, settings):
        from assistant.library.documents import list_documents
        from retrieval.storage.store import open_store

        self.settings = settings
        self.files = snapshot(settings.corpus_dir)
        self.docs = list_documents(settings)
        self.pointer = open_store(settings.store_config()).pointer()

    def check(self) -> None:
        from assistant.library.documents import list_documents
        from retrieval.storage.store import open_store

        assert snapshot(self.settings.corpus_dir) == self.files
        assert list_documents(self.settings) == self.docs
        assert open_store(self.settings.store_config()).pointer() == self.pointer
