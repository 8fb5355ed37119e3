"""An entity's credit file, masked by role."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from credit.v1 import records_pb2
from services.gateway.auth import OFFICIALS, Caller, require
from services.gateway.downstream import Downstream
from services.gateway.errors import ERROR_RESPONSES
from services.gateway.params import AsOf, EntityPath, entity_ref
from services.gateway.present import credit_file
from services.gateway.schemas import ok
from services.gateway.state import downstream

router = APIRouter(prefix="/api/v1", tags=["entities"], responses=ERROR_RESPONSES)


@router.get("/entities/{entity}/credit-file", summary="Credit file (信用档案) as of a date",
            response_model=None,
            responses=ok(records_pb2.CreditFile, "CreditFile (records.proto) as JSON; personal IDs "
                             "masked for everyone but the owning department"))
async def get_credit_file(
    entity: EntityPath, caller: Annotated[Caller, Depends(require(OFFICIALS))],
    down: Annotated[Downstream, Depends(downstream)], as_of: AsOf = None,
) -> JSONResponse:
    reply = await down.call("records", down.records.GetCreditFile,
                            records_pb2.GetCreditFileRequest(entity=entity_ref(entity),
                                                             as_of=as_of or ""),
                            caller.metadata)
    return JSONResponse(credit_file(reply, caller))
