"""Internal types -> wire schemas."""
from __future__ import annotations

from api.schemas import AnswerOut, HitOut, PassageOut, ProfileIn
from assistant.answer import Answer
from assistant.finder import Profile
from retrieval.passage import Hit, Passage


def answer_out(answer: Answer) -> AnswerOut:
    return AnswerOut.model_validate(answer.to_dict())


def hit_out(hit: Hit) -> HitOut:
    p = hit.passage
    return HitOut(passage_id=p.id, doc_id=p.doc_id, doc_title=p.doc_title, section=p.section_path, text=p.text,
                  score=round(hit.score, 6), sources={k: round(v, 6) for k, v in hit.sources.items()})


def passage_out(p: Passage) -> PassageOut:
    return PassageOut(passage_id=p.id, doc_id=p.doc_id, doc_title=p.doc_title, section=p.section_path,
                      section_levels=list(p.section), kind=p.kind, order=p.order, text=p.text, meta=dict(p.meta))


def profile_of(p: ProfileIn) -> Profile:
    return Profile(entity_type=p.entity_type, qualifications=list(p.qualifications), industry=p.industry, park=p.park,
                   district=p.district, talent_category=p.talent_category, description=p.description)
