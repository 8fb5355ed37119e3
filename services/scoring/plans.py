"""Stored 双随机 inspection plans and their published results (一公开).

A draw reads its candidates from the stored grades and the department's earlier plans (the
previous one, and this year's for each grade's max_per_year), draws
(services.scoring.draws) and stores the plan with its published document, all under the
scoring writer lock: two draws of one department can then never both take the same
"previous plan". A draw that cannot be staffed stores nothing.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from services.common.db import where_in
from services.scoring import grades as grade_queries
from services.scoring.draws import (
    RANDOM,
    Candidate,
    DrawTask,
    InspectionPlan,
    Inspector,
    Published,
    draw,
)
from services.scoring.grades import GradeFilter
from services.scoring.models import InspectionPlanRow, InspectionResultRow
from services.scoring.store import GradeStore
from services.scoring.supervision import SupervisionPolicy

__all__ = ["MAX_CANDIDATES", "DrawRequest", "PlanConflict", "ResultIn", "TooManyCandidates",
           "draw_plan", "existing_result", "find_plan", "list_plans", "plan_of", "record_result",
           "results_of"]

# The published document lists every candidate; beyond this a filter must narrow the task.
MAX_CANDIDATES = 200_000
OUTCOMES = ("clear", "corrected", "finding", "not_inspected")


class PlanConflict(Exception):
    """An idempotency key or a result slot is taken by different content."""


class TooManyCandidates(Exception):
    pass


@dataclass(frozen=True)
class DrawRequest:
    request_id: str
    task: DrawTask
    filter: GradeFilter
    inspectors: tuple[Inspector, ...]
    triggered: tuple[str, ...]
    seed: int | None

    def fingerprint(self) -> str:
        """What makes two requests the same draw (a retry), seed as asked (None = random)."""
        body = {
            "task": [self.task.department, self.task.name, self.task.date.isoformat()],
            "filter": [sorted(self.filter.grades), self.filter.region_prefix,
                       sorted(self.filter.industries), sorted(self.filter.sources),
                       sorted(self.filter.kinds)],
            "inspectors": sorted([i.id, i.name, i.capacity, sorted(i.recusals)]
                                 for i in self.inspectors),
            "triggered": sorted(set(self.triggered)),
            "seed": None if self.seed is None else str(self.seed),
        }
        return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True)
                              .encode()).hexdigest()


def draw_plan(store: GradeStore, req: DrawRequest, policy: SupervisionPolicy,
              created_by: str) -> tuple[InspectionPlanRow, bool]:
    """Draws and stores a plan; returns (row, created). The same request again returns the
    stored plan. Raises PlanConflict, TooManyCandidates, DrawError, DrawInputError."""
    fingerprint = req.fingerprint()
    with store.writer() as session:
        existing = session.scalar(select(InspectionPlanRow).where(
            InspectionPlanRow.department == req.task.department,
            InspectionPlanRow.request_id == req.request_id))
        if existing is not None:
            if existing.request_hash != fingerprint:
                raise PlanConflict(f"request_id {req.request_id!r} was used for another draw")
            session.expunge(existing)
            return existing, False
        previous = session.scalar(
            select(InspectionPlanRow).where(InspectionPlanRow.department == req.task.department)
            .order_by(InspectionPlanRow.seq.desc()).limit(1))
        candidates = grade_queries.candidates(session, req.filter, MAX_CANDIDATES)
        if len(candidates) > MAX_CANDIDATES:
            raise TooManyCandidates(f"more than {MAX_CANDIDATES:,} candidates")
        # What the draw excludes (unless the grade may be redrawn): the previous plan's
        # entities, and those its grade's max_per_year random draws this year already reached.
        previous_keys = _drawn_keys(previous)
        capped, counted = _at_yearly_cap(session, req.task, candidates, policy)
        previous_keys |= capped
        plan = draw(req.task, candidates, req.inspectors, policy, previous_keys,
                    seed=req.seed, triggered=req.triggered)
        provenance = {"previous_plan_id": None if previous is None else previous.plan_id,
                      "year_plan_ids": counted, "year_capped": sorted(capped)}
        published = Published(plan, tuple(candidates), req.inspectors, previous_keys, policy,
                              provenance=provenance)
        row = InspectionPlanRow(
            plan_id="plan-" + secrets.token_hex(12), department=req.task.department,
            request_id=req.request_id, request_hash=fingerprint, task_name=req.task.name,
            task_date=req.task.date, plan_hash=plan.plan_hash,
            previous_plan_id=None if previous is None else previous.plan_id,
            document=published.to_json(), created_by=created_by,
            created_at=datetime.now(UTC),
            random_keys=[e.key for e in plan.entities if e.reason == RANDOM])
        session.add(row)
        session.flush()
        session.expunge(row)
    return row, True


def _drawn_keys(row: InspectionPlanRow | None) -> frozenset[str]:
    """Every entity a stored plan drew (random and triggered); none without a plan."""
    return frozenset() if row is None else frozenset(e.key for e in plan_of(row).entities)


def _at_yearly_cap(session: Session, task: DrawTask, candidates: Sequence[Candidate],
                   policy: SupervisionPolicy, before_seq: int | None = None
                   ) -> tuple[frozenset[str], list[str]]:
    """Candidates drawn at random in the department's plans for the task's calendar year as
    often as their grade's max_per_year allows (triggered inspections do not count), and the
    ids of the plans counted, in the order drawn (both published with the plan). `before_seq`:
    only the plans stored before that one (auditing a stored plan)."""
    caps = {g: rule.max_per_year for g, rule in policy.for_department(task.department).items()
            if rule.max_per_year is not None and not rule.redraw_allowed}
    if not any(c.grade in caps for c in candidates):
        return frozenset(), []
    year = task.date.year
    drawn: Counter[str] = Counter()
    counted: list[str] = []
    for plan_id, keys in session.execute(
            select(InspectionPlanRow.plan_id, InspectionPlanRow.random_keys).where(
                InspectionPlanRow.department == task.department,
                InspectionPlanRow.task_date >= date(year, 1, 1),
                InspectionPlanRow.task_date <= date(year, 12, 31),
                InspectionPlanRow.seq < before_seq if before_seq is not None else true())
            .order_by(InspectionPlanRow.seq)):
        counted.append(plan_id)
        drawn.update(keys)  # stored with the plan (migration 0005 filled the older ones)
    return frozenset(c.key for c in candidates
                     if c.grade in caps and drawn[c.key] >= caps[c.grade]), counted


def audit_exclusions(session: Session, row: InspectionPlanRow, published: Published
                     ) -> list[str]:
    """What a stored plan's published exclusions get wrong against the plans stored before it:
    the previous plan, the year's plans counted, the keys they cap, and `previous` as the
    union of the previous plan's keys and those. Empty when all agree (a plan drawn before
    provenance was published is checked for its previous plan's keys only)."""
    previous_keys = _drawn_keys(None if row.previous_plan_id is None
                                else find_plan(session, row.previous_plan_id))
    if published.provenance is None:
        return ([] if previous_keys <= published.previous else
                ["previous: the previous plan's drawn keys are not all excluded"])
    capped, counted = _at_yearly_cap(session, published.plan.task, published.candidates,
                                     published.policy, before_seq=row.seq)
    stated = published.provenance
    problems = []
    if stated["previous_plan_id"] != row.previous_plan_id:
        problems.append(f"previous_provenance.previous_plan_id: says "
                        f"{stated['previous_plan_id']}, stored {row.previous_plan_id}")
    if stated["year_plan_ids"] != counted:
        problems.append("previous_provenance.year_plan_ids: differ from the department's "
                        "plans of the year stored before this one")
    if stated["year_capped"] != sorted(capped):
        problems.append("previous_provenance.year_capped: differ from the keys those plans "
                        "bring to their grade's yearly cap")
    if published.previous != previous_keys | capped:
        problems.append("previous: not the previous plan's drawn keys and the capped keys")
    return problems


def find_plan(session: Session, plan_id: str) -> InspectionPlanRow | None:
    return session.scalar(select(InspectionPlanRow).where(InspectionPlanRow.plan_id == plan_id))


def list_plans(session: Session, department: str | None, page_size: int,
               before_seq: int | None) -> tuple[list[InspectionPlanRow], int | None]:
    """Newest first; returns the page and the seq to continue below (None: last page)."""
    query = select(InspectionPlanRow)
    if department:
        query = query.where(InspectionPlanRow.department == department)
    if before_seq is not None:
        query = query.where(InspectionPlanRow.seq < before_seq)
    rows = list(session.scalars(query.order_by(InspectionPlanRow.seq.desc())
                                .limit(page_size + 1)))
    if len(rows) <= page_size:
        return rows, None
    return rows[:page_size], rows[page_size - 1].seq


def results_of(session: Session, plan_ids: Sequence[str]
               ) -> dict[str, dict[str, InspectionResultRow]]:
    """The published results of each plan, by plan id then entity key (one query a page)."""
    out: dict[str, dict[str, InspectionResultRow]] = {p: {} for p in plan_ids}
    for cond in where_in(session, InspectionResultRow.plan_id, list(plan_ids)):
        for r in session.scalars(select(InspectionResultRow).where(cond)):
            out[r.plan_id][r.entity_key] = r
    return out


@dataclass(frozen=True)
class ResultIn:
    plan_id: str
    entity_key: str
    outcome: str  # one of OUTCOMES
    summary: str
    inspected_on: date

    def stored(self, session: Session) -> InspectionResultRow | None:
        """The slot's stored result; PlanConflict when it differs from this one."""
        row = session.get(InspectionResultRow, (self.plan_id, self.entity_key))
        if row is not None and (row.outcome, row.summary, row.inspected_on) != (
                self.outcome, self.summary, self.inspected_on):
            raise PlanConflict(f"a different result for {self.entity_key} is already "
                               f"recorded in plan {self.plan_id}")
        return row


def existing_result(store: GradeStore, result: ResultIn) -> InspectionResultRow | None:
    """Checked before a finding's record is submitted, so a conflict submits nothing."""
    with store.sessions() as session:
        row = result.stored(session)
        if row is not None:
            session.expunge(row)
        return row


def record_result(store: GradeStore, result: ResultIn, record_id: str | None,
                  recorded_by: str) -> InspectionResultRow:
    """Stores the result; the same result again is returned unchanged (PlanConflict when a
    different one got there first)."""
    with store.writer() as session:
        row = result.stored(session)
        if row is None:
            row = InspectionResultRow(
                plan_id=result.plan_id, entity_key=result.entity_key, outcome=result.outcome,
                summary=result.summary, inspected_on=result.inspected_on, record_id=record_id,
                recorded_by=recorded_by, recorded_at=datetime.now(UTC))
            session.add(row)
            session.flush()
        session.expunge(row)
        return row


def plan_of(row: InspectionPlanRow) -> InspectionPlan:
    return Published.plan_of(row.document)
