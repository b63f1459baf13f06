"""Admin API: POST /v1/documents (upload) and DELETE /v1/documents/{doc_id}, in-process (TestClient).

Every app here serves a PRIVATE copy of the session's built index (corpus/ + data/ copied), so uploads
and deletes never touch the shared session index and the plan's passages are never re-embedded.

All 测试市 documents below are INVENTED test data (测试市 does not exist; amounts, numbers and dates are
made up); each says so with the line （测试用虚构文件）.
"""
from __future__ import annotations

import json

import pytest
from docfixtures import VOUCHER, VOUCHER_Q, VOUCHER_TITLE, private_index
from fastapi.testclient import TestClient

from api.app import create_app
from assistant.core import Assistant
from assistant.library.documents import list_documents
from assistant.settings import Settings

TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PLAN_ID = "changsha-sti-plan-2021-2025"

# ---------------------------------------------------------------- invented test data (测试市 does not exist)
VOUCHER_META = {"title": VOUCHER_TITLE, "issuer": "测试市科技局", "doc_number": "测科规〔2024〕3号",
                "issued": "2024-03-01", "status": "现行有效"}
PLAN_Q = "到2025年长沙市高新技术企业数量目标是多少？"


# ---------------------------------------------------------------- helpers




def corpus_files(settings: Settings) -> dict[str, bytes]:
    root = settings.corpus_dir
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def upload(client: TestClient, name: str, data: bytes, metadata: str | dict | None = None, headers=AUTH):
    form = {}
    if metadata is not None:
        form["metadata"] = metadata if isinstance(metadata, str) else json.dumps(metadata, ensure_ascii=False)
    return client.post("/v1/documents", headers=headers, files={"file": (name, data, "text/plain")}, data=form)


def ask(client: TestClient, question: str, **extra) -> dict:
    r = client.post("/v1/ask", json={"question": question, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def listed_ids(client: TestClient) -> list[str]:
    r = client.get("/v1/documents")
    assert r.status_code == 200, r.text
    return sorted(d["doc_id"] for d in r.json()["documents"])


@pytest.fixture(scope="module")
def plan_passages(built_settings) -> int:
    """The plan's passage count in the session index (189 at the time of writing)."""
    [plan] = list_documents(built_settings)
    return plan["passages"]


@pytest.fixture()
def settings(built_settings, tmp_path) -> Settings:
    return private_index(built_settings, tmp_path / "lib", admin_token=TOKEN)


@pytest.fixture()
def client(settings):
    """The app as `serve` runs it (lifespan loads the index in the background); waits until it is ready."""
    app = create_app(settings, ui=False)
    with TestClient(app) as c:
        assert app.state.service.wait(120), app.state.service.error
        yield c


@pytest.fixture(scope="module")
def guarded(built_settings, tmp_path_factory):
    """One app for the requests that must be refused (each test checks that nothing changed)."""
    settings = private_index(built_settings, tmp_path_factory.mktemp("api-guard") / "lib",
                                admin_token=TOKEN, max_upload_bytes=2048)
    app = create_app(settings, assistant=Assistant.from_settings(settings, build=False), ui=False)
    with TestClient(app) as c:
        yield c, settings


# ---------------------------------------------------------------- upload -> answer -> update -> delete


def test_upload_is_answered_listed_updated_and_deleted(client, settings, plan_passages):
    assert ask(client, VOUCHER_Q)["answerable"] is False  # not in the library yet

    r = upload(client, "voucher.txt", VOUCHER.encode("utf-8"), VOUCHER_META)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["doc_id"], body["title"], body["action"], body["file"]) == ("voucher", VOUCHER_TITLE, "added",
                                                                             "voucher.txt")
    assert body["embedded"] >= 4 and body["passages"] == plan_passages + body["embedded"]
    assert isinstance(body["guessed"], list) and "title" not in body["guessed"]  # the title was given
    assert body["seconds"] >= 0
    assert (settings.corpus_dir / "voucher.txt").read_bytes() == VOUCHER.encode("utf-8")

    # the service swapped in the new index: answered and listed right away
    answer = ask(client, VOUCHER_Q)
    assert answer["answerable"] is True and "20万元" in answer["answer"]
    cited = answer["citations"][0]
    assert cited["doc_id"] == "voucher" and cited["doc_title"] == VOUCHER_TITLE
    assert cited["meta"]["doc_number"] == "测科规〔2024〕3号" and cited["meta"]["issuer"] == "测试市科技局"
    docs = client.get("/v1/documents").json()["documents"]
    voucher = next(d for d in docs if d["doc_id"] == "voucher")
    assert voucher["title"] == VOUCHER_TITLE and voucher["passages"] == body["embedded"]
    assert voucher["status"] == "现行有效" and voucher["issued"] == "2024-03-01"
    hits = client.post("/v1/search", json={"query": "创新券 检验检测", "top_k": 3}).json()["hits"]
    assert hits[0]["doc_id"] == "voucher"
    assert "6000" in ask(client, PLAN_Q)["answer"]  # the plan is still answered

    # update: one clause changed -> only it is embedded
    r = upload(client, "voucher.txt", VOUCHER.replace("最高为20万元", "最高为30万元").encode("utf-8"), VOUCHER_META)
    assert r.status_code == 200, r.text
    upd = r.json()
    assert upd["action"] == "updated" and upd["doc_id"] == "voucher" and upd["previous_version"] == "voucher@v1"
    # the previous version stays indexed (superseded); its passages reuse their vectors
    assert 1 <= upd["embedded"] < body["embedded"] and upd["passages"] == body["passages"] + body["embedded"]
    answer = ask(client, VOUCHER_Q)
    assert "30万元" in answer["answer"] and "20万元" not in answer["answer"]

    # delete: gone from answers, search and the list
    r = client.delete("/v1/documents/voucher", headers=AUTH)
    assert r.status_code == 200, r.text
    gone = r.json()
    assert gone["action"] == "removed" and gone["doc_id"] == "voucher" and gone["file"] == "voucher.txt"
    assert gone["passages"] == plan_passages and gone["embedded"] == 0
    assert listed_ids(client) == [PLAN_ID]
    answer = ask(client, VOUCHER_Q)
    assert all(c["doc_id"] != "voucher" for c in answer["citations"] + answer["related"])
    assert "万元" not in answer["answer"]
    hits = client.post("/v1/search", json={"query": "测试市创新券额度", "top_k": 10}).json()["hits"]
    assert all(h["doc_id"] != "voucher" for h in hits)
    assert not (settings.corpus_dir / "voucher.txt").exists()
    assert [d["doc_id"] for d in list_documents(settings)] == [PLAN_ID]

    # deleting it again: 404
    r = client.delete("/v1/documents/voucher", headers=AUTH)
    assert r.status_code == 404 and "voucher" in r.json()["detail"]


def test_markdown_upload_and_hostile_file_name(client, settings, tmp_path):
    md = ("# 测试市青年人才安居补贴实施细则\n\n（测试用虚构文件）\n\n"
          "第一条 全日制博士研究生每人每年发放安居补贴6万元，补贴期限最长三年。\n\n"
          "第二条 硕士研究生每人每年发放安居补贴3万元，补贴期限最长三年。\n")
    r = upload(client, "../../evil.md", md.encode("utf-8"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["file"] == "evil.md" and body["doc_id"] == "evil" and body["action"] == "added"
    assert (settings.corpus_dir / "evil.md").read_text(encoding="utf-8") == md
    # nowhere else: not next to corpus/, not in the tmp root, not in the data dir
    found = sorted(tmp_path.rglob("evil.md*"))
    assert found == [settings.corpus_dir / "evil.md"], found
    answer = ask(client, "测试市博士研究生安居补贴每年多少？")
    assert answer["answerable"] is True and "6万元" in answer["answer"]
    assert answer["citations"][0]["doc_id"] == "evil"


def test_delete_of_the_only_document_is_refused(client, settings):
    r = client.delete(f"/v1/documents/{PLAN_ID}", headers=AUTH)
    assert r.status_code == 422, r.text
    assert "only document" in json.dumps(r.json(), ensure_ascii=False)
    assert listed_ids(client) == [PLAN_ID]
    assert "6000" in ask(client, PLAN_Q)["answer"]


# ---------------------------------------------------------------- auth


def test_no_token_configured_disables_the_admin_endpoints(built_settings, tmp_path):
    settings = private_index(built_settings, tmp_path / "lib")  # no admin_token
    before = corpus_files(settings)
    app = create_app(settings, assistant=Assistant.from_settings(settings, build=False), ui=False)
    with TestClient(app) as c:
        r = upload(c, "voucher.txt", VOUCHER.encode("utf-8"))
        assert r.status_code == 403 and "PA_ADMIN_TOKEN" in r.json()["detail"]
        r = c.delete(f"/v1/documents/{PLAN_ID}", headers=AUTH)
        assert r.status_code == 403
        assert c.get("/v1/documents").status_code == 200  # reading stays open
    assert corpus_files(settings) == before


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer wrong"},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": "Bearer "},
    {"Authorization": TOKEN},
    {"Authorization": f"Bearer {TOKEN}x"},
], ids=["missing", "wrong", "basic", "empty", "no-scheme", "longer"])
def test_missing_or_wrong_token_is_401(guarded, headers):
    client, settings = guarded
    before = corpus_files(settings)
    r = upload(client, "voucher.txt", VOUCHER.encode("utf-8")[:1500], headers=headers)
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"] == "Bearer"
    r = client.delete(f"/v1/documents/{PLAN_ID}", headers=headers)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert corpus_files(settings) == before
    assert listed_ids(client) == [PLAN_ID]


def test_token_scheme_is_case_insensitive(client):
    r = client.delete("/v1/documents/no-such-doc", headers={"Authorization": f"bearer {TOKEN}"})
    assert r.status_code == 404  # authorised, then: no such document


# ---------------------------------------------------------------- refused uploads change nothing


def test_disallowed_extension_is_422_naming_the_allowed_types(guarded):
    client, settings = guarded
    before = corpus_files(settings)
    for name in ("setup.exe", "notes", "policy.txt.sh"):
        r = upload(client, name, b"MZ\x90\x00")
        assert r.status_code == 422, (name, r.text)
        detail = r.json()["detail"]
        assert ".txt" in detail and ".md" in detail and ".pdf" in detail
    assert corpus_files(settings) == before


def test_file_over_max_upload_bytes_is_413(guarded):
    client, settings = guarded
    before = corpus_files(settings)
    big = (VOUCHER * 3).encode("utf-8")
    assert len(big) > 2048
    r = upload(client, "voucher.txt", big)
    assert r.status_code == 413 and "2048" in r.json()["detail"]
    huge = b"x" * (2048 + 200 * 1024)  # over the request-body limit of the upload route too
    r = upload(client, "huge.txt", huge)
    assert r.status_code == 413
    assert corpus_files(settings) == before
    assert listed_ids(client) == [PLAN_ID]


@pytest.mark.parametrize("metadata", ["{bad json", "[1, 2]", '"a string"'])
def test_bad_metadata_is_422(guarded, metadata):
    client, settings = guarded
    before = corpus_files(settings)
    r = upload(client, "voucher.txt", VOUCHER.encode("utf-8")[:1500], metadata)
    assert r.status_code == 422, r.text
    assert "metadata" in r.json()["detail"]
    assert corpus_files(settings) == before


def test_delete_unknown_doc_id_is_404(guarded):
    client, settings = guarded
    before = corpus_files(settings)
    r = client.delete("/v1/documents/no-such-doc", headers=AUTH)
    assert r.status_code == 404 and "no-such-doc" in r.json()["detail"]
    assert corpus_files(settings) == before


def test_unreadable_upload_is_a_client_error(guarded):
    client, settings = guarded
    before = corpus_files(settings)
    r = upload(client, "empty.txt", b"  \n\n")
    assert corpus_files(settings) == before
    assert r.status_code in (400, 415, 422), r.text
    assert "empty.txt" in json.dumps(r.json(), ensure_ascii=False)
    assert "/tmp/" not in r.text
