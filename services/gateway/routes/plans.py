"""Inspection plans (双随机、一公开): draw, view, list, verify, publish results."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from credit.v1 import scoring_pb2
from services.common.errors import ServiceError
from services.gateway.auth import EVERYONE, OFFICIALS, PLANNERS, Caller, require
from services.gateway.downstream import Downstream
from services.gateway.errors import ERROR_RESPONSES
from services.gateway.params import (
    DATE,
    Grade,
    Industry,
    KindName,
    PageToken,
    RequestBody,
    SourceName,
    entity_ref,
    kind_enum,
    source_enum,
)
from services.gateway.present import to_json
from services.gateway.routes.workflows import parse_record
from services.gateway.schemas import ok
from services.gateway.state import downstream

router = APIRouter(prefix="/api/v1/inspection-plans", tags=["inspection plans"],
                   responses=ERROR_RESPONSES)
Down = Annotated[Downstream, Depends(downstream)]
PLAN_ID = r"^[A-Za-z0-9._:-]{1,128}$"
IDENT = r"^[A-Za-z0-9._:/-]{1,64}$"
PlanId = Annotated[str, Path(pattern=PLAN_ID, description="the plan_id a draw returned")]
PLAN_DOC = ok(scoring_pb2.InspectionPlan, "InspectionPlan (scoring.proto) as JSON")


class FilterBody(RequestBody):
    grades: list[Grade] = Field(default_factory=list)
    region: str = Field(default="", pattern=r"^(\d{2}(\d{2}){0,2})?$")
    industries: list[Industry] = Field(default_factory=list)
    sources: list[SourceName] = Field(default_factory=list)
    kinds: list[KindName] = Field(default_factory=list)

    def proto(self) -> scoring_pb2.GradeFilter:
        return scoring_pb2.GradeFilter(
            grades=self.grades, region_prefix=self.region, industries=self.industries,
            sources=[source_enum(s) for s in self.sources],
            kinds=[kind_enum(k) for k in self.kinds])


class InspectorBody(RequestBody):
    id: str = Field(pattern=IDENT)
    name: str = Field(min_length=1, max_length=100)
    capacity: int = Field(1, ge=1, le=100_000)
    recusals: list[str] = Field([], max_length=1000)


class DrawBody(RequestBody):
    request_id: str = Field(pattern=IDENT, description="idempotency key of this draw")
    department: str | None = Field(None, pattern=r"^[a-z][a-z0-9_]{0,63}$",
                                   description="default: the caller's department")
    task_name: str = Field(min_length=1, max_length=200)
    task_date: str | None = Field(None, pattern=DATE)
    filter: FilterBody | None = None
    inspectors: list[InspectorBody] = Field(min_length=2, max_length=10_000)
    triggered: list[str] = Field([], max_length=10_000,
                                 description="USCCs or entity keys inspected on a trigger")
    seed: str = Field("", pattern=r"^\d{0,80}$")


@router.post("", summary="Draw a 双随机 plan (a department for itself; planners and admins "
             "for any)", response_model=None,
             responses=PLAN_DOC)
async def draw(body: DrawBody, caller: Annotated[Caller, Depends(require(PLANNERS))],
               down: Down) -> JSONResponse:
    department = body.department or caller.principal.department
    if not department:
        raise ServiceError.invalid_argument(
            ("department", "required unless the caller is a department"))
    triggered = []
    for i, ref in enumerate(body.triggered):
        try:
            triggered.append(entity_ref(ref))
        except ServiceError:
            raise ServiceError.invalid_argument(
                (f"triggered[{i}]", "not a USCC or entity key")) from None
    request = scoring_pb2.DrawInspectionPlanRequest(
        request_id=body.request_id, department=department, task_name=body.task_name,
        task_date=body.task_date or "", filter=(body.filter or FilterBody()).proto(),
        inspectors=[scoring_pb2.Inspector(id=i.id, name=i.name, capacity=i.capacity,
                                          recusals=i.recusals) for i in body.inspectors],
        triggered=triggered, seed=body.seed)
    reply = await down.call("scoring", down.scoring.DrawInspectionPlan, request,
                            caller.metadata)
    return JSONResponse(to_json(reply))


@router.get("", summary="Stored plans, newest first", response_model=None,
            responses=ok(scoring_pb2.ListInspectionPlansResponse, "plans, newest first"))
async def list_plans(
    caller: Annotated[Caller, Depends(require(OFFICIALS))], down: Down,
    department: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,63}$")] = None,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50, page_token: PageToken = None,
) -> JSONResponse:
    reply = await down.call("scoring", down.scoring.ListInspectionPlans,
                            scoring_pb2.ListInspectionPlansRequest(
                                department=department or "", page_size=page_size,
                                page_token=page_token or ""), caller.metadata)
    return JSONResponse(to_json(reply))


@router.get("/{plan_id}", summary="A plan with its published results", response_model=None,
            responses=PLAN_DOC)
async def get_plan(
    plan_id: PlanId, caller: Annotated[Caller, Depends(require(OFFICIALS))], down: Down,
    include_document: Annotated[bool, Query(
        description="also return published_json (the whole candidate list: can be large)")
    ] = False,
) -> JSONResponse:
    reply = await down.call("scoring", down.scoring.GetInspectionPlan,
                            scoring_pb2.GetInspectionPlanRequest(
                                plan_id=plan_id, include_document=include_document),
                            caller.metadata)
    return JSONResponse(to_json(reply))


class Verification(BaseModel):
    valid: bool
    problems: list[str]
    plan_hash: str


class VerifyBody(RequestBody):
    # Within the scoring service's 16 MiB messages even in 3-byte (CJK) UTF-8.
    published_json: str = Field(min_length=2, max_length=5_000_000,
                                description="the published plan document")


@router.post("/{plan_id}/verify", summary="Recompute a stored plan and compare (一公开)",
             response_model=Verification)
async def verify_stored(plan_id: PlanId, caller: Annotated[Caller, Depends(require(EVERYONE))],
                        down: Down) -> dict[str, Any]:
    return await _verify(down, caller, scoring_pb2.VerifyInspectionPlanRequest(plan_id=plan_id))


@router.post("/verify", summary="Recompute a published plan document and compare",
             response_model=Verification)
async def verify_document(body: VerifyBody,
                          caller: Annotated[Caller, Depends(require(EVERYONE))],
                          down: Down) -> dict[str, Any]:
    return await _verify(down, caller, scoring_pb2.VerifyInspectionPlanRequest(
        published_json=body.published_json))


async def _verify(down: Downstream, caller: Caller,
                  request: scoring_pb2.VerifyInspectionPlanRequest) -> dict[str, Any]:
    reply = await down.call("scoring", down.scoring.VerifyInspectionPlan, request,
                            caller.metadata)
    return {"valid": reply.valid, "problems": list(reply.problems), "plan_hash": reply.plan_hash}


class ResultBody(RequestBody):
    entity_key: str = Field(min_length=1, max_length=65)
    outcome: Literal["clear", "corrected", "finding", "not_inspected"]
    summary: str = Field(min_length=1, max_length=2000)
    inspected_on: str | None = Field(None, pattern=DATE)
    record: dict[str, Any] | None = Field(
        None, description="FINDING only: a RecordSubmission (records.proto) as JSON")


@router.post("/{plan_id}/results", summary="Record and publish one inspection's outcome",
             response_model=None,
             responses=ok(scoring_pb2.InspectionResult,
                          "InspectionResult (scoring.proto) as JSON"))
async def record_result(plan_id: PlanId, body: ResultBody,
                        caller: Annotated[Caller, Depends(require(PLANNERS))],
                        down: Down) -> JSONResponse:
    request = scoring_pb2.RecordInspectionResultRequest(
        plan_id=plan_id, entity_key=body.entity_key,
        outcome=f"INSPECTION_OUTCOME_{body.outcome.upper()}",
        summary=body.summary, inspected_on=body.inspected_on or "")
    if body.record is not None:
        request.record.CopyFrom(parse_record(body.record, "record"))
    reply = await down.call("scoring", down.scoring.RecordInspectionResult, request,
                            caller.metadata)
    return JSONResponse(to_json(reply))

