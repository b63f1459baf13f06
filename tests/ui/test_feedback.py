"""assistant.feedback.record_feedback: one intact JSON line per vote, appended; clear errors when it cannot write.

No index needed: the answers are hand-made `Answer` objects (the same `to_dict()` shape the UI passes in).
"""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from assistant.answer import Answer, Citation
from assistant.errors import AssistantError
from assistant.errors import FeedbackError
from assistant.feedback import feedback_path, record_feedback

KEYS = {"time", "question", "answer", "answerable", "mode", "citations", "vote", "comment"}
CITATION_KEYS = {"n", "passage_id", "doc_title", "section"}
QUESTION = "到2025年高新技术企业数量目标是多少？"


def _answer(n_citations: int = 2) -> dict:
    citations = [
        Citation(n=i, passage_id=f"plan:{i:04x}", doc_id="plan", doc_title="长沙市“十四五”科技创新发展规划（2021—2025年）",
                 section="一、总体要求 > （三）发展目标", text=f"第{i}段全文，不应写入反馈。", quote=f"第{i}段",
                 meta={"doc_number": "长政办发〔2021〕30号"})
        for i in range(1, n_citations + 1)
    ]
    return Answer(question=QUESTION, answer="根据规划：高新技术企业数(家)：2020年 4142；2025年目标 6000[1]",
                  answerable=True, citations=citations, standalone_question=QUESTION).to_dict()


def _lines(path: Path) -> list[dict]:
    raw = path.read_text(encoding="utf-8")
    assert raw.endswith("\n"), "every record must end with a newline"
    return [json.loads(line) for line in raw.splitlines()]


# ---------------------------------------------------------------------------- writing
def test_writes_one_json_line_with_every_key(tmp_path):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    entry = record_feedback(tmp_path, question=QUESTION, answer=_answer(), vote="up", comment="  很有用  ")
    after = datetime.now(timezone.utc)

    path = feedback_path(tmp_path)
    assert path == tmp_path / "feedback.jsonl"
    [line] = _lines(path)
    assert line == entry
    assert set(line) == KEYS
    assert line["question"] == QUESTION
    assert line["answer"].startswith("根据规划：") and "6000" in line["answer"]
    assert line["answerable"] is True
    assert line["mode"] == "extractive"
    assert line["vote"] == "up"
    assert line["comment"] == "很有用"  # stripped
    # citations are reduced to what identifies them (no passage text in the feedback log)
    assert [set(c) for c in line["citations"]] == [CITATION_KEYS, CITATION_KEYS]
    assert [c["n"] for c in line["citations"]] == [1, 2]
    assert line["citations"][0]["passage_id"] == "plan:0001"
    assert line["citations"][0]["section"] == "一、总体要求 > （三）发展目标"
    # an ISO-8601 UTC timestamp of when it was written
    t = datetime.fromisoformat(line["time"])
    assert t.utcoffset() == timedelta(0)
    assert before <= t <= after
    # Chinese is written as is (readable with `tail`), not as \\u escapes
    assert QUESTION in path.read_text(encoding="utf-8")


def test_down_vote_without_comment_and_minimal_answer(tmp_path):
    entry = record_feedback(tmp_path, question="深圳的高企政策是什么？", answer={}, vote="down")
    [line] = _lines(feedback_path(tmp_path))
    assert line == entry
    assert set(line) == KEYS
    assert line["vote"] == "down" and line["comment"] == ""
    assert line["answer"] == "" and line["citations"] == []
    assert line["answerable"] is None and line["mode"] is None


def test_refusal_answer_records_no_citations(tmp_path):
    refusal = Answer(question="深圳的高企政策是什么？", answer="规划中未找到关于“深圳的高企政策是什么”的具体规定。", answerable=False,
                     related=[Citation(0, "plan:1", "plan", "规划", "三、…", "相关段落")],
                     notices=["refused: 深圳 is not mentioned in the documents"]).to_dict()
    line = record_feedback(tmp_path, question=refusal["question"], answer=refusal, vote="down", comment="希望能回答")
    assert line["answerable"] is False
    assert line["citations"] == []  # related reading is not a citation
    assert _lines(feedback_path(tmp_path)) == [line]


def test_long_comment_is_truncated(tmp_path):
    line = record_feedback(tmp_path, question=QUESTION, answer=_answer(), vote="up", comment="长" * 5000)
    assert line["comment"] == "长" * 2000
    assert _lines(feedback_path(tmp_path))[0]["comment"] == "长" * 2000


def test_comment_with_newlines_and_quotes_stays_on_one_line(tmp_path):
    comment = '第一行\n第二行 "引号" \\ 反斜杠\r\n{"json": true}'
    record_feedback(tmp_path, question=QUESTION, answer=_answer(), vote="down", comment=comment)
    raw = feedback_path(tmp_path).read_text(encoding="utf-8")
    assert raw.count("\n") == 1
    assert json.loads(raw)["comment"] == comment.strip()


def test_calls_append(tmp_path):
    path = feedback_path(tmp_path)
    path.write_text('{"existing": true}\n', encoding="utf-8")
    first = record_feedback(tmp_path, question="问题一", answer=_answer(1), vote="up", comment="一")
    second = record_feedback(tmp_path, question="问题二", answer=_answer(0), vote="down", comment="二")
    lines = _lines(path)
    assert lines == [{"existing": True}, first, second]
    assert [line.get("vote") for line in lines[1:]] == ["up", "down"]


def test_missing_data_dir_is_created(tmp_path):
    data_dir = tmp_path / "not" / "yet" / "there"
    record_feedback(data_dir, question=QUESTION, answer=_answer(), vote="up")
    assert len(_lines(data_dir / "feedback.jsonl")) == 1


def test_data_dir_may_be_a_string(tmp_path):
    record_feedback(str(tmp_path), question=QUESTION, answer=_answer(), vote="up")
    assert len(_lines(tmp_path / "feedback.jsonl")) == 1


def test_concurrent_calls_produce_intact_lines(tmp_path):
    threads_n, per_thread = 8, 40
    barrier = threading.Barrier(threads_n)
    errors: list[BaseException] = []
    long_comment = "意见" * 600  # ~3.6 kB lines, so interleaved writes would show

    def worker(t: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                record_feedback(tmp_path, question=f"问题 {t}-{i}", answer=_answer(3),
                                vote="up" if i % 2 else "down", comment=f"{t}-{i} {long_comment}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(threads_n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors, errors
    lines = _lines(feedback_path(tmp_path))  # json.loads fails on any torn line
    assert len(lines) == threads_n * per_thread
    assert all(set(line) == KEYS for line in lines)
    assert sorted(line["question"] for line in lines) == sorted(
        f"问题 {t}-{i}" for t in range(threads_n) for i in range(per_thread))
    for line in lines:
        tag = line["question"].removeprefix("问题 ")
        assert line["comment"] == f"{tag} {long_comment}"[:2000]
        assert line["vote"] == ("up" if int(tag.split("-")[1]) % 2 else "down")
    # each thread's own records stay in the order it wrote them
    for t in range(threads_n):
        mine = [int(line["question"].split("-")[1]) for line in lines if line["question"].startswith(f"问题 {t}-")]
        assert mine == list(range(per_thread))


# ---------------------------------------------------------------------------- errors
def test_data_dir_under_a_regular_file_raises_feedback_error_naming_the_path(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file, not a directory")
    data_dir = blocker / "data"
    with pytest.raises(FeedbackError) as info:
        record_feedback(data_dir, question=QUESTION, answer=_answer(), vote="up", comment="x")
    assert isinstance(info.value, AssistantError)  # the UI/API edges catch AssistantError
    assert str(data_dir / "feedback.jsonl") in str(info.value)
    assert isinstance(info.value.__cause__, OSError)
    assert blocker.read_text() == "a regular file, not a directory"


def test_data_dir_that_is_a_file_raises_feedback_error(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.write_text("")
    with pytest.raises(FeedbackError, match="feedback.jsonl"):
        record_feedback(data_dir, question=QUESTION, answer=_answer(), vote="down")
    assert data_dir.read_text() == ""


def test_feedback_file_that_is_a_directory_raises_feedback_error(tmp_path):
    (tmp_path / "feedback.jsonl").mkdir()  # blocks writing even for root
    with pytest.raises(FeedbackError) as info:
        record_feedback(tmp_path, question=QUESTION, answer=_answer(), vote="up")
    assert str(tmp_path / "feedback.jsonl") in str(info.value)


@pytest.mark.parametrize("vote", ["UP", "meh", "", "👍", None, 1])
def test_invalid_vote_raises_and_writes_nothing(tmp_path, vote):
    with pytest.raises(FeedbackError) as info:
        record_feedback(tmp_path, question=QUESTION, answer=_answer(), vote=vote)
    assert "up" in str(info.value) and "down" in str(info.value)  # says what is allowed
    assert not feedback_path(tmp_path).exists()


def test_a_failed_write_does_not_break_later_writes(tmp_path):
    (tmp_path / "feedback.jsonl").mkdir()
    with pytest.raises(FeedbackError):
        record_feedback(tmp_path, question=QUESTION, answer=_answer(), vote="up")
    (tmp_path / "feedback.jsonl").rmdir()
    record_feedback(tmp_path, question=QUESTION, answer=_answer(), vote="up")  # the lock was released
    assert len(_lines(feedback_path(tmp_path))) == 1
