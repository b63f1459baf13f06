"""Wire schemas: what clients send and receive. Internal types (Answer, Passage) stay out of the API surface."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from assistant.language.validation import MESSAGE_CHARS_MAX, TOP_K_MAX, TOP_K_MIN, encoding_problem


def _text(value: str) -> str:
    problem = encoding_problem(value)
    if problem:
        raise ValueError(f"the text {problem}")
    return value


Text = Annotated[str, AfterValidator(_text)]  # every string a client sends: text, never a lone surrogate
FilterValue = Text | list[Text] | bool


class Message(BaseModel):
    role: Literal["user", "assistant", "system"]
    content: Text = Field(max_length=MESSAGE_CHARS_MAX, description="Limit: PA_MAX_MESSAGE_CHARS (default 8000).")


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"question": "到2025年长沙市高新技术企业数量目标是多少？", "top_k": 5},
        {"question": "那2020年呢？", "history": [
            {"role": "user", "content": "到2025年高新技术企业数量目标是多少？"},
            {"role": "assistant", "content": "根据规划：高新技术企业数(家)：2020年 4142；2025年目标 6000[1]"}]},
        {"question": "有哪些支持企业研发投入的政策？", "filters": {"doc_id": "changsha-sti-plan-2021-2025"}},
    ]})

    question: Text = Field(description="The question (Chinese or English). Limit: PA_MAX_QUESTION_CHARS (default 500).",
                          examples=["到2025年长沙市高新技术企业数量目标是多少？"])
    history: list[Message] = Field(default_factory=list, max_length=200,
                                   description="Earlier turns, oldest first; used to understand follow-ups.")
    top_k: int | None = Field(None, ge=TOP_K_MIN, le=TOP_K_MAX, description="Passages to retrieve (default PA_TOP_K).")
    filters: dict[Text, FilterValue] | None = Field(
        None, description="Metadata filters: doc_id, kind, issuer, region, status, doc_number (value or list); "
                          "issued_from / issued_to (YYYY-MM-DD); include_inactive (true: also repealed or expired "
                          "documents, which are left out by default).",
        examples=[{"kind": "table_row"}])


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"query": "高企培育", "top_k": 5}, {"query": "人才引进 住房补贴", "top_k": 3}]})

    query: Text = Field(description="What to look for.", examples=["高企培育"])
    top_k: int = Field(5, ge=TOP_K_MIN, le=TOP_K_MAX)
    filters: dict[Text, FilterValue] | None = None


class CitationOut(BaseModel):
    n: int = Field(description="The number used as [n] in the answer text (0 for related reading).")
    passage_id: str
    doc_id: str
    doc_title: str
    section: str = Field(description="Section path, e.g. 三、（三）2. 加强高新技术企业培育 (levels joined by ' > ').")
    text: str
    quote: str = Field("", description="The sentence(s) of the passage the answer relies on, verbatim.")
    meta: dict[str, Any] = Field(default_factory=dict)
    view_url: str = Field("", description="The original document as HTML, scrolled to this passage and highlighting "
                                          "it (server-relative: GET /v1/documents/{doc_id}/view?passage=…).")


class AnswerOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "question": "到2025年高新技术企业数量目标是多少？",
        "answer": "根据规划：高新技术企业数(家)：2020年 4142；2025年目标 6000[1]",
        "answerable": True, "mode": "extractive",
        "citations": [{"n": 1, "passage_id": "changsha-sti-plan-2021-2025:1a2b3c4d5e6f",
                       "doc_id": "changsha-sti-plan-2021-2025", "doc_title": "长沙市“十四五”科技创新规划（2021—2025年）",
                       "section": "二、 > （二）发展目标 > 表1", "text": "高新技术企业数(家)：2020年 4142；2025年目标 6000",
                       "quote": "高新技术企业数(家)：2020年 4142；2025年目标 6000", "meta": {}}],
        "related": [], "notices": [], "standalone_question": "到2025年高新技术企业数量目标是多少？"}]})

    question: str
    answer: str
    answerable: bool = Field(description="False when the documents do not contain the answer (the text says so).")
    mode: Literal["extractive", "llm", "finder", "curated"]
    citations: list[CitationOut]
    related: list[CitationOut] = Field(description="Nearest passages not cited: further reading.")
    notices: list[str] = Field(description="Why the answer was refused, repaired or fell back.")
    standalone_question: str = Field(description="The question as searched (follow-ups rewritten).")
    source: Literal["index", "curated"] = Field("index", description="curated: an answer written by staff "
                                                "(人工审核答案), served to a close enough question; index: answered now.")


class HitOut(BaseModel):
    passage_id: str
    doc_id: str
    doc_title: str
    section: str
    text: str
    score: float
    sources: dict[str, float] = Field(default_factory=dict, description="Each retriever's own score (bm25, dense) and, once reranked, the fusion's score before the reranker (fused).")


class SearchResponse(BaseModel):
    hits: list[HitOut]


class PassageOut(BaseModel):
    passage_id: str
    doc_id: str
    doc_title: str
    section: str
    section_levels: list[str]
    kind: str
    order: int
    text: str
    meta: dict[str, Any] = Field(default_factory=dict)


class PassageContext(BaseModel):
    passage: PassageOut
    previous: list[PassageOut] = Field(description="Passages just before it in the same document, in order.")
    next: list[PassageOut] = Field(description="Passages just after it in the same document, in order.")


class DocumentOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    doc_id: str
    title: str
    passages: int


class DocumentsResponse(BaseModel):
    documents: list[DocumentOut]


class Problem(BaseModel):
    detail: str | list[dict[str, Any]]


# ---------------------------------------------------------------- OpenAI-compatible chat
class ChatContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: Text | None = Field(None, max_length=MESSAGE_CHARS_MAX)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Annotated[Text, Field(max_length=MESSAGE_CHARS_MAX)] | list[ChatContentPart] | None = Field(
        None, description="Limit: the question PA_MAX_QUESTION_CHARS, earlier messages PA_MAX_MESSAGE_CHARS.")


class ChatRequest(BaseModel):
    """OpenAI chat-completions request; sampling parameters are accepted and ignored. One choice only
    (`n` = 1); `stream` a JSON boolean."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"model": "policy-assistant", "messages": [{"role": "user", "content": "长沙对高新技术企业有哪些培育措施？"}]},
        {"model": "policy-assistant", "stream": True,
         "messages": [{"role": "user", "content": "到2025年科技型中小企业目标是多少？"}]},
    ]})

    model: Text = Field("policy-assistant", max_length=200)
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool = Field(False, strict=True, description="true: Server-Sent Events (a JSON boolean, not a string)")
    n: int | None = Field(None, strict=True, description="Choices to return: only 1 is supported.")

    @field_validator("n")
    @classmethod
    def _one_choice(cls, v: int | None) -> int | None:
        if v is not None and v != 1:
            raise ValueError(f"n={v} is not supported: this endpoint returns exactly 1 choice; send n=1 or leave it out")
        return v


class LibraryChange(BaseModel):
    doc_id: str
    title: str
    action: Literal["added", "updated", "removed"]
    file: str = Field(description="The file's name in the corpus directory.")
    guessed: list[str] = Field(default_factory=list, description="Metadata fields detected from the text, not given.")
    previous_version: str | None = Field(None, description="An update: the doc_id the replaced version is kept under "
                                                           "(superseded, see GET /v1/documents/{doc_id}/diff).")
    warnings: list[str] = Field(default_factory=list, description="Pages that could not be read (the rest was indexed).")
    passages: int = Field(description="Passages in the index after the change.")
    embedded: int = Field(description="Passages that had to be embedded (new or changed).")
    seconds: float


class FeedbackCitation(BaseModel):
    model_config = ConfigDict(extra="allow")
    n: int | None = None
    passage_id: str | None = None
    doc_title: str | None = None
    section: str | None = None


class FeedbackEntry(BaseModel):
    """One vote (a 👍/👎 given in the chat UI), as kept in the records database."""

    model_config = ConfigDict(extra="allow")
    time: str = Field("", description="When it was given (ISO 8601, UTC).")
    question: str = ""
    answer: str = Field("", description="The answer text the vote is about.")
    answerable: bool | None = None
    mode: str | None = None
    citations: list[FeedbackCitation] = Field(default_factory=list)
    vote: str = Field("", description="up | down")
    comment: str = ""


# ---------------------------------------------------------------- support finder (POST /v1/eligibility)
class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity_type: Literal["enterprise", "researcher", "institution"]
    qualifications: list[Annotated[Text, Field(max_length=100)]] = Field(
        default_factory=list, max_length=30,
        description="e.g. 科技型中小企业, 高新技术企业, 创新型领军企业, 新型研发机构, 孵化器, 青年人才, 外籍人才")
    industry: Text = Field("", max_length=200, description="e.g. 工程机械, 生物医药, 新材料")
    park: Text = Field("", max_length=200, description="e.g. 长沙经开区, 浏阳经开区, 岳麓山大学科技城")
    district: Text = Field("", max_length=200, description="e.g. 长沙县, 浏阳市, 岳麓区")
    talent_category: Text = Field("", max_length=200, description="researchers: e.g. 青年人才, 高层次人才, 海外人才")
    description: Text = Field("", max_length=500, description="Free text; parsed for the same facts")


class EligibilityRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"profile": {"entity_type": "enterprise", "qualifications": ["高新技术企业"], "industry": "生物医药",
                     "park": "浏阳经开区", "description": "今年首次认定为高新技术企业"}}]})
    profile: ProfileIn
    limit: int = Field(20, ge=TOP_K_MIN, le=TOP_K_MAX, description="Most measures returned.")


class ConditionOut(BaseModel):
    condition: str
    status: Literal["met", "not_met", "unknown"]
    text: str = Field("", description="The words of the passage that state the condition.")
    note: str = ""


class MeasureCitation(BaseModel):
    model_config = ConfigDict(extra="allow")
    passage_id: str
    doc_id: str
    doc_title: str
    section: str
    text: str
    quote: str = Field("", description="The sentences of the passage that make up the measure.")


class MeasureOut(BaseModel):
    id: str
    title: str
    kind: str
    status: Literal["likely", "check", "unlikely"] = Field(
        description="likely: the profile shows every condition; check: some cannot be shown (需核实); "
                    "unlikely: the profile shows a condition is not met")
    why: list[str]
    conditions: list[ConditionOut]
    targets: list[str]
    industries: list[str]
    places: list[str]
    score: float
    citation: MeasureCitation


class MeasureGroup(BaseModel):
    kind: str
    measures: list[MeasureOut]


class RecognisedProfile(BaseModel):
    targets: list[str]
    industries: list[str]
    places: list[str]


class ProfileEcho(BaseModel):
    entity_type: str
    recognised: RecognisedProfile


class EligibilityResponse(BaseModel):
    profile: ProfileEcho
    measures: list[MeasureOut]
    groups: list[MeasureGroup]
    considered: int = Field(description="Measures judged for this kind of asker before ranking and the limit.")


# ---------------------------------------------------------------- versions (GET /v1/documents/{doc_id}/diff)
class VersionOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    version: int
    doc_id: str = Field(description="The current version's doc_id, or `<doc_id>@v<N>` for a superseded one.")
    title: str
    current: bool


class ChangeOut(BaseModel):
    kind: Literal["added", "removed", "changed"]
    section: str
    old: str | None = None
    new: str | None = None
    old_section: str | None = Field(None, description="The clause's section in the old version, when it moved.")
    figures: list[str] = Field(default_factory=list, description="Changed figures, e.g. `一次性奖励20万元 → 30万元`.")


class DiffOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, json_schema_extra={"examples": [{
        "doc_id": "gaoqi-jiangbu", "title": "测试市高新技术企业奖补办法",
        "from": {"version": 1, "doc_id": "gaoqi-jiangbu@v1", "title": "测试市高新技术企业奖补办法", "current": False},
        "to": {"version": 2, "doc_id": "gaoqi-jiangbu", "title": "测试市高新技术企业奖补办法", "current": True},
        "versions": [], "counts": {"added": 0, "removed": 1, "changed": 1},
        "changes": [{"kind": "changed", "section": "第三条", "old": "第三条 …给予一次性奖励20万元。",
                     "new": "第三条 …给予一次性奖励30万元。", "figures": ["一次性奖励20万元 → 30万元"]}]}]})

    doc_id: str
    title: str
    from_: VersionOut = Field(alias="from")
    to: VersionOut
    versions: list[VersionOut]
    counts: dict[str, int]
    changes: list[ChangeOut]
