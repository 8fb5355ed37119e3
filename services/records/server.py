"""gRPC servicer of the records service (credit.v1.RecordsService).

Handlers are thin: check the caller's role, decode, run the domain function in a worker
thread (SQLAlchemy is synchronous), encode. Domain errors become statuses with field
violations; nothing else reaches the client.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any, TypeVar

import grpc
from prometheus_client import Gauge
from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.v1 import common_pb2, records_pb2, records_pb2_grpc
from services.common.auth import Principal, current_principal
from services.common.codes import INDUSTRY_SECTIONS, REGION_PREFIX
from services.common.db import next_id
from services.common.errors import ServiceError, to_status_proto
from services.common.workdays import CALENDAR_FILE_ENV, CalendarYearUnknown
from services.records import queries, views, workflows
from services.records.audit import FEED_TIP_METADATA, GENESIS, feed_tip
from services.records.ingest import Prepared, Result, commit, entity_row, ingest, prepare
from services.records.models import AuditEntry, Entity
from services.records.store import Change, Store, entity_by_key, now, publish
from services.records.submission import (
    SOURCES,
    EntityKey,
    Invalid,
    decode_ref,
    decode_subject,
    optional_date,
    parse_date,
    require_ref,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

READERS = frozenset({"admin", "regulator", "department", "planner"})
WRITERS = frozenset({"admin", "department"})
FEED_READERS = frozenset({"admin", "regulator", "service"})
PUBLIC = frozenset({"admin", "regulator", "department", "planner", "public", "service",
                    "applicant"})
POLL_SECONDS = 0.25
_HASH = re.compile(r"[0-9a-f]{64}")  # an audit entry's SHA-256, as ChangeEvent.hash
MAX_PAGE = 1000


def _require(roles: frozenset[str]) -> Principal:
    principal = current_principal()
    if not principal.roles & roles:
        raise ServiceError.permission_denied("this call is not open to your role")
    return principal


async def _run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs blocking domain code off the event loop and maps domain errors to statuses."""
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except Invalid as exc:
        raise ServiceError.invalid_argument(*exc.violations) from None
    except CalendarYearUnknown as exc:
        # The operator must add the year's holiday schedule; say which one.
        raise ServiceError.failed_precondition(str(exc)) from None


def _result(r: Result) -> records_pb2.SubmitResult:
    out = records_pb2.SubmitResult()
    _fill_result(out, r)
    return out


def _fill_result(out: records_pb2.SubmitResult, r: Result, brief: bool = False) -> None:
    out.index = r.index
    out.source_record_id = r.source_record_id
    out.outcome = views.OUTCOME_ENUM[r.outcome]
    out.entity_key = r.entity_key
    if r.record_id:
        out.record_id = str(r.record_id)
    if r.error is not None:
        out.error.CopyFrom(to_status_proto(r.error))
    if r.record is not None:
        out.listed = r.record["listed"]
        if r.record["listed"] and r.texts is not None:
            views.fill_repair_notice(out.repair_notice, r.record, r.texts, brief=brief)


def _ack(batch_no: int, results: list[Result],
         brief: bool = False) -> records_pb2.SubmitRecordsResponse:
    rejected = sum(1 for r in results if r.error is not None)
    ack = records_pb2.SubmitRecordsResponse(
        batch=batch_no, accepted=len(results) - rejected, rejected=rejected)
    add = ack.results.add
    for r in results:  # filled in place: building each result apart would copy it again
        _fill_result(add(), r, brief)
    return ack


_RESULT_VIEWS = frozenset(records_pb2.ResultView.values())


def _batch_problem(request: records_pb2.SubmitRecordsRequest,
                   max_batch: int) -> tuple[str, str] | None:
    """Why a stream message is refused as a whole, as a field violation; None if it is not."""
    if len(request.records) > max_batch:
        return ("records", f"{len(request.records)} records exceed the limit of {max_batch} "
                           "per message")
    if request.result_view not in _RESULT_VIEWS:
        return ("result_view", f"unknown view {request.result_view}")
    return None


class RecordsServicer(records_pb2_grpc.RecordsServiceServicer):
    def __init__(self, store: Store, max_batch: int) -> None:
        self.store = store
        self.max_batch = max_batch

    def _today(self, value: str, field: str) -> date:
        """A workflow date: defaults to today and may not lie in the future."""
        today = self.store.today()
        try:
            on = optional_date(value, field, today)
        except Invalid as exc:
            raise ServiceError.invalid_argument(*exc.violations) from None
        if on > today:
            raise ServiceError.invalid_argument((field, f"{on} is in the future"))
        return on

    def _ref(self, ref: Any, field: str) -> EntityKey:
        try:
            return require_ref(ref, field, self.store.protector)
        except Invalid as exc:
            raise ServiceError.invalid_argument(*exc.violations) from None

    # ------------------------------------------------------------------ submission

    async def SubmitRecord(self, request: records_pb2.SubmitRecordRequest,
                           context: Any) -> records_pb2.SubmitResult:
        principal = _require(WRITERS)
        result = (await _run(ingest, self.store, principal, [request.record]))[0]
        if result.error is not None:
            raise result.error
        return _result(result)

    async def SubmitRecords(self, request_iterator: AsyncIterator[records_pb2.SubmitRecordsRequest],
                            context: Any) -> AsyncIterator[records_pb2.SubmitRecordsResponse]:
        principal = _require(WRITERS)
        store = self.store
        # Two-stage pipeline: batch n+1 is decoded while batch n is being written, and
        # acknowledgements still go out in order, each after its batch committed.
        writing: asyncio.Task[list[Result]] | None = None
        brief = False  # the view of the acknowledgement being written
        batch_no = 0
        async for request in request_iterator:
            records = request.records
            problem = _batch_problem(request, self.max_batch)
            if problem is not None:
                err = ServiceError.invalid_argument(problem)
                prepared = Prepared([Result(i, r.source_record_id, "rejected", error=err)
                                     for i, r in enumerate(records)], [])
            else:
                prepared = await _run(prepare, store, principal, records)
            if writing is not None:
                yield _ack(batch_no, await writing, brief)
                batch_no += 1
            brief = request.result_view == records_pb2.RESULT_VIEW_BRIEF
            writing = asyncio.create_task(_run(commit, store, principal, prepared))
        if writing is not None:
            yield _ack(batch_no, await writing, brief)

    async def UpsertEntity(self, request: records_pb2.UpsertEntityRequest,
                           context: Any) -> Any:
        principal = _require(WRITERS)
        store = self.store

        def upsert() -> Entity:
            violations: list[tuple[str, str]] = []
            subject = decode_subject(request.subject, "subject", store.protector, store.today(),
                                     violations)
            if subject is None:
                raise Invalid(violations)
            with store.writer() as session:
                entity = entity_by_key(session, subject.ref.key)
                at = now()
                if entity is None:
                    new_id = next_id(session, Entity.__table__)  # type: ignore[arg-type]
                    entity = Entity(**entity_row(subject, new_id, at))
                    session.add(entity)
                else:
                    if entity.kind != subject.kind:
                        raise Invalid([("subject.kind", "an entity's kind cannot change")])
                    entity.name, entity.region_code = subject.name, subject.region_code
                    entity.industry = subject.industry
                    entity.established_on, entity.updated_at = subject.established_on, at
                session.flush()
                publish(session, [Change(entity.entity_key, "entity_updated", None,
                                         principal.name, "entity", entity.entity_key,
                                         {"name": entity.name, "region": entity.region_code,
                                          "industry": entity.industry})])
                return entity

        return views.entity(await _run(upsert))

    # ---------------------------------------------------------------------- reads

    async def GetCreditFile(self, request: records_pb2.GetCreditFileRequest,
                            context: Any) -> records_pb2.CreditFile:
        _require(READERS)
        ref = self._ref(request.entity, "entity")
        as_of = self._today(request.as_of, "as_of")
        store = self.store

        def read(session: Session) -> records_pb2.CreditFile | None:
            found = queries.credit_file(session, ref.key, as_of,
                                        include_audit=request.include_audit)
            return None if found is None else views.credit_file(found, store.calendar)

        # Raised out here: raised inside, the read would end in a ROLLBACK (see snapshot_read).
        message: records_pb2.CreditFile | None = await _run(store.snapshot, read)
        if message is None:
            raise ServiceError.not_found("entity not found")
        return message

    def _filter(self, request: records_pb2.ListRecordsRequest,
                public: bool) -> tuple[queries.RecordFilter, int, int]:
        violations: list[tuple[str, str]] = []
        sources = []
        for i, s in enumerate(request.sources):
            if s not in SOURCES:
                violations.append((f"sources[{i}]", f"unknown source {s}"))
            else:
                sources.append(SOURCES[s])
        categories = []
        for i, c in enumerate(request.categories):
            if c not in views.CATEGORY_NAMES:
                violations.append((f"categories[{i}]", f"unknown category {c}"))
            else:
                categories.append(views.CATEGORY_NAMES[c])
        statuses = []
        for i, st in enumerate(request.statuses):
            if st not in views.STATUS_NAMES:
                violations.append((f"statuses[{i}]", f"unknown status {st}"))
            else:
                statuses.append(views.STATUS_NAMES[st])
        if request.region_prefix and not REGION_PREFIX.fullmatch(request.region_prefix):
            violations.append(("region_prefix", "must be 1 to 6 digits"))
        if request.industry and request.industry not in INDUSTRY_SECTIONS:
            violations.append(("industry", "must be a GB/T 4754 section letter A-T"))
        page_size = request.page_size or 100
        if not 1 <= page_size <= MAX_PAGE:
            violations.append(("page_size", f"must be 1 to {MAX_PAGE}"))
        decided_from = parse_date(request.decided_from, "decided_from", violations,
                                  required=False)
        decided_to = parse_date(request.decided_to, "decided_to", violations, required=False)
        as_of = parse_date(request.as_of, "as_of", violations, required=False)
        after = 0
        if request.page_token:
            try:
                after = queries.decode_token(request.page_token)
            except Invalid as exc:
                violations.extend(exc.violations)
        if violations:
            raise ServiceError.invalid_argument(*violations)
        return queries.RecordFilter(
            as_of=as_of or self.store.today(), sources=tuple(sources),
            categories=tuple(categories), statuses=tuple(statuses),
            region_prefix=request.region_prefix, industry=request.industry,
            decided_from=decided_from, decided_to=decided_to, public=public,
        ), page_size, after

    async def _list(self, request: records_pb2.ListRecordsRequest,
                    public: bool) -> records_pb2.ListRecordsResponse:
        f, page_size, after = self._filter(request, public)
        ref = self._ref(request.entity, "entity") if request.HasField("entity") else None
        store = self.store

        def load() -> records_pb2.ListRecordsResponse:
            with store.sessions() as session:
                flt = f
                if ref is not None:
                    eid = session.execute(select(Entity.id)
                                          .where(Entity.entity_key == ref.key)).scalar()
                    if eid is None:
                        return records_pb2.ListRecordsResponse()
                    flt = queries.RecordFilter(**{**f.__dict__, "entity_id": eid})
                rows, last = queries.list_records(session, flt, page_size, after)
            out = records_pb2.ListRecordsResponse(
                next_page_token=queries.encode_token(last) if last else "")
            add = out.records.add
            for v in rows:
                views.fill_record(add(), v, public=public)
            return out

        return await _run(load)

    async def ListRecords(self, request: records_pb2.ListRecordsRequest,
                          context: Any) -> records_pb2.ListRecordsResponse:
        _require(READERS)
        return await self._list(request, public=False)

    async def ListPublicRecords(self, request: records_pb2.ListRecordsRequest,
                                context: Any) -> records_pb2.ListRecordsResponse:
        _require(PUBLIC)
        return await self._list(request, public=True)

    async def WatchChanges(self, request: records_pb2.WatchChangesRequest,
                           context: Any) -> AsyncIterator[records_pb2.ChangeEvent]:
        _require(FEED_READERS)
        if request.after_seq < 0:
            raise ServiceError.invalid_argument(("after_seq", "must not be negative"))
        size = request.batch_size or 1000
        if not 1 <= size <= 10_000:
            raise ServiceError.invalid_argument(("batch_size", "must be 1 to 10000"))
        cursor, store = request.after_seq, self.store

        expected = request.after_hash
        if expected and (cursor == 0 or not _HASH.fullmatch(expected)):
            raise ServiceError.invalid_argument(
                ("after_hash", "must be the 64 hex hash of the event at after_seq (> 0)"))

        def hash_at(session: Any, seq: int) -> str | None:
            if seq == 0:
                return GENESIS  # what the first entry chains from
            found: str | None = session.execute(
                select(AuditEntry.hash).where(AuditEntry.seq == seq)).scalar()
            return found

        def check() -> tuple[int, str | None]:
            with store.sessions() as session:
                return feed_tip(session), hash_at(session, cursor)

        last, chained = await _run(check)
        if cursor > last:
            # Likely a database restored from a backup older than the consumer's cursor: the
            # events numbered from last+1 on would be new ones the consumer would never see.
            raise ServiceError(grpc.StatusCode.OUT_OF_RANGE,
                               f"after_seq {cursor} is beyond the feed's last event {last}")
        if expected and chained != expected:
            # The same, once the restored feed has grown past the cursor again.
            raise ServiceError.failed_precondition(
                f"the feed's event {cursor} is not the one after_hash names: the records "
                "database was restored or replaced")
        await context.send_initial_metadata(((FEED_TIP_METADATA, str(last)),))

        def read(after: int, chained: str | None) -> tuple[list[Any], bool]:
            """The next events, and whether the feed is still the one this stream began on:
            the first new event chains from the last one sent, or, with none yet, the event
            at the cursor is still that one (a restore under a running service renumbers)."""
            with store.sessions() as session:
                events = list(session.execute(
                    select(AuditEntry.seq, AuditEntry.entity_key, AuditEntry.action,
                           AuditEntry.record_id, AuditEntry.at, AuditEntry.hash,
                           AuditEntry.prev_hash)
                    .where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(size)))
                same = (events[0].prev_hash if events else hash_at(session, after)) == chained
                return events, same

        while True:
            events, same = await _run(read, cursor, chained)
            if not same:
                raise ServiceError.failed_precondition(
                    f"the feed changed under this stream after event {cursor}: the records "
                    "database was restored or replaced")
            for e in events:
                yield records_pb2.ChangeEvent(
                    seq=e.seq, entity_key=e.entity_key, kind=e.action,
                    record_id=str(e.record_id or ""), occurred_at=views.iso(e.at), hash=e.hash)
                cursor, chained = e.seq, e.hash
            if len(events) < size:
                if not request.follow:
                    return
                await asyncio.sleep(POLL_SECONDS)

    # ------------------------------------------------------------------ workflows

    async def ApplyRepair(self, request: records_pb2.ApplyRepairRequest,
                          context: Any) -> records_pb2.Repair:
        principal = current_principal()
        on = self._today(request.applied_on, "applied_on")
        return views.repair(await _run(workflows.apply_repair, self.store, principal,
                                       request.record_id, request.proof,
                                       request.commitment_letter, on), self.store.calendar)

    async def DecideRepair(self, request: records_pb2.DecideRepairRequest,
                           context: Any) -> records_pb2.Repair:
        principal = current_principal()
        on = self._today(request.on, "on")
        return views.repair(await _run(workflows.decide_repair, self.store, principal,
                                       request.repair_id, request.action, request.reason, on),
                            self.store.calendar)

    async def FileObjection(self, request: records_pb2.FileObjectionRequest,
                            context: Any) -> records_pb2.Objection:
        principal = current_principal()
        on = self._today(request.filed_on, "filed_on")
        return views.objection(await _run(workflows.file_objection, self.store, principal,
                                          request.record_id, request.target, request.grounds,
                                          on))

    async def ResolveObjection(self, request: records_pb2.ResolveObjectionRequest,
                               context: Any) -> records_pb2.Objection:
        principal = current_principal()
        on = self._today(request.on, "on")
        corrected = request.corrected if request.HasField("corrected") else None
        return views.objection(await _run(workflows.resolve_objection, self.store, principal,
                                          request.objection_id, request.resolution,
                                          request.reason, on, corrected))

    async def RegisterCommitment(self, request: records_pb2.RegisterCommitmentRequest,
                                 context: Any) -> records_pb2.Commitment:
        principal = current_principal()
        ref = self._ref(request.entity, "entity")
        if request.source not in SOURCES:
            raise ServiceError.invalid_argument(("source", "a known source is required"))
        registered = self._today(request.registered_on, "registered_on")
        try:
            due = optional_date(request.due_on, "due_on", registered)
        except Invalid as exc:
            raise ServiceError.invalid_argument(*exc.violations) from None
        c = await _run(workflows.register_commitment, self.store, principal, ref,
                       SOURCES[request.source], request.content, registered, due)
        return views.commitment(c, ref.key)

    async def ResolveCommitment(self, request: records_pb2.ResolveCommitmentRequest,
                                context: Any) -> records_pb2.Commitment:
        principal = current_principal()
        on = self._today(request.on, "on")
        record = request.record if request.HasField("record") else None
        store = self.store

        def resolve() -> records_pb2.Commitment:
            c = workflows.resolve_commitment(store, principal, request.commitment_id,
                                             request.state, on, record)
            with store.sessions() as session:
                key = session.execute(select(Entity.entity_key)
                                      .where(Entity.id == c.entity_id)).scalar()
            return views.commitment(c, str(key))

        return await _run(resolve)

    async def StartShield(self, request: records_pb2.StartShieldRequest,
                          context: Any) -> records_pb2.Shield:
        principal = current_principal()
        ref = self._ref(request.entity, "entity")
        on = self._today(request.started_on, "started_on")
        s, key = await _run(workflows.start_shield, self.store, principal, ref,
                            request.court_ruling, on)
        return views.shield(s, key)

    async def LiftShield(self, request: records_pb2.LiftShieldRequest,
                         context: Any) -> records_pb2.Shield:
        principal = current_principal()
        on = self._today(request.lifted_on, "lifted_on")
        s, key = await _run(workflows.lift_shield, self.store, principal, request.shield_id,
                            on)
        return views.shield(s, key)

    async def RegisterAgency(self, request: records_pb2.RegisterAgencyRequest,
                             context: Any) -> records_pb2.AgencyRegistration:
        principal = current_principal()
        store = self.store
        violations: list[tuple[str, str]] = []
        agency = decode_subject(request.agency, "agency", store.protector, store.today(),
                                violations)
        principals: list[EntityKey] = []
        for i, rid in enumerate(request.principal_ids):
            key = decode_ref(common_pb2.EntityRef(resident_id=rid), f"principal_ids[{i}]",
                             store.protector, violations)
            if key is not None:
                principals.append(key)
        if violations or agency is None:
            raise ServiceError.invalid_argument(*violations)
        on = self._today(request.registered_on, "registered_on")
        materials = workflows.AgencyMaterials(
            staff_count=request.staff_count, commitment_letter=request.commitment_letter,
            credit_services_in_scope=(request.credit_services_in_scope
                                      if request.HasField("credit_services_in_scope")
                                      else None),
            annual_report=request.annual_report)
        reg = await _run(workflows.register_agency, store, principal, agency, principals,
                         materials, on)
        return records_pb2.AgencyRegistration(
            entity_key=agency.ref.key, registered_on=views.iso(reg.registered_on),
            principal_display_ids=reg.principal_display_ids)

    async def FileAnnualReport(self, request: records_pb2.FileAnnualReportRequest,
                               context: Any) -> records_pb2.AnnualReport:
        principal = current_principal()
        ref = self._ref(request.agency, "agency")
        on = self._today(request.filed_on, "filed_on")
        report, key = await _run(workflows.file_annual_report, self.store, principal, ref,
                                 request.year, on)
        return views.annual_report(report, key)

    async def ListOverdue(self, request: records_pb2.ListOverdueRequest,
                          context: Any) -> records_pb2.ListOverdueResponse:
        principal = _require(READERS)
        as_of = self._today(request.as_of, "as_of")
        department = request.department or principal.department
        # Everyone else sees its own department's items: a principal of no department
        # (a planner, a service) sees none, not everyone's.
        if "admin" not in principal.roles and "regulator" not in principal.roles and (
                principal.department is None or department != principal.department):
            raise ServiceError.permission_denied("a department sees only its own items")
        items = await _run(workflows.list_overdue, self.store, as_of, department)
        return records_pb2.ListOverdueResponse(items=[
            records_pb2.OverdueItem(kind=o.kind, item_id=str(o.item_id),
                                    record_id=str(o.record_id or ""), department=o.department,
                                    due=o.due.isoformat(),
                                    working_days_overdue=o.working_days_overdue)
            for o in items])


# Working-day deadlines run up to about six weeks ahead (30 working days over a Spring
# Festival), so two months' notice leaves time to add next year's State Council schedule.
CALENDAR_WARN_DAYS = 60
CALENDAR_DAYS = Gauge(
    "records_calendar_known_days",
    "Days from today to the last day of the working-day calendar (-1: not even today's year "
    "is known); a deadline beyond it cannot be set (FAILED_PRECONDITION)")


def calendar_days(store: Store) -> int:
    today = store.today()
    through = store.calendar.known_through(today)
    return -1 if through is None else (through - today).days


def _check_calendar(store: Store) -> None:
    days = calendar_days(store)
    if days < CALENDAR_WARN_DAYS:
        log.warning(
            "the working-day calendar ends in %d days: deadlines beyond it fail until next "
            "year's State Council holiday schedule is given in %s", days, CALENDAR_FILE_ENV,
            extra={"calendar_known_days": days, "known_years": list(store.calendar.years)})


async def sweep_forever(store: Store, interval: float) -> None:
    """Announces publication periods that end on their own, and warns once a day while the
    working-day calendar is about to run out; runs until cancelled."""
    CALENDAR_DAYS.set_function(lambda: calendar_days(store))
    checked: date | None = None
    while True:
        if (today := store.today()) != checked:
            checked = today
            _check_calendar(store)
        try:
            while await _run(workflows.sweep_publication_ends, store, store.today()):
                pass
        except Exception:
            log.exception("publication sweep failed; retrying")
        await asyncio.sleep(interval)


SERVICE_NAME = records_pb2.DESCRIPTOR.services_by_name["RecordsService"].full_name


def register(store: Store, max_batch: int) -> Callable[[grpc.aio.Server], list[str]]:
    def add(server: grpc.aio.Server) -> list[str]:
        records_pb2_grpc.add_RecordsServiceServicer_to_server(  # type: ignore[no-untyped-call]
            RecordsServicer(store, max_batch), server)
        return [SERVICE_NAME]
    return add
