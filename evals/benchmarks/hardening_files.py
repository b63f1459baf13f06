"""The hostile files of the third hardening round, written once for the bench and the tests.

    merged_xlsx(path, ref)                  a real one-sheet workbook whose sheet XML merges `ref` (R3-3)
    edited_xlsx(path, edit)                 ... whose sheet XML is changed by edit(xml)
    huge_pages_pdf(path, pages, image_px)   pages of 14,400 pt square, each one image_px x image_px image of
                                            noise stretched over it, no text layer (R3-4)
    tamper_passages(backup, change)         a backup's index/passages.jsonl changed by `change(rows)` and
                                            every manifest checksum recomputed, as an attacker would (R3-2)
    resum(backup)                           only the last step: the checksums of what is there now
Every text in them is INVENTED (测试市 does not exist).
"""
from __future__ import annotations

import hashlib
import io
import json
import random
import zipfile
from pathlib import Path
from typing import Callable

PAGE_PT = 14400  # the largest page a PDF may declare


def merged_xlsx(path: Path, ref: str = "A1:J100000") -> Path:
    merge = f'</sheetData><mergeCells count="1"><mergeCell ref="{ref}"/></mergeCells>'
    return edited_xlsx(path, lambda xml: xml.replace("</sheetData>", merge))


def edited_xlsx(path: Path, edit: Callable[[str], str]) -> Path:
    """A real one-sheet workbook (openpyxl) whose sheet XML is then changed by `edit`."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.active["A1"] = "测试市人才奖补标准（测试用虚构文件）"
    wb.active["A2"] = "安家补贴"
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = edit(data.decode()).encode()
            out.writestr(info, data)
    return Path(path)


def huge_pages_pdf(path: Path, pages: int = 3, image_px: int = 4) -> Path:
    from PIL import Image

    rnd = random.Random(7)
    images = []
    for _ in range(pages):
        image = Image.new("L", (image_px, image_px))
        image.putdata([rnd.randrange(256) for _ in range(image_px * image_px)])
        images.append(image)
    images[0].save(path, "PDF", resolution=image_px * 72 / PAGE_PT, save_all=True, append_images=images[1:])
    return Path(path)


def resum(backup: Path) -> None:
    """Recompute every checksum of the manifest (following links, as a careless tool would), listing new files."""
    backup = Path(backup)
    manifest = json.loads((backup / "manifest.json").read_text(encoding="utf-8"))
    names = sorted(str(p.relative_to(backup)) for p in backup.rglob("*") if p.is_file() and p.name != "manifest.json")
    manifest["files"] = {n: hashlib.sha256((backup / n).read_bytes()).hexdigest() for n in names}
    (backup / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


def tamper_passages(backup: Path, change: Callable[[list[dict]], None]) -> None:
    path = Path(backup) / "index" / "passages.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    change(rows)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    resum(backup)


def issue_22_passages(rows: list[dict]) -> None:
    """R3-2 as reported: one passage of 200,004 characters, doc_id `../../evil`, a 100,000-character title."""
    rows[0]["text"] = "测" * 200_004
    rows[0]["id"] = "../../evil:" + rows[0]["id"].rsplit(":", 1)[-1]
    rows[0]["metadata"].update(doc_id="../../evil", doc_title="题" * 100_000)
