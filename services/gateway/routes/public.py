"""What the public sees: serious (严重) dishonesty information inside its publication period.
It is every published record of national category 严重, not only listings on a 严重失信主体名单
(services.records.queries.SERIOUS_LIST_LEVELS)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from credit.v1 import common_pb2, records_pb2
from services.gateway.auth import EVERYONE, Caller, require
from services.gateway.downstream import Downstream
from services.gateway.errors import ERROR_RESPONSES
from services.gateway.params import AsOf, Industry, PageToken, SourceName, source_enum
from services.gateway.present import record
from services.gateway.schemas import ok
from services.gateway.state import downstream

router = APIRouter(prefix="/api/v1/public", tags=["public"], responses=ERROR_RESPONSES)


@router.get("/serious-dishonesty",
            summary="Public serious (严重) dishonesty information; no token needed",
            response_model=None,
            responses=ok(records_pb2.ListRecordsResponse, "only records inside their "
                         "publication period, persons masked"))
async def serious_dishonesty(
    caller: Annotated[Caller, Depends(require(EVERYONE))],
    down: Annotated[Downstream, Depends(downstream)],
    region: Annotated[str | None, Query(pattern=r"^\d{2}(\d{2}){0,2}$")] = None,
    industry: Industry | None = None,
    source: Annotated[list[SourceName] | None, Query()] = None,
    as_of: AsOf = None, page_token: PageToken = None,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> JSONResponse:
    # The records service's public view already keeps only published records inside their
    # period and not shielded; asking for ACTIVE serious ones narrows it to 严重 information.
    reply = await down.call("records", down.records.ListPublicRecords,
                            records_pb2.ListRecordsRequest(
                                categories=[common_pb2.CATEGORY_SERIOUS],
                                statuses=[records_pb2.RECORD_STATUS_ACTIVE],
                                sources=[source_enum(s) for s in source or []],
                                region_prefix=region or "", industry=industry or "",
                                as_of=as_of or "", page_size=page_size,
                                page_token=page_token or ""),
                            caller.metadata)
    active = records_pb2.RECORD_STATUS_ACTIVE
    return JSONResponse({"records": [record(r, caller) for r in reply.records
                                     if r.published and r.status == active],
                         "next_page_token": reply.next_page_token})
