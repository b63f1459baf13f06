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
    from assistant.library.documents import add_documents

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


# ---------------------------------------------------------------------------------------------- scale-bench
# `python -m evals scale-bench --passages 1000,10000,50000 [--json]`: how a city's whole policy library grows.
# Each size is a fresh library: the plan (corpus/) plus INVENTED policies (`policy_library`) up to that many
# passages, built cold into its own data directory. Vectors come from a vector cache kept between runs
# (PA_EMBED_CACHE_DIR, `--cache-dir`), so after a first run the curve measures the library, not the embedder;
# `embed_share` says how much of the build was embedding. A server is then started on it and timed to
# /readyz; search and ask are sent one at a time (the plan's dev-set questions and questions about the
# invented policies), RSS read from /proc, one document uploaded and polled for until search finds it, and
# the data directory's size taken. `hit@1` is the plan's dev-set questions searched in that library.

CITIES = ["测试市", "样例市", "示范市", "虚拟市", "假定市", "模拟市"]
ISSUERS = ["科学技术局", "工业和信息化局", "财政局", "发展和改革委员会", "高新区管委会", "人力资源和社会保障局"]
CHAPTERS = ["总则", "支持对象与条件", "支持内容与标准", "申报与审核", "资金管理", "监督检查", "附则"]


def _policy(rng: random.Random, d: int, articles: int) -> tuple[str, str]:
    """(file name, text) of one invented 管理办法: 章/条, amounts, dates, a table, its issuer and city."""
    city, issuer, topic = rng.choice(CITIES), rng.choice(ISSUERS), rng.choice(TOPICS)
    year, month = rng.randint(2016, 2025), rng.randint(1, 12)
    title = f"{city}{topic}专项资金管理办法（第{d + 1}号，测试用虚构文件）"
    lines = [f"{city}{issuer}文件", f"{city[:1]}{issuer[:2]}发〔{year}〕{d % 97 + 1}号", "",
             f"关于印发《{title}》的通知", "", f"{city}{issuer}", f"{year}年{month}月{rng.randint(1, 28)}日印发", ""]
    per_chapter = max(1, articles // len(CHAPTERS))
    n = 1
    for c, chapter in enumerate(CHAPTERS, start=1):
        lines += [f"第{_cn(c)}章 {chapter}", ""]
        for _ in range(per_chapter):
            amount, share = rng.choice([5, 10, 20, 30, 50, 100, 200, 500]), rng.choice([10, 20, 30, 50])
            action = rng.choice(ACTIONS)
            lines.append(f"第{_cn(n)}条 {city}对符合条件的{rng.choice(TOPICS)}（编号{d}-{n}），{action}，最高不超过{amount}万元，"
                         f"补助比例不超过{share}%；申报截止日期为{year + 1}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日，"
                         f"由{city}{issuer}会同{rng.choice(ISSUERS)}组织评审，同一项目不重复支持。")
            n += 1
        lines.append("")
        if c == 3:  # a table of support standards
            lines += ["附表 支持标准（单位：万元）", "支持类型\t支持标准\t备注"]
            lines += [f"{rng.choice(TOPICS)}\t{rng.choice([10, 30, 50, 100])}\t{rng.choice(['一次性', '按年度', '分期拨付'])}"
                      for _ in range(4)]
            lines.append("")
    lines.append(f"本办法自{year}年{month}月1日起施行，由{city}{issuer}负责解释。")
    return f"policy-{d:05d}.txt", "\n".join(lines) + "\n"


def _cn(n: int) -> str:
    """1..99 in Chinese numerals (第十二条)."""
    digits = "零一二三四五六七八九"
    tens, ones = divmod(n, 10)
    return (digits[ones] if tens == 0 else ("十" if tens == 1 else digits[tens] + "十") + (digits[ones] if ones else ""))


def policy_library(root: Path, passages: int, seed: int = 25) -> list[Path]:
    """Invented policies of about `passages` passages in all (about 40 per document), written under `root`."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for d in range(max(1, round(passages / PASSAGES_PER_POLICY))):
        name, text = _policy(rng, d, ARTICLES_PER_POLICY)
        (root / name).write_text(text, encoding="utf-8")
        paths.append(root / name)
    return paths


ARTICLES_PER_POLICY = 35
PASSAGES_PER_POLICY = 40  # measured: 35 articles, the table's rows, the header (`scale-bench` prints the real count)
SCALE_QUESTIONS = [f"{city}对{topic}的支持标准是多少？" for city, topic in zip(CITIES, TOPICS)] + \
    ["专项资金申报截止日期是什么时候？", "高新区管委会组织评审的项目有哪些？"]
ADMIN = "scale-bench-admin"


def _timed(http, path: str, body: dict, times: list[float]) -> None:
    t0 = time.perf_counter()
    http.post(path, json=body, timeout=300).raise_for_status()
    times.append((time.perf_counter() - t0) * 1000)


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return round(s[min(len(s) - 1, int(round(q * (len(s) - 1))))], 1) if s else 0.0


def _disk_mb(root: Path) -> float:
    return round(sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) / 2**20, 1)


def _add_one(http, seed: int) -> float:
    """Upload one invented policy to the running server; seconds until search finds its unique clause."""
    name, text = _policy(random.Random(seed), 90_000 + seed, ARTICLES_PER_POLICY)
    mark = f"新增标记{seed}号"
    text = text.replace("第一条 ", f"第一条 {mark}：", 1)
    t0 = time.perf_counter()
    http.post("/v1/documents", headers={"Authorization": f"Bearer {ADMIN}"},
              files={"file": (f"added-{seed}.txt", text.encode(), "text/plain")}, timeout=900).raise_for_status()
    while time.perf_counter() - t0 < 900:
        hits = http.post("/v1/search", json={"query": mark, "top_k": 3}, timeout=300).json().get("hits", [])
        if any(mark in str(h.get("text", "")) for h in hits):
            return time.perf_counter() - t0
        time.sleep(0.1)
    raise RuntimeError(f"the added document was not served after 900 s ({mark})")


def scale_size(passages: int, workdir: Path, cache_dir: Path, plan_corpus: Path, items: list, repeat: int = 2) -> dict[str, Any]:
    """One size of the scale benchmark (see the comment above)."""
    import httpx

    from assistant.core import Assistant
    from evals.benchmarks.plan import ours_search
    from evals.benchmarks.load import rss_kb, serve

    data, corpus = workdir / "data", workdir / "corpus"
    shutil.copytree(plan_corpus, corpus)
    plan_passages = 190  # about; the invented policies fill the rest
    policy_library(corpus, max(passages - plan_passages, PASSAGES_PER_POLICY))
    settings = Settings(data_dir=data, corpus_dir=corpus, embed_cache_dir=cache_dir)
    t0 = time.perf_counter()
    report = Assistant.build(settings)
    build_s = time.perf_counter() - t0
    assistant = Assistant.from_settings(settings, build=False)
    quality = ours_search(assistant, items)
    del assistant
    env = {"PA_DATA_DIR": str(data), "PA_CORPUS_DIR": str(corpus), "PA_EMBED_CACHE_DIR": str(cache_dir),
           "PA_ADMIN_TOKEN": ADMIN, "PA_LLM_BASE_URL": ""}
    questions = [i.question for i in items if i.answerable and not getattr(i, "prev", None)][:20] + SCALE_QUESTIONS
    with serve(env=env, timeout=900) as served, httpx.Client(base_url=served.url) as http:
        search_ms: list[float] = []
        ask_ms: list[float] = []
        for q in questions[:3]:  # warm-up
            _timed(http, "/v1/search", {"query": q, "top_k": 5}, [])
            _timed(http, "/v1/ask", {"question": q}, [])
        for _ in range(repeat):
            for q in questions:
                _timed(http, "/v1/search", {"query": q, "top_k": 5}, search_ms)
                _timed(http, "/v1/ask", {"question": q}, ask_ms)
        rss = rss_kb(served.pid) / 1024
        add_one = _add_one(http, passages)
    return {"passages": report.passages, "documents": report.documents, "build_s": round(build_s, 1),
            "embed_share": round(report.embed_seconds / build_s, 2), "embedded": report.embedded,
            "startup_s": round(served.seconds, 1), "rss_mb": round(rss), "search_p50_ms": _pct(search_ms, 0.5),
            "search_p95_ms": _pct(search_ms, 0.95), "ask_p50_ms": _pct(ask_ms, 0.5), "ask_p95_ms": _pct(ask_ms, 0.95),
            "add_one_s": round(add_one, 2), "disk_mb": _disk_mb(data), "hit@1": quality["hit@1"]}


RATIO_KEYS = ("build_s", "startup_s", "rss_mb", "search_p95_ms", "ask_p95_ms", "add_one_s", "disk_mb")


def run_scale_bench(sizes: list[int], cache_dir: Path, plan_corpus: Path, items: list) -> dict[str, Any]:
    """Every size in one run, in the order given; `ratios`: each size against the smallest."""
    tmp = Path(tempfile.mkdtemp(prefix="pa-scalebench-"))
    try:
        plan_alone = _plan_hit1(tmp / "plan", cache_dir, plan_corpus, items)
        out = [scale_size(n, tmp / str(n), cache_dir, plan_corpus, items) for n in sizes]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base = min(out, key=lambda r: r["passages"])
    ratios = [{"passages": r["passages"], **{k: round(r[k] / base[k], 2) if base[k] else None for k in RATIO_KEYS}}
              for r in out]
    quality = [{"passages": r["passages"], "hit@1": r["hit@1"], "vs_plan_alone_points": round(100 * (r["hit@1"] - plan_alone), 1)}
               for r in out]
    return {"sizes": out, "ratios_to_smallest": ratios, "plan_alone_hit@1": plan_alone, "hit@1_at_scale": quality}


def _plan_hit1(workdir: Path, cache_dir: Path, plan_corpus: Path, items: list) -> float:
    """hit@1 of the plan's dev-set questions searched in the plan alone."""
    from assistant.core import Assistant
    from evals.benchmarks.plan import ours_search

    shutil.copytree(plan_corpus, workdir / "corpus")
    settings = Settings(data_dir=workdir / "data", corpus_dir=workdir / "corpus", embed_cache_dir=cache_dir)
    Assistant.build(settings)
    return ours_search(Assistant.from_settings(settings, build=False), items)["hit@1"]
