"""INVENTED scanned documents for the OCR benchmark and the tests: pages of Chinese text rendered with a CJK
font into images (as a scanner gives them), put into a PDF without a text layer, and the same pages with
a text layer for comparison. 测试市 does not exist; every page says （测试用虚构文件）.

    find_cjk_font()                   a font file with Chinese glyphs (NoCJKFont when there is none)
    render_page(paragraphs)           a 150 dpi A4 page image of wrapped paragraphs, rotated slightly
    images_to_pdf(images, path)       a PDF whose pages are those images
    make_scanned_pages(dir, n)        (an n-page scanned PDF, the same pages with a text layer)
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FICTION = "（测试用虚构文件）"


class NoCJKFont(RuntimeError):
    """No TrueType/OpenType font with Chinese glyphs was found on this machine."""


_KNOWN_CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "C:/Windows/Fonts/simsun.ttc",
)


def find_cjk_font() -> Path:
    """A font file with Chinese glyphs (fc-list first, then well-known paths); NoCJKFont when none."""
    candidates: list[str] = []
    if shutil.which("fc-list"):
        try:
            out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=20,
                                 check=False).stdout
            candidates += [line.split(":")[0].strip() for line in out.splitlines() if line.strip()]
        except (OSError, subprocess.SubprocessError):
            pass
    candidates += list(_KNOWN_CJK_FONTS)
    for c in candidates:
        p = Path(c)
        if p.suffix.lower() in {".ttf", ".ttc", ".otf"} and p.is_file():
            return p
    raise NoCJKFont("no CJK font found (fc-list :lang=zh and the usual paths); "
                    "install one, e.g. `apt-get install fonts-wqy-zenhei`")


DPI = 150
A4 = (int(8.27 * DPI), int(11.69 * DPI))
CHARS_PER_LINE = 30


def _font(size: int):
    from PIL import ImageFont

    return ImageFont.truetype(str(find_cjk_font()), size)


def wrap(paragraph: str, width: int) -> list[str]:
    """A paragraph as printed: the first line indented two characters, then full lines."""
    text = "\u3000\u3000" + paragraph
    return [text[i:i + width] for i in range(0, len(text), width)]


def render_page(paragraphs: list[str], rotate: float = 0.8, size: tuple[int, int] = A4):
    """A scanned page: wrapped paragraphs in a CJK font, rotated slightly as a scanner does."""
    from PIL import Image, ImageDraw

    font_px = 28
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    y = 140
    for paragraph in paragraphs:
        for line in wrap(paragraph, CHARS_PER_LINE):
            draw.text((120, y), line, font=_font(font_px), fill=0)
            y += int(font_px * 1.8)
    return image.rotate(rotate, resample=Image.BICUBIC, fillcolor=255)


def images_to_pdf(images, path: Path) -> Path:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    for image in images:
        pdf.add_page()
        pdf.image(image, x=0, y=0, w=210, h=297)  # the page is the image: no text layer
    pdf.output(str(path))
    return path


def scanned_pages_text(n: int) -> list[list[str]]:
    """n pages of numbered clauses (the benchmark's document)."""
    pages = []
    for i in range(n):
        pages.append([f"第{i + 1}页 {FICTION}"] + [
            f"第{i * 4 + k + 1}项 测试市对第{i + 1}批科技项目给予资金支持，每个项目支持金额不超过{(k + 1) * 10}万元，"
            "资金按照项目进度分期拨付，验收合格后拨付余款。" for k in range(4)])
    return pages


def make_scanned_pages(directory: Path, n: int) -> tuple[Path, Path]:
    """(the scanned PDF of n pages, the same pages with a text layer)."""
    from fpdf import FPDF

    Path(directory).mkdir(parents=True, exist_ok=True)
    pages = scanned_pages_text(n)
    scanned = images_to_pdf([render_page(p) for p in pages], Path(directory) / f"扫描{n}页.pdf")
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_font("cjk", "", str(find_cjk_font()))
    pdf.set_font("cjk", size=12)
    for lines in pages:
        pdf.add_page()
        y = 20
        for paragraph in lines:
            for line in wrap(paragraph, CHARS_PER_LINE + 6):
                pdf.set_xy(15, y)
                pdf.cell(0, 7, line)
                y += 8
    text = Path(directory) / f"文本{n}页.pdf"
    pdf.output(str(text))
    return scanned, text
