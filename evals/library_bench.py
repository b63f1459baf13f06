"""Index throughput on a generated corpus (invented policy texts, never written to corpus/).

    python -m evals library-bench [--passages 2000] [--out FILE]

Cold: build the whole index (every passage embedded). Incremental: change one document and add one, then
`docs add` a single file; only their passages are embedded, the rest are reused by content hash.
"""
from __future__ import annotations

import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from assistant.settings import Settings

TOPICS = ["高新技术企业", "科技型中小企业", "研发投入", "创新平台", "人才引进", "科技金融", "成果转化", "知识产权",
          "科技创新券", "孵化载体", "首台套", "数字经济", "生物医药", "新材料", "智能制造"]
ACTIONS = ["给予一次性奖励", "按实际投入给予补助", "给予贴息支持", "优先推荐申报", "给予场地租金补贴", "给予配套资助"]


def _article(rng: random.Random, n: int, doc: int) -> str:
    topic, action = rng.choice(TOPICS), rng.choice(ACTIONS)
    amount = rng.choice([5, 10, 20, 30, 50, 100, 200, 500])
    share = rng.choice([10, 20, 30, 50])
    return (f"第{n}条 （测试用虚构条款{doc}-{n}）对符合条件的{topic}，{action}，最高不超过{amount}万元；"
            f"补助比例不超过{share}%，同一项目不重复支持。")


def generate_corpus(root: Path, passages: int = 2000, per_doc: int = 50, seed: int = 7) -> list[Path]:
    """`passages // per_doc` invented 管理办法, one article per passage."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for d in range(max(1, passages // per_doc)):
        lines = [f"测试市{rng.choice(TOPICS)}支持办法（第{d + 1}号，测试用虚构文件）", ""]
        lines += [_article(rng, n, d) for n in range(1, per_doc + 1)]
        path = root / f"bench-{d:03d}.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def run_library_bench(passages: int = 2000) -> dict[str, Any]:
    from assistant.core import Assistant
    from assistant.library import add_documents

    tmp = Path(tempfile.mkdtemp(prefix="pa-libbench-"))
    try:
        settings = Settings(data_dir=tmp / "data", corpus_dir=tmp / "corpus", embed_cache_dir=None)  # cold: no cache
        generate_corpus(settings.corpus_dir, passages)
        t0 = time.perf_counter()
        cold = Assistant.build(settings)
        cold_s = time.perf_counter() - t0

        # incremental: edit one document's last article, add one new document
        first = sorted(settings.corpus_dir.glob("*.txt"))[0]
        first.write_text(first.read_text(encoding="utf-8").rstrip("\n") + "（已修订）\n", encoding="utf-8")
        extra = generate_corpus(tmp / "extra", 50, seed=99)[0]
        shutil.copy(extra, settings.corpus_dir / "bench-new.txt")
        t0 = time.perf_counter()
        inc = Assistant.build(settings)
        inc_s = time.perf_counter() - t0

        # the library operation for one new file (validation + copy + incremental build)
        one = generate_corpus(tmp / "one", 20, per_doc=20, seed=123)[0]
        added = add_documents(settings, [one], names=["bench-added.txt"])
        return {
            "cold": {"passages": cold.passages, "documents": cold.documents, "seconds": round(cold_s, 2),
                     "passages_per_s": round(cold.passages / cold_s, 1)},
            "incremental": {"passages": inc.passages, "embedded": inc.embedded, "reused": inc.reused,
                            "seconds": round(inc_s, 2), "passages_per_s": round(inc.passages / inc_s, 1),
                            "embedded_per_s": round(inc.embedded / inc_s, 1)},
            "docs_add_one_file": {"passages": added.build.passages, "embedded": added.build.embedded,
                                  "seconds": round(added.seconds, 2)},
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
