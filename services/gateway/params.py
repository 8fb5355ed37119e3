"""Query and path parameters shared by several endpoints, validated with the field named."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict

from credit.v1 import common_pb2, scoring_pb2
from services.common.codes import CodeError, validate_uscc
from services.common.errors import ServiceError
from services.records.submission import PERSON_KEY_PREFIX

Grade = Literal["A", "B", "C", "D"]
SourceName = Literal["medical_procurement", "fire_products", "credit_service_agency",
                     "hr_penalty"]
KindName = Literal["enterprise", "credit_service_agency", "institution", "person"]
Industry = Literal["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O",
                   "P", "Q", "R", "S", "T"]
DATE = r"^\d{4}-\d{2}-\d{2}$"


class RequestBody(BaseModel):
    """A JSON request body: a field it does not define is refused (400 naming it), never
    ignored: a misspelt filter (`region_prefix` for `region`) would otherwise widen a draw."""

    model_config = ConfigDict(extra="forbid")


EntityPath = Annotated[str, Path(
    min_length=18, max_length=65, pattern=r"^[0-9A-Z]{18}$|^P[0-9a-f]{64}$",
    description="USCC (统一社会信用代码) or the entity_key the platform returned; never a "
                "resident ID (URLs end up in logs)")]
AsOf = Annotated[str | None, Query(pattern=DATE, description="ISO date; default today")]
PageToken = Annotated[str | None, Query(max_length=1024, description="from next_page_token")]


def source_enum(name: str) -> str:
    """fire_products → SOURCE_FIRE_PRODUCTS (protobuf takes enum names)."""
    return "SOURCE_" + name.upper()


def kind_enum(name: str) -> str:
    return "ENTITY_KIND_" + name.upper()


def entity_ref(value: str) -> common_pb2.EntityRef:
    if value.startswith(PERSON_KEY_PREFIX):
        return common_pb2.EntityRef(entity_key=value)
    try:
        return common_pb2.EntityRef(uscc=validate_uscc(value))
    except CodeError as exc:
        raise ServiceError.invalid_argument(("entity", str(exc))) from None


class GradeFilterParams:
    """The tiered-list filter (grade, region, industry, source, kind) from the query."""

    def __init__(
        self,
        grade: Annotated[list[Grade] | None, Query(description="any of these grades")] = None,
        region: Annotated[str | None, Query(
            pattern=r"^\d{2}(\d{2}){0,2}$",
            description='administrative division prefix: "22", "2201" or "220183"')] = None,
        industry: Annotated[list[Industry] | None, Query(
            description="GB/T 4754 section letters")] = None,
        source: Annotated[list[SourceName] | None, Query(
            description="entities with records in force from any of these sources")] = None,
        kind: Annotated[list[KindName] | None, Query()] = None,
    ) -> None:
        self.proto = scoring_pb2.GradeFilter(
            grades=grade or [], region_prefix=region or "", industries=industry or [],
            sources=[source_enum(s) for s in source or []],
            kinds=[kind_enum(k) for k in kind or []])
