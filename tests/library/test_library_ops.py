"""The policy library in-process: add_documents / remove_document / list_documents / library_lock / safe_name.

Every test works on a PRIVATE copy of the session's built index (corpus/ + data/ copied), so the
plan's 189 passages are reused, never re-embedded, and the shared session index is never touched.

All 测试市 documents below are INVENTED test data (测试市 and its 科技局 do not exist; the amounts,
numbers and dates are made up); each says so with the line （测试用虚构文件）.
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from docfixtures import VOUCHER, VOUCHER_Q, VOUCHER_TITLE, private_index
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from assistant.core import Assistant
from assistant.errors import DocumentError, InvalidQuery
from assistant.library.documents import add_documents, library_lock, list_documents, remove_document, safe_name
from assistant.settings import Settings

PLAN_ID = "changsha-sti-plan-2021-2025"

# ---------------------------------------------------------------- invented test data (测试市 does not exist)
TALENT = """测试市青年人才安居补贴实施细则
（测试用虚构文件）
第一条 为吸引青年人才来测试市就业创业，对符合条件的青年人才发放安居补贴。
第二条 全日制博士研究生每人每年发放安居补贴6万元，硕士研究生每人每年发放安居补贴3万元，补贴期限最长三年。
第三条 申请人应当与测试市用人单位签订一年以上劳动合同，并在测试市缴纳社会保险。
"""


# ---------------------------------------------------------------- helpers




def write(path: Path, text: str, meta: dict | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if meta is not None:
        path.with_name(path.name + ".meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return path


def snapshot(corpus: Path) -> dict[str, bytes]:
    """Every file under corpus/ (hidden ones included) with its bytes."""
    return {str(p.relative_to(corpus)): p.read_bytes() for p in sorted(corpus.rglob("*")) if p.is_file()}


def doc(settings: Settings, doc_id: str) -> dict | None:
    return next((d for d in list_documents(settings) if d["doc_id"] == doc_id), None)


@pytest.fixture()
def lib(built_settings, tmp_path) -> Settings:
    return private_index(built_settings, tmp_path / "lib")


@pytest.fixture()
def src(tmp_path) -> Path:
    d = tmp_path / "incoming"
    d.mkdir()
    return d


# ---------------------------------------------------------------- add


def test_add_copies_into_corpus_indexes_incrementally_and_answers(lib, src):
    before = list_documents(lib)
    assert [d["doc_id"] for d in before] == [PLAN_ID]
    plan_passages = before[0]["passages"]

    result = add_documents(lib, [write(src / "voucher.txt", VOUCHER)])

    [added] = result.documents
    assert (added.doc_id, added.title, added.file, added.replaced) == ("voucher", VOUCHER_TITLE, "voucher.txt", False)
    assert (lib.corpus_dir / "voucher.txt").read_text(encoding="utf-8") == VOUCHER
    assert (src / "voucher.txt").exists()  # copied, not moved

    listed = doc(lib, "voucher")
    assert listed is not None and listed["title"] == VOUCHER_TITLE and listed["passages"] >= 4
    report = result.build
    assert report.status == "built" and report.documents == 2
    assert report.passages == plan_passages + listed["passages"]
    # incremental: only the new document's passages were embedded, the plan's were reused
    assert report.embedded == listed["passages"]
    assert report.reused == plan_passages
    assert result.seconds >= report.seconds > 0

    answer = Assistant.from_settings(lib, build=False).ask(VOUCHER_Q)
    assert answer.answerable is True
    assert "20万元" in answer.answer
    assert answer.citations[0].doc_id == "voucher"
    assert answer.citations[0].doc_title == VOUCHER_TITLE


def test_add_reports_progress_of_embedding(lib, src):
    calls: list[tuple[int, int]] = []
    result = add_documents(lib, [write(src / "voucher.txt", VOUCHER)], progress=lambda d, t: calls.append((d, t)))
    assert calls, "no progress reported while embedding"
    assert calls[-1] == (result.build.embedded, result.build.embedded)
    assert all(t == result.build.embedded for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_meta_writes_a_sidecar_merged_over_the_sources_own(lib, src):
    own = {"issuer": "测试市科技局", "doc_number": "测科规〔2024〕1号", "status": "现行有效", "region": "测试市"}
    path = write(src / "voucher.txt", VOUCHER, meta=own)

    result = add_documents(lib, [path], meta={"status": "已修订", "issued": "2024-03-01", "title": "测试市创新券办法（修订）"})

    sidecar = lib.corpus_dir / "voucher.txt.meta.json"
    stored = json.loads(sidecar.read_text(encoding="utf-8"))
    assert stored["issuer"] == "测试市科技局" and stored["doc_number"] == "测科规〔2024〕1号"  # from the source's sidecar
    assert stored["status"] == "已修订" and stored["issued"] == "2024-03-01"  # given meta wins
    assert result.documents[0].title == "测试市创新券办法（修订）"

    listed = doc(lib, "voucher")
    assert listed["title"] == "测试市创新券办法（修订）"
    assert {k: listed[k] for k in ("issuer", "doc_number", "status", "issued", "region")} == {
        "issuer": "测试市科技局", "doc_number": "测科规〔2024〕1号", "status": "已修订", "issued": "2024-03-01",
        "region": "测试市"}


def test_sidecar_doc_id_names_the_document(lib, src):
    path = write(src / "2024-07-notice.txt", TALENT, meta={"doc_id": "talent-housing"})
    result = add_documents(lib, [path])
    assert result.documents[0].doc_id == "talent-housing"
    assert result.documents[0].file == "2024-07-notice.txt"
    assert doc(lib, "talent-housing")["title"] == "测试市青年人才安居补贴实施细则"
    hits = Assistant.from_settings(lib, build=False).search("测试市博士研究生安居补贴", 3)
    # the document is found by its content under the sidecar's doc_id (the module's library also holds the
    # superseded versions of earlier tests' documents, which shift term statistics: the 6万元 clause need not be first)
    assert hits[0].passage.doc_id == "talent-housing"
    assert any(h.passage.doc_id == "talent-housing" and "6万元" in h.passage.text for h in hits)


def test_readding_a_changed_file_updates_it_keeps_the_old_version_and_embeds_only_what_changed(lib, src):
    add_documents(lib, [write(src / "voucher.txt", VOUCHER)])
    n_voucher = doc(lib, "voucher")["passages"]
    total = sum(d["passages"] for d in list_documents(lib))

    changed = VOUCHER.replace("最高为20万元", "最高为30万元")
    result = add_documents(lib, [write(src / "voucher.txt", changed)])

    assert result.documents[0].replaced is True and result.documents[0].doc_id == "voucher"
    assert result.documents[0].previous_version == "voucher@v1"
    assert result.build.status == "built"
    assert 1 <= result.build.embedded < n_voucher  # one clause changed: not the whole document
    assert result.build.reused == result.build.passages - result.build.embedded
    assert result.build.passages == total + n_voucher  # the previous version stays indexed (superseded)
    assert (lib.corpus_dir / "voucher.txt").read_text(encoding="utf-8") == changed
    assert [d["doc_id"] for d in list_documents(lib)].count("voucher") == 1
    assert doc(lib, "voucher@v1")["superseded"] is True and doc(lib, "voucher@v1")["status"] == "已修订"

    a = Assistant.from_settings(lib, build=False)
    answer = a.ask(VOUCHER_Q)
    assert "30万元" in answer.answer and "20万元" not in answer.answer
    assert not any("20万元" in h.passage.text for h in a.search("创新券额度 20万元", 10))


def test_readding_the_same_file_unchanged_embeds_nothing(lib, src):
    path = write(src / "voucher.txt", VOUCHER)
    first = add_documents(lib, [path])
    again = add_documents(lib, [path])
    assert again.documents[0].replaced is True
    assert again.build.status == "unchanged" and again.build.embedded == 0
    assert again.build.collection == first.build.collection
    assert again.build.passages == first.build.passages


def test_update_under_another_file_name_keeps_the_old_file_as_a_version(lib, src):
    add_documents(lib, [write(src / "voucher.txt", VOUCHER, meta={"doc_id": "voucher"})])
    newer = write(src / "voucher-2025.txt", VOUCHER.replace("最高为20万元", "最高为25万元"), meta={"doc_id": "voucher"})

    result = add_documents(lib, [newer])

    assert result.documents[0].replaced is True and result.documents[0].file == "voucher-2025.txt"
    visible = sorted(p.name for p in lib.corpus_dir.iterdir() if not p.name.startswith("."))
    assert "voucher.txt" not in visible and "voucher.txt.meta.json" not in visible
    assert "voucher-2025.txt" in visible
    # the old version is kept as a superseded version (left out of answers); its old sidecar is set aside
    assert (lib.corpus_dir / "versions" / "voucher" / "v1-voucher.txt").read_text(encoding="utf-8") == VOUCHER
    assert any(p.name.endswith("-voucher.txt.meta.json") for p in (lib.corpus_dir / ".removed").iterdir())
    assert [d["doc_id"] for d in list_documents(lib)] == sorted([PLAN_ID, "voucher", "voucher@v1"])
    answer = Assistant.from_settings(lib, build=False).ask(VOUCHER_Q)
    assert "25万元" in answer.answer and "20万元" not in answer.answer


def test_metadata_only_update_reaches_the_index(lib, src):
    path = write(src / "voucher.txt", VOUCHER)
    add_documents(lib, [path], meta={"status": "现行有效"})
    assert any(h.passage.doc_id == "voucher"
               for h in Assistant.from_settings(lib, build=False).search("测试市创新券额度", 10))

    result = add_documents(lib, [path], meta={"status": "已废止"})

    assert json.loads((lib.corpus_dir / "voucher.txt.meta.json").read_text(encoding="utf-8"))["status"] == "已废止"
    assert result.build.status == "built" and result.build.embedded == 0  # same text: no vector recomputed
    assert doc(lib, "voucher")["status"] == "已废止", result.build
    hits = Assistant.from_settings(lib, build=False).search("测试市创新券额度", 10)
    assert all(h.passage.doc_id != "voucher" for h in hits)  # repealed: left out by default


def test_title_only_update_reaches_the_index(lib, src):
    path = write(src / "voucher.txt", VOUCHER)
    add_documents(lib, [path], meta={"title": "测试市科技创新券管理办法（征求意见稿）"})
    assert doc(lib, "voucher")["title"] == "测试市科技创新券管理办法（征求意见稿）"
    result = add_documents(lib, [path], meta={"title": "测试市科技创新券管理办法（修订稿）"})
    assert result.documents[0].title == "测试市科技创新券管理办法（修订稿）"
    assert doc(lib, "voucher")["title"] == "测试市科技创新券管理办法（修订稿）", result.build
    answer = Assistant.from_settings(lib, build=False).ask(VOUCHER_Q)
    assert answer.citations[0].doc_title == "测试市科技创新券管理办法（修订稿）"


def test_same_file_name_for_another_document_does_not_silently_drop_one(lib, src):
    add_documents(lib, [write(src / "a" / "notice.txt", VOUCHER)], meta={"doc_id": "voucher"})
    before = snapshot(lib.corpus_dir)
    try:
        result = add_documents(lib, [write(src / "b" / "notice.txt", TALENT)], meta={"doc_id": "talent"})
    except (InvalidQuery, DocumentError):
        assert snapshot(lib.corpus_dir) == before  # refused: fine, as long as nothing changed
        return
    ids = {d["doc_id"] for d in list_documents(lib)}
    assert {"voucher", "talent"} <= ids, (result.documents, ids)


def test_several_files_in_one_call(lib, src):
    result = add_documents(lib, [write(src / "voucher.txt", VOUCHER), write(src / "talent.txt", TALENT)])
    assert [d.doc_id for d in result.documents] == ["voucher", "talent"]
    assert result.build.documents == 3
    assert [d["doc_id"] for d in list_documents(lib)] == sorted([PLAN_ID, "talent", "voucher"])


def test_upload_name_is_made_safe_and_stays_inside_corpus(lib, src, tmp_path):
    path = write(src / "upload.bin.txt", VOUCHER)
    result = add_documents(lib, [path], names=["../../etc/evil.txt"])
    assert result.documents[0].file == "evil.txt"
    assert (lib.corpus_dir / "evil.txt").read_text(encoding="utf-8") == VOUCHER
    everywhere = [p for p in tmp_path.rglob("evil.txt*")]
    assert everywhere == [lib.corpus_dir / "evil.txt"], everywhere
    assert doc(lib, "evil")["title"] == VOUCHER_TITLE


# ---------------------------------------------------------------- add: rejected before anything changes


BAD_FILES = {
    "empty": ("empty.txt", b"  \n\n"),
    "binary": ("binary.txt", bytes(range(256)) * 8),
    "unsupported": ("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_unreadable_file_raises_and_changes_nothing(lib, src, case):
    name, data = BAD_FILES[case]
    bad = src / name
    bad.write_bytes(data)
    corpus_before, docs_before = snapshot(lib.corpus_dir), list_documents(lib)

    with pytest.raises(DocumentError) as info:
        add_documents(lib, [bad])

    assert name in str(info.value)
    assert snapshot(lib.corpus_dir) == corpus_before
    assert list_documents(lib) == docs_before


def test_bad_file_among_several_changes_nothing(lib, src):
    good = write(src / "voucher.txt", VOUCHER)
    bad = src / "empty.txt"
    bad.write_text("\n \n", encoding="utf-8")
    corpus_before, docs_before = snapshot(lib.corpus_dir), list_documents(lib)
    with pytest.raises(DocumentError, match="empty"):
        add_documents(lib, [good, bad])
    assert snapshot(lib.corpus_dir) == corpus_before  # the good file was not copied either
    assert list_documents(lib) == docs_before


def test_bad_source_sidecar_is_rejected(lib, src):
    path = write(src / "voucher.txt", VOUCHER)
    (src / "voucher.txt.meta.json").write_text('{"issuer": "测试市科技局",', encoding="utf-8")
    corpus_before = snapshot(lib.corpus_dir)
    with pytest.raises(DocumentError, match="JSON"):
        add_documents(lib, [path])
    assert snapshot(lib.corpus_dir) == corpus_before
    assert doc(lib, "voucher") is None


def test_missing_file_and_bad_arguments(lib, src):
    corpus_before = snapshot(lib.corpus_dir)
    with pytest.raises(DocumentError, match="no such file"):
        add_documents(lib, [src / "nope.txt"])
    with pytest.raises(InvalidQuery, match="no files"):
        add_documents(lib, [])
    with pytest.raises(InvalidQuery, match="one file at a time"):
        add_documents(lib, [write(src / "a.txt", VOUCHER), write(src / "b.txt", TALENT)], meta={"status": "现行有效"})
    assert snapshot(lib.corpus_dir) == corpus_before


# ---------------------------------------------------------------- remove


def test_remove_moves_files_aside_and_drops_the_document(lib, src):
    add_documents(lib, [write(src / "voucher.txt", VOUCHER)], meta={"issuer": "测试市科技局"})
    plan = doc(lib, PLAN_ID)

    result = remove_document(lib, "voucher")

    assert result.documents[0].doc_id == "voucher"
    assert result.build.status == "built" and result.build.embedded == 0  # nothing left to embed
    assert result.build.documents == 1 and result.build.passages == plan["passages"]
    assert list_documents(lib) == [plan]
    assert not (lib.corpus_dir / "voucher.txt").exists()
    assert not (lib.corpus_dir / "voucher.txt.meta.json").exists()
    kept = sorted(p.name for p in (lib.corpus_dir / ".removed").iterdir())
    assert len(kept) == 2 and all(n.startswith(".") for n in kept)  # hidden: never read as documents
    a = Assistant.from_settings(lib, build=False)
    assert all(h.passage.doc_id != "voucher" for h in a.search("测试市创新券额度", 10))
    answer = a.ask(VOUCHER_Q)
    assert "20万元" not in answer.answer and all(c.doc_id != "voucher" for c in answer.citations)
    # the removed files are not picked up again by a later build
    assert Assistant.build(lib).status == "unchanged"


def test_remove_then_add_again(lib, src):
    path = write(src / "voucher.txt", VOUCHER)
    add_documents(lib, [path])
    remove_document(lib, "voucher")
    result = add_documents(lib, [path])
    assert result.documents[0].replaced is False
    assert doc(lib, "voucher")["title"] == VOUCHER_TITLE


def test_remove_unknown_doc_id_names_the_known_ones(lib, src):
    add_documents(lib, [write(src / "voucher.txt", VOUCHER)])
    corpus_before, docs_before = snapshot(lib.corpus_dir), list_documents(lib)
    with pytest.raises(InvalidQuery) as info:
        remove_document(lib, "no-such-doc")
    message = str(info.value)
    assert "no-such-doc" in message and PLAN_ID in message and "voucher" in message
    assert info.value.field == "doc_id"
    assert snapshot(lib.corpus_dir) == corpus_before and list_documents(lib) == docs_before


def test_removing_the_only_document_is_refused(lib):
    corpus_before, docs_before = snapshot(lib.corpus_dir), list_documents(lib)
    with pytest.raises(InvalidQuery, match="only document"):
        remove_document(lib, PLAN_ID)
    assert snapshot(lib.corpus_dir) == corpus_before and list_documents(lib) == docs_before


# ---------------------------------------------------------------- list


def test_list_documents_shows_metadata_and_counts_of_the_active_index(lib, src):
    [plan] = list_documents(lib)
    session = Assistant.from_settings(lib, build=False)
    assert plan["doc_id"] == PLAN_ID and plan["passages"] == len(session.passages) > 100  # 189 when written
    assert plan["title"] == "长沙市“十四五”科技创新发展规划（2021—2025年）"
    assert plan["doc_number"] == "长政办发〔2021〕30号" and plan["issuer"] == "长沙市人民政府办公厅"
    assert plan["issued"] == "2021-06-22" and plan["status"] == "现行有效"

    # a file dropped into corpus/ but not built yet is not listed: the list is the active index
    write(lib.corpus_dir / "talent.txt", TALENT)
    assert [d["doc_id"] for d in list_documents(lib)] == [PLAN_ID]
    add_documents(lib, [write(src / "voucher.txt", VOUCHER)])  # its build picks up talent.txt too
    assert [d["doc_id"] for d in list_documents(lib)] == sorted([PLAN_ID, "talent", "voucher"])


# ---------------------------------------------------------------- one writer at a time


def test_library_lock_serializes_writers(lib, src):
    path = write(src / "voucher.txt", VOUCHER)
    outcome: dict = {}

    def writer() -> None:
        try:
            outcome["result"] = add_documents(lib, [path])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = exc

    with library_lock(lib):
        t = threading.Thread(target=writer, daemon=True)
        t.start()
        time.sleep(1.0)
        assert t.is_alive(), outcome  # waiting for the lock
        assert not (lib.corpus_dir / "voucher.txt").exists()  # nothing written while another writer holds it
    t.join(120)
    assert not t.is_alive() and "error" not in outcome, outcome
    assert outcome["result"].documents[0].doc_id == "voucher"
    assert doc(lib, "voucher") is not None
    assert (lib.data_dir / ".library.lock").exists()


# ---------------------------------------------------------------- safe names


@pytest.mark.parametrize("given_name, expected", [
    ("../../etc/x.txt", "x.txt"),
    ("/etc/passwd.txt", "passwd.txt"),
    ("..\\..\\windows\\y.MD", "y.md"),
    ("科技 创新券(2024).txt", "科技_创新券_2024.txt"),
    ("报告.final.txt", "报告.final.txt"),
    (".hidden.txt", "hidden.txt"),
    ("..", "document"),
    ("", "document"),
    ("a b;rm -rf ~.txt", "a_b_rm_-rf.txt"),
])
def test_safe_name_examples(given_name, expected):
    assert safe_name(given_name) == expected


@hsettings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=120))
def test_safe_name_is_never_a_path(name):
    out = safe_name(name)
    assert out and "/" not in out and "\\" not in out and "\x00" not in out
    assert not out.startswith(".")  # never hidden (hidden files are not read) and never "." or ".."
    assert Path(out).name == out
    assert len(out) <= 80 + 1 + len(name)
