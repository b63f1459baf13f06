"""Property-based fuzzing of the JSON API from its own /openapi.json (schemathesis), in-process.

Every operation gets generated requests, schema-valid (positive) and schema-invalid (negative); each response
must not be a 5xx and must match the schema: documented status code, content type, headers and body, and
invalid requests must be refused. Admin endpoints are exercised with the admin token. The app serves a
PRIVATE copy of the session's corpus/ and data/, so a generated upload or delete can never touch the shared
session index; the session's loaded `assistant` answers the questions.

schemathesis' own pytest integration (`schemathesis.pytest.from_fixture`) does not run under pytest 9.2
(it sets the removed `Node._nodeid`), so the operations' Hypothesis strategies are driven directly
(`APIOperation.as_strategy`, `Case.call_and_validate`: the documented Python API).
"""
from __future__ import annotations

import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from assistant.settings import Settings

TOKEN = "fuzz-admin-token"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 15}


def _runs() -> list:
    """(operation label, generation mode, token sent) for every operation in the app's schema (building the
    schema needs no index): valid data with the admin token; invalid data too where there are inputs to
    spoil; admin operations once more with a wrong token (their 401 must be documented as well)."""
    spec = create_app(Settings(rate_limit_per_minute=0), ui=False).openapi()
    runs = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            label = f"{method.upper()} {path}"
            runs.append(pytest.param(label, GenerationMode.POSITIVE, TOKEN, id=f"{label}-positive"))
            if op.get("parameters") or op.get("requestBody"):
                runs.append(pytest.param(label, GenerationMode.NEGATIVE, TOKEN, id=f"{label}-negative"))
            if any("admin" in tag for tag in op.get("tags", [])):
                runs.append(pytest.param(label, GenerationMode.POSITIVE, "wrong", id=f"{label}-wrong-token"))
    return runs


RUNS = _runs()


@pytest.fixture(scope="module")
def fuzz_schema(built_settings, assistant, tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(built_settings.corpus_dir, root / "corpus")
    shutil.copytree(built_settings.data_dir, root / "data")
    fuzz_settings = Settings(**{**built_settings.model_dump(), "data_dir": root / "data", "corpus_dir": root / "corpus",
                                "admin_token": TOKEN, "rate_limit_per_minute": 0, "index_poll_seconds": 0})
    app = create_app(fuzz_settings, assistant=assistant, ui=False)
    # invalid data must be refused with one of these (schemathesis' defaults, plus 413: a body over
    # PA_MAX_BODY_BYTES is refused before it is validated); never a 5xx (not_a_server_error)
    config = schemathesis.Config.from_dict({"checks": {"negative_data_rejection": {"expected-statuses": [
        "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]}}})
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


def operation(schema, label: str):
    for result in schema.get_all_operations():
        op = result.ok()
        if op.label == label:
            return op
    raise LookupError(label)


def test_every_operation_is_fuzzed():
    labels = {run.values[0] for run in RUNS}
    assert {"POST /v1/ask", "POST /v1/search", "POST /v1/chat/completions", "GET /v1/feedback",
            "POST /v1/documents", "DELETE /v1/documents/{doc_id}", "POST /v1/evals"} <= labels
    assert {run.values[0] for run in RUNS if run.values[2] == "wrong"} >= {"GET /v1/feedback", "POST /v1/evals"}


@pytest.mark.parametrize("label,mode,token", RUNS)
def test_operation_conforms_to_its_schema(fuzz_schema, label, mode, token):
    op = operation(fuzz_schema, label)
    checks = CHECKS + ([negative_data_rejection] if mode.is_negative else [])

    @settings(max_examples=EXAMPLES[mode], deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy(mode))
    def run(case):
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=checks)

    run()
