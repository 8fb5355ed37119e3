"""Who is calling: bearer tokens (the shared hashed registry), roles per endpoint, and a
limit on failed token attempts.

Identity is forwarded, not replaced: the caller's own bearer token goes with every
downstream call, so records and scoring authorise the real principal again (a department
decides only its own findings, 谁认定、谁修复). The gateway's service token is used only for
calls made on nobody's behalf: anonymous public pages and readiness checks.

The gateway checks the role an endpoint declares before it asks anyone anything, so a
401 or 403 is the same whether or not the thing asked for exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.common.auth import ROLES, Authenticator, FailedAuthLimiter, Principal
from services.common.errors import ServiceError
from services.gateway.downstream import Metadata
from services.gateway.errors import GatewayError

# Role sets the endpoints declare.
OFFICIALS = frozenset({"admin", "regulator", "planner", "department"})
DEPARTMENTS = frozenset({"admin", "department"})
# Inspection planners draw plans and publish results for any department; a department for
# itself (scoring checks which).
PLANNERS = frozenset({"admin", "planner", "department"})
APPLICANTS = frozenset({"admin", "department", "applicant"})
SUPERVISORS = frozenset({"admin", "regulator", "department"})
EVERYONE = ROLES

ANONYMOUS = Principal(name="anonymous", department=None, roles=frozenset({"public"}))
_scheme = HTTPBearer(auto_error=False, description="a token from CREDIT_TOKENS_FILE")


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    # What downstream calls carry: the caller's token, or the gateway's own for anonymous.
    metadata: Metadata

    def owns(self, department: str) -> bool:
        p = self.principal
        return "department" in p.roles and p.department == department


@dataclass
class AuthContext:
    authenticator: Authenticator
    limiter: FailedAuthLimiter
    service_token: str | None

    def service_metadata(self) -> Metadata:
        return (("authorization", f"Bearer {self.service_token}"),) if self.service_token else ()


class RoleDependency:
    """``Depends(require(...))``: authenticates and checks the endpoint's declared roles."""

    def __init__(self, roles: frozenset[str]) -> None:
        self.roles = roles

    async def __call__(
        self, request: Request,
        _: HTTPAuthorizationCredentials | None = Security(_scheme),  # noqa: B008
    ) -> Caller:
        ctx: AuthContext = request.app.state.auth
        header = request.headers.get("authorization")
        if header is None and ctx.authenticator.mode == "tokens":
            if "public" in self.roles:
                return Caller(ANONYMOUS, ctx.service_metadata())
            raise GatewayError(ServiceError.unauthenticated("missing bearer token"),
                               {"WWW-Authenticate": "Bearer"})
        client = request.client.host if request.client else "unknown"
        wait = ctx.limiter.retry_after(client)
        if wait is not None:
            raise GatewayError(
                ServiceError.resource_exhausted("too many failed token attempts; retry later"),
                {"Retry-After": str(wait)})
        metadata: Metadata = (("authorization", header),) if header is not None else ()
        try:
            principal = ctx.authenticator.authenticate(metadata)
        except ServiceError as err:
            ctx.limiter.failed(client)
            raise GatewayError(err, {"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
        if not principal.roles & self.roles:
            raise GatewayError(ServiceError.permission_denied(
                "this endpoint is not open to your role"))
        return Caller(principal, metadata)


def require(roles: frozenset[str]) -> RoleDependency:
    return RoleDependency(roles)
