"""A profile (who is asking) and the facts the finder reads from it, free text included."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.errors import InvalidQuery
from assistant.finder.vocab import ENTITY_TYPES, Vocabulary

MAX_FIELD_CHARS = 500

_RESEARCHER = re.compile(r"我是|本人|研究员|教授|博士|博士后|学者|科研人员|研究人员|工程师|青年人才|专家|讲师|副教授|留学生")
_INSTITUTION = re.compile(r"我们(?:是|单位)|(?:孵化器|众创空间|大学科技园|研究院|研究所|新型研发机构|高校|大学|实验室)(?:的|，|,|。|$)")
_ENTERPRISE = re.compile(r"企业|公司|厂|集团")
_YOUNG = re.compile(r"青年|年轻|(?:[23]\d|[一二三][十]?[一二三四五六七八九]?)岁|博士后|刚毕业|新入职")
_OVERSEAS = re.compile(r"海外|留学|海归|归国|回国|境外|国外|overseas", re.IGNORECASE)
_FOREIGN = re.compile(r"外籍|外国人|外国籍|foreign", re.IGNORECASE)


@dataclass
class Profile:
    entity_type: str
    qualifications: list[str] = field(default_factory=list)
    industry: str = ""
    park: str = ""
    district: str = ""
    talent_category: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if self.entity_type not in ENTITY_TYPES:
            raise InvalidQuery(f"entity_type={self.entity_type!r}; allowed: {', '.join(ENTITY_TYPES)}", field="entity_type")
        for name in ("industry", "park", "district", "talent_category", "description"):
            value = getattr(self, name) or ""
            if len(value) > MAX_FIELD_CHARS:
                raise InvalidQuery(f"{name} is {len(value)} characters; at most {MAX_FIELD_CHARS} are allowed", field=name)
            setattr(self, name, value.strip())
        if len(self.qualifications) > 30:
            raise InvalidQuery(f"qualifications has {len(self.qualifications)} items; at most 30 are allowed", field="qualifications")
        self.qualifications = [q.strip() for q in self.qualifications if q and q.strip()][:30]

    @property
    def text(self) -> str:
        return " ".join([*self.qualifications, self.industry, self.park, self.district, self.talent_category,
                         self.description]).strip()


@dataclass
class Facts:
    """What the finder knows about the asker: target ids it is (with what they imply), what it cannot be."""

    entity_type: str
    targets: dict[str, str]  # target id -> the profile words that show it
    excluded: set[str]
    industries: dict[str, str]  # industry id -> profile words
    places: dict[str, str]  # place id -> profile words (park named)
    district_places: dict[str, str]  # place id -> district named (the place lies in the district)
    text: str
    words: list[str] = field(default_factory=list)  # specific words of the free text (set by match)


def read_facts(profile: Profile, vocab: Vocabulary) -> Facts:
    text = profile.text
    targets: dict[str, str] = {}
    for source in (*profile.qualifications, profile.talent_category, profile.description):
        for m in vocab.targets.find(source):
            if m.entry.entity == profile.entity_type or m.entry.id in ("科研院所", "高校"):
                targets.setdefault(m.entry.id, m.word)
    if profile.entity_type == "researcher":
        if _YOUNG.search(text):
            targets.setdefault("青年人才", _YOUNG.search(text).group(0))
        if _OVERSEAS.search(text):
            targets.setdefault("海外人才", _OVERSEAS.search(text).group(0))
        if _FOREIGN.search(text):
            targets.setdefault("外籍人才", _FOREIGN.search(text).group(0))
        targets.pop("高校", None)  # the employer is not the asker (a researcher at 中南大学 is not a 高校)
        targets.pop("科研院所", None)
    generic = {"enterprise": "企业", "researcher": "科研人员"}.get(profile.entity_type)
    if generic:
        targets.setdefault(generic, {"enterprise": "企业", "researcher": "科研人员"}[profile.entity_type])
    for tid in vocab.closure(set(targets)) - set(targets):
        source = next((targets[t] for t in targets if tid in vocab.closure({t})), "")
        targets[tid] = source
    excluded = {x for t in targets for x in (vocab.targets.by_id[t].excludes if t in vocab.targets.by_id else ())}
    excluded -= set(targets)
    industries: dict[str, str] = {}
    for source in (profile.industry, profile.description, *profile.qualifications):
        for m in vocab.industries.find(source):
            industries.setdefault(m.entry.id, m.word)
    places: dict[str, str] = {}
    for source in (profile.park, profile.district, profile.description):
        for m in vocab.places.find(source):
            places.setdefault(m.entry.id, m.word)
    district_places: dict[str, str] = {}
    for source in (profile.district, profile.park, profile.description):
        for m in vocab.districts.find(source):
            for pid in m.entry.implies:
                if pid not in places:
                    district_places.setdefault(pid, m.word)
    return Facts(profile.entity_type, targets, excluded, industries, places, district_places, text)


def profile_from_text(text: str, vocab: Vocabulary) -> Profile | None:
    """A profile from a question that describes the asker (我们是…企业，能享受哪些支持？); None if it does not."""
    ids = vocab.targets.ids(text)
    entities = {vocab.target(t).entity for t in ids if not vocab.target(t).generic}
    if _ENTERPRISE.search(text) and ("enterprise" in entities or re.search(r"我们|我司|本公司|我公司|本企业", text)):
        entity = "enterprise"
    elif "researcher" in entities or _RESEARCHER.search(text):
        entity = "researcher"
    elif "institution" in entities and _INSTITUTION.search(text):
        entity = "institution"
    else:
        return None
    return Profile(entity_type=entity, description=text[:MAX_FIELD_CHARS])
