"""Liveness, readiness (naming the downstream service that is down) and the caller."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.gateway.auth import EVERYONE, Caller, require
from services.gateway.errors import ERROR_RESPONSES

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    downstream: dict[str, str]
    message: str


async def _health(request: Request) -> tuple[bool, dict[str, Any]]:
    states = await request.app.state.downstream.health()
    down = sorted(name for name, state in states.items() if state != "SERVING")
    message = ("all downstream services are serving" if not down else
               " and ".join(down) + (" is" if len(down) == 1 else " are") + " unavailable")
    return not down, {"status": "SERVING" if not down else "DEGRADED", "downstream": states,
                      "message": message}


@router.get("/healthz", summary="Liveness: the gateway runs; says which downstream is down",
            response_model=Health)
async def healthz(request: Request) -> dict[str, Any]:
    return (await _health(request))[1]


@router.get("/readyz", summary="Readiness: 503 naming the downstream service that is down",
            response_model=None,
            responses={200: {"model": Health}, 503: {"model": Health}})
async def readyz(request: Request) -> JSONResponse:
    ok, body = await _health(request)
    retry = str(request.app.state.settings.retry_after_seconds)
    return JSONResponse(body, status_code=200 if ok else 503,
                        headers={} if ok else {"Retry-After": retry})


class Me(BaseModel):
    name: str
    department: str | None
    roles: list[str]


@router.get("/api/v1/me", summary="The authenticated caller", response_model=Me,
            tags=["auth"], responses=ERROR_RESPONSES)
async def me(caller: Annotated[Caller, Depends(require(EVERYONE))]) -> dict[str, Any]:
    p = caller.principal
    return {"name": p.name, "department": p.department, "roles": sorted(p.roles)}
