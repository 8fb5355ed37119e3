"""Reading stored grades: tiered lists, counts, one entity's grade and history, the change
feed of grades, and the candidates of a 双随机 draw. All of it is served from the scoring
schema alone (grade rows carry the entity attributes they are filtered on)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, select, true, tuple_
from sqlalchemy.orm import Session

from services.common.codes import INDUSTRY_SECTIONS, REGION_PREFIX
from services.records.rules import ENTITY_KINDS
from services.scoring.draws import Candidate
from services.scoring.features import SOURCES
from services.scoring.models import Grade, GradeHistory
from services.scoring.policy import GRADES

__all__ = ["GROUPS", "GradeFilter", "PageTokenError", "candidates", "count_grades",
           "decode_page_token", "encode_page_token", "grade_changes", "grade_history",
           "list_grades", "source_names"]

# Grouping of CountGrades: name → how many leading digits of the region code, or industry.
GROUPS = {"": None, "region": 6, "city": 4, "province": 2, "industry": "industry"}


class PageTokenError(ValueError):
    pass


@dataclass(frozen=True)
class GradeFilter:
    """A validated filter; empty tuples mean "all"."""

    grades: tuple[str, ...] = ()
    region_prefix: str = ""
    industries: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # features.SOURCES names
    kinds: tuple[str, ...] = ()

    def problems(self, field: str) -> list[tuple[str, str]]:
        """Field violations, paths under `field`."""
        out: list[tuple[str, str]] = []
        out += [(f"{field}.grades", f"{g!r} is not one of A, B, C, D")
                for g in self.grades if g not in GRADES]
        if not REGION_PREFIX.fullmatch(self.region_prefix):
            out.append((f"{field}.region_prefix", "must be up to 6 digits"))
        out += [(f"{field}.industries", f"{i!r} is not a GB/T 4754 section letter A..T")
                for i in self.industries if i not in INDUSTRY_SECTIONS]
        out += [(f"{field}.sources", f"unknown source {s!r}")
                for s in self.sources if s not in SOURCES]
        out += [(f"{field}.kinds", f"unknown kind {k!r}")
                for k in self.kinds if k not in ENTITY_KINDS]
        return out

    def where(self, *, with_grades: bool = True) -> ColumnElement[bool]:
        g = Grade.__table__.c
        parts: list[ColumnElement[bool]] = []
        if self.grades and with_grades:
            parts.append(g.grade.in_(sorted(set(self.grades))))
        if self.region_prefix:
            # A prefix range, not LIKE: it uses an index and needs no escaping.
            parts.append(and_(g.region_code >= self.region_prefix,
                              g.region_code < self.region_prefix + "A"))
        if self.industries:
            parts.append(g.industry.in_(sorted(set(self.industries))))
        if self.sources:
            mask = sum(1 << SOURCES.index(s) for s in set(self.sources))
            parts.append(g.sources.op("&")(mask) != 0)
        if self.kinds:
            parts.append(g.kind.in_(sorted(set(self.kinds))))
        return and_(true(), *parts)


def source_names(bits: int) -> list[str]:
    return [s for i, s in enumerate(SOURCES) if bits >> i & 1]


# A position in a tiered list: (grade, region_code, entity_key) of the last row shown.
Position = tuple[str, str, str]


def _filter_digest(f: GradeFilter) -> str:
    """The filter a page token belongs to: a position means nothing under another one."""
    canonical = repr((sorted(set(f.grades)), f.region_prefix, sorted(set(f.industries)),
                      sorted(set(f.sources)), sorted(set(f.kinds))))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_page_token(position: Position, f: GradeFilter) -> str:
    return base64.urlsafe_b64encode(
        ":".join(("g3", _filter_digest(f), *position)).encode()).decode()


def decode_page_token(token: str, f: GradeFilter) -> Position:
    try:
        kind, digest, grade, region, key = (base64.urlsafe_b64decode(token.encode()).decode()
                                            .split(":", 4))
    except (ValueError, UnicodeDecodeError):
        raise PageTokenError("is not a page token this service issued") from None
    if not (kind == "g3" and grade in GRADES and REGION_PREFIX.fullmatch(region) and key):
        raise PageTokenError("is not a page token this service issued")
    if digest != _filter_digest(f):
        raise PageTokenError("belongs to a listing with other filters")
    return grade, region, key


def list_grades(session: Session, f: GradeFilter, page_size: int,
                after: Position | None = None) -> tuple[list[Any], Position | None]:
    """One keyset page in (grade, region_code, entity_key) order; returns the rows (with the
    columns of models.Grade as attributes) and the position of the last (None on the last
    page).

    One index range scan per grade, in grade order: the index (grade, region_code,
    entity_key) then yields each grade's rows of a region prefix already in page order, so a
    page costs about its own rows (plus those the industry, source and kind filters skip)
    however far into a million grades it is."""
    c = Grade.__table__.c
    rows: list[Any] = []
    for grade in sorted(set(f.grades) or GRADES):
        if after is not None and grade < after[0]:
            continue
        # Plain rows, not ORM objects: a page is read once and turned into messages.
        query = select(*c).where(c.grade == grade, f.where(with_grades=False))
        if after is not None and grade == after[0]:
            query = query.where(tuple_(c.region_code, c.entity_key) > tuple_(*after[1:]))
        want = page_size + 1 - len(rows)
        rows += session.execute(query.order_by(c.region_code, c.entity_key).limit(want))
        if len(rows) > page_size:
            last = rows[page_size - 1]
            return rows[:page_size], (last.grade, last.region_code, last.entity_key)
    return rows, None


def count_grades(session: Session, f: GradeFilter, group_by: str) -> list[tuple[str, str, int]]:
    """(group, grade, count) rows; group is "" without grouping."""
    how = GROUPS[group_by]
    c = Grade.__table__.c
    group: ColumnElement[str]
    if how is None:
        group = literal("")
    elif how == "industry":
        group = c.industry
    else:
        group = func.substr(c.region_code, 1, how)
    query = (select(group.label("g"), c.grade, func.count())
             .where(f.where()).group_by("g", c.grade).order_by("g", c.grade))
    return [(str(g or ""), str(grade), int(n)) for g, grade, n in session.execute(query)]


def grade_history(session: Session, entity_key: str, limit: int) -> list[GradeHistory]:
    return list(session.scalars(
        select(GradeHistory).where(GradeHistory.entity_key == entity_key)
        .order_by(GradeHistory.id.desc()).limit(limit)))


def grade_changes(session: Session, after_id: int, limit: int) -> list[GradeHistory]:
    return list(session.scalars(select(GradeHistory).where(GradeHistory.id > after_id)
                                .order_by(GradeHistory.id).limit(limit)))


def candidates(session: Session, f: GradeFilter, limit: int) -> list[Candidate]:
    """The draw's candidate list; at most `limit` + 1 rows are read so that the caller can
    refuse an oversized draw without loading it."""
    g = Grade.__table__.c
    rows = session.execute(
        select(g.entity_key, g.grade, g.region_code, g.industry, g.sources)
        .where(f.where()).order_by(g.entity_key).limit(limit + 1))
    return [Candidate(key, grade, region, industry, tuple(source_names(bits)))
            for key, grade, region, industry, bits in rows]
