"""The gRPC façade for regulators (credit.v1.GatewayService), served by the shared bootstrap.

The shared server has already authenticated the caller; here the role is checked and the
caller's own token is forwarded, as on the HTTP side.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc

from credit.v1 import gateway_pb2, gateway_pb2_grpc, records_pb2, scoring_pb2
from services.common.auth import current_principal
from services.common.errors import ServiceError
from services.gateway.auth import Caller
from services.gateway.downstream import Downstream, Metadata
from services.gateway.present import mask_credit_file, mask_grade_summary

REGULATORS = frozenset({"admin", "regulator"})


def _caller(context: grpc.aio.ServicerContext[Any, Any]) -> Caller:
    principal = current_principal()
    if not principal.roles & REGULATORS:
        raise ServiceError.permission_denied("this call is not open to your role")
    metadata: Metadata = tuple(
        (k, v) for k, v in (context.invocation_metadata() or ())
        if k == "authorization" and isinstance(v, str))
    return Caller(principal, metadata)


class GatewayServicer(gateway_pb2_grpc.GatewayServiceServicer):
    def __init__(self, downstream: Callable[[], Downstream]) -> None:
        # Channels are made once the server's event loop runs (in on_start).
        self._down = downstream

    async def GetGrade(self, request: scoring_pb2.GetGradeRequest,
                       context: Any) -> scoring_pb2.GradeRecord:
        caller, down = _caller(context), self._down()
        reply: scoring_pb2.GradeRecord = await down.call(
            "scoring", down.scoring.GetGrade, request, caller.metadata)
        mask_grade_summary(reply.grade, caller)
        return reply

    async def ListGrades(self, request: scoring_pb2.ListGradesRequest,
                         context: Any) -> scoring_pb2.ListGradesResponse:
        caller, down = _caller(context), self._down()
        reply: scoring_pb2.ListGradesResponse = await down.call(
            "scoring", down.scoring.ListGrades, request, caller.metadata)
        for g in reply.grades:
            mask_grade_summary(g, caller)
        return reply

    async def GetCreditFile(self, request: records_pb2.GetCreditFileRequest,
                            context: Any) -> records_pb2.CreditFile:
        caller, down = _caller(context), self._down()
        reply: records_pb2.CreditFile = await down.call(
            "records", down.records.GetCreditFile, request, caller.metadata)
        mask_credit_file(reply, caller)
        return reply

    async def WatchGradeChanges(self, request: scoring_pb2.WatchGradeChangesRequest,
                                context: Any) -> AsyncIterator[scoring_pb2.GradeChange]:
        caller, down = _caller(context), self._down()
        # A follow stream is open-ended; a one-shot read gets a deadline like any call.
        timeout = None if request.follow else down.deadline * 4
        async for change in down.stream("scoring", down.scoring.WatchGradeChanges, request,
                                        caller.metadata, timeout):
            yield change


# From the message module, as the other services do: loading it is also what puts
# gateway.proto in the descriptor pool that server reflection answers from.
SERVICE_NAME = gateway_pb2.DESCRIPTOR.services_by_name["GatewayService"].full_name


def register(servicer: GatewayServicer) -> Callable[[grpc.aio.Server], list[str]]:
    def add(server: grpc.aio.Server) -> list[str]:
        gateway_pb2_grpc.add_GatewayServiceServicer_to_server(  # type: ignore[no-untyped-call]
            servicer, server)
        return [SERVICE_NAME]

    return add
