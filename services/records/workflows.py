"""Repairs, objections, commitments, reorganisation shields and agency registers.

Deadlines are counted in working days (国办发〔2025〕22号 六): acceptance within 3, decision
within 7 after acceptance, extendable once by 10; the applicant is answered within 10 of the
application, 10 later when extended. Only the department that made a finding decides its
repair or objection (谁认定、谁修复, 五).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from credit.v1 import records_pb2
from services.common.auth import Principal
from services.common.codes import region_only
from services.common.db import next_id, parse_id
from services.common.errors import ServiceError
from services.common.workdays import CalendarYearUnknown, WorkCalendar
from services.records import departments
from services.records.ingest import entity_row, write_one
from services.records.models import (
    AgencyRegistration,
    AnnualReport,
    Commitment,
    Entity,
    Objection,
    Record,
    Repair,
    Shield,
)
from services.records.queries import (
    ADMIN_SHIELD,
    serious_list_expr,
    shielded_expr,
    status_expr,
)
from services.records.rules import annual_report_required, registration_refusal_reason
from services.records.store import Change, Store, entity_by_key, now, publish
from services.records.submission import EntityKey, Invalid, SubjectIn, check_text

ACCEPT_WORKDAYS = 3
DECIDE_WORKDAYS = 7
EXTEND_WORKDAYS = 10
RESPOND_WORKDAYS = 10  # 六: 自收到信用修复申请之日起10个工作日内反馈信用修复结果
# The national text says objections are handled "及时"; 10 working days follows the Jilin
# agency measures (art. 22) and is the platform's configurable default.
OBJECTION_WORKDAYS = 10
REPAIR_ROLES = frozenset({"admin", "department", "applicant"})


def _owner_only(principal: Principal, department: str, what: str) -> None:
    if principal.department != department or "department" not in principal.roles:
        raise ServiceError.permission_denied(
            f"only {department} decides {what} (谁认定、谁修复)")


def _roles(principal: Principal, allowed: frozenset[str], what: str) -> None:
    if not principal.roles & allowed:
        raise ServiceError.permission_denied(f"{principal.name} may not {what}")


T = TypeVar("T")


def _row(session: Session, model: type[T], row_id: str) -> T | None:
    """The row of `model` with the id sent as text; None when there is none (or the text
    is no id at all: an id nobody could have been given is simply not found)."""
    value = parse_id(row_id)
    return None if value is None else session.get(model, value)


def _record(session: Session, record_id: str) -> Record:
    rec = _row(session, Record, record_id)
    if rec is None:
        raise ServiceError.not_found(f"record {record_id!r} not found")
    return rec


def _status(session: Session, rec: Record, as_of: date) -> str:
    return str(session.execute(select(status_expr(as_of)).where(Record.id == rec.id)).scalar())


def _entity_key(session: Session, entity_id: int) -> str:
    return str(session.execute(select(Entity.entity_key).where(Entity.id == entity_id)).scalar())


def _text(value: str, field: str, limit: int = 2000) -> str:
    violations: list[tuple[str, str]] = []
    value = check_text(value, field, limit, violations)
    if violations:
        raise Invalid(violations)
    return value


def _change(session: Session, rec: Record, kind: str, principal: Principal,
            object_type: str, object_id: int, detail: dict[str, Any]) -> Change:
    return Change(_entity_key(session, rec.entity_id), kind, rec.id, principal.name,
                  object_type, str(object_id), detail)


# ------------------------------------------------------------------------------ repair

def _response_workdays(repair: Repair) -> int:
    # 六: the 10 days hold "一般" (as a rule); a case extended because it cannot be decided
    # in time (可以延长10个工作日) is answered as much later as it is decided.
    return RESPOND_WORKDAYS + (EXTEND_WORKDAYS if repair.extended else 0)


def response_due(calendar: WorkCalendar, repair: Repair) -> date | None:
    """The day by which the applicant must have the repair's result (六), from the application
    date and whether the case was extended; None while the calendar does not know its year.
    It only informs: it never refuses an application (acceptance and decision, the deadlines
    that gate the workflow, still need their own years known)."""
    try:
        return calendar.add_workdays(repair.applied_on, _response_workdays(repair))
    except CalendarYearUnknown:
        return None


def _note_response_due(detail: dict[str, Any], calendar: WorkCalendar, repair: Repair) -> None:
    """The answer date in an audit detail, when known."""
    if (due := response_due(calendar, repair)) is not None:
        detail["response_due"] = due.isoformat()


def apply_repair(store: Store, principal: Principal, record_id: str, proof: str,
                 commitment_letter: bool, applied_on: date) -> Repair:
    _roles(principal, REPAIR_ROLES, "apply for a repair")
    proof = _text(proof, "proof")
    if not commitment_letter:
        raise Invalid([("commitment_letter", "a credit commitment letter (信用承诺书) is "
                        "required")])
    with store.writer() as session:
        rec = _record(session, record_id)
        if "department" in principal.roles and principal.department != rec.department:
            raise ServiceError.permission_denied("a department applies only for its own findings")
        status = _status(session, rec, applied_on)
        if status != "active":
            raise ServiceError.failed_precondition(f"record is {status}; only active records "
                                                   "can be repaired")
        if applied_on < rec.repair_eligible_from:
            raise ServiceError.failed_precondition(
                f"repair may be applied for from {rec.repair_eligible_from} "
                "(minimum publication period not over)")
        pending = session.execute(select(Repair.id).where(
            Repair.record_id == rec.id, Repair.state.in_(("applied", "accepted")))).first()
        if pending:
            raise ServiceError.failed_precondition(f"repair {pending[0]} is already pending")
        repair = Repair(
            id=next_id(session, Repair.__table__),  # type: ignore[arg-type]
            record_id=rec.id, department=rec.department, state="applied",
            applied_on=applied_on,
            acceptance_due=store.calendar.add_workdays(applied_on, ACCEPT_WORKDAYS),
            accepted_on=None, decision_due=None, extended=False, decided_on=None, reason="",
            proof=proof, commitment_letter=True)
        session.add(repair)
        session.flush()
        detail = {"applied_on": applied_on.isoformat()}
        _note_response_due(detail, store.calendar, repair)
        publish(session, [_change(session, rec, "repair_applied", principal, "repair",
                                  repair.id, detail)])
        return repair


_REPAIR_TRANSITIONS = {
    "accept": ("applied", "accepted"),
    "refuse": ("applied", "refused"),
    "approve": ("accepted", "approved"),
    "deny": ("accepted", "denied"),
    "extend": ("accepted", "accepted"),
}


def decide_repair(store: Store, principal: Principal, repair_id: str, action: str,
                  reason: str, on: date) -> Repair:
    if action not in _REPAIR_TRANSITIONS:
        raise Invalid([("action", f"must be one of {', '.join(_REPAIR_TRANSITIONS)}")])
    if action in ("refuse", "deny", "extend"):
        reason = _text(reason, "reason")
    with store.writer() as session:
        repair = _row(session, Repair, repair_id)
        if repair is None:
            raise ServiceError.not_found(f"repair {repair_id!r} not found")
        _owner_only(principal, repair.department, "this repair")
        before, after = _REPAIR_TRANSITIONS[action]
        if repair.state != before:
            raise ServiceError.failed_precondition(f"cannot {action} a repair that is "
                                                   f"{repair.state}")
        start = repair.accepted_on or repair.applied_on
        if on < start:
            raise Invalid([("on", f"must not be before {start}")])
        rec = session.get(Record, repair.record_id)
        assert rec is not None
        if rec.withdrawn_on is not None and action not in ("refuse", "deny"):
            # An upheld objection erased the finding meanwhile: nothing is left to repair.
            raise ServiceError.failed_precondition(
                f"the record was withdrawn on {rec.withdrawn_on}; refuse or deny the repair")
        kind = f"repair_{after}"
        detail = {"action": action, "on": on.isoformat(), "reason": reason}
        if action == "accept":
            repair.accepted_on = on
            repair.decision_due = store.calendar.add_workdays(on, DECIDE_WORKDAYS)
        elif action == "extend":
            if repair.extended:
                raise ServiceError.failed_precondition("a repair can be extended only once")
            assert repair.decision_due is not None
            if on > repair.decision_due:
                # 六: the period is extended when the decision cannot be made within it, so
                # before it ends; a late extension would only hide an overdue decision.
                raise ServiceError.failed_precondition(
                    f"the decision was due on {repair.decision_due}; an extension must be "
                    "decided by then")
            repair.decision_due = store.calendar.add_workdays(repair.decision_due,
                                                              EXTEND_WORKDAYS)
            repair.extended, kind = True, "repair_extended"
            _note_response_due(detail, store.calendar, repair)
        else:
            repair.decided_on = on
        if action == "approve":
            # 七: publication stops and measures are lifted; scoring re-evaluates on the event.
            rec.repaired_on = on
            kind = "record_repaired"
        repair.state, repair.reason = after, reason.strip()
        session.flush()
        publish(session, [_change(session, rec, kind, principal, "repair", repair.id, detail)])
        return repair


# --------------------------------------------------------------------------- objection

OBJECTION_TARGETS = ("content", "period", "repair_result")


def file_objection(store: Store, principal: Principal, record_id: str, target: str,
                   grounds: str, filed_on: date) -> Objection:
    _roles(principal, REPAIR_ROLES, "file an objection")
    if target not in OBJECTION_TARGETS:
        raise Invalid([("target", f"must be one of {', '.join(OBJECTION_TARGETS)}")])
    grounds = _text(grounds, "grounds")
    with store.writer() as session:
        rec = _record(session, record_id)
        if rec.withdrawn_on is not None:
            raise ServiceError.failed_precondition(
                f"the record was withdrawn on {rec.withdrawn_on}; nothing is left to dispute")
        if session.execute(select(Objection.id).where(Objection.record_id == rec.id,
                                                      Objection.state == "open")).first():
            raise ServiceError.failed_precondition("an objection against this record is open")
        obj = Objection(
            id=next_id(session, Objection.__table__),  # type: ignore[arg-type]
            record_id=rec.id, department=rec.department, target=target, grounds=grounds,
            state="open", filed_on=filed_on,
            due=store.calendar.add_workdays(filed_on, OBJECTION_WORKDAYS),
            resolved_on=None, resolution="")
        session.add(obj)
        rec.disputed = True
        session.flush()
        publish(session, [_change(session, rec, "objection_filed", principal, "objection",
                                  obj.id, {"target": target})])
        return obj


OBJECTION_RESOLUTIONS = ("upheld_corrected", "upheld_withdrawn", "rejected")


def resolve_objection(store: Store, principal: Principal, objection_id: str, resolution: str,
                      reason: str, on: date,
                      corrected: records_pb2.RecordSubmission | None) -> Objection:
    if resolution not in OBJECTION_RESOLUTIONS:
        raise Invalid([("resolution", f"must be one of {', '.join(OBJECTION_RESOLUTIONS)}")])
    reason = _text(reason, "reason")
    with store.writer() as session:
        obj = _row(session, Objection, objection_id)
        if obj is None:
            raise ServiceError.not_found(f"objection {objection_id!r} not found")
        _owner_only(principal, obj.department, "this objection")
        if obj.state != "open":
            raise ServiceError.failed_precondition(f"objection is already {obj.state}")
        if on < obj.filed_on:
            raise Invalid([("on", f"must not be before {obj.filed_on}")])
        rec = session.get(Record, obj.record_id)
        assert rec is not None
        changes: list[Change] = []
        if resolution == "upheld_corrected":
            if corrected is None or corrected.source_record_id != rec.source_record_id:
                raise Invalid([("corrected", "the corrected record with the same "
                                "source_record_id is required")])
            result = write_one(store, session, principal, corrected,
                               note=f"corrected after objection {obj.id}")
            if result.outcome != "corrected":
                raise Invalid([("corrected", "does not differ from the record")])
        elif resolution == "upheld_withdrawn":
            if rec.withdrawn_on is not None:  # withdrawn meanwhile: the date stays
                raise ServiceError.failed_precondition(
                    f"the record was withdrawn on {rec.withdrawn_on} already")
            rec.withdrawn_on = on
            changes.append(_change(session, rec, "record_withdrawn", principal, "record",
                                   rec.id, {"objection": obj.id}))
        obj.state, obj.resolved_on, obj.resolution = resolution, on, reason
        rec.disputed = False
        session.flush()
        changes.append(_change(session, rec, "objection_resolved", principal, "objection",
                               obj.id, {"resolution": resolution, "reason": reason}))
        publish(session, changes)
        return obj


# -------------------------------------------------------------------------- commitment

def register_commitment(store: Store, principal: Principal, ref: EntityKey, source: str,
                        content: str, registered_on: date, due_on: date) -> Commitment:
    if not departments.may_write(principal, source):
        raise ServiceError.permission_denied(f"{principal.name} may not register {source} "
                                             "commitments")
    content = _text(content, "content")
    if due_on < registered_on:
        raise Invalid([("due_on", "must not be before registered_on")])
    with store.writer() as session:
        entity = entity_by_key(session, ref.key)
        if entity is None:
            raise ServiceError.not_found("entity not found")
        same = session.execute(select(Commitment).where(
            Commitment.entity_id == entity.id, Commitment.source == source,
            Commitment.registered_on == registered_on, Commitment.due_on == due_on,
            Commitment.content == content).order_by(Commitment.id)).scalars().first()
        if same is not None:
            return same  # the same commitment again (a retry): not a second one
        c = Commitment(
            id=next_id(session, Commitment.__table__),  # type: ignore[arg-type]
            entity_id=entity.id, department=departments.owner(source), source=source,
            content=content, registered_on=registered_on, due_on=due_on, state="registered",
            resolved_on=None, record_id=None)
        session.add(c)
        session.flush()
        publish(session, [Change(entity.entity_key, "commitment_registered", None,
                                 principal.name, "commitment", str(c.id),
                                 {"due_on": due_on.isoformat()})])
        return c


def resolve_commitment(store: Store, principal: Principal, commitment_id: str, state: str,
                       on: date, record: records_pb2.RecordSubmission | None) -> Commitment:
    if state not in ("kept", "broken"):
        raise Invalid([("state", "must be kept or broken")])
    with store.writer() as session:
        c = _row(session, Commitment, commitment_id)
        if c is None:
            raise ServiceError.not_found(f"commitment {commitment_id!r} not found")
        _owner_only(principal, c.department, "this commitment")
        if c.state != "registered":
            raise ServiceError.failed_precondition(f"commitment is already {c.state}")
        key = _entity_key(session, c.entity_id)
        if state == "broken":
            # Line 6: a broken commitment is dishonesty information, recorded by its source.
            if record is None or not record.source_record_id:
                raise Invalid([("record", "the dishonesty record of the broken commitment "
                                "is required")])
            result = write_one(store, session, principal, record,
                               note=f"违反信用承诺 (commitment {c.id})")
            if result.entity_key != key:
                raise Invalid([("record.subject", "must be the committed entity")])
            c.record_id = result.record_id
        c.state, c.resolved_on = state, on
        session.flush()
        publish(session, [Change(key, f"commitment_{state}", c.record_id, principal.name,
                                 "commitment", str(c.id), {"on": on.isoformat()})])
        return c


# ----------------------------------------------------------------------------- shield

def start_shield(store: Store, principal: Principal, ref: EntityKey, court_ruling: str,
                 started_on: date) -> tuple[Shield, str]:
    _roles(principal, frozenset({"admin", "department"}), "shield records")
    court_ruling = _text(court_ruling, "court_ruling", 200)
    with store.writer() as session:
        entity = entity_by_key(session, ref.key)
        if entity is None:
            raise ServiceError.not_found("entity not found")
        # Each department shields its own records (queries.shielded_expr): one open shield
        # per department, so another's does not stand in its way.
        department = principal.department or ADMIN_SHIELD
        if session.execute(select(Shield.id).where(Shield.entity_id == entity.id,
                                                   Shield.department == department,
                                                   Shield.lifted_on.is_(None))).first():
            raise ServiceError.failed_precondition(
                "the entity is already shielded by this department")
        s = Shield(id=next_id(session, Shield.__table__),  # type: ignore[arg-type]
                   entity_id=entity.id, department=department,
                   court_ruling=court_ruling, started_on=started_on, lifted_on=None)
        session.add(s)
        session.flush()
        publish(session, [Change(entity.entity_key, "shield_started", None, principal.name,
                                 "shield", str(s.id), {"court_ruling": court_ruling})])
        return s, entity.entity_key


def lift_shield(store: Store, principal: Principal, shield_id: str,
                lifted_on: date) -> tuple[Shield, str]:
    with store.writer() as session:
        s = _row(session, Shield, shield_id)
        if s is None:
            raise ServiceError.not_found(f"shield {shield_id!r} not found")
        if "admin" not in principal.roles and principal.department != s.department:
            raise ServiceError.permission_denied("only the shielding department lifts it")
        if s.lifted_on is not None:
            raise ServiceError.failed_precondition("the shield is already lifted")
        if lifted_on < s.started_on:
            raise Invalid([("lifted_on", f"must not be before {s.started_on}")])
        s.lifted_on = lifted_on
        key = _entity_key(session, s.entity_id)
        session.flush()
        # 九: after the plan completes the entity is re-evaluated; scoring reacts to this.
        publish(session, [Change(key, "shield_lifted", None, principal.name, "shield",
                                 str(s.id), {"lifted_on": lifted_on.isoformat()})])
        return s, key


# ------------------------------------------------------------------ credit service agencies

def _agency_writer(principal: Principal) -> None:
    if not departments.may_write(principal, "credit_service_agency"):
        raise ServiceError.permission_denied("only the credit office keeps the agency register")


def _on_serious_list(session: Session, keys: list[str], as_of: date) -> set[str]:
    """Entity keys on a serious dishonesty list on `as_of` (第十条（二）): an active listing
    record (queries.SERIOUS_LIST_LEVELS; a 严重 record is no listing by itself). Repaired,
    expired or withdrawn it no longer counts, nor while shielded (九: 惩戒措施 are suspended
    during a reorganisation)."""
    if not keys:
        return set()
    rows = session.execute(
        select(Entity.entity_key).join(Record, Record.entity_id == Entity.id)
        .where(Entity.entity_key.in_(keys), serious_list_expr(), status_expr(as_of) == "active",
               ~shielded_expr(as_of))
    )
    return {r[0] for r in rows}


@dataclass(frozen=True)
class AgencyMaterials:
    """What the reviewing office found among a registration's materials (第八条, 第十条)."""

    staff_count: int
    commitment_letter: bool  # 第八条（五）
    credit_services_in_scope: bool | None  # 第十条（一）; None: not stated
    annual_report: bool  # 第八条（四）


def register_agency(store: Store, principal: Principal, agency: SubjectIn,
                    principals: list[EntityKey], materials: AgencyMaterials,
                    registered_on: date) -> AgencyRegistration:
    _agency_writer(principal)
    if agency.kind != "credit_service_agency":
        raise Invalid([("agency.kind", "must be ENTITY_KIND_CREDIT_SERVICE_AGENCY")])
    violations: list[tuple[str, str]] = []
    if not principals:
        violations.append(("principal_ids", "at least one principal is required"))
    if materials.staff_count < 1:
        violations.append(("staff_count", "must be at least 1"))
    if not materials.commitment_letter:
        violations.append(("commitment_letter", "the credit commitment letter is required"))
    if materials.credit_services_in_scope is None:
        violations.append(("credit_services_in_scope", "required: whether the business scope "
                           "of the approved articles includes credit services (第十条（一）)"))
    if not materials.annual_report and annual_report_required(agency.established_on,
                                                              registered_on):
        violations.append(("annual_report", f"required: established on "
                           f"{agency.established_on}, a year or more before registration "
                           "(第八条（四）)"))
    if violations:
        raise Invalid(violations)
    with store.writer() as session:
        listed = _on_serious_list(session, [agency.ref.key, *(p.key for p in principals)],
                                  registered_on)
        refusal = registration_refusal_reason(
            agency.ref.key in listed, [p.display_id for p in principals if p.key in listed],
            credit_services_in_scope=bool(materials.credit_services_in_scope))
        if refusal is not None:
            raise ServiceError.failed_precondition(f"registration refused: {refusal}")
        entity = entity_by_key(session, agency.ref.key)
        if entity is None:
            row = entity_row(agency, next_id(session, Entity.__table__), now())  # type: ignore[arg-type]
            session.add(Entity(**row))
            session.flush()
            entity = entity_by_key(session, agency.ref.key)
        assert entity is not None
        if session.execute(select(AgencyRegistration.id)
                           .where(AgencyRegistration.entity_id == entity.id)).first():
            raise ServiceError.already_exists("the agency is already registered")
        reg = AgencyRegistration(
            id=next_id(session, AgencyRegistration.__table__),  # type: ignore[arg-type]
            entity_id=entity.id, registered_on=registered_on,
            principal_keys=[p.key for p in principals],
            principal_display_ids=[p.display_id for p in principals],
            staff_count=materials.staff_count)
        session.add(reg)
        session.flush()
        publish(session, [Change(entity.entity_key, "agency_registered", None, principal.name,
                                 "agency", entity.entity_key,
                                 # The audit trail is shown beyond the department:
                                 # principals by region only, as persons are elsewhere.
                                 {"principals": [region_only(d)
                                                 for d in reg.principal_display_ids],
                                  "credit_services_in_scope": True,
                                  "annual_report": materials.annual_report})])
        return reg


def file_annual_report(store: Store, principal: Principal, ref: EntityKey, year: int,
                       filed_on: date) -> tuple[AnnualReport, str]:
    _agency_writer(principal)
    if not 1990 <= year < filed_on.year:
        raise Invalid([("year", f"must be a past year (before {filed_on.year})")])
    with store.writer() as session:
        entity = entity_by_key(session, ref.key)
        if entity is None:
            raise ServiceError.not_found("agency not found")
        if entity.kind != "credit_service_agency":
            raise Invalid([("agency", "is not a credit service agency")])
        existing = session.execute(select(AnnualReport).where(
            AnnualReport.entity_id == entity.id, AnnualReport.year == year)).scalar()
        if existing is not None:
            return existing, entity.entity_key  # idempotent: the register keeps the first
        report = AnnualReport(id=next_id(session, AnnualReport.__table__),  # type: ignore[arg-type]
                              entity_id=entity.id, year=year, filed_on=filed_on)
        session.add(report)
        session.flush()
        publish(session, [Change(entity.entity_key, "annual_report_filed", None,
                                 principal.name, "annual_report", str(report.id),
                                 {"year": year})])
        return report, entity.entity_key


# ----------------------------------------------------------------------------- overdue

@dataclass(frozen=True)
class Overdue:
    kind: str
    item_id: int
    record_id: int | None
    department: str
    due: date
    working_days_overdue: int


def list_overdue(store: Store, as_of: date, department: str | None) -> list[Overdue]:
    def dept(col: Any) -> Any:
        return col == department if department else True

    cal = store.calendar
    out: list[Overdue] = []
    with store.sessions() as session:
        for r in session.execute(select(Repair).where(
                Repair.state == "applied", Repair.acceptance_due < as_of,
                dept(Repair.department))).scalars():
            out.append(Overdue("repair_acceptance", r.id, r.record_id, r.department,
                               r.acceptance_due, cal.workdays_between(r.acceptance_due, as_of)))
        for r in session.execute(select(Repair).where(
                Repair.state == "accepted", Repair.decision_due < as_of,
                dept(Repair.department))).scalars():
            assert r.decision_due is not None
            out.append(Overdue("repair_decision", r.id, r.record_id, r.department,
                               r.decision_due, cal.workdays_between(r.decision_due, as_of)))
        for r in session.execute(select(Repair).where(
                Repair.state.in_(("applied", "accepted")), Repair.applied_on < as_of,
                dept(Repair.department))).scalars():
            # Counted up to as_of only: the due date is computed once it is past (known).
            late = cal.workdays_between(r.applied_on, as_of) - _response_workdays(r)
            if late > 0:
                due = response_due(cal, r)
                assert due is not None  # past as_of, so in a year the calendar knows
                out.append(Overdue("repair_response", r.id, r.record_id, r.department, due,
                                   late))
        for o in session.execute(select(Objection).where(
                Objection.state == "open", Objection.due < as_of,
                dept(Objection.department))).scalars():
            out.append(Overdue("objection", o.id, o.record_id, o.department, o.due,
                               cal.workdays_between(o.due, as_of)))
        for c in session.execute(select(Commitment).where(
                Commitment.state == "registered", Commitment.due_on < as_of,
                dept(Commitment.department))).scalars():
            out.append(Overdue("commitment", c.id, None, c.department, c.due_on,
                               cal.workdays_between(c.due_on, as_of)))
    # Working days can be 0 across a weekend; only items past a working day count.
    return sorted((o for o in out if o.working_days_overdue > 0), key=lambda o: o.due)


# ------------------------------------------------------------------------ change feed

def sweep_publication_ends(store: Store, as_of: date, limit: int = 5_000) -> int:
    """Announces records whose publication period ended on its own by `as_of`."""
    with store.writer() as session:
        rows = session.execute(
            select(Record.id, Entity.entity_key).join(Entity, Entity.id == Record.entity_id)
            .where(Record.end_announced.is_(False), Record.listed.is_(True),
                   Record.publication_end <= as_of, Record.repaired_on.is_(None),
                   Record.withdrawn_on.is_(None))
            .order_by(Record.id).limit(limit)
        ).all()
        if not rows:
            return 0
        ids = [r.id for r in rows]
        session.execute(update(Record).where(and_(Record.id.in_(ids)))
                        .values(end_announced=True))
        publish(session, [Change(r.entity_key, "publication_ended", r.id, "system", "record",
                                 str(r.id), {"as_of": as_of.isoformat()}) for r in rows])
        return len(rows)
