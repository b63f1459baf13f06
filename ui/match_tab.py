"""The 政策匹配 tab: a profile form (who the asker is) -> the measures that may apply, grouped, with status,
reasons, conditions to verify and the cited passage. Calls `Assistant.match` in-process (POST /v1/eligibility
serves the same result).

`render_matches(result)` is a pure function of the match result, so it is unit-tested without a browser.
Every piece of text in the result is escaped: passages are data, never markup.
"""
from __future__ import annotations

import html
import logging
from typing import Any

import gradio as gr

from assistant.service.service import Service
from assistant.errors import AssistantError, IndexNotReady, InvalidQuery
from assistant.finder import Profile
from assistant.finder.profile import MAX_FIELD_CHARS
from assistant.finder.vocab import ENTITY_TYPES, load_vocabulary
from assistant.records import Database
from ui.render import highlight

log = logging.getLogger(__name__)

ENTITY_LABELS = {"enterprise": "企业", "researcher": "科研人员", "institution": "机构"}
STATUS_LABELS = {"likely": "可能适用", "check": "需核实", "unlikely": "可能不适用"}
CONDITION_MARKS = {"met": "✓", "not_met": "✗", "unknown": "?"}
CONDITION_TITLES = {"met": "符合", "not_met": "不符合", "unknown": "需核实"}
EMPTY_MESSAGE = "没有找到与所填资料相符的措施。可以勾选资格、选择行业或园区，或在补充说明中描述情况后再试。"
START_MESSAGE = "填写主体类型和资格等资料后，点击“查找”查看可能适用的支持措施。"

# scoped to the results component by gr.HTML(css_template=...); colours readable in light and dark themes
CSS = """
.pa-match-facts {margin: .2em 0 .3em; font-size: .95em}
.pa-match-summary {font-size: .85em; color: var(--body-text-color-subdued); margin-bottom: .5em}
.pa-match-empty, .pa-match-start {padding: .8em; border: 1px dashed var(--border-color-primary); border-radius: 8px;
  color: var(--body-text-color-subdued)}
.pa-match-kind {font-size: 1.05em; font-weight: 600; margin: .9em 0 .3em}
.pa-match-count {font-weight: 400; font-size: .85em; color: var(--body-text-color-subdued)}
.pa-match-card {border: 1px solid var(--border-color-primary); border-left-width: 4px; border-radius: 8px;
  padding: .5em .7em; margin: .45em 0; background: var(--background-fill-secondary); overflow-wrap: anywhere}
.pa-match-card.pa-status-likely {border-left-color: #16a34a}
.pa-match-card.pa-status-check {border-left-color: #d97706}
.pa-match-card.pa-status-unlikely {border-left-color: #b91c1c}
.pa-match-head {font-weight: 600}
.pa-badge {display: inline-block; font-size: .8em; font-weight: 600; padding: .05em .5em; border-radius: 999px;
  margin-right: .4em; vertical-align: .05em; white-space: nowrap}
.pa-badge-likely {background: #dcfce7; color: #166534}
.pa-badge-check {background: #fef3c7; color: #92400e}
.pa-badge-unlikely {background: #f1e4e4; color: #7f1d1d}
.pa-badge-other {background: #e5e7eb; color: #374151}
.pa-match-why, .pa-match-conds {margin: .3em 0; padding-left: 1.2em; font-size: .9em}
.pa-match-conds {list-style: none; padding-left: .2em}
.pa-cond-mark {display: inline-block; width: 1.2em; font-weight: 700; text-align: center}
.pa-cond-met .pa-cond-mark {color: #16a34a}
.pa-cond-not_met .pa-cond-mark {color: #b91c1c}
.pa-cond-unknown .pa-cond-mark {color: #d97706}
.pa-cond-note {color: var(--body-text-color-subdued); font-size: .95em}
.pa-match-cite {margin-top: .35em; padding-top: .3em; border-top: 1px solid var(--border-color-primary); font-size: .85em}
.pa-match-src {color: var(--body-text-color-subdued)}
.pa-match-quote {margin: .3em 0; padding-left: .6em; border-left: 3px solid var(--color-accent)}
.pa-match-passage summary {cursor: pointer; color: var(--color-accent)}
.pa-match-passage p {margin: .3em 0}
.pa-match-passage mark {background: #fff3a3; color: inherit; padding: 0 .1em}
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _facts_line(result: dict[str, Any]) -> str:
    profile = result.get("profile") or {}
    recognised = profile.get("recognised") or {}
    entity = profile.get("entity_type", "")
    parts = [f"主体 <b>{_esc(ENTITY_LABELS.get(entity, entity))}</b>"]
    found = False
    for key, label in (("targets", "资格"), ("industries", "行业"), ("places", "园区")):
        values = recognised.get(key) or []
        if values:
            found = True
            parts.append(f"{label} <b>{_esc('、'.join(values))}</b>")
    line = "已识别：" + " · ".join(parts)
    if not found:
        line += "（未识别出具体资格、行业或园区，结果仅按主体类型匹配）"
    return f'<div class="pa-match-facts">{line}</div>'


def _summary(result: dict[str, Any], measures: list[dict[str, Any]]) -> str:
    counts = {s: sum(1 for m in measures if m.get("status") == s) for s in STATUS_LABELS}
    detail = "，".join(f"{STATUS_LABELS[s]} {n} 条" for s, n in counts.items() if n)
    considered = result.get("considered")
    head = f"共考察 {_esc(considered)} 条措施，" if considered is not None else ""
    return (f'<div class="pa-match-summary">{head}列出 {len(measures)} 条{"：" + detail if detail else ""}。'
            "结果依据文件原文自动匹配，仅供参考，申报以正式通知为准。</div>")


def _condition(c: dict[str, Any]) -> str:
    status = c.get("status", "unknown")
    mark = CONDITION_MARKS.get(status, "?")
    cls = status if status in CONDITION_MARKS else "unknown"
    note = f' <span class="pa-cond-note">— {_esc(c["note"])}</span>' if c.get("note") else ""
    return (f'<li class="pa-cond pa-cond-{cls}"><span class="pa-cond-mark" title="{_esc(CONDITION_TITLES.get(status, status))}">'
            f'{mark}</span>{_esc(c.get("condition", ""))}{note}</li>')


def _citation(c: dict[str, Any]) -> str:
    meta = [str(c[k]) for k in ("doc_number", "issued", "status") if c.get(k)]
    text, quote = c.get("text") or "", c.get("quote") or ""
    src = f'<span class="pa-doc">{_esc(c.get("doc_title") or c.get("doc_id", ""))}</span>'
    if c.get("section"):
        src += f' · <span class="pa-sec">{_esc(c["section"])}</span>'
    if meta:
        src += f' <span class="pa-meta">（{_esc(" · ".join(meta))}）</span>'
    out = f'<div class="pa-match-cite" data-passage-id="{_esc(c.get("passage_id", ""))}"><div class="pa-match-src">{src}</div>'
    if quote:
        out += f'<blockquote class="pa-match-quote">{_esc(quote)}</blockquote>'
    if text:
        out += (f'<details class="pa-match-passage"><summary>原文段落</summary>'
                f'<p>{highlight(text, quote, _esc)}</p></details>')  # gr.HTML: HTML-escaped is enough
    return out + "</div>"


def _card(m: dict[str, Any]) -> str:
    status = m.get("status", "")
    label = STATUS_LABELS.get(status, status or "未评估")
    cls = status if status in STATUS_LABELS else "other"
    why = "".join(f"<li>{_esc(w)}</li>" for w in m.get("why") or [])
    conds = "".join(_condition(c) for c in m.get("conditions") or [])
    return (f'<div class="pa-match-card pa-status-{cls}" data-measure-id="{_esc(m.get("id", ""))}">'
            f'<div class="pa-match-head"><span class="pa-badge pa-badge-{cls}">{_esc(label)}</span>'
            f'<span class="pa-match-title">{_esc(m.get("title", ""))}</span></div>'
            + (f'<ul class="pa-match-why">{why}</ul>' if why else "")
            + (f'<ul class="pa-match-conds">{conds}</ul>' if conds else "")
            + (_citation(m["citation"]) if m.get("citation") else "")
            + "</div>")


def render_matches(result: dict[str, Any]) -> str:
    """HTML for a match result (the dict of `Assistant.match` / POST /v1/eligibility): what was recognised,
    then one section per kind of support with a card per measure. All text is escaped."""
    measures = list(result.get("measures") or [])
    out = [_facts_line(result)]
    if not measures:
        return "".join(out) + f'<div class="pa-match-empty">{_esc(EMPTY_MESSAGE)}</div>'
    out.append(_summary(result, measures))
    groups = result.get("groups") or [{"kind": "支持措施", "measures": measures}]
    for g in groups:
        items = g.get("measures") or []
        if not items:
            continue
        out.append(f'<section class="pa-match-group"><h3 class="pa-match-kind">{_esc(g.get("kind", ""))} '
                   f'<span class="pa-match-count">（{len(items)}）</span></h3>'
                   + "".join(_card(m) for m in items) + "</section>")
    return "".join(out)


def qualification_choices(entity_type: str) -> list[str]:
    """The specific (non-generic) targets a profile of this entity type can tick."""
    return [e.id for e in load_vocabulary().targets.entries if e.entity == entity_type and not e.generic]


def form_profile(entity_type: str, quals: list[str] | None, industry: str | None, park: str | None, district: str,
                 talent: str, description: str) -> Profile:
    """The form's profile (InvalidQuery naming a bad field)."""
    if entity_type not in ENTITY_TYPES:
        raise InvalidQuery(f"entity_type={entity_type!r}; allowed: {', '.join(ENTITY_TYPES)}", field="entity_type")
    return Profile(entity_type=entity_type, qualifications=list(quals or []), industry=industry or "",
                   park=park or "", district=district or "",
                   talent_category=(talent or "") if entity_type == "researcher" else "", description=description or "")


def match_tab(service: Service, records: Database | None = None) -> None:
    vocab = load_vocabulary()
    industries = [e.id for e in vocab.industries.entries]
    places = [e.id for e in vocab.places.entries]

    def on_entity(entity_type: str):
        return (gr.update(choices=qualification_choices(entity_type), value=[]),
                gr.update(visible=entity_type == "researcher"))

    def find(entity_type: str, quals: list[str] | None, industry: str | None, park: str | None, district: str,
             talent: str, description: str) -> str:
        if entity_type not in ENTITY_TYPES:
            raise gr.Error("请选择主体类型：企业、科研人员或机构。")
        try:
            assistant = service.get()
        except IndexNotReady as exc:
            raise gr.Error(f"索引尚未就绪：{exc}") from exc
        try:
            profile = form_profile(entity_type, quals, industry, park, district, talent, description)
            result = assistant.match(profile)
        except InvalidQuery as exc:
            raise gr.Error(f"资料有误：{exc}") from exc
        except AssistantError as exc:
            log.warning("match failed: %s", exc)
            raise gr.Error(f"出错了：{exc}") from exc
        return render_matches(result)

    gr.Markdown("政策匹配：填写主体资料，查找文件中可能适用的支持措施。每条措施标明可能适用 / 需核实 / 可能不适用，"
                "列出依据、需核实的条件和原文出处。")
    with gr.Row():
        with gr.Column(scale=2, min_width=280):
            entity = gr.Radio([(label, key) for key, label in ENTITY_LABELS.items()], value="enterprise",
                              label="主体类型", elem_id="pa-match-entity")
            quals = gr.CheckboxGroup(qualification_choices("enterprise"), value=[], label="资格 / 类别",
                                     elem_id="pa-match-quals")
            talent = gr.Textbox(label="人才类别（可选）", placeholder="例如：35岁青年博士、海外归国、高层次人才",
                                max_length=MAX_FIELD_CHARS, visible=False, elem_id="pa-match-talent")
            with gr.Row():
                industry = gr.Dropdown(industries, value=None, label="行业", allow_custom_value=True,
                                       info="可选，也可直接输入", elem_id="pa-match-industry")
                park = gr.Dropdown(places, value=None, label="园区", allow_custom_value=True,
                                   info="可选，也可直接输入", elem_id="pa-match-park")
            district = gr.Textbox(label="所在区县（可选）", placeholder="例如：浏阳市、岳麓区",
                                  max_length=MAX_FIELD_CHARS, elem_id="pa-match-district")
            description = gr.Textbox(label="补充说明（可选）", lines=3, max_length=MAX_FIELD_CHARS,
                                     placeholder="例如：今年首次认定为高新技术企业，从事生物医药研发",
                                     elem_id="pa-match-desc")
            run = gr.Button("查找", variant="primary", elem_id="pa-match-run")
        with gr.Column(scale=3, min_width=320):
            results = gr.HTML(f'<div class="pa-match-start">{_esc(START_MESSAGE)}</div>', css_template=CSS,
                              js_on_load=None, elem_id="pa-match-results")
    entity.change(on_entity, entity, [quals, talent])
    form = [entity, quals, industry, park, district, talent, description]
    run.click(find, form, results)
    if records is not None:  # saved profiles: pushed measures, next deadlines, calendar and feed links
        from ui.saved_profiles import saved_profile_panel

        saved_profile_panel(service, records, form_profile, form)
