"""Builders of INVENTED test documents, written at test time into a directory the test gives.

Every document here is fictitious (测试市 and its 科技局 do not exist; the figures, numbers and dates are
made up) and says so in its text with the line `（测试用虚构文件）`. Nothing here is a real policy.

Each builder takes the target directory (and `meta`: when a dict is given, a sidecar
`<filename>.meta.json` is written next to the document) and returns the document's path.

    make_docx_with_subsidy_table(dir)   a 管理办法 (.docx): 第一章/第一条…, a subsidy table, a 附件 section
    make_docx_with_auto_numbering(dir)  clauses numbered by Word itself (第%1条), not typed
    make_html_page(dir)                 a saved government page: nav, menus, breadcrumbs, sidebar, footer + article
    make_text_pdf(dir, pages=3)         a PDF with a text layer (CJK TrueType font), clauses over several pages
    make_scanned_pdf(dir)               a PDF without a text layer (a drawn rectangle and an image only)
    make_wrong_extension(dir)           PDF bytes saved as `.docx`
    make_markdown(dir), make_txt(dir)   Markdown (headings, a pipe table) and plain text
    make_broken_docx(dir)               `PK\\x03\\x04` + garbage, named `.docx`
    VOUCHER, VOUCHER_TITLE, VOUCHER_Q   a plain-text 创新券管理办法 and a question it answers

And for the library tests: `private_index(built_settings, root)` copies the session's built index.

`make_text_pdf` needs a CJK font: `find_cjk_font()` looks for one; when there is none it raises
`NoCJKFont`. Tests call `require_cjk_font()`, which skips the test — or fails it when the environment
says everything must run (`PA_REQUIRE_BROWSER=1`, as in CI).
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from evals.benchmarks.scanned import NoCJKFont, find_cjk_font  # noqa: F401 - the one CJK font lookup, shared with the benchmark

FICTION = "（测试用虚构文件）"

VOUCHER_TITLE = "测试市科技创新券管理办法"
VOUCHER = """测试市科技创新券管理办法
（测试用虚构文件）
第一条 为支持测试市科技型中小企业开展研究开发活动，降低企业创新成本，结合本市实际，制定本办法。本办法所称创新券，是指测试市财政资金支持企业购买科技服务的电子凭证。
第二条 每家企业每年申领的创新券额度最高为20万元，其中用于检验检测服务的部分不超过总额度的一半，剩余额度可用于技术开发、技术咨询和知识产权服务。
第三条 创新券自发放之日起十二个月内有效，逾期未使用的额度自动作废，企业可在下一年度重新申领，但不得转让、买卖或者用于支付非科技服务费用。
第四条 申领创新券的企业应当在测试市依法登记注册，具有独立法人资格，上一年度研发费用不低于营业收入的百分之三，且近三年内无严重失信记录。
"""
VOUCHER_Q = "测试市创新券额度最高是多少？"


def private_index(built_settings, root: Path, **extra):
    """A private copy of the session's built index under `root` (copying it: nothing is re-embedded)."""
    from helpers import test_settings

    shutil.copytree(built_settings.corpus_dir, root / "corpus")
    shutil.copytree(built_settings.data_dir, root / "data")
    return test_settings(**{"data_dir": root / "data", "corpus_dir": root / "corpus", **extra})

def voucher_library(root: Path, **extra):
    """A small library built under `root`: corpus/voucher.txt (VOUCHER), its index (real embedder, real Chroma)."""
    from helpers import test_settings

    from assistant.core import Assistant

    (root / "corpus").mkdir(parents=True)
    (root / "corpus" / "voucher.txt").write_text(VOUCHER, encoding="utf-8")
    settings = test_settings(**{"data_dir": root / "data", "corpus_dir": root / "corpus", **extra})
    Assistant.build(settings)
    return settings

# ----------------------------------------------------------------------------- helpers


def write_sidecar(doc_path: Path, meta: dict[str, Any] | None, fmt: str = "json") -> Path | None:
    """`<filename>.meta.json` (or `.meta.yaml` when fmt="yaml") next to doc_path; None when meta is None."""
    if meta is None:
        return None
    if fmt == "json":
        side = doc_path.with_name(doc_path.name + ".meta.json")
        side.write_text(json.dumps(meta, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    else:
        import yaml

        side = doc_path.with_name(doc_path.name + ".meta.yaml")
        side.write_text(yaml.safe_dump(meta, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return side


def require_cjk_font() -> Path:
    """The CJK font, or skip the test (fail it when PA_REQUIRE_BROWSER=1, i.e. in CI)."""
    import pytest

    try:
        return find_cjk_font()
    except NoCJKFont as exc:
        if os.environ.get("PA_REQUIRE_BROWSER") == "1":
            pytest.fail(str(exc))
        pytest.skip(str(exc))


# ----------------------------------------------------------------------------- content

DOCX_TITLE = "测试市科技创新券管理办法"
SUBSIDY_HEADER = ["支持类型", "支持标准", "单位"]
SUBSIDY_ROWS = [
    ["研发费用补助", "不超过实际投入的30", "%"],
    ["首次认定高新技术企业奖励", "20", "万元"],
    ["青年科技人才生活补贴", "1500", "元/人/月"],
]


def make_docx_with_subsidy_table(directory: Path, meta: dict[str, Any] | None = None,
                                 name: str = "创新券管理办法.docx") -> Path:
    """A 管理办法 with 第一章/第一条 clauses, a subsidy table (header 支持类型 | 支持标准 | 单位) and a 附件."""
    from docx import Document as Docx

    d = Docx()
    d.add_paragraph(FICTION)
    d.add_paragraph("测试市科学技术局文件")
    d.add_paragraph("测科发〔2023〕12号")
    d.add_heading(DOCX_TITLE, level=1)
    d.add_heading("第一章 总则", level=2)
    d.add_paragraph("第一条 为鼓励测试市企业开展研发活动，制定本办法。")
    d.add_paragraph("第二条\t本办法所称创新券，是指测试市科技局向企业发放的电子凭证。")  # a TAB inside a clause
    d.add_heading("第二章 支持标准", level=2)
    d.add_paragraph("第三条 支持标准见下表：")
    table = d.add_table(rows=1 + len(SUBSIDY_ROWS), cols=3)
    for i, row in enumerate([SUBSIDY_HEADER] + SUBSIDY_ROWS):
        for j, value in enumerate(row):
            table.cell(i, j).text = value
    # a cell with two paragraphs: joined by a space in the TAB row
    table.cell(3, 0).text = "青年科技人才"
    table.cell(3, 0).add_paragraph("生活补贴")
    d.add_paragraph("第四条 本办法自2023年6月1日起施行，有效期3年。")
    d.add_heading("附件", level=2)
    d.add_paragraph("附件：测试市科技创新券申领表（样表）")
    d.add_paragraph("测试市科学技术局")
    d.add_paragraph("2023年5月10日")
    path = Path(directory) / name
    d.save(path)
    write_sidecar(path, meta)
    return path


def make_docx_with_auto_numbering(directory: Path, name: str = "自动编号.docx") -> Path:
    """Clauses numbered by Word (`第%1条`, Chinese counting), not typed: the text has no `第一条` in it."""
    from docx import Document as Docx
    from docx.oxml.ns import qn

    d = Docx()
    d.add_paragraph(FICTION)
    d.add_paragraph("测试市科技计划项目管理规定")
    for text in ["为规范项目管理，制定本规定。", "本规定适用于市级科技计划项目。", "本规定自2023年1月1日起施行。"]:
        d.add_paragraph(text, style="List Number")
    # make the numbering that "List Number" uses render as 第一条 / 第二条 …
    numbering = d.part.numbering_part.element
    style = d.styles["List Number"].element
    num_id = style.find(qn("w:pPr")).find(qn("w:numPr")).find(qn("w:numId")).get(qn("w:val"))
    num = next(n for n in numbering.findall(qn("w:num")) if n.get(qn("w:numId")) == num_id)
    abstract_id = num.find(qn("w:abstractNumId")).get(qn("w:val"))
    abstract = next(a for a in numbering.findall(qn("w:abstractNum")) if a.get(qn("w:abstractNumId")) == abstract_id)
    lvl = next(lv for lv in abstract.findall(qn("w:lvl")) if lv.get(qn("w:ilvl")) == "0")
    lvl.find(qn("w:numFmt")).set(qn("w:val"), "chineseCounting")
    lvl.find(qn("w:lvlText")).set(qn("w:val"), "第%1条")
    path = Path(directory) / name
    d.save(path)
    return path


NAV_WORDS = ("首页", "网站地图", "版权所有", "联系我们", "机构概况", "无障碍浏览")
HTML_CLAUSE = "第五条 对首次认定的高新技术企业，给予一次性奖励20万元。"


def make_html_page(directory: Path, meta: dict[str, Any] | None = None, name: str = "gov-page.html",
                   encoding: str = "utf-8") -> Path:
    """A saved page of 测试市科技局: nav, header menu, breadcrumbs, sidebar, footer around an article."""
    charset = "gb2312" if encoding.lower() in {"gb2312", "gbk", "gb18030"} else encoding
    clauses = "\n".join(
        f"<p>{c}</p>" for c in [
            "第一条 为加快测试市高新技术企业培育，制定本措施。",
            "第二条 本措施适用于在测试市注册的科技型企业。",
            "第三条 企业研发投入按年度核定，由区县科技部门初审。",
            "第四条 对新认定的科技型中小企业，给予支持。",
            HTML_CLAUSE,
            "第六条 本措施自2023年7月1日起施行，有效期至2026年6月30日。",
        ])
    html = f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="{charset}">
<title>测试市科学技术局关于印发《测试市高新技术企业培育若干措施》的通知_政策文件_测试市科学技术局</title>
<meta name="keywords" content="测试市,科技局,高新技术企业">
</head>
<body>
<div class="top-bar">无障碍浏览 | 长者模式 | 简体 | 繁体 | 登录</div>
<header class="header">
  <div class="logo">测试市科学技术局</div>
  <nav class="main-nav"><ul>
    <li><a href="/">首页</a></li><li><a href="/jggk/">机构概况</a></li><li><a href="/zwgk/">政务公开</a></li>
    <li><a href="/zcfg/">政策法规</a></li><li><a href="/hdjl/">互动交流</a></li><li><a href="/bsfw/">办事服务</a></li>
  </ul></nav>
</header>
<div class="breadcrumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt; <a href="/zcfg/">政策文件</a></div>
<div class="container">
<aside class="sidebar">
  <h3>相关链接</h3>
  <ul><li><a href="/a1">科技部</a></li><li><a href="/a2">省科技厅</a></li><li><a href="/a3">测试市人民政府</a></li></ul>
  <h3>热点专题</h3><ul><li><a href="/t1">科技创新券申领</a></li><li><a href="/t2">高企认定专栏</a></li></ul>
</aside>
<div class="content">
<article class="article">
<h1>测试市科学技术局关于印发《测试市高新技术企业培育若干措施》的通知</h1>
<p>{FICTION}</p>
<p>测科发〔2023〕15号</p>
<p>各区县（市）科技主管部门，各有关单位：</p>
<p>现将《测试市高新技术企业培育若干措施》印发给你们，请结合实际认真贯彻执行。本措施所列奖励资金由市级科技专项资金安排，
各区县可在此基础上制定配套政策，并做好政策宣传和申报指导工作。</p>
<h2>测试市高新技术企业培育若干措施</h2>
{clauses}
<p>附表：支持标准</p>
<table border="1">
<thead><tr><th>支持类型</th><th>支持标准（万元）</th><th>备注</th></tr></thead>
<tbody>
<tr><td>首次认定奖励</td><td>20</td><td>一次性</td></tr>
<tr><td>重新认定奖励</td><td>10</td><td>一次性</td></tr>
<tr><td>研发后补助</td><td>最高200</td><td>按研发投入增量核定</td></tr>
</tbody>
</table>
<p style="text-align:right">测试市科学技术局</p>
<p style="text-align:right">2023年6月15日</p>
</article>
<div class="share">分享到：微信 微博 <a href="javascript:window.print()">打印本页</a> <a href="#">关闭窗口</a></div>
</div>
</div>
<footer class="footer">
  <p><a href="/sitemap">网站地图</a> | <a href="/contact">联系我们</a> | <a href="/about">关于本站</a></p>
  <p>版权所有：测试市科学技术局 主办单位：测试市科学技术局 网站标识码：0000000000</p>
  <p>备案号：测ICP备00000000号</p>
</footer>
<script>var _hmt = _hmt || []; console.log("统计代码");</script>
</body>
</html>
"""
    path = Path(directory) / name
    path.write_bytes(html.encode("gb18030" if charset == "gb2312" else encoding))
    write_sidecar(path, meta)
    return path


PDF_TITLE = "测试市科技成果转化奖励办法"


def pdf_page_texts(pages: int = 3) -> list[list[str]]:
    """The lines of each page of make_text_pdf (page i starts with clause 第i+1条 … and a page marker)."""
    numerals = "一二三四五六七八九十"
    out: list[list[str]] = []
    for i in range(pages):
        lines = []
        if i == 0:
            lines += [FICTION, PDF_TITLE, "测科发〔2024〕3号"]
        n = numerals[i] if i < 10 else str(i + 1)
        lines += [f"第{n}条 第{i + 1}页的条款：测试市对科技成果转化项目给予奖励。",
                  f"页面标记P{i + 1}：技术合同登记额度每增加100万元奖励1万元。"]
        if i == pages - 1:
            lines += ["本办法自2024年3月1日起施行。", "测试市科学技术局", "2024年2月1日"]
        out.append(lines)
    return out


def make_text_pdf(directory: Path, pages: int = 3, meta: dict[str, Any] | None = None,
                  name: str = "成果转化奖励办法.pdf") -> Path:
    """A PDF with a real text layer (a CJK TrueType font), one clause group per page. NoCJKFont if no font."""
    from fpdf import FPDF

    font = find_cjk_font()
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_font("cjk", "", str(font))
    pdf.set_font("cjk", size=12)
    for lines in pdf_page_texts(pages):
        pdf.add_page()
        y = 20
        for line in lines:
            pdf.set_xy(15, y)
            pdf.cell(0, 8, line)
            y += 12
    path = Path(directory) / name
    pdf.output(str(path))
    write_sidecar(path, meta)
    return path


def make_scanned_pdf(directory: Path, meta: dict[str, Any] | None = None, name: str = "扫描件.pdf",
                     pages: int = 2) -> Path:
    """A PDF with no text layer: each page has a drawn rectangle and an image (what a scan looks like)."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (400, 200), "white")
    draw = ImageDraw.Draw(img)
    for y in range(20, 180, 16):  # "lines of text" as grey bars
        draw.rectangle([20, y, 380, y + 8], fill=(90, 90, 90))
    pdf = FPDF(format="A4")
    for _ in range(pages):
        pdf.add_page()
        pdf.rect(10, 10, 190, 277)
        pdf.image(img, x=20, y=30, w=170)
    path = Path(directory) / name
    pdf.output(str(path))
    write_sidecar(path, meta)
    return path


def minimal_pdf_bytes(text: str = "Hello") -> bytes:
    """A tiny valid one-page PDF (Latin text, core font) without needing a CJK font."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 10, text)
    return bytes(pdf.output())


def make_wrong_extension(directory: Path, name: str = "其实是PDF.docx") -> Path:
    """PDF bytes saved under a .docx name."""
    path = Path(directory) / name
    path.write_bytes(minimal_pdf_bytes("This is a PDF, not a Word document."))
    return path


def make_broken_docx(directory: Path, name: str = "损坏文件.docx") -> Path:
    """`PK\\x03\\x04` followed by garbage: looks like a ZIP/Word file at first glance, is not one."""
    path = Path(directory) / name
    path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    return path


MD_TITLE = "测试市科技型企业研发费用补助实施细则"


def make_markdown(directory: Path, meta: dict[str, Any] | None = None, name: str = "研发补助细则.md") -> Path:
    """Markdown: `#` headings, clauses, a pipe table (with the `|---|` line), a list, **bold**, a link."""
    text = f"""# {MD_TITLE}

{FICTION}

测科发[2022]8号

## 第一章 总则

第一条 为落实研发费用补助政策，制定本细则。

第二条 本细则适用于**测试市**注册的科技型企业，详见[政策解读](https://example.invalid/jd)。

## 第二章 补助标准

| 企业类型 | 补助比例 | 上限（万元） |
|:---|:---:|---:|
| 科技型中小企业 | 10% | 50 |
| 高新技术企业 | 15% | 100 |

- 第三条 补助资金按年度拨付。

第四条 本细则自2022年9月1日起施行，有效期2年。
"""
    path = Path(directory) / name
    path.write_text(text, encoding="utf-8")
    write_sidecar(path, meta)
    return path


TXT_TITLE = "测试市关于促进新型研发机构发展的若干意见"


def make_txt(directory: Path, meta: dict[str, Any] | None = None, name: str = "新型研发机构意见.txt",
             encoding: str = "utf-8", text: str | None = None) -> Path:
    """Plain text (UTF-8 by default; encoding="gb18030" for the GB variant)."""
    if text is None:
        text = f"""测试市人民政府办公室文件

测政办发〔2021〕7号

{TXT_TITLE}

{FICTION}

各区县（市）人民政府，市直机关各单位：

一、总体要求

（一）指导思想。以建设高水平新型研发机构为目标，完善支持政策。

二、支持措施

对新认定的新型研发机构给予最高300万元支持。

本意见自印发之日起施行。

测试市人民政府办公室

2021年4月2日
"""
    path = Path(directory) / name
    path.write_bytes(text.encode(encoding))
    write_sidecar(path, meta)
    return path
