"""LangChain: the assistant as a retriever and as tools. They call the same `Assistant` methods as the API
(`search`, `ask`), so a chain sees the passages and answers `/v1/search` and `/v1/ask` give.

    from assistant import Assistant
    from assistant.integrations.langchain import PolicyRetriever, policy_tools
    from assistant.settings import get_settings

    a = Assistant.from_settings(get_settings())
    retriever = PolicyRetriever(assistant=a, k=5)       # a BaseRetriever: use it in any LCEL chain
    docs = retriever.invoke("高企培育有哪些措施？")         # Documents; metadata: doc_title, section, passage_id, scores…
    ask, search = policy_tools(a)                       # StructuredTools "ask" and "search_policies"

Each tool gives the model text (the answer with its 参考来源 list; numbered passages) and the application the
structured result as the tool message's `artifact` (`Answer.to_dict()`; the hits' metadata and text). A bad
argument or an index that is still loading comes back as the tool's error text, which the model can act on.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import StructuredTool, ToolException
from pydantic import BaseModel, ConfigDict, Field

from assistant.core import Assistant
from assistant.errors import AssistantError
from assistant.integrations.records import answer_text, error_text, hit_metadata, hits_text
from assistant.language.validation import TOP_K_MAX, TOP_K_MIN
from retrieval.passage import Hit

FilterValue = str | list[str] | bool
FILTERS_HELP = ("Metadata filters 元数据过滤: doc_id, kind, issuer, region, status, doc_number (value or list); "
                "issued_from / issued_to (YYYY-MM-DD); include_inactive (true: also repealed or expired documents).")


def to_document(hit: Hit) -> Document:
    """A hit as a LangChain Document: the passage text, and `hit_metadata` (section path, passage id, scores…)."""
    return Document(page_content=hit.passage.text, metadata=hit_metadata(hit), id=hit.passage.id)


class PolicyRetriever(BaseRetriever):
    """The passages `Assistant.search` ranks highest for a query, as Documents (hybrid BM25 + vector search)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    assistant: Assistant = Field(description="The loaded assistant (Assistant.from_settings(...)).")
    k: int = Field(5, ge=TOP_K_MIN, le=TOP_K_MAX, description="Passages per query.")
    filters: dict[str, FilterValue] | None = Field(None, description=FILTERS_HELP)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [to_document(h) for h in self.assistant.search(query, self.k, self.filters)]


class HistoryMessage(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class AskArgs(BaseModel):
    question: str = Field(description="The question, in Chinese or English 问题（中文或英文）.")
    history: list[HistoryMessage] = Field(default_factory=list, max_length=200,
                                          description="Earlier turns, oldest first, for follow-up questions 对话历史.")


class SearchArgs(BaseModel):
    query: str = Field(description="What to look for 检索内容.")
    top_k: int = Field(5, ge=TOP_K_MIN, le=TOP_K_MAX, description="Passages to return 返回段落数.")
    filters: dict[str, FilterValue] | None = Field(None, description=FILTERS_HELP)


def _as_tool_error(fn: Callable[..., tuple[str, Any]]) -> Callable[..., tuple[str, Any]]:
    """The assistant's own errors (a bad argument, the index still loading) become the tool's error text."""
    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> tuple[str, Any]:
        try:
            return fn(*args, **kwargs)
        except AssistantError as exc:
            raise ToolException(error_text(exc)) from exc

    return call


def policy_tools(assistant: Assistant) -> list[StructuredTool]:
    """[ask, search_policies]: the assistant's cited answers and its hybrid search as LangChain tools."""

    @_as_tool_error
    def ask(question: str, history: list[HistoryMessage | dict] | None = None) -> tuple[str, dict[str, Any]]:
        turns = [m.model_dump() if isinstance(m, BaseModel) else dict(m) for m in history or []]
        answer = assistant.ask(question, turns)
        return answer_text(answer), answer.to_dict()

    @_as_tool_error
    def search_policies(query: str, top_k: int = 5,
                        filters: dict[str, FilterValue] | None = None) -> tuple[str, list[dict[str, Any]]]:
        hits = assistant.search(query, top_k, filters)
        return hits_text(hits), [{**hit_metadata(h), "text": h.passage.text} for h in hits]

    return [
        StructuredTool.from_function(
            ask, name="ask", args_schema=AskArgs, response_format="content_and_artifact", handle_tool_error=True,
            description="回答关于科技创新政策文件的问题，并给出引用（文件、章节、原文）。Answer a question about the "
                        "science-and-technology policy documents with numbered citations (document, section, "
                        "passage); says so when the documents do not contain the answer."),
        StructuredTool.from_function(
            search_policies, name="search_policies", args_schema=SearchArgs,
            response_format="content_and_artifact", handle_tool_error=True,
            description="在政策文件中检索最相关的段落（混合检索）。Search the policy documents: the most relevant "
                        "passages with their document, section path and passage id."),
    ]
