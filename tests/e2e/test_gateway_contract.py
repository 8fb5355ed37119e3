"""The gateway's contract against the running platform: every role × every endpoint, and
generated input over the OpenAPI document (schemathesis) answering no 5xx and only what the
document describes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.factories import uscc
from tests.gateway_platform import TOKENS, Platform, platform

pytestmark = pytest.mark.e2e

OFFICIALS = {"admin", "regulator", "planner", "medical"}
DEPARTMENTS = {"admin", "medical"}
PLANNERS = {"admin", "planner", "medical"}
APPLICANTS = {"admin", "medical", "applicant"}
SUPERVISORS = {"admin", "regulator", "medical"}
ANYONE = {"admin", "regulator", "planner", "medical", "public", "applicant", "service",
          "anonymous"}
ROLES = ["admin", "regulator", "planner", "medical", "public", "applicant", "service",
         "anonymous"]
ROLE_DENIED = "this endpoint is not open to your role"
DRAW = {"request_id": "matrix", "task_name": "matrix", "filter": {"region": "2201"},
        "inspectors": [{"id": "I1", "name": "一"}, {"id": "I2", "name": "二"}]}

# (method, path template, example path, body, roles that may call it) — written out, not
# read from the app, so that a changed declaration fails here.
MATRIX: list[tuple[str, str, str, dict[str, Any] | None, set[str]]] = [
    ("GET", "/api/v1/grades", "/api/v1/grades?grade=D", None, OFFICIALS),
    ("GET", "/api/v1/grades/counts", "/api/v1/grades/counts?group_by=region", None, OFFICIALS),
    ("GET", "/api/v1/grades/export.csv", "/api/v1/grades/export.csv?grade=A", None, OFFICIALS),
    ("GET", "/api/v1/entities/{entity}/grade", f"/api/v1/entities/{uscc(1)}/grade", None,
     OFFICIALS),
    ("GET", "/api/v1/entities/{entity}/credit-file", f"/api/v1/entities/{uscc(1)}/credit-file",
     None, OFFICIALS),
    ("POST", "/api/v1/inspection-plans", "/api/v1/inspection-plans", DRAW, PLANNERS),
    ("GET", "/api/v1/inspection-plans", "/api/v1/inspection-plans", None, OFFICIALS),
    ("GET", "/api/v1/inspection-plans/{plan_id}", "/api/v1/inspection-plans/none", None,
     OFFICIALS),
    ("POST", "/api/v1/inspection-plans/{plan_id}/verify", "/api/v1/inspection-plans/none/verify",
     None, ANYONE),
    ("POST", "/api/v1/inspection-plans/verify", "/api/v1/inspection-plans/verify",
     {"published_json": "{}"}, ANYONE),
    ("POST", "/api/v1/inspection-plans/{plan_id}/results",
     "/api/v1/inspection-plans/none/results",
     {"entity_key": uscc(1), "outcome": "clear", "summary": "无问题"}, PLANNERS),
    ("POST", "/api/v1/repairs", "/api/v1/repairs",
     {"record_id": "999999", "proof": "凭证", "commitment_letter": True}, APPLICANTS),
    ("POST", "/api/v1/repairs/{repair_id}/decision", "/api/v1/repairs/999999/decision",
     {"action": "accept"}, DEPARTMENTS),
    ("POST", "/api/v1/objections", "/api/v1/objections",
     {"record_id": "999999", "target": "content", "grounds": "有误"}, APPLICANTS),
    ("POST", "/api/v1/objections/{objection_id}/resolution",
     "/api/v1/objections/999999/resolution", {"resolution": "rejected", "reason": "x"},
     DEPARTMENTS),
    ("GET", "/api/v1/overdue", "/api/v1/overdue", None, SUPERVISORS),
    ("GET", "/api/v1/public/serious-dishonesty", "/api/v1/public/serious-dishonesty", None,
     ANYONE),
    ("GET", "/api/v1/me", "/api/v1/me", None, ANYONE),
    ("GET", "/healthz", "/healthz", None, ANYONE),
    ("GET", "/readyz", "/readyz", None, ANYONE),
]


@pytest.fixture(scope="module")
def plat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with platform(tmp_path_factory.mktemp("gateway-contract")) as p:
        yield p


def test_the_matrix_covers_every_operation_of_the_openapi_document(plat: Platform) -> None:
    doc = httpx.get(f"{plat.http}/api/v1/openapi.json").json()
    operations = {(m.upper(), path) for path, ops in doc["paths"].items() for m in ops}
    assert operations == {(m, p) for m, p, *_ in MATRIX}
    for method, path, _, _, allowed in MATRIX:
        if path.startswith("/api/"):
            declared = set(doc["paths"][path][method.lower()]["x-roles"])
            expected = {"department" if r == "medical" else r for r in allowed} - {"anonymous"}
            assert declared == expected, (method, path)


@pytest.mark.parametrize("role", ROLES)
def test_authorisation_matrix(plat: Platform, role: str) -> None:
    headers = {} if role == "anonymous" else {"authorization": f"Bearer {TOKENS[role]}"}
    failures = []
    with httpx.Client(base_url=plat.http, timeout=30) as c:
        for method, path, example, body, allowed in MATRIX:
            reply = c.request(method, example, json=body, headers=headers)
            if role in allowed:
                denied_here = reply.status_code == 401 or (
                    reply.status_code == 403 and reply.json()["message"] == ROLE_DENIED)
                ok = not denied_here and reply.status_code < 500
            elif role == "anonymous":
                ok = reply.status_code == 401 and reply.headers["www-authenticate"] == "Bearer"
            else:
                ok = reply.status_code == 403 and reply.json()["message"] == ROLE_DENIED
            if not ok:
                failures.append((method, path, reply.status_code, reply.text[:200]))
    assert not failures


def test_denials_do_not_reveal_existence(plat: Platform) -> None:
    with httpx.Client(base_url=plat.http, timeout=30,
                      headers={"authorization": "Bearer dev-public"}) as c:
        known = c.get(f"/api/v1/entities/{plat.seeded['grave']}/credit-file")
        unknown = c.get(f"/api/v1/entities/{uscc(9999)}/credit-file")
    assert known.status_code == unknown.status_code == 403 and known.json() == unknown.json()
    with httpx.Client(base_url=plat.http, timeout=30) as c:
        known = c.get(f"/api/v1/entities/{plat.seeded['grave']}/grade")
        bad_token = c.get(f"/api/v1/entities/{uscc(9999)}/grade",
                          headers={"authorization": "Bearer nobody"})
    assert known.status_code == bad_token.status_code == 401


def test_generated_input_never_gets_a_server_error(plat: Platform) -> None:
    """schemathesis over the OpenAPI document, positive and negative input, as an admin
    (the widest reach): no 5xx, and every answer matches the schema the document gives it."""
    cmd = [sys.executable, "-m", "schemathesis.cli", "run", f"{plat.http}/api/v1/openapi.json",
           "--checks", "not_a_server_error,response_schema_conformance",
           "--header", "Authorization: Bearer dev-admin",
           # Its own client address keeps the failed-token limit out of the other tests.
           "--header", "X-Forwarded-For: 198.51.100.1",
           "--max-examples", "10", "--phases", "examples,coverage,fuzzing", "--workers", "2",
           "--request-timeout", "20", "--seed", "4"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "NO_COLOR": "1"})
    out = run.stdout
    assert "test cases" in out.lower() and "generated" in out, out[-3000:] + run.stderr[-2000:]
    # A check that failed (a 5xx, a hung or dropped connection) fails the test; schemathesis'
    # own occasional data-generation hiccup ("Inconsistent results") does not.
    assert "FAILURES" not in out, out[out.find("FAILURES"):][:8000]
    errors = out[out.find("ERRORS"):out.find("WARNINGS")] if "ERRORS" in out else ""
    sections = re.split(r"\n_{3,} [^\n]+ _{3,}\n", errors)[1:]
    assert all("Inconsistent results" in s for s in sections), errors[:8000]
    assert run.returncode == 0 or sections, out[-3000:]
