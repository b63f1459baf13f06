"""The support finder: POST /v1/eligibility (profile -> the measures that apply, grouped, cited)."""
from __future__ import annotations

from fastapi import APIRouter

from api.convert import profile_of
from api.deps import AssistantDep
from api.schemas import EligibilityRequest, EligibilityResponse, Problem

router = APIRouter(prefix="/v1", tags=["政策匹配 eligibility"])


@router.post("/eligibility", response_model=EligibilityResponse,
             responses={413: {"model": Problem}, 422: {"description": "A profile field is invalid; `detail[].loc` names it"},
                        503: {"model": Problem, "description": "The index is not loaded yet"}},
             summary="Which measures apply to an enterprise, researcher or institution; why; what to verify")
def eligibility(req: EligibilityRequest, assistant: AssistantDep) -> EligibilityResponse:
    return EligibilityResponse.model_validate(assistant.match(profile_of(req.profile), req.limit))
