"""Protobuf → JSON for HTTP, with personal IDs masked by role.

The platform never stores a resident ID in clear: the records service keeps a keyed hash and
a masked form ("220183********123X"). The owning department (one whose source has a record
about the person) sees that stored form; everyone else sees the region only
("220183************").
"""

from __future__ import annotations

from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from credit.v1 import common_pb2, records_pb2, scoring_pb2
from services.common.codes import region_only
from services.gateway.auth import Caller
from services.records.departments import SOURCE_OWNER
from services.records.submission import PERSON_KEY_PREFIX

_SOURCE_NAMES = {v: common_pb2.Source.Name(v) for v in common_pb2.Source.values()}
_KIND_NAMES = {v: common_pb2.EntityKind.Name(v) for v in common_pb2.EntityKind.values()}


def source_slug(source: int) -> str:
    """SOURCE_FIRE_PRODUCTS → fire_products (the platform's short source names)."""
    return _SOURCE_NAMES[source].removeprefix("SOURCE_").lower()


def to_json(message: Message) -> dict[str, Any]:
    return MessageToDict(message, always_print_fields_with_no_presence=True,
                         preserving_proto_field_name=True)


def _owns_any(caller: Caller, sources: Any) -> bool:
    return any(caller.owns(SOURCE_OWNER[source_slug(s)]) for s in sources)


def view(caller: Caller) -> str:
    """What decides how a caller sees persons: its department, if it is one."""
    p = caller.principal
    return p.department or "" if "department" in p.roles else ""


def mask_grade_summary(g: scoring_pb2.GradeSummary, caller: Caller) -> None:
    if g.kind == common_pb2.ENTITY_KIND_PERSON and not _owns_any(caller, g.sources):
        g.display_id = region_only(g.display_id)


def mask_credit_file(f: records_pb2.CreditFile, caller: Caller) -> None:
    person = f.entity.kind == common_pb2.ENTITY_KIND_PERSON
    if person and not any(caller.owns(r.department) for r in f.records):
        f.entity.display_id = region_only(f.entity.display_id)
        for r in f.records:
            r.entity_display_id = region_only(r.entity_display_id)


def mask_record(r: records_pb2.Record, caller: Caller) -> None:
    # The public view blanks persons' keys; either way only the owner sees more.
    person = r.entity_key.startswith(PERSON_KEY_PREFIX) or not r.entity_key
    if person and not caller.owns(r.department):
        r.entity_display_id = region_only(r.entity_display_id)


def grade_summary(g: scoring_pb2.GradeSummary, caller: Caller) -> dict[str, Any]:
    """Hand-written rather than MessageToDict: list pages are the hot path."""
    display_id = g.display_id
    if g.kind == common_pb2.ENTITY_KIND_PERSON and not _owns_any(caller, g.sources):
        display_id = region_only(display_id)
    return {
        "entity_key": g.entity_key, "kind": _KIND_NAMES[g.kind], "name": g.name,
        "display_id": display_id, "region_code": g.region_code, "industry": g.industry,
        "sources": [_SOURCE_NAMES[s] for s in g.sources], "grade": g.grade, "score": g.score,
        "score_grade": g.score_grade, "decided_by": g.decided_by, "reasons": list(g.reasons),
        "model_version": g.model_version, "policy_version": g.policy_version,
        "as_of": g.as_of, "graded_at": g.graded_at, "cause": g.cause,
    }


def grade_record(r: scoring_pb2.GradeRecord, caller: Caller) -> dict[str, Any]:
    out = to_json(r)
    out["grade"] = grade_summary(r.grade, caller)
    return out


def credit_file(f: records_pb2.CreditFile, caller: Caller) -> dict[str, Any]:
    mask_credit_file(f, caller)
    return to_json(f)


def record(r: records_pb2.Record, caller: Caller) -> dict[str, Any]:
    mask_record(r, caller)
    return to_json(r)
