"""Typed constructors of the generated gRPC client stubs.

grpc_tools writes the ``*_pb2_grpc`` modules without type hints, so under ``mypy --strict``
every construction of a stub would carry its own ``type: ignore``; these functions are the one
place that does. The stubs' methods stay as generated (untyped).
"""

from __future__ import annotations

import grpc
import grpc.aio

from credit.v1 import gateway_pb2_grpc, records_pb2_grpc, scoring_pb2_grpc

__all__ = ["gateway_stub", "records_stub", "scoring_stub"]

Channel = grpc.Channel | grpc.aio.Channel


def records_stub(channel: Channel) -> records_pb2_grpc.RecordsServiceStub:
    return records_pb2_grpc.RecordsServiceStub(channel)  # type: ignore[no-untyped-call]


def scoring_stub(channel: Channel) -> scoring_pb2_grpc.ScoringServiceStub:
    return scoring_pb2_grpc.ScoringServiceStub(channel)  # type: ignore[no-untyped-call]


def gateway_stub(channel: Channel) -> gateway_pb2_grpc.GatewayServiceStub:
    return gateway_pb2_grpc.GatewayServiceStub(channel)  # type: ignore[no-untyped-call]
