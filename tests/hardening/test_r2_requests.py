"""Second round, findings 6-9: requests that were answered wrongly (a 500, a silent default, a lost run).

* 6. an evaluation set with one over-long question: refused at upload with a 422 naming the row (API,
     CLI); a run whose item fails anyway marks that item failed, keeps the others and writes its report;
* 7. a lone surrogate (`"\\ud800高新"`) anywhere in a request — question, query, history, filters,
     OpenAI messages, a profile — is a 422 naming the field, never a 500 or a dropped connection;
* 8. `doc_id` from metadata is validated like a file name (`a/b`, `../../x`, 300 characters: 422, the
     library unchanged), so `DELETE /v1/documents/{id}` can reach every document;
* 9. the OpenAI endpoint rejects what it does not support, naming the field (`n=5`, `stream: "yes"`,
     a message over PA_MAX_MESSAGE_CHARS).

In-process app (TestClient) on a private copy of the session index; the documents are INVENTED.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from docfixtures import private_index
from fastapi.testclient import TestClient
from test_uploads import AUTH, PLAN_ID, TOKEN, VOUCHER, State, upload

from api.app import create_app
from assistant.core import Assistant
from assistant.errors import DocumentError
from assistant.library.documents import add_documents, list_documents

LONE = "\ud800"  # a lone surrogate: valid in a JSON string escape, not encodable as UTF-8
Q = "到2025年长沙市高新技术企业数量目标是多少？"


def raw_json(body: dict) -> bytes:
    """JSON with \\uXXXX escapes (a lone surrogate stays an escape, as a hostile client sends it)."""
    return json.dumps(body, ensure_ascii=True).encode("ascii")


@pytest.fixture(scope="module")
def lib(built_settings, tmp_path_factory):
    root = tmp_path_factory.mktemp("r2-requests")
    settings = private_index(built_settings, root / "lib", admin_token=TOKEN)
    app = create_app(settings, assistant=Assistant.from_settings(settings, build=False), ui=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, settings, root


def post(client, path: str, body: dict, **kw):
    return client.post(path, content=raw_json(body), headers={"content-type": "application/json", **kw})


def assert_422_naming(r, *loc_fragment: str, saying: str = "") -> dict:
    """The 422's error (FastAPI's shape) whose loc holds `loc_fragment` and whose msg says `saying`."""
    assert r.status_code == 422, (r.status_code, r.text[:500])
    detail = r.json()["detail"]  # the body itself is valid UTF-8 JSON
    assert isinstance(detail, list), detail
    assert "\ud800" not in r.text
    found = [d for d in detail if all(f in [str(x) for x in d["loc"]] for f in loc_fragment) and saying in d["msg"]]
    assert found, (detail, loc_fragment, saying)
    return found[0]


# ------------------------------------------------------------------ 7. lone surrogates
SURROGATE_CASES = {
    "ask-question": ("/v1/ask", {"question": LONE + "高新"}, ("question",)),
    "ask-history": ("/v1/ask", {"question": "那2020年呢？", "history": [{"role": "user", "content": "高企" + LONE}]},
                    ("history",)),
    "ask-filters": ("/v1/ask", {"question": Q, "filters": {"issuer": LONE}}, ("filters",)),
    "stream-question": ("/v1/ask/stream", {"question": "高企" + LONE + "培育"}, ("question",)),
    "search-query": ("/v1/search", {"query": LONE + "大科城"}, ("query",)),
    "search-filters": ("/v1/search", {"query": "大科城", "filters": {"doc_id": [PLAN_ID, LONE]}}, ("filters",)),
    "chat-content": ("/v1/chat/completions", {"messages": [{"role": "user", "content": LONE + "高新"}]},
                     ("messages",)),
    "chat-parts": ("/v1/chat/completions", {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "高新" + LONE}]}]}, ("messages",)),
    "chat-history": ("/v1/chat/completions", {"messages": [{"role": "assistant", "content": LONE},
                                                           {"role": "user", "content": Q}]}, ("messages",)),
    "eligibility-industry": ("/v1/eligibility", {"profile": {"entity_type": "enterprise", "industry": LONE}},
                             ("profile", "industry")),
    "eligibility-description": ("/v1/eligibility", {"profile": {"entity_type": "enterprise",
                                                                "description": "我们是" + LONE}},
                                ("profile", "description")),
    "eligibility-quals": ("/v1/eligibility", {"profile": {"entity_type": "enterprise", "qualifications": [LONE]}},
                          ("profile", "qualifications")),
}


@pytest.mark.parametrize("case", sorted(SURROGATE_CASES))
def test_a_lone_surrogate_is_a_422_naming_the_field(lib, case):
    client, _settings, _root = lib
    path, body, loc = SURROGATE_CASES[case]
    detail = assert_422_naming(post(client, path, body), *loc, saying="lone surrogate")
    assert "UTF-8" in detail["msg"], detail


def test_a_lone_surrogate_is_refused_by_the_assistant_itself(assistant):
    """The UI and the CLI call the assistant directly: the same check, an InvalidQuery naming the field."""
    from assistant.errors import InvalidQuery

    with pytest.raises(InvalidQuery) as info:
        assistant.ask(LONE + "高新")
    assert info.value.field == "question" and "surrogate" in str(info.value)
    with pytest.raises(InvalidQuery) as info:
        assistant.ask("那2020年呢？", history=[{"role": "user", "content": "高企" + LONE}])
    assert info.value.field == "history"
    with pytest.raises(InvalidQuery) as info:
        assistant.search("大科城", filters={"issuer": LONE})
    assert info.value.field == "filters"


def test_valid_astral_characters_still_pass(lib):
    """A real non-BMP character (a surrogate PAIR in JSON) is text, not an error."""
    client, _settings, _root = lib
    r = post(client, "/v1/search", {"query": "大科城 \U00020000"})
    assert r.status_code == 200, r.text


# ------------------------------------------------------------------ 8. doc_id from metadata
BAD_IDS = {"slash": "a/b", "traversal": "../../../../tmp/x", "long": "x" * 300, "backslash": "a\\b",
           "nul": "a\x00b", "dot": "..", "hidden": ".secret", "space": "a b"}


@pytest.mark.parametrize("case", sorted(BAD_IDS))
def test_a_doc_id_that_is_not_a_file_name_is_refused(lib, tmp_path, case):
    client, settings, _root = lib
    before = State(settings)
    bad = BAD_IDS[case]
    r = upload(client, "voucher.txt", VOUCHER.encode("utf-8"), metadata={"doc_id": bad})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "doc_id" in detail and "allowed" in detail, detail
    before.unchanged()
    src = tmp_path / "voucher.txt"
    src.write_text(VOUCHER, encoding="utf-8")
    with pytest.raises(DocumentError, match="doc_id"):
        add_documents(settings, [src], {"doc_id": bad})
    before.unchanged()


def test_a_sidecar_with_a_bad_doc_id_in_corpus_is_skipped_with_the_reason(lib, tmp_path):
    from retrieval.ingest.documents import iter_corpus

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "voucher.txt").write_text(VOUCHER, encoding="utf-8")
    (corpus / "voucher.txt.meta.json").write_text(json.dumps({"doc_id": "../../../../tmp/x"}), encoding="utf-8")
    docs, errors = iter_corpus(corpus)
    assert docs == [] and len(errors) == 1 and "doc_id" in str(errors[0])


def test_every_document_added_can_be_removed_by_its_id(lib, tmp_path):
    """A valid doc_id (letters of any script, digits, . _ -) is accepted and reachable by DELETE."""
    client, settings, _root = lib
    good = "测试市-创新券_2024.v1"
    r = upload(client, "voucher.txt", VOUCHER.encode("utf-8"), metadata={"doc_id": good})
    assert r.status_code == 200, r.text
    assert good in {d["doc_id"] for d in list_documents(settings)}
    r = client.delete(f"/v1/documents/{good}", headers=AUTH)
    assert r.status_code == 200, r.text
    assert [d["doc_id"] for d in list_documents(settings)] == [PLAN_ID]


def test_a_long_file_name_gives_a_valid_doc_id(lib):
    client, settings, _root = lib
    r = upload(client, "长" * 200 + ".txt", VOUCHER.encode("utf-8"))
    assert r.status_code == 200, r.text
    doc_id = r.json()["doc_id"]
    assert len(doc_id) <= 100
    assert client.delete(f"/v1/documents/{doc_id}", headers=AUTH).status_code == 200
    assert [d["doc_id"] for d in list_documents(settings)] == [PLAN_ID]


# ------------------------------------------------------------------ 9. OpenAI endpoint quirks
def chat(client, **body):
    return post(client, "/v1/chat/completions", {"messages": [{"role": "user", "content": Q}], **body})


def test_n_other_than_one_is_refused(lib):
    client, _settings, _root = lib
    assert_422_naming(chat(client, n=5), "body", "n", saying="exactly 1 choice")
    r = chat(client, n=1)
    assert r.status_code == 200 and len(r.json()["choices"]) == 1


@pytest.mark.parametrize("value", ["yes", "true", 1, "1"])
def test_stream_must_be_a_boolean(lib, value):
    client, _settings, _root = lib
    assert_422_naming(chat(client, stream=value), "body", "stream")


def test_a_message_has_a_length_limit_of_its_own(lib):
    client, settings, _root = lib
    limit = settings.max_message_chars
    history = [{"role": "assistant", "content": "甲" * (limit + 1)}, {"role": "user", "content": Q}]
    assert_422_naming(post(client, "/v1/chat/completions", {"messages": history}), "messages",
                      saying=f"at most {limit} are allowed (PA_MAX_MESSAGE_CHARS)")
    r = post(client, "/v1/ask", {"question": Q, "history": [{"role": "user", "content": "甲" * (limit + 1)}]})
    assert_422_naming(r, "history", saying="PA_MAX_MESSAGE_CHARS")
    ok = [{"role": "assistant", "content": "甲" * limit}, {"role": "user", "content": Q}]
    assert post(client, "/v1/chat/completions", {"messages": ok}).status_code == 200


def test_sampling_parameters_are_still_accepted(lib):
    """What chat clients send as a matter of course stays accepted (and ignored)."""
    client, _settings, _root = lib
    r = chat(client, temperature=0.3, top_p=0.9, max_tokens=300, presence_penalty=0, user="u1",
             stream_options={"include_usage": True})
    assert r.status_code == 200, r.text


# ------------------------------------------------------------------ 6. evaluation sets
LONG_Q = "高新技术企业" * 100  # 600 characters


def write_set(path, questions: list[str]) -> None:
    rows = [{"id": f"q{i}", "question": q, "category": "fact", "answer_facts": [], "evidence": []}
            for i, q in enumerate(questions)]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")


def test_an_eval_set_with_an_overlong_question_is_refused_naming_the_row(lib, tmp_path):
    client, settings, _root = lib
    path = tmp_path / "set.jsonl"
    write_set(path, [Q, "大科城的建设目标是什么？", LONG_Q])
    r = client.post("/v1/evals", headers=AUTH, files={"file": ("set.jsonl", path.read_bytes(), "application/json")})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert ":3:" in detail and "600" in detail and str(settings.max_question_chars) in detail, detail
    assert str(tmp_path) not in detail


def test_an_eval_spreadsheet_with_an_overlong_question_names_the_row(tmp_path, built_settings):
    from assistant.errors import DatasetError
    from evals.dataset import load_set

    path = tmp_path / "set.csv"
    path.write_text(f"问题,类别\n{Q},fact\n{LONG_Q},fact\n", encoding="utf-8")
    with pytest.raises(DatasetError) as info:
        load_set(path, max_question_chars=built_settings.max_question_chars)
    assert "第3行" in str(info.value) and "600" in str(info.value)


def test_the_cli_refuses_the_set_naming_the_row(cli_env, tmp_path):
    path = tmp_path / "set.jsonl"
    write_set(path, [Q, LONG_Q])
    r = subprocess.run([sys.executable, "-m", "evals", "run", str(path), "--out", str(tmp_path / "run")],
                       env=cli_env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr[-2000:]
    assert ":2:" in r.stderr and "600" in r.stderr, r.stderr[-2000:]
    assert not (tmp_path / "run").exists()


def test_an_item_that_fails_is_marked_and_the_run_carries_on(assistant, tmp_path):
    """Defence in depth: an item the assistant refuses anyway (here: bypassing the loader's check) is
    marked failed; the items before and after it are scored and the report is written."""
    from evals.dataset import Item
    from evals.workbench import execute

    items = [Item("a", Q, "figure", ["6000"], ["6000"]), Item("b", LONG_Q, "fact"),
             Item("c", "大科城的建设目标是什么？", "fact")]
    summary = execute(assistant, items, tmp_path / "run", {"set": "t"})
    assert summary["settings"]["done"] == 3
    assert summary["settings"]["failed"] == 1
    rows = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    assert rows[1]["error"].startswith("InvalidQuery") and rows[1]["metrics"]["hit@5"] == 0
    assert "6000" in rows[0]["answer"] and rows[2]["answer"]
    assert (tmp_path / "run" / "report.html").is_file()
