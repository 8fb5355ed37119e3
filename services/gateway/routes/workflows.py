"""Repairs (信用修复) and objections (异议申诉): submit, decide (owning department only),
and the overdue workflow list."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

import grpc
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from google.protobuf.json_format import ParseDict, ParseError
from pydantic import Field

from credit.v1 import records_pb2
from services.common.errors import ServiceError
from services.gateway.auth import APPLICANTS, DEPARTMENTS, SUPERVISORS, Caller, require
from services.gateway.downstream import Downstream
from services.gateway.errors import ERROR_RESPONSES
from services.gateway.params import DATE, AsOf, RequestBody
from services.gateway.present import to_json
from services.gateway.schemas import ok
from services.gateway.state import downstream

router = APIRouter(prefix="/api/v1", tags=["repairs and objections"], responses=ERROR_RESPONSES)
Down = Annotated[Downstream, Depends(downstream)]
Applicant = Annotated[Caller, Depends(require(APPLICANTS))]
Decider = Annotated[Caller, Depends(require(DEPARTMENTS))]
ItemId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
T = TypeVar("T")


def parse_record(value: dict[str, Any], field: str) -> records_pb2.RecordSubmission:
    """A RecordSubmission from its proto JSON form; errors name the field."""
    try:
        return ParseDict(value, records_pb2.RecordSubmission())
    except ParseError as exc:
        raise ServiceError.invalid_argument((field, str(exc))) from None


async def _decide(down: Down, caller: Caller, what: str,
                  call: Callable[..., Awaitable[T]], request: Any) -> T:
    """A decision on someone's finding. For a department, "not yours" and "no such item"
    answer alike, so the answer does not reveal that another department's item exists."""
    try:
        return await down.call("records", call, request, caller.metadata)
    except ServiceError as err:
        hidden = (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED)
        if err.code in hidden and "admin" not in caller.principal.roles:
            raise ServiceError.permission_denied(
                f"no such {what} among the findings your department decides") from None
        raise


class RepairBody(RequestBody):
    record_id: str = Field(pattern=r"^[0-9]{1,19}$")
    proof: str = Field(min_length=1, max_length=2000,
                       description="proof that the obligation is fulfilled")
    commitment_letter: bool = Field(description="信用承诺书 attached")
    applied_on: str | None = Field(None, pattern=DATE)


class RepairDecisionBody(RequestBody):
    action: Literal["accept", "refuse", "approve", "deny", "extend"]
    reason: str = Field("", max_length=2000)
    on: str | None = Field(None, pattern=DATE)


class ObjectionBody(RequestBody):
    record_id: str = Field(pattern=r"^[0-9]{1,19}$")
    target: Literal["content", "period", "repair_result"] = Field(
        description="what is disputed: the record's content, its publication period, or a "
                    "repair's result")
    grounds: str = Field(min_length=1, max_length=2000)
    filed_on: str | None = Field(None, pattern=DATE)


class ObjectionResolutionBody(RequestBody):
    resolution: Literal["upheld_corrected", "upheld_withdrawn", "rejected"]
    reason: str = Field("", max_length=2000)
    on: str | None = Field(None, pattern=DATE)
    corrected: dict[str, Any] | None = Field(
        None, description="upheld_corrected: the corrected RecordSubmission as JSON")


REPAIR = ok(records_pb2.Repair, "Repair (records.proto) as JSON")
OBJECTION = ok(records_pb2.Objection, "Objection (records.proto) as JSON")


@router.post("/repairs", summary="Apply for a repair", response_model=None, responses=REPAIR)
async def apply_repair(body: RepairBody, caller: Applicant, down: Down) -> JSONResponse:
    reply = await down.call("records", down.records.ApplyRepair, records_pb2.ApplyRepairRequest(
        record_id=body.record_id, proof=body.proof, commitment_letter=body.commitment_letter,
        applied_on=body.applied_on or ""), caller.metadata)
    return JSONResponse(to_json(reply))


@router.post("/repairs/{repair_id}/decision", summary="Accept, refuse, approve, deny or "
             "extend a repair (the owning department)", response_model=None, responses=REPAIR)
async def decide_repair(repair_id: ItemId, body: RepairDecisionBody, caller: Decider,
                        down: Down) -> JSONResponse:
    reply = await _decide(down, caller, "repair", down.records.DecideRepair,
                          records_pb2.DecideRepairRequest(repair_id=repair_id,
                                                          action=body.action,
                                                          reason=body.reason, on=body.on or ""))
    return JSONResponse(to_json(reply))


@router.post("/objections", summary="File an objection", response_model=None,
             responses=OBJECTION)
async def file_objection(body: ObjectionBody, caller: Applicant, down: Down) -> JSONResponse:
    reply = await down.call("records", down.records.FileObjection,
                            records_pb2.FileObjectionRequest(
                                record_id=body.record_id, target=body.target,
                                grounds=body.grounds, filed_on=body.filed_on or ""),
                            caller.metadata)
    return JSONResponse(to_json(reply))


@router.post("/objections/{objection_id}/resolution", summary="Uphold or reject an objection "
             "(the owning department)", response_model=None, responses=OBJECTION)
async def resolve_objection(objection_id: ItemId, body: ObjectionResolutionBody,
                            caller: Decider, down: Down) -> JSONResponse:
    request = records_pb2.ResolveObjectionRequest(
        objection_id=objection_id, resolution=body.resolution, reason=body.reason,
        on=body.on or "")
    if body.corrected is not None:
        request.corrected.CopyFrom(parse_record(body.corrected, "corrected"))
    reply = await _decide(down, caller, "objection", down.records.ResolveObjection, request)
    return JSONResponse(to_json(reply))


@router.get("/overdue", summary="Workflow items past their working-day deadline",
            response_model=None,
            responses=ok(records_pb2.ListOverdueResponse, "overdue items"))
async def overdue(
    caller: Annotated[Caller, Depends(require(SUPERVISORS))], down: Down, as_of: AsOf = None,
    department: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,63}$",
                                            description="default: the caller's own")] = None,
) -> JSONResponse:
    reply = await down.call("records", down.records.ListOverdue, records_pb2.ListOverdueRequest(
        as_of=as_of or "", department=department or ""), caller.metadata)
    return JSONResponse(to_json(reply))
