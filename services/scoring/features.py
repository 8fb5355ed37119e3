"""Feature vectors of credit files as of a date, for one entity or for all of them.

One code path serves both: a single aggregate query (GROUP BY entity in the database, streamed
with a server-side cursor) over every entity in scope, so a grade for one entity and a bulk
re-grade of millions cannot drift apart. Entities without records get a row as well: every
entity is graded.

What the evaluation sees of the records, as of `as_of`:
- listed records only (an HR 不予/免予处罚 decision is no dishonesty finding);
- decided on or before `as_of` (nothing from the future leaks into a training row);
- not withdrawn on or before `as_of` (an upheld objection erases the record);
- not shielded: records predating an entity's bankruptcy-reorganisation shield in force at
  `as_of` are left out of the evaluation altogether (国办发〔2025〕22号 九), not only out of the
  active counts.
Windows of N months are (as_of − N months, as_of], months added with `add_months` so that
month ends clamp the way the publication periods do.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import sql
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Float,
    Select,
    String,
    and_,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg

from services.common.db import stale_prepared_statement
from services.records.models import AnnualReport, Commitment, Entity, Objection, Record
from services.records.queries import serious_list_expr, shielded_expr, status_expr
from services.records.rules.credit_service_agency import last_due_report_year
from services.records.rules.national import add_months

__all__ = [
    "FEATURES",
    "FEATURE_BY_NAME",
    "FEATURE_NAMES",
    "Feature",
    "FeatureBatch",
    "feature_rows",
    "features_for",
    "features_markdown",
    "labels",
    "whole_months_since",
]

SOURCES = ("medical_procurement", "fire_products", "credit_service_agency", "hr_penalty")
CATEGORIES = ("minor", "general", "serious")
HR_TIERS = ("minor", "serious", "grave")
AGENCY = "credit_service_agency"


@dataclass(frozen=True)
class Feature:
    name: str
    zh: str
    en: str
    meaning: str
    special: str  # special values and what they mean; "" when there are none
    unit: str = "records"
    value_range: str = "0, 1, 2, …"
    # The same range as data, for checking values sent from outside (EvaluateBatch).
    lowest: float = 0.0
    highest: float = math.inf
    whole: bool = True

    def out_of_range(self, values: npt.NDArray[np.float64]) -> str | None:
        """Why some of `values` (NaN aside: a missing value) cannot be this feature."""
        v = values[~np.isnan(values)]
        if ((v < self.lowest) | (v > self.highest)).any() or (
                self.whole and (v != np.floor(v)).any()):
            return f"{self.name} takes {self.value_range}"
        return None


def _f(name: str, zh: str, en: str, meaning: str, special: str = "", unit: str = "records",
       value_range: str = "0, 1, 2, …", **domain: Any) -> Feature:
    return Feature(name, zh, en, meaning, special, unit, value_range, **domain)


_CAT_ZH = {"minor": "轻微", "general": "一般", "serious": "严重"}
_SOURCE_ZH = {"medical_procurement": "医药价格和招采", "fire_products": "消防产品",
              "credit_service_agency": "信用服务机构", "hr_penalty": "人社行政处罚"}
_TIER_ZH = {"minor": "情节较轻", "serious": "情节较重", "grave": "情节严重"}

FEATURES: tuple[Feature, ...] = (
    *(_f(f"n_active_{c}", f"有效{_CAT_ZH[c]}失信记录数", f"Active {c} records",
         f"Records of national category {_CAT_ZH[c]} ({c}) in force at as_of (status active: "
         "effective and within the publication period, not repaired, withdrawn or shielded)."
         + (" An unpublished 轻微 record is in force for the 3 months a published one could be."
            if c == "minor" else "")) for c in CATEGORIES),
    *(_f(f"n_active_{s}", f"有效{_SOURCE_ZH[s]}失信记录数",
         f"Active {s.replace('_', ' ')} records",
         f"Records from source {s} in force at as_of (status active), any category.")
      for s in SOURCES),
    _f("n_active_serious_list", "有效严重失信名单记录数", "Active serious-list records",
       "Records in force at as_of (status active) that are listings on a serious dishonesty "
       "list: fire_products listings on the market-supervision 严重违法失信名单 (the NHSA's "
       "严重失信 ratings grade, they list nobody). Each also counts in n_active_serious."),
    _f("max_active_severity", "最严重有效失信类别", "Most severe active category",
       "Highest national category among the records in force at as_of.",
       "0: no active record; 1 轻微, 2 一般, 3 严重", "ordinal", "0..3", highest=3),
    _f("n_listed_12m", "近12个月失信记录数", "Records in the last 12 months",
       "Records decided in (as_of − 12 months, as_of], whatever their status now (expired and "
       "repaired ones count)."),
    _f("n_listed_36m", "近36个月失信记录数", "Records in the last 36 months",
       "Records decided in (as_of − 36 months, as_of], whatever their status now."),
    *(_f(f"n_listed_36m_{c}", f"近36个月{_CAT_ZH[c]}失信记录数",
         f"{c.capitalize()} records in the last 36 months",
         f"Records of national category {_CAT_ZH[c]} ({c}) decided in the last 36 months.")
      for c in CATEGORIES),
    _f("months_since_last_listed", "距最近失信记录月数", "Months since the last record",
       "Whole months from the latest decision date d ≤ as_of to as_of: the largest m with "
       "as_of − m months ≥ d, so a record lies in the N-month window exactly when this is < N.",
       "-1: no record decided on or before as_of (withdrawn and shielded ones do not count)",
       "months", "-1, 0, 1, …", lowest=-1),
    _f("medical_amount_36m", "近36个月医药案件涉案金额", "Medical amount, 36 months",
       "Sum of amount_yuan of medical_procurement records decided in the last 36 months. Only "
       "plain decimal strings (digits and one point, e.g. '500000.00') are summed.",
       "0 also when no amount is given (顶格 ratings need none)", "yuan", "≥ 0 (real)",
       whole=False),
    _f("n_repaired", "已修复失信记录数", "Repaired records",
       "Records repaired on or before as_of (status repaired), decided at any time."),
    _f("n_disputed", "异议中失信记录数", "Disputed records",
       "Records with an objection filed on or before as_of and not resolved by as_of (the "
       "records' disputed flag, as of the date)."),
    _f("n_commitments_kept", "已履行信用承诺数", "Commitments kept",
       "Credit commitments (信用承诺) resolved as kept on or before as_of.", unit="commitments"),
    _f("n_commitments_broken", "违反信用承诺数", "Commitments broken",
       "Credit commitments resolved as broken on or before as_of (the broken commitment's own "
       "record counts among the records as well).", unit="commitments"),
    _f("agency_complaints_36m", "近36个月投诉查实认定数", "Agency complaint findings, 36 months",
       "Credit-service-agency records under 第十六条（三） (verified complaints twice within a "
       "year) decided in the last 36 months.", "0 for entities that are not agencies"),
    _f("agency_missing_reports_36m", "近36个月未报年报认定数",
       "Agency missing-report findings, 36 months",
       "Credit-service-agency records under 第十六条（五） (no annual report two years running) "
       "decided in the last 36 months.", "0 for entities that are not agencies"),
    _f("agency_reports_filed", "最近两个应报年度已报年报数",
       "Annual reports filed, last two due years",
       "Annual reports (第十三条) on the register for the last two due years as of as_of (year Y "
       "is due by 30 June of Y+1), filed on or before as_of. A young agency shows fewer "
       "without being in breach: years before its establishment are not due.",
       "-1: not a credit service agency", "reports", "-1, 0..2", lowest=-1, highest=2),
    *(_f(f"hr_{t}_36m", f"近36个月人社处罚（{_TIER_ZH[t]}）数",
         f"HR penalties, tier {t}, 36 months",
         f"hr_penalty records decided in the last 36 months whose tier (as found, before any "
         f"减轻) is {_TIER_ZH[t]} ({t}).") for t in HR_TIERS),
    _f("entity_age_years", "主体成立年数", "Entity age",
       "(as_of − established_on) in days / 365.25; for persons from the date of birth.",
       "negative only when as_of precedes establishment (training at past dates)", "years",
       "real", lowest=-math.inf, whole=False),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
FEATURE_BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}
assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)

# Computed from dates in Python (date arithmetic is not portable SQL); the rest come from SQL.
_PY_FEATURES = ("months_since_last_listed", "entity_age_years")
_SQL_FEATURES = tuple(n for n in FEATURE_NAMES if n not in _PY_FEATURES)
_SQL_INDEX = np.array([FEATURE_NAMES.index(n) for n in _SQL_FEATURES], dtype=np.intp)
_MONTHS_INDEX = FEATURE_NAMES.index("months_since_last_listed")
_AGE_INDEX = FEATURE_NAMES.index("entity_age_years")
_AMOUNT_INDEX = FEATURE_NAMES.index("medical_amount_36m")
_SOURCE_INDEX = tuple(FEATURE_NAMES.index(f"n_active_{s}") for s in SOURCES)
_ATTRS = 5  # EntityAttributes columns, after id, key, established_on and last_listed


class EntityAttributes(NamedTuple):
    """What the tiered lists show and filter on, read with the features."""

    kind: str
    name: str
    display_id: str
    region_code: str
    industry: str


@dataclass(frozen=True)
class FeatureBatch:
    """Rows of entities in ascending id order; `matrix` columns follow FEATURE_NAMES."""

    entity_ids: npt.NDArray[np.int64]
    entity_keys: list[str]
    matrix: npt.NDArray[np.float64]
    attributes: list[EntityAttributes]

    def source_bits(self) -> npt.NDArray[np.int64]:
        """Per row, bit i set when records from SOURCES[i] are in force."""
        bits = np.zeros(len(self), dtype=np.int64)
        for i, column in enumerate(_SOURCE_INDEX):
            bits |= (self.matrix[:, column] > 0).astype(np.int64) << i
        return bits

    def __len__(self) -> int:
        return len(self.entity_keys)


# ----------------------------------------------------------------------------- scope

# A predicate on an entity-id column (entities.id or a table's entity_id).
Scope = Callable[[Any], ColumnElement[bool]]


@dataclass(frozen=True)
class _Members:
    """Which entities a statement covers; the values are bound at execution, so that one
    statement (and its compiled form) serves every call with the same shape."""

    by: str | None  # "ids", "keys" or None (all)
    sharded: bool
    one: bool = False  # exactly one member (a prepared statement then takes a scalar)

    @staticmethod
    def of(entity_ids: Sequence[int] | None, entity_keys: Sequence[str] | None,
           shard: tuple[int, int] | None) -> tuple[_Members, dict[str, Any], int] | None:
        """The shape, its parameters (dialect-neutral) and the most rows it can return
        (-1: unbounded); None when nothing can match."""
        if entity_ids is not None and entity_keys is not None:
            raise ValueError("give entity_ids or entity_keys, not both")
        params: dict[str, Any] = {}
        if shard is not None:
            i, n = shard
            if not 0 <= i < n:
                raise ValueError(f"shard {shard} must be (i, n) with 0 <= i < n")
            params.update(shard_i=i, shard_n=n)
        by: str | None = None
        values: list[int] | list[str] | None = None
        if entity_ids is not None:
            by, values = "ids", sorted({int(i) for i in entity_ids})
        elif entity_keys is not None:
            by, values = "keys", sorted({str(k) for k in entity_keys})
        if values is not None:
            if not values:
                return None
            params["members"] = values
        one = values is not None and len(values) == 1
        return (_Members(by, shard is not None, one), params,
                -1 if values is None else len(values))

    def scope(self, dialect: str, prepared: bool = False) -> Scope:
        parts: list[Scope] = []
        if self.by is not None:
            member = (_prepared_member(self) if prepared else
                      _member_of(dialect, BigInteger() if self.by == "ids" else String()))
            if self.by == "ids":
                parts.append(member)
            else:
                # An alias: the outer query's entities must not correlate into the subquery.
                scoped = Entity.__table__.alias("scoped")
                parts.append(lambda col: col.in_(select(scoped.c.id)
                                                 .where(member(scoped.c.entity_key))))
        if self.sharded:
            parts.append(lambda col: col % bindparam("shard_n", type_=BigInteger())
                         == bindparam("shard_i", type_=BigInteger()))
        return lambda col: and_(true(), *(p(col) for p in parts))


def _member_of(dialect: str, item: BigInteger | String) -> Scope:
    """`col IN :members` with one bound parameter whatever the count: = ANY(array) on
    PostgreSQL, json_each on SQLite (no bound-parameter cap on either)."""
    if dialect == "postgresql":
        arr = bindparam("members", type_=ARRAY(item))
        return lambda col: col == any_(arr)
    table = func.json_each(bindparam("members", type_=String())).table_valued("value")
    return lambda col: col.in_(select(table.c.value))


_PARAM_TYPE = {"ids": "bigint", "keys": "varchar"}


def _param_type(members: _Members) -> str:
    return _PARAM_TYPE[str(members.by)] + ("" if members.one else "[]")


def _prepared_member(members: _Members) -> Scope:
    """`col = $1` for one member, else `col = ANY($1)`: the parameter of a server-side
    prepared statement. A scalar lets PostgreSQL keep one generic plan (0.4 ms a call); for
    `= ANY($1)` it estimates many rows and re-plans every execution (1.4 ms)."""
    arg: ColumnElement[Any] = literal_column(f"$1::{_param_type(members)}")
    return (lambda col: col == arg) if members.one else (lambda col: col == any_(arg))


def _bind(conn: Connection, params: dict[str, Any]) -> dict[str, Any]:
    if "members" in params and conn.dialect.name != "postgresql":
        return {**params, "members": json.dumps(params["members"])}
    return params


# --------------------------------------------------------------------------- features


def _plain_decimal(text: ColumnElement[str]) -> ColumnElement[bool]:
    """Digits and at most one point, at most 20 characters. Ingestion accepts anything Decimal
    parses (' 5', '1_000', full-width digits, 400 digits), which PostgreSQL's cast rejects,
    failing the whole bulk run, and SQLite's silently misreads; such amounts are left out on
    both instead."""
    stripped: ColumnElement[Any] = text
    for ch in "0123456789.":
        stripped = func.replace(stripped, ch, "")
    points = func.length(text) - func.length(func.replace(text, ".", ""))
    return and_(text != "", text != ".", stripped == "", points <= 1,
                func.length(text) <= 20)  # ≤ 10^19: no float overflow either


@functools.lru_cache(maxsize=64)
def _feature_select(as_of: date, members: _Members, dialect: str,
                    prepared: bool = False) -> Select[*tuple[Any, ...]]:
    """Built once per date and shape: building the expression tree costs more than running
    the statement for one entity. `prepared`: the members are `$1` (see _prepared)."""
    scope = members.scope(dialect, prepared)
    m12, m36 = add_months(as_of, -12), add_months(as_of, -36)
    status = status_expr(as_of)
    open_objection_q = (
        select(Objection.record_id)
        .where(Objection.filed_on <= as_of,
               or_(Objection.resolved_on.is_(None), Objection.resolved_on > as_of))
    )
    if members.by is not None:
        # Only the listed entities' objections: unscoped, PostgreSQL hashes every open
        # objection in the database for each single-entity evaluation (~60 ms at 1M entities).
        mine = Record.__table__.alias("objected")
        open_objection_q = open_objection_q.where(Objection.record_id.in_(
            select(mine.c.id).where(scope(mine.c.entity_id))))
    open_objection = open_objection_q.distinct().subquery()
    amount_text = Record.facts["amount_yuan"].as_string()
    seen = (
        select(
            Record.entity_id.label("entity_id"),
            status.label("status"),
            Record.category.label("category"),
            Record.source.label("source"),
            Record.decided_on.label("decided_on"),
            # In fen, summed as integers: exact, so the sum does not depend on row order (a
            # bulk plan and a one-entity plan would otherwise differ in the last bit).
            case((and_(Record.source == "medical_procurement", _plain_decimal(amount_text)),
                  cast(func.round(cast(amount_text, Float) * 100), BigInteger))
                 ).label("amount_fen"),
            case((Record.source == AGENCY, Record.facts["article16_item"].as_integer())
                 ).label("item"),
            case((Record.source == "hr_penalty", Record.facts["tier"].as_string())
                 ).label("tier"),
            case((open_objection.c.record_id.is_not(None), 1), else_=0).label("disputed"),
            case((serious_list_expr(), 1), else_=0).label("on_list"),
        )
        .select_from(Record)
        .outerjoin(open_objection, open_objection.c.record_id == Record.id)
        .where(Record.listed.is_(True), Record.decided_on <= as_of, status != "withdrawn",
               ~shielded_expr(as_of), scope(Record.entity_id))
        .subquery("seen")
    )
    r = seen.c
    active = r.status == "active"
    in12, in36 = r.decided_on > m12, r.decided_on > m36

    def count(*conds: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.sum(case((and_(*conds), 1), else_=0))

    rec_aggs: dict[str, ColumnElement[Any]] = {
        **{f"n_active_{c}": count(active, r.category == c) for c in CATEGORIES},
        **{f"n_active_{s}": count(active, r.source == s) for s in SOURCES},
        "n_active_serious_list": count(active, r.on_list == 1),
        "max_active_severity": func.max(case(
            *((and_(active, r.category == c), i) for i, c in enumerate(CATEGORIES, 1)),
            else_=0)),
        "n_listed_12m": count(in12),
        "n_listed_36m": count(in36),
        **{f"n_listed_36m_{c}": count(in36, r.category == c) for c in CATEGORIES},
        "medical_amount_36m": func.sum(case((in36, r.amount_fen), else_=0)),  # fen
        "n_repaired": count(r.status == "repaired"),
        "n_disputed": func.sum(r.disputed),
        "agency_complaints_36m": count(in36, r.source == AGENCY, r.item == 3),
        "agency_missing_reports_36m": count(in36, r.source == AGENCY, r.item == 5),
        **{f"hr_{t}_36m": count(in36, r.source == "hr_penalty", r.tier == t) for t in HR_TIERS},
    }
    recs = (select(r.entity_id, func.max(r.decided_on).label("last_listed"),
                   *(e.label(n) for n, e in rec_aggs.items()))
            .group_by(r.entity_id).subquery("recs"))

    resolved = and_(Commitment.resolved_on.is_not(None), Commitment.resolved_on <= as_of)
    commits = (
        select(Commitment.entity_id,
               func.sum(case((Commitment.state == "kept", 1), else_=0)).label("kept"),
               func.sum(case((Commitment.state == "broken", 1), else_=0)).label("broken"))
        .where(resolved, scope(Commitment.entity_id))
        .group_by(Commitment.entity_id).subquery("commits")
    )
    last_due = last_due_report_year(as_of)
    reports = (
        select(AnnualReport.entity_id, func.count().label("filed"))
        .where(AnnualReport.year.in_((last_due - 1, last_due)), AnnualReport.filed_on <= as_of,
               scope(AnnualReport.entity_id))
        .group_by(AnnualReport.entity_id).subquery("reports")
    )
    zero: dict[str, ColumnElement[Any]] = {n: func.coalesce(recs.c[n], 0) for n in rec_aggs}
    columns = {
        **zero,
        "n_commitments_kept": func.coalesce(commits.c.kept, 0),
        "n_commitments_broken": func.coalesce(commits.c.broken, 0),
        "agency_reports_filed": case((Entity.kind == AGENCY, func.coalesce(reports.c.filed, 0)),
                                     else_=literal(-1)),
    }
    assert set(columns) == set(_SQL_FEATURES)
    return (
        select(Entity.id, Entity.entity_key, Entity.established_on, recs.c.last_listed,
               Entity.kind, Entity.name, Entity.display_id, Entity.region_code, Entity.industry,
               *(columns[n] for n in _SQL_FEATURES))
        .select_from(Entity)
        .outerjoin(recs, recs.c.entity_id == Entity.id)
        .outerjoin(commits, commits.c.entity_id == Entity.id)
        .outerjoin(reports, reports.c.entity_id == Entity.id)
        .where(scope(Entity.id))
        .order_by(Entity.id)
    )


def whole_months_since(last: npt.NDArray[np.datetime64], as_of: date) -> npt.NDArray[np.float64]:
    """For each date d ≤ as_of the largest m with add_months(as_of, −m) ≥ d; NaT → −1.

    Counted back from as_of (not forward from d) so that it agrees with the windows at month
    ends: d lies in (as_of − N months, as_of] exactly when the result is < N."""
    missing = np.isnat(last)
    days = np.where(missing, np.datetime64(as_of, "D"), last).astype("datetime64[D]")
    month = days.astype("datetime64[M]")
    day = (days - month.astype("datetime64[D]")).astype(np.int64) + 1
    month_len = ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")
                 ).astype(np.int64)
    as_of_month = (as_of.year - 1970) * 12 + as_of.month - 1
    m = as_of_month - month.astype(np.int64)
    # add_months(as_of, -m) falls in d's month on day min(as_of.day, month length).
    m -= (np.minimum(as_of.day, month_len) < day).astype(np.int64)
    return np.where(missing, -1.0, m.astype(np.float64))


def _batch(rows: Sequence[Any], as_of: date) -> FeatureBatch:
    n = len(rows)
    matrix = np.empty((n, len(FEATURE_NAMES)), dtype=np.float64)
    matrix[:, _SQL_INDEX] = np.array([row[4 + _ATTRS:] for row in rows],
                                     dtype=np.float64).reshape(
        n, len(_SQL_FEATURES))
    matrix[:, _AMOUNT_INDEX] /= 100  # fen → yuan
    # ISO strings and dates both convert, whatever the driver returns for an aggregate.
    last = np.array([row[3] for row in rows], dtype="datetime64[D]")
    matrix[:, _MONTHS_INDEX] = whole_months_since(last, as_of)
    established = np.array([row[2] for row in rows], dtype="datetime64[D]")
    matrix[:, _AGE_INDEX] = (np.datetime64(as_of, "D") - established).astype(np.int64) / 365.25
    return FeatureBatch(np.fromiter((row[0] for row in rows), dtype=np.int64, count=n),
                        [row[1] for row in rows], matrix,
                        [EntityAttributes(*row[4:4 + _ATTRS]) for row in rows])


# For the rest of the caller's transaction, before a bulk read on PostgreSQL (measured on 1M
# entities, 5M records, 2 cores): JIT compiling the ~25 aggregates took 5 s per shard, more
# than it saved; 4 MB work_mem spilled the per-entity sort to disk (250 MB); a cursor's
# default plan aims at the first 10 % of rows, but every row is read.
_BULK_SETTINGS = ("SELECT set_config('jit', 'off', true), set_config('work_mem', '256MB', true),"
                  " set_config('cursor_tuple_fraction', '1', true)")


def feature_rows(conn: Connection, as_of: date, *, entity_ids: Sequence[int] | None = None,
                 entity_keys: Sequence[str] | None = None,
                 shard: tuple[int, int] | None = None,
                 batch: int = 10_000) -> Iterator[FeatureBatch]:
    """Feature rows of every entity in scope (all, or `entity_ids`/`entity_keys`, optionally
    only ids ≡ i mod n for `shard=(i, n)`), in ascending id order, `batch` rows at a time.

    One statement, streamed through a server-side cursor on PostgreSQL: memory stays at one
    batch whatever the number of entities. Reads in the caller's transaction; on PostgreSQL
    an unbounded read sets jit, work_mem and cursor_tuple_fraction for the rest of it, and
    a short list of entities runs as a statement prepared on the connection."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    shape = _Members.of(entity_ids, entity_keys, shard)
    if shape is None:
        return
    members, params, most = shape
    if conn.dialect.name == "postgresql" and 0 <= most <= batch and not members.sharded:
        rows = _execute_prepared(conn, as_of, members, params["members"])
        for lo in range(0, len(rows), batch):
            yield _batch(rows[lo:lo + batch], as_of)
        return
    query = _feature_select(as_of, members, conn.dialect.name)
    # A server-side cursor costs round trips; a short list of entities fits in one fetch.
    options = ({} if 0 <= most <= batch else {"stream_results": True, "yield_per": batch})
    if most < 0 and conn.dialect.name == "postgresql":
        conn.exec_driver_sql(_BULK_SETTINGS)
    result = conn.execute(query, _bind(conn, params), execution_options=options)
    try:
        for part in result.partitions(batch):
            yield _batch(part, as_of)
    finally:
        result.close()


@functools.lru_cache(maxsize=64)
def _prepared(as_of: date, members: _Members) -> tuple[str, str]:
    """(name, PREPARE statement) of the feature query for listed entities, all values but
    the members rendered inline; the name is a digest of the text."""
    query = _feature_select(as_of, members, "postgresql", prepared=True)
    sql = str(query.compile(dialect=_PG_DIALECT, compile_kwargs={"literal_binds": True}))
    name = "credit_features_" + hashlib.sha256(sql.encode()).hexdigest()[:20]
    return name, f"PREPARE {name}({_param_type(members)}) AS {sql}"


_PG_DIALECT = pg_psycopg.dialect()  # type: ignore[no-untyped-call]
_PREPARED_KEPT = 8  # statements kept per connection (one per date and shape asked lately)


def _execute_prepared(conn: Connection, as_of: date, members: _Members,
                      values: list[int] | list[str]) -> Sequence[Any]:
    """The feature rows of a short list of entities through a statement prepared once per
    connection. Evaluate's cost per call was mostly this 12 kB statement: converting it in
    psycopg and planning it in PostgreSQL (~3 ms) against ~0.4 ms to run it. Prepared
    statements are off engine-wide (stale generic plans after bulk loads); this one is
    index-driven whatever the table sizes, and ANALYZE invalidates its cached plan anyway."""
    name, prepare = _prepared(as_of, members)
    raw: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
    info = conn.connection.info
    if not info.get("credit_generic_plans"):
        # Else PostgreSQL plans each execution with a list of members afresh (its generic
        # plan's estimate for an array loses to the custom one), and worse: for 2 entities
        # ~1 ms of planning against 0.2 ms to run; for 1,000, 400 ms against 100 ms in all.
        # Only PREPAREd statements follow this setting, and this module's are the
        # connection's only ones. For the session outside a transaction; inside one, for
        # the transaction only (a SET in a transaction that rolls back is undone).
        if raw.autocommit:
            conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            info["credit_generic_plans"] = True
        else:
            conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    if not raw.autocommit and not conn.in_transaction():
        # The driver's own cursor below opens the DBAPI transaction when nothing else ran
        # before it: begun here too, the caller's commit() or rollback() then ends it.
        conn.begin()
    kept: OrderedDict[str, None] = info.setdefault("credit_prepared", OrderedDict())
    for stale in info.pop("credit_stale", ()):  # left by a failed transaction (see below)
        conn.exec_driver_sql(f"DEALLOCATE {stale}")

    def prepared() -> None:
        if name in kept:
            kept.move_to_end(name)
            return
        conn.exec_driver_sql(prepare)
        kept[name] = None
        if len(kept) > _PREPARED_KEPT:
            conn.exec_driver_sql(f"DEALLOCATE {kept.popitem(last=False)[0]}")

    # EXECUTE is a utility statement: no protocol-level parameters, so the members go as a
    # literal quoted by psycopg (and no parameters means no placeholder parsing either).
    # Plain tuples from the driver's cursor: SQLAlchemy's result set-up for these 34
    # columns cost more than the rows' conversion.
    arg = sql.Literal(values[0] if members.one else values).as_string(raw)

    def execute() -> list[Any]:
        with raw.cursor() as cursor:
            cursor.execute(f"EXECUTE {name}({arg})", prepare=False)
            return list(cursor.fetchall())

    prepared()
    try:
        return execute()
    except psycopg.Error as exc:
        # A migration changed the type of a column it selects while this service ran
        # ("cached plan must not change result type"), or the server lost it: prepare it
        # afresh, else every use of this connection would fail the same way.
        if not stale_prepared_statement(exc):
            raise
        del kept[name]
        exists = not isinstance(exc, psycopg.errors.InvalidSqlStatementName)
        if not raw.autocommit:
            # The failure aborted the caller's transaction: the next use starts afresh.
            if exists:
                info["credit_stale"] = [name]
            raise
        if exists:
            conn.exec_driver_sql(f"DEALLOCATE {name}")
        prepared()
        return execute()


def features_for(conn: Connection, entity_key: str, as_of: date) -> dict[str, float] | None:
    """One entity's features by name; None when no such entity exists."""
    for fb in feature_rows(conn, as_of, entity_keys=[entity_key]):
        return dict(zip(FEATURE_NAMES, fb.matrix[0].tolist(), strict=True))
    return None


# ----------------------------------------------------------------------------- labels


def labels(conn: Connection, as_of: date, horizon_months: int = 12, *,
           entity_ids: Sequence[int] | None = None, entity_keys: Sequence[str] | None = None,
           shard: tuple[int, int] | None = None) -> dict[int, int]:
    """Training label per entity in scope: 1 when a new listed 一般 or 严重 record is decided
    in (as_of, as_of + horizon], else 0.

    Judged at the end of the horizon: a record withdrawn by then was never a finding. Shields
    do not apply, since the label is the event itself, not its evaluation."""
    if horizon_months < 1:
        raise ValueError("horizon_months must be at least 1")
    shape = _Members.of(entity_ids, entity_keys, shard)
    if shape is None:
        return {}
    members, params, _ = shape
    scope = members.scope(conn.dialect.name)
    end = add_months(as_of, horizon_months)
    new = (
        select(Record.entity_id)
        .where(Record.listed.is_(True), Record.category.in_(("general", "serious")),
               Record.decided_on > as_of, Record.decided_on <= end,
               status_expr(end) != "withdrawn", scope(Record.entity_id))
        .distinct().subquery("new")
    )
    query = (select(Entity.id, case((new.c.entity_id.is_not(None), 1), else_=0))
             .select_from(Entity).outerjoin(new, new.c.entity_id == Entity.id)
             .where(scope(Entity.id)).order_by(Entity.id))
    rows = conn.execute(query, _bind(conn, params),
                        execution_options={"stream_results": True, "yield_per": 10_000})
    return {int(i): int(y) for i, y in rows}


# ------------------------------------------------------------------------------- docs


def features_markdown() -> str:
    """The feature table as docs/features.md carries it (a test keeps the two in step)."""
    def cell(text: str) -> str:
        return text.replace("|", "\\|") or "—"

    lines = ["| # | name | 中文 | English | meaning | unit | range | special values |",
             "|---|---|---|---|---|---|---|---|"]
    for i, f in enumerate(FEATURES):
        lines.append(f"| {i} | `{f.name}` | {cell(f.zh)} | {cell(f.en)} | {cell(f.meaning)} | "
                     f"{cell(f.unit)} | {cell(f.value_range)} | {cell(f.special)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(features_markdown(), end="")
