"""A small real corpus for tests that build many indexes: chapter 四 of the plan (about 30 passages,
holding 岳麓山大学科技城 and the parks of 专栏4—3) with the plan's metadata sidecar."""
from __future__ import annotations

import shutil
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
PLAN = CORPUS / "changsha-sti-plan-2021-2025.txt"
META = CORPUS / "changsha-sti-plan-2021-2025.meta.json"


def write_chapter_four(dest: Path) -> Path:
    """Write chapter 四 as a one-document corpus in `dest`; return `dest`."""
    lines = PLAN.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("四、打造协同创新新标杆"))
    end = next(i for i, line in enumerate(lines) if line.startswith("五、强化产业发展科技支撑"))
    (dest / PLAN.name).write_text("\n".join(lines[start:end]) + "\n", encoding="utf-8")
    shutil.copy(META, dest / META.name)
    return dest
