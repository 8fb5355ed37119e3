"""Decodes and validates what departments send, before any rule or database sees it.

Every problem becomes a (field, reason) violation with the proto field path, so a client can
point at the exact input that was wrong.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from typing import Any, NamedTuple

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from credit.v1 import common_pb2, records_pb2
from services.common.codes import (
    CodeError,
    PersonalIdProtector,
    validate_industry_section,
    validate_region_code,
    validate_resident_id,
    validate_uscc,
)

SOURCES: dict[int, str] = {
    common_pb2.SOURCE_MEDICAL_PROCUREMENT: "medical_procurement",
    common_pb2.SOURCE_FIRE_PRODUCTS: "fire_products",
    common_pb2.SOURCE_CREDIT_SERVICE_AGENCY: "credit_service_agency",
    common_pb2.SOURCE_HR_PENALTY: "hr_penalty",
}
SOURCE_ENUM: dict[str, Any] = {name: number for number, name in SOURCES.items()}

KINDS: dict[int, str] = {
    common_pb2.ENTITY_KIND_ENTERPRISE: "enterprise",
    common_pb2.ENTITY_KIND_CREDIT_SERVICE_AGENCY: "credit_service_agency",
    common_pb2.ENTITY_KIND_INSTITUTION: "institution",
    common_pb2.ENTITY_KIND_PERSON: "person",
}
KIND_ENUM: dict[str, Any] = {name: number for number, name in KINDS.items()}

_SOURCE_RECORD_ID = re.compile(r"[A-Za-z0-9._:/-]{1,64}")
_AMOUNT = re.compile(r"[0-9]{1,15}(\.[0-9]{1,2})?")
PERSON_KEY_PREFIX = "P"


class Invalid(Exception):
    """One or more field violations of one input."""

    def __init__(self, violations: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {r}" for f, r in violations))
        self.violations = violations


# C0 controls but tab, line feed and carriage return, and DEL: no part of a name or a text,
# and PostgreSQL refuses NUL in text outright (which would fail a whole batch's COPY).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_text(value: str, field: str, most: int, violations: list[tuple[str, str]], *,
               required: bool = True) -> str:
    """`value` stripped; a violation when it is empty (if required), longer than `most`
    characters, or holds control characters."""
    text = value.strip()
    if (required and not text) or len(text) > most:
        violations.append((field, f"must be {1 if required else 0} to {most} characters"))
    elif _CONTROL.search(text):
        violations.append((field, "must not contain control characters"))
    return text


# No date the platform handles lies before it (persons' births included); windows reach back
# 36 months from a date, which from year 1 would leave the calendar.
EARLIEST_DATE = date(1900, 1, 1)


def parse_date(value: str, field: str, violations: list[tuple[str, str]],
               *, required: bool = True, not_after: date | None = None) -> date | None:
    if not value:
        if required:
            violations.append((field, "is required (YYYY-MM-DD)"))
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        violations.append((field, f"{value!r} is not a date (YYYY-MM-DD)"))
        return None
    if len(value) != 10:
        violations.append((field, f"{value!r} is not a date (YYYY-MM-DD)"))
        return None
    if parsed < EARLIEST_DATE:
        violations.append((field, f"{value} is before {EARLIEST_DATE}"))
        return None
    if not_after is not None and parsed > not_after:
        violations.append((field, f"{value} is in the future"))
        return None
    return parsed


def require_date(value: str, field: str, *, not_after: date | None = None) -> date:
    """A single date field; raises Invalid."""
    violations: list[tuple[str, str]] = []
    parsed = parse_date(value, field, violations, not_after=not_after)
    if parsed is None:
        raise Invalid(violations)
    return parsed


def optional_date(value: str, field: str, default: date) -> date:
    return require_date(value, field) if value else default


@dataclass(frozen=True)
class EntityKey:
    key: str
    display_id: str
    is_person: bool


def decode_ref(ref: common_pb2.EntityRef, field: str, protector: PersonalIdProtector,
               violations: list[tuple[str, str]]) -> EntityKey | None:
    which = ref.WhichOneof("id")
    try:
        if which == "uscc":
            code = validate_uscc(ref.uscc)
            return EntityKey(code, code, False)
        if which == "resident_id":
            rid = validate_resident_id(ref.resident_id)
            return EntityKey(PERSON_KEY_PREFIX + protector.hash(rid), protector.mask(rid), True)
        if which == "entity_key":
            key = ref.entity_key.strip()
            if key.startswith(PERSON_KEY_PREFIX) and re.fullmatch(r"P[0-9a-f]{64}", key):
                return EntityKey(key, "", True)
            code = validate_uscc(key)
            return EntityKey(code, code, False)
    except CodeError as exc:
        violations.append((f"{field}.{which}", str(exc)))
        return None
    violations.append((field, "one of uscc, resident_id or entity_key is required"))
    return None


def require_ref(ref: common_pb2.EntityRef, field: str,
                protector: PersonalIdProtector) -> EntityKey:
    violations: list[tuple[str, str]] = []
    key = decode_ref(ref, field, protector, violations)
    if key is None:
        raise Invalid(violations)
    return key


@dataclass(frozen=True)
class SubjectIn:
    ref: EntityKey
    kind: str
    name: str
    region_code: str
    industry: str
    established_on: date


def decode_subject(s: records_pb2.Subject, field: str, protector: PersonalIdProtector,
                   today: date, violations: list[tuple[str, str]]) -> SubjectIn | None:
    start = len(violations)
    ref = decode_ref(s.ref, f"{field}.ref", protector, violations)
    kind = KINDS.get(s.kind)
    if kind is None:
        reason = "required" if s.kind == 0 else f"unknown kind {s.kind}"
        violations.append((f"{field}.kind", reason))
    elif ref is not None and (kind == "person") != ref.is_person:
        violations.append((f"{field}.kind", f"{kind} does not match the identifier given"))
    name = check_text(s.name, f"{field}.name", 200, violations)
    region = industry = ""
    try:
        region = validate_region_code(s.region_code)
    except CodeError as exc:
        violations.append((f"{field}.region_code", str(exc)))
    try:
        industry = validate_industry_section(s.industry)
    except CodeError as exc:
        violations.append((f"{field}.industry", str(exc)))
    established = parse_date(s.established_on, f"{field}.established_on", violations,
                             not_after=today)
    if len(violations) > start or ref is None or kind is None or established is None:
        return None
    return SubjectIn(ref, kind, name, region, industry, established)


class Submission(NamedTuple):
    """A decoded, validated record (a named tuple: one is built per record)."""

    source: str
    source_record_id: str
    subject: SubjectIn
    decided_on: date
    decision_number: str
    summary: str
    facts: dict[str, Any]
    violation: str
    content_hash: str
    # `facts` as stored (JSON: dates as ISO text); the very same dict when it holds no date.
    stored_facts: dict[str, Any]
    message: records_pb2.RecordSubmission  # as received (legacy_content_hash reads it)


# How _facts reads a field, from its name and type (see there).
_DATES, _DATE, _AMOUNT_FIELD, _BOOL, _OTHER = range(5)


@cache
def _fact_fields(descriptor: Descriptor) -> tuple[tuple[str, int, bool], ...]:
    """(name, how to read it, has presence) per field of a facts message, worked out once
    per message type instead of once per record."""
    def how(fd: FieldDescriptor) -> int:
        if fd.name.endswith("_dates"):
            return _DATES
        if fd.name.endswith("_on"):
            return _DATE
        if fd.name.endswith("_yuan"):
            return _AMOUNT_FIELD
        return _BOOL if fd.type == fd.TYPE_BOOL else _OTHER
    return tuple((fd.name, how(fd), fd.has_presence) for fd in descriptor.fields)


@cache
def _has_dates(descriptor: Descriptor) -> bool:
    return any(how in (_DATES, _DATE) for _, how, _ in _fact_fields(descriptor))


def _facts(msg: Message, field: str, violations: list[tuple[str, str]]) -> dict[str, Any]:
    """Proto facts → the plain dict the rules read; dates parsed, empty fields left out."""
    out: dict[str, Any] = {}
    for name, how, presence in _fact_fields(msg.DESCRIPTOR):
        if presence and not msg.HasField(name):
            continue
        value = getattr(msg, name)
        if how == _OTHER:
            if value != "" and value != 0:
                out[name] = value
        elif how == _BOOL:
            out[name] = bool(value)
        elif how == _DATES:
            dates = [parse_date(v, f"{field}.{name}[{i}]", violations)
                     for i, v in enumerate(value)]
            out[name] = [d for d in dates if d is not None]
        elif how == _DATE:
            if value:
                out[name] = parse_date(value, f"{field}.{name}", violations)
        elif value:
            # Stored as sent, so only a plain decimal is accepted: every reader (the rules,
            # SQL aggregates on PostgreSQL and SQLite) then reads the same number.
            if not _AMOUNT.fullmatch(value):
                violations.append((f"{field}.{name}", "must be a non-negative amount in yuan "
                                                      "with at most 2 decimals, e.g. 500000.00"))
            else:
                out[name] = value
    return out


@lru_cache(maxsize=4096)
def _subject(raw: bytes, field: str, protector: PersonalIdProtector, today: date) -> SubjectIn:
    """decode_subject for a serialised subject; raises Invalid. A feed sends an entity's
    records together, so the same subject is validated (check characters, ID hash) once."""
    violations: list[tuple[str, str]] = []
    subject = decode_subject(records_pb2.Subject.FromString(raw), field, protector, today,
                             violations)
    if subject is None:
        raise Invalid(violations)
    return subject


def _content_hash(r: records_pb2.RecordSubmission, entity_key: str, *,
                  whole_subject: bool = False) -> str:
    """SHA-256 of what the record states: the submission with its subject reduced to the
    entity's key. The same record sent with a USCC or a key hashes the same, no clear resident
    ID goes into the hash, and the subject's attributes (name, region, industry: the entity
    register's, not the finding's) stay out, so resending a record after the entity was
    renamed is no correction of it. `whole_subject`: the earlier hash, which kept them."""
    normalised = records_pb2.RecordSubmission()
    normalised.CopyFrom(r)
    if not whole_subject:
        normalised.subject.Clear()
    normalised.subject.ref.entity_key = entity_key
    return hashlib.sha256(normalised.SerializeToString(deterministic=True)).hexdigest()


def legacy_content_hash(sub: Submission) -> str:
    """The content hash stored for records submitted before the subject's attributes were
    left out: the identical record again matches either."""
    return _content_hash(sub.message, sub.subject.ref.key, whole_subject=True)


# The short violation code stored with a record, per source.
VIOLATION_CODE: dict[str, Callable[[dict[str, Any]], str]] = {
    "medical_procurement": lambda f: str(f.get("violation", "")),
    "fire_products": lambda f: str(f.get("finding", "")),
    "credit_service_agency": lambda f: f"article16({f.get('article16_item', '')})",
    "hr_penalty": lambda f: f"tier:{f.get('tier', '')}",
}


def decode_submission(r: records_pb2.RecordSubmission, protector: PersonalIdProtector,
                      today: date, field: str = "record") -> Submission:
    violations: list[tuple[str, str]] = []
    source = SOURCES.get(r.source)
    if source is None:
        violations.append((f"{field}.source",
                           "required" if r.source == 0 else f"unknown source {r.source}"))
    # Each read of a proto field builds a new Python object: read the hot ones once.
    source_record_id, months = r.source_record_id, r.publication_months
    if not _SOURCE_RECORD_ID.fullmatch(source_record_id):
        violations.append((f"{field}.source_record_id",
                           "must be 1 to 64 characters of A-Z a-z 0-9 . _ : / -"))
    subject: SubjectIn | None = None
    try:
        subject = _subject(r.subject.SerializeToString(deterministic=True), f"{field}.subject",
                           protector, today)
    except Invalid as exc:
        violations.extend(exc.violations)
    decided = parse_date(r.decided_on, f"{field}.decided_on", violations, not_after=today)
    if decided and subject and decided < subject.established_on:
        violations.append((f"{field}.decided_on",
                           f"{decided} is before the entity was established "
                           f"({subject.established_on})"))
    decision_number = check_text(r.decision_number, f"{field}.decision_number", 100,
                                 violations, required=False)
    summary = check_text(r.summary, f"{field}.summary", 2000, violations, required=False)
    if months < 0:
        violations.append((f"{field}.publication_months", "must not be negative"))
    which = r.WhichOneof("facts")
    facts: dict[str, Any] = {}
    if which is None:
        violations.append((f"{field}.facts", "the source's facts are required"))
    elif source is not None and which != source:
        violations.append((f"{field}.{which}", f"facts of {which} do not match source {source}"))
    else:
        facts = _facts(getattr(r, which), f"{field}.{which}", violations)
    if violations:
        raise Invalid(violations)
    assert source is not None and subject is not None and decided is not None
    if months:
        facts["publication_months"] = months
    return Submission(
        source=source,
        source_record_id=source_record_id,
        subject=subject,
        decided_on=decided,
        decision_number=decision_number,
        summary=summary,
        facts=facts,
        violation=VIOLATION_CODE[source](facts),
        content_hash=_content_hash(r, subject.ref.key),
        stored_facts=_stored(facts) if which and _has_dates(getattr(r, which).DESCRIPTOR)
        else facts,
        message=r,
    )


def _stored(facts: dict[str, Any]) -> dict[str, Any]:
    """Facts in their JSON form: dates (alone or in lists) as ISO text."""
    if not any(type(v) is date or type(v) is list for v in facts.values()):
        return facts
    return {k: v.isoformat() if type(v) is date
            else [d.isoformat() if type(d) is date else d for d in v] if type(v) is list else v
            for k, v in facts.items()}
