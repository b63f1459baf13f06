"""Answer texts shared by the answerers: where quotes come from, and the refusal that shows the nearest passages."""
from __future__ import annotations

import re

from assistant.answer import Answer, Citation
from assistant.pipeline.evidence import Refusal
from assistant.pipeline.understand import Query
from retrieval.passage import Hit, Passage

REFUSAL_RELATED = 3  # nearest passages shown with a refusal


def source_phrase(passages: list[Passage], english: bool = False) -> str:
    """根据规划 / 根据《某某办法》 / 根据相关文件 (or the English frame): where the quoted sentences come from."""
    docs = {p.doc_id: p for p in passages}
    if len(docs) > 1:
        return "According to the documents" if english else "根据相关文件"
    p = next(iter(docs.values()))
    if p.meta.get("doc_type") == "plan":
        return "According to the plan" if english else "根据规划"
    return f"According to 《{p.doc_title}》" if english else f"根据《{p.doc_title}》"


def _topic(question: str) -> str:
    q = re.sub(r"[？?。!！\s]+$", "", question.strip())
    q = re.sub(r"^(请问|请|我想知道|想了解|想问一下|麻烦问下)", "", q)
    return q[:60]


def refusal_answer(query: Query, hits: list[Hit], refusal: Refusal) -> Answer:
    """“规划中未找到关于……的具体规定”, the nearest passages as related reading, the reason as a notice."""
    topic = _topic(query.question)
    if query.latin:
        text = (f"The indexed documents do not contain a specific provision on “{topic}”. "
                "The passages below are the closest matches, for further reading.")
    else:
        where = "规划中" if hits and hits[0].passage.meta.get("doc_type") == "plan" else "已收录的文件中"  # the nearest
        text = f"{where}未找到关于“{topic}”的具体规定。以下是最接近的段落，供参考。"
    related = [Citation.of(0, h.passage) for h in hits[:REFUSAL_RELATED]]
    return Answer(question=query.question, answer=text, answerable=False, mode="extractive",
                  citations=[], related=related, notices=[f"refused: {refusal.reason}"])
