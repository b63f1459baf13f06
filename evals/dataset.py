"""Evaluation items (JSONL, one object per line; or a CSV / XLSX spreadsheet) and their validation."""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import DatasetError

# The categories the bundled sets use. A category is a label staff choose: any other non-empty label of at most
# MAX_CATEGORY_CHARS is kept as written and reported on its own. Only "unanswerable" means something to the
# scorer (the item must be refused); a Chinese alias (CATEGORY_ALIASES) reads as its English name.
CATEGORIES = {"figure", "list", "fact", "paraphrase", "english", "multi", "unanswerable", "followup"}
MAX_CATEGORY_CHARS = 40


@dataclass
class Item:
    id: str
    question: str
    category: str
    answer_facts: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    prev: str | None = None

    @property
    def answerable(self) -> bool:
        return self.category != "unanswerable"


def question_problem(question: str, max_chars: int | None) -> str | None:
    """Why the assistant would refuse this question outright (too long, not text), or None."""
    from assistant.language.validation import encoding_problem

    if max_chars is not None and len(question) > max_chars:
        return f"has {len(question)} characters; at most {max_chars} are allowed (PA_MAX_QUESTION_CHARS)"
    return encoding_problem(question)


def load_jsonl(path: Path, max_question_chars: int | None = None) -> list[Item]:
    items: list[Item] = []
    seen: set[str] = set()
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from exc
        try:
            item = Item(
                id=str(raw["id"]), question=str(raw["question"]), category=str(raw.get("category", "fact")),
                answer_facts=list(raw.get("answer_facts", [])), evidence=list(raw.get("evidence", [])),
                prev=raw.get("prev"),
            )
        except KeyError as exc:
            raise DatasetError(f"{path}:{lineno}: missing field {exc.args[0]!r}") from exc
        if not item.question.strip():
            raise DatasetError(f"{path}:{lineno}: empty question")
        if problem := question_problem(item.question, max_question_chars):
            raise DatasetError(f"{path}:{lineno}: the question {problem}")
        category = category_label(item.category)
        if category is None:
            raise DatasetError(f"{path}:{lineno}: category {item.category!r}; allowed: a label of 1 to "
                               f"{MAX_CATEGORY_CHARS} characters without control characters "
                               f"(known: {', '.join(sorted(CATEGORIES))})")
        item.category = category
        if item.prev is not None and item.prev not in seen:
            raise DatasetError(f"{path}:{lineno}: prev {item.prev!r} is not an earlier item id")
        if item.id in seen:
            raise DatasetError(f"{path}:{lineno}: duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise DatasetError(f"{path}: no items")
    return items


# ---------------------------------------------------------------------------- spreadsheets (CSV / XLSX)
# Column headers of a spreadsheet set (row 1). 问题 and 类别 are required; the rest are optional.
COL_ID, COL_QUESTION, COL_FACTS, COL_EVIDENCE, COL_CATEGORY, COL_PREV = (
    "编号", "问题", "标准答案要点", "依据原文", "类别", "上一题")
REQUIRED_COLUMNS = (COL_QUESTION, COL_CATEGORY)

# Chinese names accepted in 类别, besides the English names in CATEGORIES (case-insensitive).
CATEGORY_ALIASES = {
    "数字": "figure", "指标": "figure",
    "列举": "list",
    "事实": "fact",
    "改写": "paraphrase", "同义": "paraphrase",
    "英文": "english",
    "多点": "multi", "综合": "multi",
    "无答案": "unanswerable", "拒答": "unanswerable",
    "追问": "followup", "多轮": "followup",
}

_CATEGORY_ORDER = ("figure", "list", "fact", "paraphrase", "english", "multi", "unanswerable", "followup")
_SPLIT = re.compile(r"[；;]")


def _category_choices() -> str:
    parts = []
    for c in _CATEGORY_ORDER:
        zh = "/".join(k for k, v in CATEGORY_ALIASES.items() if v == c)
        parts.append(f"{c}（{zh}）" if zh else c)
    return "、".join(parts)


def category_label(value: str) -> str | None:
    """The label an item is reported under: a known name (any case) or its Chinese alias as the English name,
    any other label as written; None for an empty, over-long or control-character label."""
    v = value.strip()
    if v.lower() in CATEGORIES:
        return v.lower()
    if v in CATEGORY_ALIASES:
        return CATEGORY_ALIASES[v]
    if not v or len(v) > MAX_CATEGORY_CHARS or any(ord(ch) < 32 or 0x7f <= ord(ch) < 0xa0 for ch in v):
        return None
    return v


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an Excel number 12 arrives as 12.0; an id 12 should read "12"
    return str(value).strip()


def _split(value: str) -> list[str]:
    return [p.strip() for p in _SPLIT.split(value) if p.strip()]


def _read_csv_rows(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise DatasetError(f"{path}: 不是有效的 CSV 文件（既不是 UTF-8 也不是 GB18030 编码）")
    if "\x00" in text:
        raise DatasetError(f"{path}: 不是有效的 CSV 文件（含有二进制内容）")
    try:
        return [[_cell(c) for c in row] for row in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as exc:
        raise DatasetError(f"{path}: 不是有效的 CSV 文件（{exc}）") from exc


def _read_xlsx_rows(path: Path) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # BadZipFile, InvalidFileException, KeyError on a broken package, ...
        raise DatasetError(f"{path}: 不是有效的 XLSX 文件（{type(exc).__name__}: {exc}）") from exc
    try:
        if not wb.worksheets:
            raise DatasetError(f"{path}: XLSX 文件中没有工作表")
        return [[_cell(c) for c in row] for row in wb.worksheets[0].iter_rows(values_only=True)]
    except DatasetError:
        raise
    except Exception as exc:
        raise DatasetError(f"{path}: 不是有效的 XLSX 文件（{type(exc).__name__}: {exc}）") from exc
    finally:
        wb.close()


def _items_from_rows(path: Path, rows: list[list[str]], max_question_chars: int | None = None) -> list[Item]:
    """Validate every row first; raise one DatasetError listing all problems (one per line)."""
    def fail(problems: list[str]) -> DatasetError:
        return DatasetError(f"{path}: 发现 {len(problems)} 处问题\n" + "\n".join(problems))

    if not rows or not any(rows[0]):
        raise fail(["第1行 表头为空（需要列：" + "、".join(f"“{c}”" for c in REQUIRED_COLUMNS) + "）"])
    col: dict[str, int] = {}
    for i, name in enumerate(rows[0]):
        col.setdefault(name.lstrip("\ufeff").strip(), i)
    missing = [f"缺少必需的列 “{c}”" for c in REQUIRED_COLUMNS if c not in col]
    if missing:
        raise fail(missing)

    def get(row: list[str], name: str) -> str:
        i = col.get(name)
        return row[i] if i is not None and i < len(row) else ""

    problems: list[str] = []
    items: list[Item] = []
    first_row: dict[str, int] = {}
    for rowno, row in enumerate(rows[1:], start=2):
        if not any(row):
            continue
        where = f"第{rowno}行"
        question = get(row, COL_QUESTION)
        if not question:
            problems.append(f"{where} “{COL_QUESTION}” 为空")
        elif problem := question_problem(question, max_question_chars):
            problems.append(f"{where} “{COL_QUESTION}” {problem}")
        raw_cat = get(row, COL_CATEGORY)
        category = category_label(raw_cat)
        if not raw_cat:
            problems.append(f"{where} “{COL_CATEGORY}” 为空；可选：{_category_choices()}")
        elif category is None:
            problems.append(f"{where} “{COL_CATEGORY}” 的值 “{raw_cat}” 无效：类别是 1–{MAX_CATEGORY_CHARS} 个字符的标签"
                            f"（常用：{_category_choices()}）")
        item_id = get(row, COL_ID) or f"R{rowno}"
        if item_id in first_row:
            problems.append(f"{where} “{COL_ID}” 重复：“{item_id}” 已在第{first_row[item_id]}行使用")
        prev = get(row, COL_PREV) or None
        if prev is not None and prev not in first_row:
            problems.append(f"{where} “{COL_PREV}” 指向不存在或更晚的编号 “{prev}”")
        first_row.setdefault(item_id, rowno)
        items.append(Item(id=item_id, question=question, category=category or "fact",
                          answer_facts=_split(get(row, COL_FACTS)), evidence=_split(get(row, COL_EVIDENCE)),
                          prev=prev))
    if problems:
        raise fail(problems)
    if not items:
        raise DatasetError(f"{path}: 没有题目（表头之后全是空行）")
    return items


def load_set(path: Path, max_question_chars: int | None = None) -> list[Item]:
    """Load an evaluation set by file type: .jsonl (load_jsonl), .csv (UTF-8 with/without BOM, or
    GB18030) or .xlsx (first sheet). Spreadsheets have a header row with the Chinese columns 问题 and
    类别 (required), 标准答案要点 and 依据原文 (several separated by ；or ;), 编号 (default R<row>) and
    上一题 (an earlier row's 编号). Every problem is reported at once in one DatasetError, one per line,
    naming the spreadsheet row (header = 第1行) and column. With `max_question_chars` (the server's
    PA_MAX_QUESTION_CHARS) a question the assistant would refuse outright is such a problem too."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return load_jsonl(path, max_question_chars)
    if suffix == ".csv":
        return _items_from_rows(path, _read_csv_rows(path), max_question_chars)
    if suffix == ".xlsx":
        return _items_from_rows(path, _read_xlsx_rows(path), max_question_chars)
    raise DatasetError(f"{path}: 不支持的文件类型 “{path.suffix or '（无扩展名）'}”；支持 .jsonl、.csv、.xlsx")
