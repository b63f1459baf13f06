"""The support finder on the plan, with profiles written from the plan's text.

Each profile asserts measures that must be returned (by the words of their source sentence and
section, so a re-worded title does not matter) and measures that must not be offered as applicable.
"""
from __future__ import annotations

import pytest

from assistant.errors import InvalidQuery
from assistant.finder import Profile

pytestmark = pytest.mark.slow


def run(assistant, **profile) -> dict:
    return assistant.match(Profile(**profile))


def find(result: dict, quote: str, section: str = "") -> dict | None:
    for m in result["measures"]:
        c = m["citation"]
        if quote in c["quote"] and section in c["section"]:
            return m
    return None


def offered(result: dict, quote: str, section: str = "") -> bool:
    """Offered as applicable: returned and not marked unlikely."""
    m = find(result, quote, section)
    return m is not None and m["status"] != "unlikely"


def cond(measure: dict, label_part: str) -> dict:
    return next(c for c in measure["conditions"] if label_part in c["condition"])


def test_a_sme_in_changsha_etdz_making_hydraulic_parts(assistant):
    r = run(assistant, entity_type="enterprise", qualifications=["科技型中小企业"], park="长沙经开区",
            industry="工程机械", description="生产工程机械液压件")
    credit = find(r, "完善科技型中小企业银行信贷风险分担机制", "完善科技金融服务体系")
    assert credit and credit["status"] == "likely", r["measures"]
    assert cond(credit, "对象")["status"] == "met"
    parts = find(r, "液压件", "专栏5—1")
    assert parts and parts["kind"] == "产业方向" and any("液压件" in w for w in parts["why"])
    park = find(r, "长沙经开区", "专栏4—3")
    assert park and park["status"] == "likely" and park["kind"] == "园区定位"
    # not for this asker: another park's positioning, talent-only and 高企-only measures as applicable
    assert find(r, "浏阳经开区", "专栏4—3") is None
    assert find(r, "外国留学生") is None
    pool = find(r, "高新技术企业信贷风险补偿资金池")
    assert pool is None or pool["status"] != "likely"


def test_b_newly_certified_hte_in_liuyang_biomedicine(assistant):
    r = run(assistant, entity_type="enterprise", qualifications=["高新技术企业"], park="浏阳经开区",
            industry="生物医药", description="今年首次认定为高新技术企业")
    first = find(r, "首次认定", "加强高新技术企业培育")
    assert first and first["status"] == "likely"
    assert cond(first, "首次认定")["status"] == "met"
    pool = find(r, "高新技术企业信贷风险补偿资金池规模")
    assert pool and pool["status"] == "likely"
    fund = find(r, "优先投入高新技术企业", "专栏3—6")
    assert fund and cond(fund, "领域")["status"] == "met"  # 生物医药 is among the named industries
    assert any(m["kind"] == "产业方向" and "生物与新医药" in m["citation"]["section"] for m in r["measures"])
    assert find(r, "浏阳经开区", "专栏4—3")["status"] == "likely"
    assert find(r, "长沙经开区", "专栏4—3") is None
    assert not any("工程机械" in m["citation"]["section"] for m in r["measures"])
    assert find(r, "提高科技型中小企业信贷坏账补偿力度") is None or \
        find(r, "提高科技型中小企业信贷坏账补偿力度")["status"] != "likely"


def test_hte_without_saying_first_certification_must_verify(assistant):
    """Never claim a condition the profile cannot show: the same measure is `check`, its condition unknown."""
    r = run(assistant, entity_type="enterprise", qualifications=["高新技术企业"], industry="生物医药")
    first = find(r, "首次认定", "加强高新技术企业培育")
    assert first and first["status"] == "check"
    assert cond(first, "首次认定")["status"] == "unknown"
    assert all(c["status"] != "met" or c["note"].startswith("资料显示") for m in r["measures"] for c in m["conditions"])


def test_c_overseas_young_researcher_joining_csu(assistant):
    r = run(assistant, entity_type="researcher", talent_category="青年人才",
            description="在海外获得博士学位的青年研究人员，即将全职加入中南大学")
    assert {"青年人才", "海外人才"} <= set(r["profile"]["recognised"]["targets"])
    for quote in ("支持青年人才领衔科研攻关任务", "加大海外专家引智项目支持力度", "加大长沙市青年科研人员基础研究支持力度"):
        m = find(r, quote)
        assert m and m["status"] == "likely", quote
    # 高层次人才 services: the profile does not show it -> offered, but to verify
    for m in r["measures"]:
        if "高层次" in m["title"]:
            assert m["status"] == "check"
    # enterprise and institution measures are not for a person
    assert find(r, "完善科技型中小企业银行信贷风险分担机制") is None
    assert find(r, "支持中南大学、湖南大学等高等院校建设世界一流大学") is None
    assert not any(m["kind"] == "园区定位" for m in r["measures"])


def test_foreign_expert_gets_residence_and_entry_measures(assistant):
    r = run(assistant, entity_type="researcher", qualifications=["外籍专家"], description="外籍工程师，打算在长沙创业")
    residence = find(r, "外籍专家永久居留")
    assert residence and residence["status"] == "likely"
    entry = find(r, "外国留学生创新创业出入境便利")
    assert entry and cond(entry, "对象")["status"] == "met"
    assert cond(entry, "依法依规")["status"] == "unknown" and entry["status"] == "check"


def test_academician_gets_high_level_talent_services(assistant):
    r = run(assistant, entity_type="researcher", talent_category="院士")
    for quote in ("一站式", "做大高层次人才信贷风险补偿基金", "住房保障、医疗服务、子女教育"):
        m = find(r, quote)
        assert m and m["status"] == "likely", quote
    assert find(r, "支持青年人才领衔科研攻关任务") is None or find(r, "支持青年人才领衔科研攻关任务")["status"] != "likely"


def test_leading_enterprise_and_sme_only_measures(assistant):
    r = run(assistant, entity_type="enterprise", qualifications=["龙头企业"], industry="工程机械")
    lead = find(r, "支持龙头企业联合大院大所进行关键核心技术攻关")
    assert lead and lead["status"] == "likely"
    assert not offered(r, "提高科技型中小企业信贷坏账补偿力度")
    assert not offered(r, "完善科技型中小企业银行信贷风险分担机制")


def test_sme_is_shown_leading_enterprise_measures_as_unlikely_at_most(assistant):
    r = run(assistant, entity_type="enterprise", qualifications=["科技型中小企业"], industry="生物医药")
    for m in r["measures"]:
        if m["targets"] == ["龙头企业"]:
            assert m["status"] == "unlikely" and cond(m, "对象")["status"] == "not_met"


def test_new_rd_institution_in_new_materials(assistant):
    r = run(assistant, entity_type="institution", qualifications=["新型研发机构"], industry="新材料")
    m = find(r, "现有工业技术研究院提升创新能力", "推进新型研发机构建设")
    assert m and m["status"] == "likely"
    assert any(x["kind"] == "产业方向" and "新材料" in x["citation"]["section"] for x in r["measures"])
    assert find(r, "完善科技型中小企业银行信贷风险分担机制") is None
    assert not any(x["kind"] in ("人才服务",) and x["targets"] == ["高层次人才"] for x in r["measures"])


def test_university_gets_technology_transfer_and_world_class_measures(assistant):
    r = run(assistant, entity_type="institution", qualifications=["高校"], description="湖南大学，希望建设技术转移中心")
    assert find(r, "支持中南大学、湖南大学等高等院校建设世界一流大学")["status"] == "likely"
    assert find(r, "在长沙建立技术转移中心")["status"] == "likely"
    assert find(r, "提高科技型中小企业信贷坏账补偿力度") is None
    assert find(r, "做大高层次人才信贷风险补偿基金") is None


def test_incubator_only_sees_what_names_incubators(assistant):
    r = run(assistant, entity_type="institution", qualifications=["孵化器", "众创空间"])
    assert r["measures"], "an incubator is named in the transfer-platform measures"
    assert all("孵化" in "".join(m["citation"]["quote"]) or m["status"] != "likely" for m in r["measures"])
    assert find(r, "吸引银行、保险进驻服务站") is None


def test_free_text_profile_is_parsed_like_the_fields(assistant):
    free = run(assistant, entity_type="enterprise", description="我们是浏阳经开区的生物医药科技型中小企业")
    fields = run(assistant, entity_type="enterprise", qualifications=["科技型中小企业"], park="浏阳经开区",
                 industry="生物医药")
    assert free["profile"]["recognised"] == fields["profile"]["recognised"] == {
        "targets": ["科技型中小企业"], "industries": ["生物与新医药"], "places": ["浏阳经开区"]}
    assert [m["id"] for m in free["measures"]][:10] == [m["id"] for m in fields["measures"]][:10]


def test_results_are_bounded_grouped_and_cited(assistant):
    r = run(assistant, entity_type="enterprise", qualifications=["高新技术企业", "科技型中小企业"], industry="新材料",
            park="宁乡高新区")
    assert 5 <= len(r["measures"]) <= 20
    grouped = [m["id"] for g in r["groups"] for m in g["measures"]]
    assert sorted(grouped) == sorted(m["id"] for m in r["measures"])
    for m in r["measures"]:
        c = m["citation"]
        p = assistant.passage(c["passage_id"])
        assert p is not None and c["text"] == p.text and c["section"] == p.section_path
        for part in c["quote"].split(" … "):
            assert part.rstrip("。；;") in p.text  # the quote is the passage's own words
        assert m["status"] in ("likely", "check", "unlikely") and m["why"]
        statuses = {x["status"] for x in m["conditions"]}
        expected = "unlikely" if "not_met" in statuses else "check" if "unknown" in statuses else "likely"
        assert m["status"] == expected


def test_invalid_profiles_name_the_field(assistant):
    with pytest.raises(InvalidQuery, match="entity_type='company'.*enterprise, researcher, institution"):
        Profile(entity_type="company")
    with pytest.raises(InvalidQuery, match="description is 501 characters"):
        Profile(entity_type="enterprise", description="字" * 501)
    with pytest.raises(InvalidQuery, match="limit=0"):
        assistant.match(Profile(entity_type="enterprise"), 0)


def test_district_only_gives_its_parks_to_verify(assistant):
    r = run(assistant, entity_type="enterprise", description="我们是雨花区一家做新能源汽车零部件的规上企业")
    assert r["profile"]["recognised"]["places"] == []  # a district is not claimed to be a park
    park = find(r, "雨花经开区", "专栏4—3")
    assert park and park["kind"] == "园区定位" and park["status"] == "check"
    assert cond(park, "所在园区")["status"] == "unknown" and "雨花区" in cond(park, "所在园区")["note"]
    assert find(r, "长沙经开区", "专栏4—3") is None  # another district's park
    # the free text's specific words (零部件) lead to the 专栏 item that repeats them, and `why` says so
    parts = next(m for m in r["measures"] if m["kind"] == "产业方向" and "关键零部件" in m["citation"]["section"])
    assert any("零部件" in w for w in parts["why"])


def test_two_mountains_park_positioning(assistant):
    r = run(assistant, entity_type="enterprise", qualifications=["科技型中小企业"], park="马栏山", industry="视频")
    park = next(m for m in r["measures"] if m["kind"] == "园区定位")
    assert park["status"] == "likely" and "马栏山视频文创产业园" in park["citation"]["section"]
