"""The learned evidence stage: the shipped model loads and matches its training data, a retrain reproduces it,
refusals follow the stored calibration, and a question naming a document's city or issuer is answered from
the clause (the city stands in the title, not in the clause).

白沙市 and its 高企奖励办法 below are INVENTED test data (the city, the amounts and the office are made up).
"""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from docfixtures import private_index

from assistant.core import Assistant
from assistant.errors import ConfigError
from assistant.pipeline.evidence import MODEL_FILE, EvidenceModel
from assistant.pipeline.features import FEATURES, QUESTION_FEATURES, matrix, question_row
from assistant.library.documents import add_documents
from evals.train import MODEL_PATH, training_items

TITLE = "白沙市高新技术企业奖励办法"
DOC = f"""{TITLE}
（测试用虚构文件）
第一条 为鼓励企业创新，制定本办法。
第二条 对首次认定的高新技术企业，一次性给予20万元奖励；对重新认定的高新技术企业，给予10万元奖励。
第三条 本办法由市科技局负责解释。
"""


def test_the_shipped_model_loads_with_its_training_data_hash():
    model = EvidenceModel.load()
    assert model.sentence.coef.shape == (len(FEATURES),) and model.answerable.coef.shape == (len(QUESTION_FEATURES),)
    assert 0.0 < model.threshold < 1.0
    _, data_hash = training_items()
    # the model was trained on the sets as they are: a changed set or corpus needs `python -m evals train`
    assert model.info["training_data_sha256"] == data_hash
    assert model.info["cross_validated"]["logistic"]["false_refusal"] <= model.info["max_false_refusals"]
    assert json.loads(MODEL_PATH.read_text(encoding="utf-8"))["threshold"] == model.threshold
    assert MODEL_PATH.name == MODEL_FILE


def test_a_model_for_other_features_is_refused_naming_the_rebuild(tmp_path):
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    data["features"] = data["features"][:-1] + ["something_else"]
    bad = tmp_path / "model.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError, match="something_else.*python -m evals train"):
        EvidenceModel.load(bad)
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot be read"):
        EvidenceModel.load(bad)


@pytest.mark.parametrize("question", ["到2025年高新技术企业数量目标是多少？", "长沙市明年的房价会涨吗？",
                                      "高企首次认定能拿到多少万元奖励？"])
def test_refusals_follow_the_stored_calibration(assistant, question):
    query = assistant.understand(question)
    hits = assistant.fused(query)
    evidence = assistant.evidence.weigh(query, hits)
    model = assistant.evidence.model
    p = float(model.answerable(question_row(evidence.ranked)[None, :])[0])
    assert evidence.answerable == pytest.approx(p)
    assert (evidence.refusal is not None) == (p < model.threshold)
    # the same evidence, thresholds moved: never refused at 0, always at 1
    for threshold, refused in ((0.0, False), (1.0, True)):
        stage = dataclasses.replace(assistant.evidence.model, threshold=threshold)
        other = type(assistant.evidence)(stage, assistant.evidence.facts, assistant.evidence.matcher)
        assert (other.weigh(query, hits).refusal is not None) is refused
    # the answer cites what the stage ranked first
    answer = assistant.ask(question)
    assert answer.answerable is (evidence.refusal is None)
    if answer.answerable:
        assert answer.citations[0].passage_id == evidence.ranked[0].hit.passage.id


def test_candidates_are_ranked_by_the_sentence_model(assistant):
    query = assistant.understand("科技型中小企业2025年目标是多少？")
    evidence = assistant.weigh(query)
    scores = assistant.evidence.model.sentence(matrix(evidence.ranked))
    assert np.all(np.diff(scores) <= 1e-9)  # best first
    assert [h.passage.id for h in evidence.hits[:3]] == list(dict.fromkeys(c.hit.passage.id
                                                                             for c in evidence.ranked))[:3]
    assert "5000" in assistant.ask("科技型中小企业2025年目标是多少？").answer


@pytest.mark.slow
def test_a_retrain_reproduces_the_shipped_model(assistant):
    """`python -m evals train` on the bundled corpus gives the shipped model again (the session index is the
    bundled corpus; tolerances cover float differences of the embedder across machines)."""
    from evals.train import train

    report = train(assistant, out=None, log=lambda _m: None)
    shipped = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    model = report["model"]
    assert model["info"]["training_data_sha256"] == shipped["info"]["training_data_sha256"]
    for part in ("sentence", "answerable"):
        np.testing.assert_allclose(model[part]["coef"], shipped[part]["coef"], atol=0.05)
        assert model[part]["intercept"] == pytest.approx(shipped[part]["intercept"], abs=0.05)
    assert model["threshold"] == pytest.approx(shipped["threshold"], abs=0.05)
    cv = report["cv"]["logistic"]
    assert cv["false_refusal"] <= 0.03 and cv["hit@1"] >= 0.8


@pytest.fixture(scope="module")
def with_city_document(built_settings, tmp_path_factory) -> Assistant:
    root = tmp_path_factory.mktemp("city-doc")
    settings = private_index(built_settings, root, llm_base_url=None)
    src = root / "incoming" / "baisha-hte-award.txt"
    src.parent.mkdir()
    src.write_text(DOC, encoding="utf-8")
    (src.parent / (src.name + ".meta.json")).write_text(json.dumps({"issuer": "白沙市科学技术局"}, ensure_ascii=False),
                                                        encoding="utf-8")
    result = add_documents(settings, [src])
    assert result.build.status == "built"
    return Assistant.from_settings(settings, build=False)


@pytest.mark.parametrize("question", ["白沙市对首次认定的高新技术企业奖励多少？",
                                      "白沙市科学技术局对重新认定的高企给多少奖励？"])
def test_a_question_naming_the_documents_city_or_issuer_is_answered_from_its_clause(with_city_document, question):
    answer = with_city_document.ask(question)
    assert answer.answerable, (answer.answer, answer.notices)
    assert answer.citations[0].doc_title == TITLE
    assert ("20万元" if "首次" in question else "10万元") in answer.answer
