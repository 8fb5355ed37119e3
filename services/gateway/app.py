"""The HTTP application: /api/v1 routers, the OpenAPI document, the dashboard, health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from services.common.auth import Authenticator, FailedAuthLimiter
from services.gateway import errors, schemas
from services.gateway.auth import AuthContext, RoleDependency
from services.gateway.cache import PageCache
from services.gateway.config import GatewaySettings
from services.gateway.downstream import Downstream
from services.gateway.limits import BodyLimitMiddleware, SecurityHeadersMiddleware
from services.gateway.metrics import HttpMetrics, MetricsMiddleware
from services.gateway.routes import entities, grades, health, plans, public, workflows

STATIC = Path(__file__).resolve().parent / "static"
DESCRIPTION = """HTTP/JSON door to the public-credit platform (公共信用评价与分级分类监管平台).

Authenticate with `Authorization: Bearer <token>`. Each operation lists the roles it is open
to under `x-roles`; the records and scoring services authorise the forwarded caller again.
Errors are google.rpc.Status as JSON, mapped to HTTP as grpc-gateway does.
"""


def _declare_roles(router: APIRouter) -> None:
    """Copy each endpoint's roles into its OpenAPI operation (one source of truth)."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        for dep in route.dependant.dependencies:
            if isinstance(dep.call, RoleDependency):
                roles = sorted(dep.call.roles)
                route.openapi_extra = {**(route.openapi_extra or {}), "x-roles": roles}
                route.description = (route.description + "\n\n" if route.description else ""
                                     ) + "Roles: " + ", ".join(roles) + "."


def create_app(settings: GatewaySettings, authenticator: Authenticator,
               metrics: HttpMetrics) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # grpc.aio channels belong to the event loop that serves requests.
        app.state.downstream = Downstream(settings.records_address, settings.scoring_address,
                                          settings.deadline_seconds,
                                          settings.export_deadline_seconds)
        try:
            yield
        finally:
            await app.state.downstream.close()

    app = FastAPI(title="Credit platform gateway", version="1.0.0", description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url="/api/v1/openapi.json")
    app.state.settings = settings
    app.state.pages = PageCache(settings.list_cache_seconds)
    app.state.auth = AuthContext(
        authenticator,
        FailedAuthLimiter(settings.auth_failures_allowed, settings.auth_failure_window_seconds),
        settings.service_token)
    errors.install(app, settings.retry_after_seconds)
    for module in (grades, entities, plans, workflows, public, health):
        _declare_roles(module.router)
        app.include_router(module.router)
    app.mount("/dashboard", StaticFiles(directory=STATIC, html=True), name="dashboard")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version,
                              description=app.description, routes=app.routes)
            doc.setdefault("components", {}).setdefault("schemas", {}).update(
                schemas.components())
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/dashboard/")

    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
