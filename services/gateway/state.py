"""Per-process objects the endpoints share, reached through the request's app."""

from __future__ import annotations

from fastapi import Request

from services.gateway.cache import PageCache
from services.gateway.downstream import Downstream


def downstream(request: Request) -> Downstream:
    result: Downstream = request.app.state.downstream
    return result


def pages(request: Request) -> PageCache:
    result: PageCache = request.app.state.pages
    return result
