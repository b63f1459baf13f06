"""What kind of value a question asks for, and whether a sentence holds one: features, not rules.

Origin: written in issue 14 from general Chinese and English question wording (多少万元, 哪年, 电话, how many …)
and the ways policy texts state values (万元, %, X年, 路X号 …), not from the evaluation sets' questions. They
now only feed the evidence stage's features (`type_asked`, `type_held`, and the question model's
`type_missing`/`typed_about`); the learned weights decide what they are worth, and `python -m evals train`
reports the models with them. No question is refused by a pattern.
"""
from __future__ import annotations

import re

CN_NUM = "零〇一二两三四五六七八九十百千万"
_COUNT_UNITS = "家个项人所条座类种名支件批处台套"

# type -> (how a question asks for it, what the answering sentence must hold)
ANSWER_TYPES: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "money": (
        re.compile(r"多少钱|多少万|多少元|多少亿|几万|金额|额度|补贴标准|奖励标准|资助标准|补贴多少|奖励多少|资助多少|奖补多少|"
                   r"给多少|拿多少|发多少|多少(?:的)?(?:补贴|奖励|资金|经费|支持|扶持|资助|奖补|补助)|(?:支持|扶持|资助|补助)多少|规模有多大|多大规模|资金规模|基金规模|总额|"
                   r"(?:补贴|奖励|资助|奖补|补助|奖金|经费)(?:标准)?(?:是|为|有|能有)多少|"
                   r"[价费](?:格|钱|用)?(?:标准)?(?:是|为|要|大概)?多少|多少(?:费用|价钱)|收费(?:标准|多少)|"
                   r"\bprice\b|\bfees?\b|how much does .{0,40}cost|"
                   r"how much money|how much (?:funding|subsidy|support|is the (?:subsidy|grant|award|reward))|"
                   r"\bamount\b|\byuan\b|\brmb\b|how (?:big|large) is the fund", re.I),
        re.compile(rf"\d[\d,.]*\s*(?:万元|亿元|元|万|亿)|[{CN_NUM}]+(?:万元|亿元|元)|[(（]\s*(?:万元|亿元|元)\s*[)）]"),
    ),
    "monthly": (
        re.compile(r"每月|每个月|按月|月薪|月工资|per month|monthly", re.I),
        re.compile(r"每月|每个月|按月|/月|月均"),
    ),
    "percentage": (
        re.compile(r"比例是多少|比例多少|比例为多少|百分之几|百分之多少|占比多少|占比是多少|多少比例|几成|"
                   r"what percent|what share|what proportion|percentage", re.I),
        re.compile(rf"\d+(?:\.\d+)?\s*%|百分之[{CN_NUM}]+|个百分点|[(（]\s*%\s*[)）]|[{CN_NUM}]成"),
    ),
    "count": (
        re.compile(rf"多少[{_COUNT_UNITS}](?![持撑付出])|(?<![哪这那])几[{_COUNT_UNITS}](?![持撑付出])|how many", re.I),
        re.compile(rf"\d+\s*[{_COUNT_UNITS}]|[两三四五六七八九十百千]+[{_COUNT_UNITS}大]|[(（][^)）]{{0,6}}[{_COUNT_UNITS}][^)）]{{0,6}}[)）]|"
                   rf"\d+(?:\.\d+)?\s*(?:以上|以内|左右)"),
    ),
    "year": (
        re.compile(r"哪一年|哪年|几几年|什么时候建成|何时建成|什么时候完成|何时完成|哪年建成|什么时候验收|何时验收|"
                   r"什么时候投用|何时投用|什么时候投入使用|which year|what year|when will .{0,40}(?:be )?(?:completed|built|finished|ready|accepted)", re.I),
        re.compile(r"(?:19|20)\d\d\s*年"),
    ),
    "duration": (
        re.compile(r"多久|多长时间|多长期限|期限是多少|有效期(?:是|为|有)?多|几年有效|how long|for how many (?:years|months)", re.I),
        re.compile(rf"\d+\s*(?:年|个月|月|天|日|周)(?:内|以内|之内)?|[{CN_NUM}]+(?:年|个月|天)(?:内|以内)?"),
    ),
    "date": (
        re.compile(r"哪天|哪一天|几月几[日号]|具体日期|什么日期|哪个日期|on what date|which day|what date", re.I),
        re.compile(r"\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}-\d{1,2}-\d{1,2}|\d{4}年\d{1,2}月"),
    ),
    "deadline": (
        re.compile(r"截止|截至日期|申报时间|申请时间|什么时候申报|什么时候申请|何时申报|何时申请|报名时间|几号前|"
                   r"deadline|when (?:can|should|do) (?:we|i) apply|application period", re.I),
        re.compile(r"\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}-\d{1,2}-\d{1,2}|\d{4}年\d{1,2}月"),
    ),
    "place": (
        re.compile(r"地址|在哪里办|在哪儿办|去哪里办|去哪办|办公地点|办公室在|位于哪|具体位置|在什么位置|"
                   r"where is (?:the )?(?:office|address)|address|where (?:do|can) (?:i|we) (?:go|apply)", re.I),
        re.compile(r"路\s*\d+\s*号|\d+\s*号楼|大厦|大楼|街道|地址\s*[:：]|位于|办公地点"),
    ),
    "contact": (
        re.compile(r"电话|热线|联系方式|联系人|邮箱|网址|官网|phone|hotline|contact|e-?mail|website", re.I),
        re.compile(r"\d{3,4}-?\d{7,8}|1[3-9]\d{9}|@|https?://|www\.|\d{5,}"),
    ),
    "procedure": (
        re.compile(r"怎么申请|如何申请|怎样申请|怎么申报|如何申报|怎样申报|申请流程|申报流程|办理流程|申请程序|申报程序|"
                   r"需要什么材料|需要哪些材料|要交什么材料|提交什么材料|申报材料|申请材料|"
                   r"how (?:do|can) (?:i|we) apply|application (?:process|procedure)|what documents", re.I),
        re.compile(r"(?:申报|申请|办理)(?:流程|程序|材料|指南)|提交.{0,12}(?:材料|申请)|登录.{0,12}(?:系统|平台)|受理|网上申报"),
    ),
}


def asked_types(question: str) -> list[str]:
    return [name for name, (ask, _) in ANSWER_TYPES.items() if ask.search(question)]


def holds(name: str, text: str) -> bool:
    """The text holds a value of answer type `name`."""
    return ANSWER_TYPES[name][1].search(text) is not None
