"""Read side: credit files, filtered record lists (keyset pages) and the public view.

A record's status is a function of the date asked about, computed in SQL so that lists can
filter on it: withdrawn and repaired win, then not yet effective, then expired, else active.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Date,
    Engine,
    Select,
    Text,
    and_,
    bindparam,
    case,
    cast,
    exists,
    or_,
    select,
)
from sqlalchemy.orm import Bundle, Session

from services.common.db import decode_id_token, encode_id_token, where_in
from services.records.models import (
    AnnualReport,
    AuditEntry,
    Commitment,
    Entity,
    Objection,
    Record,
    Repair,
    RuleText,
    Shield,
)
from services.records.rules import fire_products
from services.records.submission import Invalid

# A date, or a bound parameter for statements built once and executed with their values.
AsOf = date | BindParameter[date]


def status_expr(as_of: AsOf) -> ColumnElement[str]:
    return case(
        (Record.listed.is_(False), "not_listed"),
        (and_(Record.withdrawn_on.is_not(None), Record.withdrawn_on <= as_of), "withdrawn"),
        (and_(Record.repaired_on.is_not(None), Record.repaired_on <= as_of), "repaired"),
        (Record.publication_start > as_of, "pending"),
        (Record.publication_end <= as_of, "expired"),
        else_="active",
    )


# Listings on a serious dishonesty list (严重失信主体名单), which 国办发〔2025〕22号 三 names
# apart from 行政处罚 (a 严重 record is no listing by itself), by source and source level. The
# one the four sources report: the market-supervision 严重违法失信名单 (消防〔2025〕32号 三（四）7).
# The NHSA's 严重失信 / 特别严重失信 (line 12) grade procurement credit and list nobody.
SERIOUS_LIST_LEVELS: dict[str, frozenset[str]] = {
    fire_products.SOURCE: frozenset({fire_products.LIST_LEVEL}),
}


def serious_list_expr() -> ColumnElement[bool]:
    """The record is a listing on a serious dishonesty list (whatever its status)."""
    return or_(*(and_(Record.source == source, Record.source_level.in_(sorted(levels)))
                 for source, levels in SERIOUS_LIST_LEVELS.items()))


# The department a shield started by an admin carries (workflows.start_shield); token files
# refuse it as a department's name (services.common.auth).
ADMIN_SHIELD = "admin"


def shielded_expr(as_of: AsOf) -> ColumnElement[bool]:
    """Shielded: a reorganisation shield of the entity covers as_of, the record predates it,
    and the shield is its department's own. 国办发〔2025〕22号 九 has each 行业主管部门 shield
    its own 失信信息 (五: 谁认定、谁修复), so one department's shield leaves the others' records
    be; an admin's shield covers every department's."""
    return exists().where(
        Shield.entity_id == Record.entity_id,
        Shield.started_on <= as_of,
        or_(Shield.lifted_on.is_(None), Shield.lifted_on > as_of),
        Record.decided_on <= Shield.started_on,
        or_(Shield.department == Record.department, Shield.department == ADMIN_SHIELD),
    )


# A record's columns as a plain row (attribute access like the ORM object's): the rows are
# only read, and building ORM instances cost more than the query. Its facts and notes come as
# their JSON text: the facts go out as text anyway (facts_json), and notes repeat across
# records (views parses each distinct text once); decoding both per row was a quarter of a
# large credit file's read.
_RECORD_ROW: Bundle[Any] = Bundle(
    "record",
    *(c for c in Record.__table__.columns if c.name not in ("facts", "notes")),
    cast(Record.facts, Text).label("facts"),
    cast(Record.notes, Text).label("notes"),
)


def _record_select(as_of: AsOf) -> Select[*tuple[Any, ...]]:
    q: Select[*tuple[Any, ...]] = (
        select(
            _RECORD_ROW,
            Entity.entity_key,
            Entity.name.label("entity_name"),
            Entity.display_id.label("entity_display_id"),
            Entity.region_code,
            Entity.industry,
            Entity.kind.label("entity_kind"),
            status_expr(as_of).label("status"),
            shielded_expr(as_of).label("shielded"),
        )
        .join(Entity, Entity.id == Record.entity_id)
    )
    return q


@dataclass(frozen=True)
class RecordView:
    record: Any  # a row of Record's columns (see _RECORD_ROW)
    entity_key: str
    entity_name: str
    entity_display_id: str
    region_code: str
    industry: str
    entity_kind: str
    status: str
    shielded: bool
    measures: list[str]
    legal_basis: list[dict[str, Any]]
    requirements: list[str]


def _views(session: Session, rows: Sequence[Any]) -> list[RecordView]:
    texts = rule_texts(session, {row[0].texts_id for row in rows})
    return [RecordView(*(*row, *texts[row[0].texts_id])) for row in rows]


# Rule texts by id. Rows of rule_texts are never changed (a new text is a new row), so they
# are read once per process instead of joined into every record row: the texts are most of a
# record row's bytes (about 1.3 KB of JSON each) and of the time to decode it.
# Per engine: ids are per database.
Texts = tuple[list[str], list[dict[str, Any]], list[str]]
_TEXTS: WeakKeyDictionary[Engine, dict[int, Texts]] = WeakKeyDictionary()


def rule_texts(session: Session, ids: set[int]) -> dict[int, Texts]:
    """The texts of `ids`; from the process's cache, reading only those not in it."""
    known = _TEXTS.setdefault(session.get_bind().engine, {})
    # Taken one by one into a dict of the call's own: another thread may clear `known`.
    out = {i: t for i in ids if (t := known.get(i)) is not None}
    if missing := sorted(ids - out.keys()):
        if len(known) > 65_536:  # rule editions are few; bound it anyway
            known.clear()
        for cond in where_in(session, RuleText.id, missing):
            for row in session.execute(select(RuleText.id, RuleText.measures,
                                              RuleText.legal_basis, RuleText.requirements)
                                       .where(cond)):
                out[row.id] = known[row.id] = (row.measures, row.legal_basis, row.requirements)
    return out


@dataclass
class CreditFile:
    entity: Entity
    as_of: date
    records: list[RecordView]
    repairs: list[Repair]
    objections: list[Objection]
    commitments: list[Commitment]
    shields: list[Shield]
    annual_reports: list[AnnualReport]
    audit: list[AuditEntry]


# The credit file's statements, built once: constructing them per call cost more than
# running them (SQLAlchemy then finds each compiled in its cache).
_AS_OF_P: BindParameter[date] = bindparam("as_of", type_=Date())
_ENTITY_P: BindParameter[int] = bindparam("entity_id")
# The entity with whether it has anything in each workflow table: most have nothing, and a
# round trip to PostgreSQL (~0.1 ms) plus SQLAlchemy's per-statement work is the cost here.
_FILE_ENTITY = select(
    Entity,
    exists().where(Repair.record_id == Record.id, Record.entity_id == Entity.id),
    exists().where(Objection.record_id == Record.id, Record.entity_id == Entity.id),
    exists().where(Commitment.entity_id == Entity.id),
    exists().where(Shield.entity_id == Entity.id),
    exists().where(AnnualReport.entity_id == Entity.id),
).where(Entity.entity_key == bindparam("key"))
_FILE_RECORDS = (_record_select(_AS_OF_P)
                 .where(Record.entity_id == _ENTITY_P, Record.decided_on <= _AS_OF_P)
                 .order_by(Record.decided_on, Record.id))
_FILE_RECORD_IDS = select(Record.id).where(Record.entity_id == _ENTITY_P,
                                           Record.decided_on <= _AS_OF_P)
_FILE_LISTS: tuple[Select[Any], ...] = (
    *(select(m).where(m.record_id.in_(_FILE_RECORD_IDS)).order_by(m.id)
      for m in (Repair, Objection)),
    *(select(m).where(m.entity_id == _ENTITY_P).order_by(m.id)
      for m in (Commitment, Shield, AnnualReport)),
)
_TRAIL = select(AuditEntry).where(AuditEntry.entity_key == bindparam("entity_key")
                                  ).order_by(AuditEntry.seq)


def credit_file(session: Session, entity_key: str, as_of: date, *,
                include_audit: bool) -> CreditFile | None:
    """The entity's file as of `as_of`, read in the caller's session; None if there is no
    such entity."""
    found = session.execute(_FILE_ENTITY, {"key": entity_key}).first()
    if found is None:
        return None
    entity, *present = found
    params = {"entity_id": entity.id, "as_of": as_of}
    records = _views(session, session.execute(_FILE_RECORDS, params).all())
    repairs, objections, commitments, shields, reports = (
        list(session.execute(statement, params).scalars()) if has else []
        for statement, has in zip(_FILE_LISTS, present, strict=True))
    trail: list[AuditEntry] = []
    if include_audit:
        trail = list(session.execute(_TRAIL, {"entity_key": entity_key}).scalars())
    return CreditFile(entity, as_of, records, repairs, objections, commitments, shields,
                      reports, trail)


@dataclass(frozen=True)
class RecordFilter:
    as_of: date
    sources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    region_prefix: str = ""
    industry: str = ""
    decided_from: date | None = None
    decided_to: date | None = None
    entity_id: int | None = None
    public: bool = False


def encode_token(last_id: int) -> str:
    return encode_id_token("r1", last_id)


def decode_token(token: str, field: str = "page_token") -> int:
    last = decode_id_token("r1", token)
    if last is None:
        raise Invalid([(field, "is not a page token this service issued")])
    return last


def list_records(session: Session, f: RecordFilter, page_size: int,
                 after_id: int = 0) -> tuple[list[RecordView], int | None]:
    """One keyset page ordered by record id; returns the rows and the last id if more."""
    q = _record_select(f.as_of).where(Record.id > after_id)
    status = status_expr(f.as_of)
    if f.public:
        # 公示: only records inside their publication period, published, not shielded.
        q = q.where(status == "active", Record.published.is_(True),
                    ~shielded_expr(f.as_of), Record.decided_on <= f.as_of)
    if f.sources:
        q = q.where(Record.source.in_(f.sources))
    if f.categories:
        q = q.where(Record.category.in_(f.categories))
    if f.statuses:
        q = q.where(status.in_(f.statuses))
    if f.region_prefix:
        q = q.where(Entity.region_code.startswith(f.region_prefix))
    if f.industry:
        q = q.where(Entity.industry == f.industry)
    if f.decided_from:
        q = q.where(Record.decided_on >= f.decided_from)
    if f.decided_to:
        q = q.where(Record.decided_on <= f.decided_to)
    if f.entity_id is not None:
        q = q.where(Record.entity_id == f.entity_id)
    rows = _views(session, session.execute(q.order_by(Record.id).limit(page_size + 1)).all())
    if len(rows) > page_size:
        return rows[:page_size], rows[page_size - 1].record.id
    return rows, None
