"""Saved profiles (measures pushed to a webhook, an Atom feed, the UI) and the application calendars.

The token returned when a profile is saved opens its routes (`Authorization: Bearer <token>` or `?token=`);
it is stored hashed; a wrong one raises AccessDenied: 401 and no data (api.errors). The admin token
(PA_ADMIN_TOKEN) lists every profile and reads or deletes any.
"""
from __future__ import annotations

import hashlib
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import AdminDep
from api.deps import AssistantDep, RecordsDep, SettingsDep
from api.schemas import ProfileIn, Problem
from assistant.service.access import admin_problem
from assistant.answer import view_url
from assistant.core import in_force
from assistant.finder.calendar import Window, calendar_ics, ics_event, windows_of
from assistant.records.feed import atom_feed
from assistant.records.profiles import ADMIN, Profiles
from assistant.records.push import Measures
from assistant.records.webhook import check_url

router = APIRouter(prefix="/v1", tags=["保存的画像 saved profiles"])
DENIED = {401: {"model": Problem, "description": "No token, a wrong token, or no such profile (no data shown)"}}
ICS = "text/calendar; charset=utf-8"
KIND_LABEL = {"window": "申报", "deadline": "申报截止", "yearly": "每年申报"}


class SaveProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "某生物医药公司", "profile": {"entity_type": "enterprise", "qualifications": ["高新技术企业"],
                                               "industry": "生物医药"}, "webhook_url": "https://example.com/hooks/pa"}]})
    name: str = Field(min_length=1, max_length=200)
    profile: ProfileIn
    webhook_url: str | None = Field(None, max_length=2000, description="Where new matching measures are POSTed")


class Saved(BaseModel):
    id: str
    token: str = Field(description="Opens this profile's routes; shown once (stored hashed)")
    signing_secret: str = Field(description="Keys X-PA-Signature; shown once (rotate with rotate-secret)")
    measures: int = Field(description="Measures matching now: they open the inbox and feed, not sent")


class ReadMark(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[int] | None = Field(None, max_length=1000, description="Items to mark; null: all")
    read: bool = True


def token_of(request: Request, settings, token: str | None):
    """The profile token (bearer or ?token=), or ADMIN when it is the admin token."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    given = given.strip() if scheme.lower() == "bearer" else (token or "")
    if given and settings.admin_token is not None and admin_problem(settings.admin_token, given) is None:
        return ADMIN
    return given


TokenQuery = Annotated[str | None, Query(max_length=200, description="The profile token (or a bearer header)")]


def _profile_dict(p: ProfileIn) -> dict[str, Any]:
    return p.model_dump()


@router.post("/profiles", status_code=201, response_model=Saved, responses={422: {"model": Problem}, 503: {"model": Problem}},
             summary="Save a profile: new matching measures are pushed to its webhook, feed and the UI")
def save(req: SaveProfile, assistant: AssistantDep, records: RecordsDep, settings: SettingsDep) -> Saved:
    url = check_url(req.webhook_url, settings.webhook_allow_private)
    start = Measures(assistant, settings.public_url).snapshot(_profile_dict(req.profile))
    created = Profiles(records).create(req.name, _profile_dict(req.profile), url, start)
    return Saved(id=created.id, token=created.token, signing_secret=created.signing_secret, measures=len(start.measures))


@router.get("/profiles", summary="Every saved profile with its delivery counts; admin token")
def list_profiles(_: AdminDep, records: RecordsDep) -> dict[str, Any]:
    return {"profiles": Profiles(records).list_all()}


@router.get("/profiles/{pid}", responses=DENIED, summary="A saved profile; its token (or admin)")
def get_profile(pid: str, request: Request, records: RecordsDep, settings: SettingsDep, token: TokenQuery = None):
    return Profiles(records).get(pid, token_of(request, settings, token))


@router.put("/profiles/{pid}", responses=DENIED, summary="Change a saved profile; its token")
def put_profile(pid: str, req: SaveProfile, request: Request, assistant: AssistantDep, records: RecordsDep,
                settings: SettingsDep, token: TokenQuery = None):
    url = check_url(req.webhook_url, settings.webhook_allow_private)
    start = Measures(assistant, settings.public_url).snapshot(_profile_dict(req.profile))
    return Profiles(records).update(pid, token_of(request, settings, token), req.name, _profile_dict(req.profile),
                                    url, start)


@router.delete("/profiles/{pid}", status_code=204, responses=DENIED, summary="Delete a saved profile; its token (or admin)")
def delete_profile(pid: str, request: Request, records: RecordsDep, settings: SettingsDep,
                   token: TokenQuery = None) -> Response:
    Profiles(records).delete(pid, token_of(request, settings, token))
    return Response(status_code=204)


@router.post("/profiles/{pid}/rotate-secret", responses=DENIED, summary="A new webhook signing secret; its token")
def rotate(pid: str, request: Request, records: RecordsDep, settings: SettingsDep, token: TokenQuery = None):
    return {"signing_secret": Profiles(records).rotate_secret(pid, token_of(request, settings, token))}


@router.get("/profiles/{pid}/measures", responses=DENIED, summary="The measures pushed to a profile (inbox), newest first")
def inbox(pid: str, request: Request, records: RecordsDep, settings: SettingsDep, token: TokenQuery = None):
    profile, items = Profiles(records).items(pid, token_of(request, settings, token))
    return {"profile": profile, "measures": items}


@router.post("/profiles/{pid}/measures/read", responses=DENIED, summary="Mark pushed measures read (or unread)")
def mark_read(pid: str, req: ReadMark, request: Request, records: RecordsDep, settings: SettingsDep,
              token: TokenQuery = None):
    return {"changed": Profiles(records).mark_read(pid, token_of(request, settings, token), req.ids, req.read)}


@router.get("/profiles/{pid}/deliveries", responses=DENIED, summary="Webhook deliveries: delivered, pending, failed")
def deliveries(pid: str, request: Request, records: RecordsDep, settings: SettingsDep, token: TokenQuery = None):
    return {"deliveries": Profiles(records).deliveries(pid, token_of(request, settings, token))}


@router.get("/profiles/{pid}/feed.atom", responses={**DENIED, 200: {"content": {"application/atom+xml": {}}}},
            summary="The pushed measures as an Atom feed")
def feed(pid: str, request: Request, records: RecordsDep, settings: SettingsDep, token: TokenQuery = None) -> Response:
    profile, items = Profiles(records).items(pid, token_of(request, settings, token))
    base = str(request.base_url).rstrip("/")
    return Response(atom_feed(profile, items, base, f"{base}/v1/profiles/{pid}/feed.atom"),
                    media_type="application/atom+xml; charset=utf-8")


def _events(pairs: list[tuple[str, Window]], base: str) -> list[list[str]]:
    today = date.today()
    out = []
    for title, w in pairs:
        uid = hashlib.sha1(f"{w.passage_id}|{w.text}|{title}".encode()).hexdigest() + "@policy-assistant"
        summary = f"{KIND_LABEL.get(w.kind, '')}：{title}"
        ev = ics_event(w, uid, summary, base + view_url(w.doc_id, w.passage_id), today)
        if ev:
            out.append(ev)
    return out


@router.get("/calendar.ics", responses={200: {"content": {ICS: {}}}, 503: {"model": Problem}},
            summary="Application windows of every document in force (iCalendar, all-day events)")
def calendar(request: Request, assistant: AssistantDep) -> Response:
    windows = windows_of(in_force(assistant.passages))
    pairs = [(w.doc_title, w) for ws in windows.values() for w in ws]
    body = calendar_ics(_events(pairs, str(request.base_url).rstrip("/")), "政策申报日历")
    return Response(body, media_type=ICS)


@router.get("/profiles/{pid}/calendar.ics", responses={**DENIED, 200: {"content": {ICS: {}}}},
            summary="Application windows of the measures matching a saved profile (iCalendar)")
def profile_calendar(pid: str, request: Request, assistant: AssistantDep, records: RecordsDep, settings: SettingsDep,
                     token: TokenQuery = None) -> Response:
    profile = Profiles(records).get(pid, token_of(request, settings, token))
    snap = Measures(assistant, settings.public_url).snapshot(profile["profile"])
    pairs = [(m["measure"]["title"], Window(**w)) for m in snap.measures.values() for w in m["measure"]["windows"]]
    body = calendar_ics(_events(pairs, str(request.base_url).rstrip("/")), f"政策申报日历：{profile['name']}")
    return Response(body, media_type=ICS)
