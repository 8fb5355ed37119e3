"""gRPC servicer of the scoring service (credit.v1.ScoringService).

Validation happens here, before any query: every bad field is named in a BadRequest
violation. Blocking work (queries, scoring, drawing) runs in worker threads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from sqlalchemy import Connection, Engine, select

from credit.v1 import common_pb2, records_pb2, scoring_pb2, scoring_pb2_grpc
from services.common.auth import Principal, current_principal
from services.common.codes import PersonalIdProtector
from services.common.db import (
    KeptConnections,
    SessionLock,
    decode_id_token,
    encode_id_token,
    where_in,
)
from services.common.errors import ServiceError, bad_request_violations, to_status_proto
from services.common.stubs import records_stub
from services.records.audit import feed_head
from services.records.departments import SOURCE_OWNER
from services.records.submission import (
    KIND_ENUM,
    KINDS,
    SOURCE_ENUM,
    SOURCES,
    EntityKey,
    Invalid,
    check_text,
    decode_ref,
    parse_date,
    require_ref,
)
from services.scoring import grades as grade_queries
from services.scoring import plans
from services.scoring.answers import AnswerStore
from services.scoring.coalesce import Coalescer
from services.scoring.draws import (
    MAX_SEED_DIGITS,
    DrawError,
    DrawInputError,
    DrawTask,
    DrawTooLarge,
    InspectionPlan,
    Inspector,
    Published,
)
from services.scoring.evaluate import GRADE_INPUTS, Evaluation, Evaluator, Model, grade_columns
from services.scoring.features import FEATURE_BY_NAME
from services.scoring.grades import GradeFilter
from services.scoring.models import Grade, GradeHistory, InspectionPlanRow, InspectionResultRow
from services.scoring.policy import GRADES, GradeInputs, decide
from services.scoring.regrade import BATCH, RegradeStats, regrade_all
from services.scoring.store import GradeStore
from services.scoring.supervision import GradeSupervision

READERS = frozenset({"admin", "regulator", "planner", "department", "service"})
# Who may draw plans and publish results: planners and admins for any department, a
# department for itself.
PLANNERS = frozenset({"admin", "planner", "department"})
MAX_BATCH_ENTITIES = 1_000
# Evaluate: calls served by one feature query at most (see ScoringSettings.evaluate_lanes).
EVALUATE_MOST = 64
MAX_BATCH_ROWS = 100_000
# Inspectors of one draw, and what one verification may rank (drawn entities × inspectors,
# one hash each: about 1 s per million here). A county's task is far below both.
MAX_INSPECTORS = 2_000
VERIFY_MOST_RANKINGS = 2_000_000
# Matrices up to this many values without reason codes (10,000 rows of a model's 7
# inputs is 70,000: about 1 ms) are scored on the event loop. Handing them to a thread cost
# more than the scoring: with 8 streams the GIL hand-offs doubled the server's CPU per
# message (benchmark: 3.9 ms in a thread, 1.7 ms inline). Larger ones, and those asking for
# reasons, go to a thread so the loop is never held for long.
INLINE_MATRIX_VALUES = 150_000
# No model reads more; more columns would only make validation slow.
MAX_MATRIX_COLUMNS = 256
_TOKEN = re.compile(r"[A-Za-z0-9._:/-]{1,64}")
OUTCOMES = {
    scoring_pb2.INSPECTION_OUTCOME_CLEAR: "clear",
    scoring_pb2.INSPECTION_OUTCOME_CORRECTED: "corrected",
    scoring_pb2.INSPECTION_OUTCOME_FINDING: "finding",
    scoring_pb2.INSPECTION_OUTCOME_NOT_INSPECTED: "not_inspected",
}
OUTCOME_ENUM = {name: number for number, name in OUTCOMES.items()}
POLL_SECONDS = 0.5
_GRADE_LETTERS = np.frombuffer("".join(GRADES).encode("ascii"), dtype=np.uint8)
SERVICE_NAME = scoring_pb2.DESCRIPTOR.services_by_name["ScoringService"].full_name


def _basis(b: Any) -> common_pb2.LegalBasis:
    return common_pb2.LegalBasis(document=b.document, provision=b.provision,
                                 source_line=b.source_line, citation=b.cite())


def tier_pb(t: GradeSupervision) -> scoring_pb2.SupervisionTier:
    return scoring_pb2.SupervisionTier(
        grade=t.grade, sampling_ratio=t.draw_ratio, sampling_ratio_min=t.ratio_min,
        sampling_ratio_max=t.ratio_max,
        max_inspections_per_year=-1 if t.max_per_year is None else t.max_per_year,
        frequency_zh=t.frequency_zh, frequency_en=t.frequency_en,
        measures_zh=t.measures_zh, measures_en=t.measures_en,
        proactive_inspection=t.proactive, key_supervision=t.key_supervision,
        exempt_review=t.exempt_review, contactless=t.contactless)


def evaluation_pb(e: Evaluation) -> scoring_pb2.Evaluation:
    d = e.decision
    return scoring_pb2.Evaluation(
        entity_key=e.entity_key, as_of=e.as_of.isoformat(), score=e.score, grade=d.grade,
        score_grade=d.score_grade, decided_by=d.decided_by,
        grade_rules=[scoring_pb2.GradeRule(code=c, text_zh=zh, text_en=en)
                     for c, zh, en in d.reasons],
        reasons=[scoring_pb2.Reason(code=r.code, points_lost=r.points_lost, text_zh=r.text_zh,
                                    text_en=r.text_en) for r in e.reasons],
        legal_basis=[_basis(b) for b in e.legal_basis],
        tier=tier_pb(e.tier),
        model_version=e.model_version, policy_version=d.policy_version,
        supervision_version=e.supervision_version,
        features={k: float(v) for k, v in e.features.items()},
    )


def _iso(value: date | datetime | None) -> str:
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # SQLite returns the stored UTC times naive
    return "" if value is None else value.isoformat()


def grade_summary_pb(g: Any) -> scoring_pb2.GradeSummary:
    """A grades row (ORM object or plain row with the same columns) as its message."""
    return scoring_pb2.GradeSummary(
        entity_key=g.entity_key, kind=KIND_ENUM.get(g.kind, 0), name=g.name,
        display_id=g.display_id, region_code=g.region_code, industry=g.industry,
        sources=[SOURCE_ENUM[s] for s in grade_queries.source_names(g.sources)],
        grade=g.grade, score=g.score, score_grade=g.score_grade, decided_by=g.decided_by,
        reasons=list(g.reasons), model_version=g.model_version,
        policy_version=g.policy_version, as_of=_iso(g.as_of), graded_at=_iso(g.graded_at),
        cause=g.cause)


def grade_change_pb(h: GradeHistory) -> scoring_pb2.GradeChange:
    return scoring_pb2.GradeChange(
        id=h.id, entity_key=h.entity_key, previous_grade=h.previous_grade or "",
        grade=h.grade, score=h.score, cause=h.cause, model_version=h.model_version,
        policy_version=h.policy_version, as_of=_iso(h.as_of), graded_at=_iso(h.graded_at))


def result_pb(r: InspectionResultRow) -> scoring_pb2.InspectionResult:
    return scoring_pb2.InspectionResult(
        plan_id=r.plan_id, entity_key=r.entity_key, outcome=OUTCOME_ENUM[r.outcome],
        summary=r.summary, inspected_on=_iso(r.inspected_on), record_id=r.record_id or "",
        recorded_by=r.recorded_by, recorded_at=_iso(r.recorded_at))


def plan_pb(row: InspectionPlanRow, plan: InspectionPlan, names: dict[str, str],
            results: dict[str, InspectionResultRow], *,
            document: bool = False) -> scoring_pb2.InspectionPlan:
    return scoring_pb2.InspectionPlan(
        plan_id=row.plan_id, department=row.department, task_name=row.task_name,
        task_date=_iso(row.task_date), seed=str(plan.seed), algorithm=plan.algorithm,
        policy_version=plan.policy_version, candidate_hash=plan.candidate_hash,
        inspector_hash=plan.inspector_hash, previous_hash=plan.previous_hash,
        plan_hash=row.plan_hash, inspectors_per_entity=plan.inspectors_per_entity,
        strata=[scoring_pb2.DrawStratum(
            grade=s.grade, candidates=s.candidates, triggered=s.triggered,
            excluded_previous=s.excluded_previous, eligible=s.eligible, ratio=s.ratio,
            drawn=s.drawn) for s in plan.strata],
        entities=[scoring_pb2.PlannedInspection(
            entity_key=e.key, grade=e.grade, reason=e.reason.upper(),
            inspector_ids=list(e.inspectors), region_code=e.region, industry=e.industry,
            name=names.get(e.key, ""),
            result=result_pb(results[e.key]) if e.key in results else None)
            for e in plan.entities],
        previous_plan_id=row.previous_plan_id or "", created_at=_iso(row.created_at),
        published_json=row.document if document else "")


def _filter(msg: scoring_pb2.GradeFilter, field: str,
            violations: list[tuple[str, str]]) -> GradeFilter:
    sources = []
    for s in msg.sources:
        if s in SOURCES:
            sources.append(SOURCES[s])
        else:
            violations.append((f"{field}.sources", f"unknown source {s}"))
    kinds = []
    for k in msg.kinds:
        if k in KINDS:
            kinds.append(KINDS[k])
        else:
            violations.append((f"{field}.kinds", f"unknown kind {k}"))
    f = GradeFilter(grades=tuple(msg.grades), region_prefix=msg.region_prefix,
                    industries=tuple(msg.industries), sources=tuple(sources),
                    kinds=tuple(kinds))
    violations += f.problems(field)
    return f


def _page_size(value: int, field: str, default: int, most: int,
               violations: list[tuple[str, str]]) -> int:
    if value == 0:
        return default
    if not 1 <= value <= most:
        violations.append((field, f"must be 1 to {most}"))
    return value


def _raise_if(violations: list[tuple[str, str]]) -> None:
    if violations:
        raise ServiceError.invalid_argument(*violations)


def _require(roles: frozenset[str]) -> Principal:
    principal = current_principal()
    if not principal.roles & roles:
        raise ServiceError.permission_denied("this call is not open to your role")
    return principal


def _acts_for(principal: Principal, department: str) -> bool:
    """Admins and planners act for any department, a department for itself."""
    if principal.roles & {"admin", "planner"}:
        return True
    return "department" in principal.roles and principal.department == department


log = logging.getLogger(__name__)
# The advisory lock name of a running Regrade RPC (see _regrade_slot).
REGRADE_LOCK = "credit.scoring.regrade"


class _RegradeCancelled(Exception):
    """Raised in a Regrade's thread between batches once its caller has gone."""


class ScoringServicer(scoring_pb2_grpc.ScoringServiceServicer):
    def __init__(self, evaluator: Evaluator, records: Engine, grades: GradeStore,
                 protector: PersonalIdProtector, today: Callable[[], date], model_dir: Path,
                 records_address: str = "", *, regrade_batch: int = BATCH,
                 evaluate_lanes: int = 1,
                 answers: AnswerStore[bytes] | None = None) -> None:
        self.evaluator, self.records, self.grades = evaluator, records, grades
        # Evaluate's answers kept until the change feed shows them old (follow_feed keeps
        # them current; disabled by default here, see ScoringSettings.answers_kept),
        # serialised: a third of the message's memory, and 3 µs to parse again.
        self.answers = answers if answers is not None else AnswerStore(0, 0.0)
        self.protector, self.today, self.records_address = protector, today, records_address
        self._regrading = asyncio.Lock()
        self._regrade_lock = SessionLock(grades.engine, REGRADE_LOCK)
        self.regrade_batch = regrade_batch  # entities per committed batch of a Regrade
        self.model_card = _model_card(evaluator.model, model_dir)
        # Evaluate's reads: one statement each, on connections kept out of the pool (one per
        # lane; EvaluateBatch beyond that borrows from the pool).
        self._readers = KeptConnections(records, evaluate_lanes)
        # Evaluate calls arriving while others are being read share the next feature query.
        self._evaluations = Coalescer("evaluate", self._evaluate_keys, lanes=evaluate_lanes,
                                      most=EVALUATE_MOST)

    def close(self) -> None:
        """Gives back the connections Evaluate kept (at shutdown, before the engine goes)."""
        self._readers.close()

    def install_model(self, model: Model, model_dir: Path) -> None:
        """Serves `model` from now on; calls in flight finish with the previous one."""
        evaluator = Evaluator(model, self.evaluator.policy, self.evaluator.supervision)
        card = _model_card(model, model_dir)
        self.evaluator, self.model_card = evaluator, card
        # After the switch: an evaluation begun before it is not kept (AnswerStore.ticket).
        self.answers.clear("model")

    # ------------------------------------------------------------------ evaluation

    def _as_of(self, value: str, field: str, violations: list[tuple[str, str]]) -> date:
        today = self.today()
        parsed = parse_date(value, field, violations, required=False, not_after=today)
        return parsed or today

    @staticmethod
    def _department(value: str, field: str, violations: list[tuple[str, str]]) -> str | None:
        if value and value not in SOURCE_OWNER.values():
            violations.append((field, f"unknown department {value!r}"))
        return value or None

    async def Evaluate(self, request: scoring_pb2.EvaluateRequest,
                       context: Any) -> scoring_pb2.Evaluation:
        _require(READERS)
        violations: list[tuple[str, str]] = []
        ref = decode_ref(request.entity, "entity", self.protector, violations)
        as_of = self._as_of(request.as_of, "as_of", violations)
        department = self._department(request.department, "department", violations)
        _raise_if(violations)
        assert ref is not None
        if not request.fresh:
            kept = self.answers.get(ref.key, (as_of, department))
            if kept is not None:
                return scoring_pb2.Evaluation.FromString(kept)
        message = await self._evaluations.get(as_of, (ref.key, department))
        if message is None:
            raise ServiceError.not_found("entity not found")
        return message

    def _evaluate_keys(self, as_of: date, asked: Sequence[tuple[str, str | None]]
                       ) -> dict[tuple[str, str | None], scoring_pb2.Evaluation]:
        """The answers to one batch of Evaluate calls as of one date, by (entity, department),
        for the entities that exist: one feature query, each department's tier on top. One
        statement: autocommit spares the BEGIN and ROLLBACK round trips, and the messages are
        built here too, off the event loop. The answers are kept (AnswerStore) when the feed
        position read just before the features shows them current."""
        ticket = self.answers.ticket()  # before the evaluator: a model switch voids it
        evaluator, keys = self.evaluator, list({k for k, _ in asked})

        def read(conn: Connection) -> tuple[tuple[int, str | None], dict[str, Evaluation]]:
            # The same connection, so the same server (never another replica's feed).
            read_at = feed_head(conn) if ticket is not None else (0, None)
            return read_at, evaluator.evaluate_many(conn, keys, as_of)

        read_at, found = self._readers.run(read)
        answers = {(key, dept): evaluation_pb(e if dept is None else replace(
                       e, tier=evaluator.supervision.grade(e.decision.grade, dept)))
                   for key, dept in asked if (e := found.get(key)) is not None}
        if ticket is not None:
            self.answers.put(ticket, read_at, [(key, (as_of, dept), message.SerializeToString())
                                               for (key, dept), message in answers.items()])
        return answers

    async def EvaluateBatch(self, request_iterator: AsyncIterator[scoring_pb2.EvaluateBatchRequest],
                            context: Any) -> AsyncIterator[scoring_pb2.EvaluateBatchResponse]:
        _require(READERS)
        async for request in request_iterator:
            try:
                which = request.WhichOneof("batch")
                if which == "entities":
                    yield await self._evaluate_entities(request.entities)
                elif which == "features":
                    matrix, reasons = request.features, request.with_reasons
                    # (Too many columns is refused at once, before any per-column work.)
                    if len(matrix.values) <= INLINE_MATRIX_VALUES and not reasons:
                        yield self._score_matrix(matrix, reasons)
                    else:
                        yield await asyncio.to_thread(self._score_matrix, matrix, reasons)
                else:
                    raise ServiceError.invalid_argument(
                        ("batch", "one of entities or features is required"))
            except ServiceError as exc:
                yield scoring_pb2.EvaluateBatchResponse(error=to_status_proto(exc))

    async def _evaluate_entities(self, batch: scoring_pb2.EntityBatch
                                 ) -> scoring_pb2.EvaluateBatchResponse:
        violations: list[tuple[str, str]] = []
        if len(batch.entities) > MAX_BATCH_ENTITIES:
            violations.append(("entities.entities",
                               f"at most {MAX_BATCH_ENTITIES} entities per message"))
        as_of = self._as_of(batch.as_of, "entities.as_of", violations)
        department = self._department(batch.department, "entities.department", violations)
        _raise_if(violations)
        refs: list[EntityKey | ServiceError] = []
        for i, ref in enumerate(batch.entities):
            bad: list[tuple[str, str]] = []
            key = decode_ref(ref, f"entities.entities[{i}]", self.protector, bad)
            refs.append(key if key is not None else ServiceError.invalid_argument(*bad))
        keys = [r.key for r in refs if isinstance(r, EntityKey)]

        def run() -> scoring_pb2.EvaluateBatchResponse:
            evaluator = self.evaluator
            found = self._readers.run(
                lambda conn: evaluator.evaluate_many(conn, keys, as_of, department))
            items = []
            for r in refs:
                if isinstance(r, ServiceError):
                    items.append(scoring_pb2.BatchItem(error=to_status_proto(r)))
                elif r.key in found:
                    items.append(scoring_pb2.BatchItem(evaluation=evaluation_pb(found[r.key])))
                else:
                    items.append(scoring_pb2.BatchItem(error=to_status_proto(
                        ServiceError.not_found("entity not found"))))
            return scoring_pb2.EvaluateBatchResponse(
                items=items, model_version=self.evaluator.model.version,
                policy_version=self.evaluator.policy.version)

        return await asyncio.to_thread(run)

    def _score_matrix(self, m: scoring_pb2.FeatureMatrix,
                      with_reasons: bool) -> scoring_pb2.EvaluateBatchResponse:
        model, policy = self.evaluator.model, self.evaluator.policy
        names = list(m.columns)
        needed = {*model.scorecard.names, *GRADE_INPUTS}
        if len(names) > MAX_MATRIX_COLUMNS:
            raise ServiceError.invalid_argument(
                ("features.columns", f"at most {MAX_MATRIX_COLUMNS} columns"))
        violations = [("features.columns", f"{name!r} is listed twice")
                      for name, n in sorted(Counter(names).items()) if n > 1]
        violations += [("features.columns", f"missing {name!r}")
                       for name in sorted(needed - set(names))]
        n_cols = len(names)
        values = np.asarray(m.values, dtype=np.float64)
        if n_cols and values.size % n_cols:
            violations.append(("features.values",
                               f"{values.size} values are not whole rows of {n_cols} columns"))
        rows = values.size // n_cols if n_cols else 0
        if rows > MAX_BATCH_ROWS:
            violations.append(("features.values", f"at most {MAX_BATCH_ROWS} rows per message"))
        _raise_if(violations)
        matrix = values.reshape(rows, n_cols)
        # NaN is a missing value (the scorecard's missing bin); infinities are errors.
        if np.isinf(matrix).any():
            raise ServiceError.invalid_argument(("features.values", "infinite value"))
        columns = {name: matrix[:, names.index(name)] for name in needed}
        # Each feature's documented range: a negative count would otherwise fall into a bin
        # (the lowest, often the best) and be scored as if it meant something.
        violations = [("features.values", why) for name in sorted(needed)
                      if (why := FEATURE_BY_NAME[name].out_of_range(columns[name]))]
        violations += [("features.values", f"{name} may not be missing (NaN)")
                       for name in GRADE_INPUTS if np.isnan(columns[name]).any()]
        _raise_if(violations)
        graded = grade_columns(model, policy, columns, reasons=with_reasons)
        # Vectorised: grade letters as bytes, scores as one list (a per-row loop here cost
        # about a third of the call at 10,000 rows).
        letters = _GRADE_LETTERS[graded.grade].tobytes().decode("ascii")
        out = scoring_pb2.ScoredRows(scores=graded.scores.tolist(), grades=letters)
        if graded.reasons is not None:
            card_names = model.scorecard.names
            out.reasons.extend(",".join(card_names[j] for j in row if j >= 0)
                               for row in graded.reasons.tolist())
        return scoring_pb2.EvaluateBatchResponse(rows=out, model_version=model.version,
                                                 policy_version=policy.version)

    # ------------------------------------------------------------------ grades

    async def Regrade(self, request: scoring_pb2.RegradeRequest,
                      context: Any) -> AsyncIterator[scoring_pb2.RegradeProgress]:
        _require(frozenset({"admin"}))
        violations: list[tuple[str, str]] = []
        as_of = self._as_of(request.as_of, "as_of", violations)
        shard: tuple[int, int] | None = None
        if request.shard_count or request.shard_index:
            if not 0 <= request.shard_index < request.shard_count:
                violations.append(("shard_index", "must be 0 ≤ shard_index < shard_count"))
            shard = (request.shard_index, request.shard_count)
        _raise_if(violations)
        async with self._regrade_slot():
            loop = asyncio.get_running_loop()
            queue: asyncio.Queue[scoring_pb2.RegradeProgress] = asyncio.Queue()
            began = time.perf_counter()

            def progress(stats: RegradeStats, final: bool = False) -> scoring_pb2.RegradeProgress:
                return scoring_pb2.RegradeProgress(
                    done=stats.entities, total=stats.total, written=stats.written,
                    history=stats.history, by_grade=stats.by_grade,
                    seconds=time.perf_counter() - began, done_all=final)

            stop = threading.Event()
            # Set however the call ends, even while this generator waits at a yield.
            context.add_done_callback(lambda _: stop.set())

            def report(stats: RegradeStats) -> None:
                if stop.is_set():  # the caller went away: stop after the committed batch
                    raise _RegradeCancelled(stats.entities)
                loop.call_soon_threadsafe(queue.put_nowait, progress(stats))

            def run() -> RegradeStats:
                return regrade_all(self.records, self.grades, self.evaluator.model,
                                   self.evaluator.policy, as_of, shard=shard,
                                   batch=self.regrade_batch, on_batch=report)

            job = asyncio.ensure_future(asyncio.to_thread(run))
            getter: asyncio.Future[scoring_pb2.RegradeProgress] | None = None
            try:
                while not job.done() or not queue.empty():
                    getter = asyncio.ensure_future(queue.get())
                    await asyncio.wait({getter, job}, return_when=asyncio.FIRST_COMPLETED)
                    if getter.done():
                        yield getter.result()
                    else:
                        getter.cancel()
                yield progress(job.result(), final=True)
            finally:
                if getter is not None:
                    getter.cancel()
                if not job.done():
                    # Cancelled: the lock stays held until the thread has stopped, so a new
                    # Regrade never runs beside the old one. Each batch is committed whole.
                    stop.set()
                    try:
                        await asyncio.shield(job)
                    except _RegradeCancelled as exc:
                        log.info("re-grade cancelled by the caller",
                                 extra={"entities_done": exc.args[0]})
                    except Exception:  # nobody is left to tell but the log
                        log.exception("re-grade failed after its caller had gone")

    @asynccontextmanager
    async def _regrade_slot(self) -> AsyncIterator[None]:
        """One Regrade at a time: in this process (an asyncio lock) and across the scoring
        replicas sharing the grade store (its advisory lock; always granted on SQLite)."""
        if self._regrading.locked():
            raise ServiceError(grpc.StatusCode.ABORTED, "a re-grade is already running")
        async with self._regrading:
            if not await asyncio.to_thread(self._regrade_lock.try_acquire):
                raise ServiceError(grpc.StatusCode.ABORTED,
                                   "a re-grade is already running on another scoring replica")
            try:
                yield
            finally:
                await asyncio.to_thread(self._regrade_lock.release)

    async def GetGrade(self, request: scoring_pb2.GetGradeRequest,
                       context: Any) -> scoring_pb2.GradeRecord:
        _require(READERS)
        violations: list[tuple[str, str]] = []
        ref = decode_ref(request.entity, "entity", self.protector, violations)
        limit = _page_size(request.history_limit, "history_limit", 20, 200, violations)
        _raise_if(violations)
        assert ref is not None

        def read() -> tuple[Grade | None, list[GradeHistory]]:
            with self.grades.sessions() as session:
                return (session.get(Grade, ref.key),
                        grade_queries.grade_history(session, ref.key, limit))

        grade, history = await asyncio.to_thread(read)
        if grade is None:
            raise ServiceError.not_found("no grade for this entity")
        policy = self.evaluator.policy
        # What the stored score gives, in the policy's words, then the rule that decided the
        # grade when one did (the stored row keeps which, not the facts behind the others).
        by_score = decide(policy, grade.score, GradeInputs()).reasons[0]
        rules = [r for r in policy.rules if r.id == grade.decided_by]
        texts = self.evaluator.model.scorecard.reason_texts()
        bases = dict.fromkeys(policy.score_basis)
        for rule in rules:
            bases.update(dict.fromkeys(rule.basis))
        return scoring_pb2.GradeRecord(
            grade=grade_summary_pb(grade),
            grade_rules=[scoring_pb2.GradeRule(code=by_score[0], text_zh=by_score[1],
                                               text_en=by_score[2])]
            + [scoring_pb2.GradeRule(code=r.id, text_zh=r.zh, text_en=r.en) for r in rules],
            reasons=[scoring_pb2.Reason(code=c, text_zh=texts.get(c, (c, c))[0],
                                        text_en=texts.get(c, (c, c))[1])
                     for c in grade.reasons],
            legal_basis=[_basis(b) for b in bases],
            tier=tier_pb(self.evaluator.supervision.grade(grade.grade)),
            history=[grade_change_pb(h) for h in history])

    async def ListGrades(self, request: scoring_pb2.ListGradesRequest,
                         context: Any) -> scoring_pb2.ListGradesResponse:
        _require(READERS)
        violations: list[tuple[str, str]] = []
        f = _filter(request.filter, "filter", violations)
        size = _page_size(request.page_size, "page_size", 100, 1000, violations)
        after = None
        if request.page_token:
            try:
                after = grade_queries.decode_page_token(request.page_token, f)
            except grade_queries.PageTokenError as exc:
                violations.append(("page_token", str(exc)))
        _raise_if(violations)

        def read() -> scoring_pb2.ListGradesResponse:
            with self.grades.sessions() as session:
                rows, last = grade_queries.list_grades(session, f, size, after)
                return scoring_pb2.ListGradesResponse(
                    grades=[grade_summary_pb(g) for g in rows],
                    next_page_token=grade_queries.encode_page_token(last, f) if last else "")

        return await asyncio.to_thread(read)

    async def CountGrades(self, request: scoring_pb2.CountGradesRequest,
                          context: Any) -> scoring_pb2.CountGradesResponse:
        _require(READERS)
        violations: list[tuple[str, str]] = []
        f = _filter(request.filter, "filter", violations)
        if request.group_by not in grade_queries.GROUPS:
            violations.append(("group_by", "must be one of: "
                               + ", ".join(repr(g) for g in grade_queries.GROUPS)))
        _raise_if(violations)

        def read() -> list[tuple[str, str, int]]:
            with self.grades.sessions() as session:
                return grade_queries.count_grades(session, f, request.group_by)

        counts = await asyncio.to_thread(read)
        return scoring_pb2.CountGradesResponse(
            counts=[scoring_pb2.GradeCount(group=g, grade=grade, count=n)
                    for g, grade, n in counts],
            total=sum(n for _, _, n in counts))

    async def WatchGradeChanges(self, request: scoring_pb2.WatchGradeChangesRequest,
                                context: Any) -> AsyncIterator[scoring_pb2.GradeChange]:
        _require(READERS)
        violations: list[tuple[str, str]] = []
        if request.after_id < 0:
            violations.append(("after_id", "must not be negative"))
        size = _page_size(request.batch_size, "batch_size", 1000, 10_000, violations)
        _raise_if(violations)
        cursor = request.after_id

        def read(after: int) -> list[GradeHistory]:
            with self.grades.sessions() as session:
                return grade_queries.grade_changes(session, after, size)

        while True:
            changes = await asyncio.to_thread(read, cursor)
            for h in changes:
                yield grade_change_pb(h)
                cursor = h.id
            if len(changes) < size:
                if not request.follow:
                    return
                await asyncio.sleep(POLL_SECONDS)

    async def GetModelCard(self, request: scoring_pb2.GetModelCardRequest,
                           context: Any) -> scoring_pb2.ModelCard:
        _require(READERS)
        return self.model_card

    # ------------------------------------------------------------------ supervision

    async def GetPolicy(self, request: scoring_pb2.GetPolicyRequest,
                        context: Any) -> scoring_pb2.Policy:
        _require(READERS)
        violations: list[tuple[str, str]] = []
        department = self._department(request.department, "department", violations)
        _raise_if(violations)
        policy, supervision = self.evaluator.policy, self.evaluator.supervision
        return scoring_pb2.Policy(
            grade_policy_version=policy.version, thresholds=list(policy.thresholds),
            hard_rules=[scoring_pb2.GradeRule(code=r.id, text_zh=r.zh, text_en=r.en)
                        for r in policy.rules],
            supervision_version=supervision.version,
            tiers=[tier_pb(supervision.grade(g, department)) for g in GRADES],
            grade_policy_json=json.dumps(policy.to_dict(), ensure_ascii=False, sort_keys=True),
            supervision_policy_json=json.dumps(supervision.to_dict(), ensure_ascii=False,
                                               sort_keys=True))

    async def DrawInspectionPlan(self, request: scoring_pb2.DrawInspectionPlanRequest,
                                 context: Any) -> scoring_pb2.InspectionPlan:
        principal = _require(PLANNERS)
        violations: list[tuple[str, str]] = []
        if not _TOKEN.fullmatch(request.request_id):
            violations.append(("request_id", "must be 1..64 of [A-Za-z0-9._:/-]"))
        department = self._department(request.department, "department", violations)
        if not department:
            violations.append(("department", "is required"))
        name = check_text(request.task_name, "task_name", 200, violations)
        task_date = parse_date(request.task_date, "task_date", violations,
                               required=False) or self.today()
        f = _filter(request.filter, "filter", violations)
        inspectors = []
        if len(request.inspectors) > MAX_INSPECTORS:
            violations.append(("inspectors", f"at most {MAX_INSPECTORS:,} per draw"))
        for i, x in enumerate(request.inspectors[:MAX_INSPECTORS]):
            field = f"inspectors[{i}]"
            if not _TOKEN.fullmatch(x.id):
                violations.append((f"{field}.id", "must be 1..64 of [A-Za-z0-9._:/-]"))
            check_text(x.name, f"{field}.name", 100, violations)
            if x.capacity < 1:
                violations.append((f"{field}.capacity", "must be at least 1"))
            recusals = set()
            for j, ref in enumerate(x.recusals):
                try:
                    recusals.add(_entity_key(ref, self.protector))
                except Invalid:
                    violations.append((f"{field}.recusals[{j}]", "is not an entity key or USCC"))
            inspectors.append(Inspector(x.id, x.name.strip(), department or "", x.capacity,
                                        frozenset(recusals)))
        if len({x.id for x in inspectors}) != len(inspectors):
            violations.append(("inspectors", "an inspector id is listed twice"))
        triggered = []
        for i, trigger in enumerate(request.triggered):
            key = decode_ref(trigger, f"triggered[{i}]", self.protector, violations)
            if key is not None:
                triggered.append(key.key)
        seed: int | None = None
        if request.seed:
            if not (request.seed.isascii() and request.seed.isdigit()
                    and len(request.seed) <= MAX_SEED_DIGITS):
                violations.append(("seed", f"must be a decimal integer (at most "
                                           f"{MAX_SEED_DIGITS} digits)"))
            else:
                seed = int(request.seed)
        _raise_if(violations)
        assert department is not None
        if not _acts_for(principal, department):
            raise ServiceError.permission_denied("a department draws plans for itself only")
        req = plans.DrawRequest(request.request_id, DrawTask(department, name, task_date), f,
                                tuple(inspectors), tuple(triggered), seed)

        def run() -> scoring_pb2.InspectionPlan:
            try:
                row, _ = plans.draw_plan(self.grades, req, self.evaluator.supervision,
                                         principal.name)
            except plans.PlanConflict as exc:
                raise ServiceError.already_exists(str(exc)) from None
            except plans.TooManyCandidates as exc:
                raise ServiceError.invalid_argument(
                    ("filter", f"{exc}: narrow the task by region, industry or source")
                ) from None
            except DrawInputError as exc:
                raise ServiceError.invalid_argument(("triggered", str(exc))) from None
            except DrawError as exc:
                raise ServiceError.failed_precondition(
                    f"the plan cannot be staffed, nothing was drawn: {exc}") from None
            return self._plan_pb(row, document=False)

        return await asyncio.to_thread(run)

    def _plan_pb(self, row: InspectionPlanRow, *, document: bool) -> scoring_pb2.InspectionPlan:
        return self._plans_pb([row], document=document)[0]

    def _plans_pb(self, rows: Sequence[InspectionPlanRow], *,
                  document: bool) -> list[scoring_pb2.InspectionPlan]:
        """Plans with their entities' names and published results: two queries a page."""
        parsed = [(row, plans.plan_of(row)) for row in rows]
        keys = sorted({e.key for _, plan in parsed for e in plan.entities})
        with self.grades.sessions() as session:
            names: dict[str, str] = {}
            for cond in where_in(session, Grade.entity_key, keys):
                # (A Result has keys(), so dict(result) would take it for a mapping.)
                names.update((key, name) for key, name in session.execute(
                    select(Grade.entity_key, Grade.name).where(cond)))
            results = plans.results_of(session, [row.plan_id for row in rows])
            return [plan_pb(row, plan, names, results[row.plan_id], document=document)
                    for row, plan in parsed]

    async def GetInspectionPlan(self, request: scoring_pb2.GetInspectionPlanRequest,
                                context: Any) -> scoring_pb2.InspectionPlan:
        _require(READERS)
        row = await asyncio.to_thread(self._find_plan, request.plan_id)
        return await asyncio.to_thread(self._plan_pb, row, document=request.include_document)

    def _find_plan(self, plan_id: str) -> InspectionPlanRow:
        if not plan_id:
            raise ServiceError.invalid_argument(("plan_id", "is required"))
        with self.grades.sessions() as session:
            row = plans.find_plan(session, plan_id)
            if row is None:
                raise ServiceError.not_found("no such plan")
            session.expunge(row)
            return row

    async def ListInspectionPlans(self, request: scoring_pb2.ListInspectionPlansRequest,
                                  context: Any) -> scoring_pb2.ListInspectionPlansResponse:
        _require(READERS)
        violations: list[tuple[str, str]] = []
        department = self._department(request.department, "department", violations)
        size = _page_size(request.page_size, "page_size", 50, 200, violations)
        before = None
        if request.page_token:
            before = decode_id_token("p1", request.page_token)
            if before is None:
                violations.append(("page_token", "is not a page token this service issued"))
        _raise_if(violations)

        def read() -> scoring_pb2.ListInspectionPlansResponse:
            with self.grades.sessions() as session:
                rows, last = plans.list_plans(session, department, size, before)
                for row in rows:
                    session.expunge(row)
            token = encode_id_token("p1", last) if last else ""
            return scoring_pb2.ListInspectionPlansResponse(
                plans=self._plans_pb(rows, document=False), next_page_token=token)

        return await asyncio.to_thread(read)

    async def VerifyInspectionPlan(self, request: scoring_pb2.VerifyInspectionPlanRequest,
                                   context: Any) -> scoring_pb2.VerifyInspectionPlanResponse:
        _require(READERS | {"public"})
        which = request.WhichOneof("plan")
        if which is None:
            raise ServiceError.invalid_argument(("plan", "plan_id or published_json is required"))

        def run() -> scoring_pb2.VerifyInspectionPlanResponse:
            row = self._find_plan(request.plan_id) if which == "plan_id" else None
            text = row.document if row is not None else request.published_json
            try:
                published = Published.from_json(text)
                # Anyone may send a document: bound the work one can cause. A stored plan
                # was drawn here, within the draw's own bounds.
                result = published.verify(most_rankings=VERIFY_MOST_RANKINGS
                                          if which == "published_json" else None)
            except DrawTooLarge as exc:
                raise ServiceError.invalid_argument(("published_json", (
                    f"{exc}, more than verified here; recompute it offline with "
                    "python -m services.scoring.draws verify-published"))) from None
            except DrawInputError as exc:
                raise ServiceError.invalid_argument(("published_json", str(exc))) from None
            problems = list(result.problems)
            if row is not None:  # a stored plan: its exclusions against the plans before it
                with self.grades.sessions() as session:
                    problems += plans.audit_exclusions(session, row, published)
            ours = self.evaluator.supervision
            # The document carries its own policy; it must be the edition it claims to be.
            if (published.policy.version == ours.version
                    and published.policy.to_dict() != ours.to_dict()):
                problems.append(f"supervision_policy: differs from edition {ours.version}")
            return scoring_pb2.VerifyInspectionPlanResponse(
                valid=not problems, problems=problems, plan_hash=published.plan.plan_hash)

        return await asyncio.to_thread(run)

    async def RecordInspectionResult(self, request: scoring_pb2.RecordInspectionResultRequest,
                                     context: Any) -> scoring_pb2.InspectionResult:
        principal = _require(PLANNERS)
        violations: list[tuple[str, str]] = []
        if not request.plan_id:
            violations.append(("plan_id", "is required"))
        outcome = OUTCOMES.get(request.outcome)
        if outcome is None:
            violations.append(("outcome", "is required"))
        summary = check_text(request.summary, "summary", 2000, violations)
        today = self.today()
        inspected_on = parse_date(request.inspected_on, "inspected_on", violations,
                                  required=False, not_after=today) or today
        has_record = request.HasField("record")
        if has_record and outcome != "finding":
            violations.append(("record", "only a finding creates a record"))
        _raise_if(violations)
        row = await asyncio.to_thread(self._find_plan, request.plan_id)
        if not _acts_for(principal, row.department):
            raise ServiceError.permission_denied("only the plan's department records results")
        plan = plans.plan_of(row)
        if request.entity_key not in {e.key for e in plan.entities}:
            raise ServiceError.not_found("the entity is not in this plan")
        if inspected_on < row.task_date:
            raise ServiceError.invalid_argument(
                ("inspected_on", f"is before the plan's task date {row.task_date}"))
        assert outcome is not None
        result = plans.ResultIn(row.plan_id, request.entity_key, outcome, summary, inspected_on)
        try:
            stored = await asyncio.to_thread(plans.existing_result, self.grades, result)
            record_id = None
            if stored is None and has_record:
                record_id = await self._submit_record(request.record, request.entity_key,
                                                      context)
            stored = await asyncio.to_thread(plans.record_result, self.grades, result,
                                             record_id, principal.name)
        except plans.PlanConflict as exc:
            raise ServiceError.already_exists(str(exc)) from None
        return result_pb(stored)

    async def _submit_record(self, record: records_pb2.RecordSubmission, entity_key: str,
                             context: Any) -> str:
        """Submits a finding's record to the records service as the caller (the records
        service decides whether the caller may write that source)."""
        violations: list[tuple[str, str]] = []
        key = decode_ref(record.subject.ref, "record.subject.ref", self.protector, violations)
        _raise_if(violations)
        if key is None or key.key != entity_key:
            raise ServiceError.invalid_argument(
                ("record.subject.ref", "is not the inspected entity"))
        if not self.records_address:
            raise ServiceError.unavailable("no records service is configured")
        metadata = tuple((k, v) for k, v in context.invocation_metadata()
                         if k == "authorization")
        async with grpc.aio.insecure_channel(self.records_address) as channel:
            stub = records_stub(channel)
            try:
                reply = await stub.SubmitRecord(records_pb2.SubmitRecordRequest(record=record),
                                                metadata=metadata, timeout=10)
            except grpc.aio.AioRpcError as exc:
                raise _forwarded(exc) from None
        return str(reply.record_id)


def _model_card(model: Model, model_dir: Path) -> scoring_pb2.ModelCard:
    # Built once per model: the card does not change while a model serves.
    return scoring_pb2.ModelCard(
        version=model.version,
        model_card_markdown=(model_dir / "model_card.md").read_text(encoding="utf-8"),
        metadata_json=json.dumps(model.metadata, ensure_ascii=False, sort_keys=True),
        scorecard_text=model.scorecard.to_text())


def _forwarded(exc: grpc.aio.AioRpcError) -> ServiceError:
    """The records service's refusal, fields prefixed with `record.`; outages as UNAVAILABLE."""
    code = exc.code()
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return ServiceError.unavailable("the records service is unavailable; nothing stored")
    violations = [(f"record.{f.removeprefix('record.')}", d)
                  for f, d in bad_request_violations(exc)]
    return ServiceError(code, f"records service: {exc.details()}", violations)


def _entity_key(text: str, protector: PersonalIdProtector) -> str:
    ref = common_pb2.EntityRef(entity_key=text)
    return require_ref(ref, "recusal", protector).key


def register(servicer: ScoringServicer) -> Callable[[grpc.aio.Server], list[str]]:
    def add(server: grpc.aio.Server) -> list[str]:
        scoring_pb2_grpc.add_ScoringServiceServicer_to_server(  # type: ignore[no-untyped-call]
            servicer, server)
        return [SERVICE_NAME]
    return add
