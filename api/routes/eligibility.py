"""The support finder: POST /v1/eligibility (profile -> the measures that apply, grouped, cited)."""
from __future__ import annotations

from fastapi import APIRouter

from api.deps import AssistantDep
from api.schemas import EligibilityRequest, EligibilityResponse, Problem
from assistant.finder import Profile

router = APIRouter(prefix="/v1", tags=["政策匹配 eligibility"])


@router.post("/eligibility", response_model=EligibilityResponse,
             responses={413: {"model": Problem}, 422: {"description": "A profile field is invalid; `detail[].loc` names it"},
                        503: {"model": Problem, "description": "The index is not loaded yet"}},
             summary="Which measures apply to an enterprise, researcher or institution; why; what to verify")
def eligibility(req: EligibilityRequest, assistant: AssistantDep) -> EligibilityResponse:
    p = req.profile
    profile = Profile(entity_type=p.entity_type, qualifications=list(p.qualifications), industry=p.industry,
                      park=p.park, district=p.district, talent_category=p.talent_category,
                      description=p.description)
    return EligibilityResponse.model_validate(assistant.match(profile, req.limit))
