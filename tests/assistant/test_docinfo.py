"""Questions about the document itself, answered from its metadata and citing the passage that states it."""
from __future__ import annotations

import pytest

from docfixtures import VOUCHER, VOUCHER_TITLE, private_index


@pytest.mark.parametrize("question, value", [
    ("这个规划的发文字号是多少？", "长政办发〔2021〕30号"),
    ("长沙十四五科技创新规划是哪天印发的？", "2021年6月22日"),
    ("规划是哪个单位发布的？", "长沙市人民政府办公厅"),
    ("规划从什么时候开始执行？", "本规划自公布之日起施行"),
    ("Who issued the plan?", "长沙市人民政府办公厅"),
    ("When was the plan issued?", "2021年6月22日"),
])
def test_document_fields(assistant, question, value):
    ans = assistant.ask(question)
    assert ans.answerable and value in ans.answer, ans.answer
    [c] = ans.citations
    assert value in c.text and c.quote and c.quote in c.text.replace("\n", "") or value in c.quote


def test_a_clause_question_is_not_a_document_question(assistant):
    ans = assistant.ask("科技创新券的有效期是多久？")  # the plan states no validity period for the vouchers
    # not routed to the document's own dates (施行, 有效期 of the plan): weighed like any clause question
    assert "自公布之日起施行" not in ans.answer and not any("document" in n for n in ans.notices)
    assert ans.answerable is False or any("科技创新券" in c.text for c in ans.citations)


def test_with_two_documents_the_question_names_which(built_settings, tmp_path):
    from assistant.core import Assistant
    from assistant.library.documents import add_documents

    settings = private_index(built_settings, tmp_path)
    src = tmp_path / "voucher.txt"
    src.write_text(VOUCHER, encoding="utf-8")
    add_documents(settings, [src], {"doc_number": "测科发〔2024〕7号", "issued": "2024-03-01", "issuer": "测试市科学技术局"})
    two = Assistant.from_settings(settings, build=False)
    plan = two.ask("这个规划的发文字号是多少？")
    assert "长政办发〔2021〕30号" in plan.answer and plan.citations[0].doc_id == "changsha-sti-plan-2021-2025"
    voucher = two.ask(f"《{VOUCHER_TITLE}》的发文字号是多少？")  # in its metadata only, not in its text
    assert "测科发〔2024〕7号" in voucher.answer and "据文件登记信息" in voucher.answer
    assert [c.doc_id for c in voucher.citations] == [voucher.citations[0].doc_id] != ["changsha-sti-plan-2021-2025"]
    # naming no document: each document's own value, each cited; a follow-up means the document just discussed
    each = two.ask("那是哪个单位发的文？")
    assert "长沙市人民政府办公厅" in each.answer and "测试市科学技术局" in each.answer
    assert {c.doc_id for c in each.citations} == {"changsha-sti-plan-2021-2025", voucher.citations[0].doc_id}
    history = [{"role": "user", "content": "长沙十四五科技创新规划是哪天印发的？"},
               {"role": "assistant", "content": two.ask("长沙十四五科技创新规划是哪天印发的？").answer}]
    followup = two.ask("那是哪个单位发的文？", history)
    assert "长沙市人民政府办公厅" in followup.answer and "测试市科学技术局" not in followup.answer
    assert [c.doc_id for c in followup.citations] == ["changsha-sti-plan-2021-2025"]
