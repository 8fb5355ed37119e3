"""Grades: an entity's grade with reasons, tiered lists, counts and the CSV export."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import grpc
from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel

from credit.v1 import scoring_pb2
from services.common.errors import ServiceError
from services.gateway.auth import OFFICIALS, Caller, require
from services.gateway.cache import PageCache
from services.gateway.downstream import Downstream
from services.gateway.errors import ERROR_RESPONSES
from services.gateway.params import EntityPath, GradeFilterParams, PageToken, entity_ref
from services.gateway.present import grade_record, grade_summary, view
from services.gateway.schemas import ok
from services.gateway.state import downstream, pages

router = APIRouter(prefix="/api/v1", tags=["grades"], responses=ERROR_RESPONSES)
Officials = Annotated[Caller, Depends(require(OFFICIALS))]
Down = Annotated[Downstream, Depends(downstream)]
Filter = Annotated[GradeFilterParams, Depends()]
Pages = Annotated[PageCache, Depends(pages)]


class GradeItem(BaseModel):
    entity_key: str
    kind: str
    name: str
    display_id: str
    region_code: str
    industry: str
    sources: list[str]
    grade: str
    score: float
    score_grade: str
    decided_by: str
    reasons: list[str]
    model_version: str
    policy_version: str
    as_of: str
    graded_at: str
    cause: str


class GradePage(BaseModel):
    grades: list[GradeItem]
    next_page_token: str


class GradeCountItem(BaseModel):
    group: str
    grade: str
    count: int


class GradeCounts(BaseModel):
    counts: list[GradeCountItem]
    total: int


@router.get("/grades", summary="Tiered list (分级分类名单), keyset pages",
            response_model=None, responses={200: {"model": GradePage}})
async def list_grades(
    caller: Officials, down: Down, flt: Filter, cache: Pages, page_token: PageToken = None,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    request = scoring_pb2.ListGradesRequest(filter=flt.proto, page_size=page_size,
                                            page_token=page_token or "")

    async def load() -> bytes:
        reply = await down.call("scoring", down.scoring.ListGrades, request, caller.metadata)
        return _json({"grades": [grade_summary(g, caller) for g in reply.grades],
                      "next_page_token": reply.next_page_token})

    key = ("list", request.SerializeToString(deterministic=True), view(caller))
    return Response(await cache.get(key, load), media_type="application/json")


@router.get("/grades/counts", summary="Grade distribution by region, city or industry",
            response_model=None, responses={200: {"model": GradeCounts}})
async def count_grades(
    caller: Officials, down: Down, flt: Filter, cache: Pages,
    group_by: Literal["region", "city", "industry", ""] = "",
) -> Response:
    request = scoring_pb2.CountGradesRequest(filter=flt.proto, group_by=group_by)

    async def load() -> bytes:
        reply = await down.call("scoring", down.scoring.CountGrades, request, caller.metadata)
        return _json({"counts": [{"group": c.group, "grade": c.grade, "count": c.count}
                                 for c in reply.counts], "total": reply.total})

    # Counts hold no personal data: one view for everyone.
    key = ("counts", request.SerializeToString(deterministic=True))
    return Response(await cache.get(key, load), media_type="application/json")


def _json(content: Any) -> bytes:
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


# (field, Chinese header); the English header is the field name.
_COLUMNS = (
    ("entity_key", "主体标识"), ("display_id", "统一社会信用代码/证件号"), ("name", "名称"),
    ("kind", "主体类型"), ("region_code", "行政区划代码"), ("industry", "行业门类"),
    ("grade", "信用等级"), ("score", "评分"), ("decided_by", "定级依据"),
    ("reasons", "原因代码"), ("sources", "信息来源"), ("as_of", "评价基准日"),
    ("graded_at", "评价时间"),
)


def _cell(value: Any) -> str:
    text = ";".join(value) if isinstance(value, list) else str(value)
    # Spreadsheets execute cells starting with these (CSV injection), tab and CR included.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.get("/grades/export.csv", summary="The filtered tiered list as streamed CSV",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}, "description": "CSV, UTF-8"}})
async def export_grades(
    caller: Officials, down: Down, flt: Filter,
    headers: Annotated[Literal["en", "zh"], Query(
        description="column headers: English field names or Chinese (with a BOM for Excel)")
    ] = "en",
) -> StreamingResponse:
    request = scoring_pb2.ListGradesRequest(filter=flt.proto, page_size=1000)
    # The first page is fetched before answering, so its errors get their real status.
    first = await down.call("scoring", down.scoring.ListGrades, request, caller.metadata)
    deadline = time.monotonic() + down.export_deadline

    async def rows() -> AsyncIterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow([c[1] if headers == "zh" else c[0] for c in _COLUMNS])
        page = first
        while True:
            for g in page.grades:
                item = grade_summary(g, caller)
                writer.writerow([_cell(item[c[0]]) for c in _COLUMNS])
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
            if not page.next_page_token:
                return
            if time.monotonic() > deadline:
                # Breaking the chunked body tells the client the file is incomplete.
                raise ServiceError(grpc.StatusCode.DEADLINE_EXCEEDED, "export took too long")
            request.page_token = page.next_page_token
            page = await down.call("scoring", down.scoring.ListGrades, request, caller.metadata)

    media = "text/csv; charset=utf-8"
    prefix = "\ufeff" if headers == "zh" else ""

    async def body() -> AsyncIterator[str]:
        if prefix:
            yield prefix
        async for chunk in rows():
            yield chunk

    return StreamingResponse(body(), media_type=media, headers={
        "Content-Disposition": 'attachment; filename="grades.csv"'})


@router.get("/entities/{entity}/grade", summary="An entity's grade with reasons, legal basis, "
            "supervision tier and history", response_model=None,
            responses=ok(scoring_pb2.GradeRecord, "GradeRecord (scoring.proto) as JSON"))
async def entity_grade(
    entity: EntityPath, caller: Officials, down: Down,
    history_limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> JSONResponse:
    reply = await down.call("scoring", down.scoring.GetGrade, scoring_pb2.GetGradeRequest(
        entity=entity_ref(entity), history_limit=history_limit), caller.metadata)
    return JSONResponse(grade_record(reply, caller))
