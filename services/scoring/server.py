"""gRPC servicer of the scoring service (credit.v1.ScoringService)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import grpc
from sqlalchemy import Engine

from credit.v1 import common_pb2, scoring_pb2, scoring_pb2_grpc
from services.common.auth import current_principal
from services.common.codes import PersonalIdProtector
from services.common.errors import ServiceError
from services.records.departments import SOURCE_OWNER
from services.records.submission import Invalid, optional_date, require_ref
from services.scoring.evaluate import Evaluation, Evaluator

READERS = frozenset({"admin", "regulator", "planner", "department", "service"})
SERVICE_NAME = scoring_pb2.DESCRIPTOR.services_by_name["ScoringService"].full_name


def _basis(b: Any) -> common_pb2.LegalBasis:
    return common_pb2.LegalBasis(document=b.document, provision=b.provision,
                                 source_line=b.source_line, citation=b.cite())


def evaluation_pb(e: Evaluation) -> scoring_pb2.Evaluation:
    d, t = e.decision, e.tier
    return scoring_pb2.Evaluation(
        entity_key=e.entity_key, as_of=e.as_of.isoformat(), score=e.score, grade=d.grade,
        score_grade=d.score_grade, decided_by=d.decided_by,
        grade_rules=[scoring_pb2.GradeRule(code=c, text_zh=zh, text_en=en)
                     for c, zh, en in d.reasons],
        reasons=[scoring_pb2.Reason(code=r.code, points_lost=r.points_lost, text_zh=r.text_zh,
                                    text_en=r.text_en) for r in e.reasons],
        legal_basis=[_basis(b) for b in e.legal_basis],
        tier=scoring_pb2.SupervisionTier(
            grade=t.grade, sampling_ratio=t.draw_ratio, sampling_ratio_min=t.ratio_min,
            sampling_ratio_max=t.ratio_max,
            max_inspections_per_year=-1 if t.max_per_year is None else t.max_per_year,
            frequency_zh=t.frequency_zh, frequency_en=t.frequency_en,
            measures_zh=t.measures_zh, measures_en=t.measures_en,
            proactive_inspection=t.proactive, key_supervision=t.key_supervision,
            exempt_review=t.exempt_review, contactless=t.contactless),
        model_version=e.model_version, policy_version=d.policy_version,
        supervision_version=e.supervision_version,
        features={k: float(v) for k, v in e.features.items()},
    )


class ScoringServicer(scoring_pb2_grpc.ScoringServiceServicer):
    def __init__(self, evaluator: Evaluator, records: Engine, protector: PersonalIdProtector,
                 today: Callable[[], date], model_dir: Path) -> None:
        self.evaluator, self.records, self.protector = evaluator, records, protector
        self.today = today
        model = evaluator.model
        # The served model does not change while the process runs: build the card once.
        self.model_card = scoring_pb2.ModelCard(
            version=model.version,
            model_card_markdown=(model_dir / "model_card.md").read_text(encoding="utf-8"),
            metadata_json=json.dumps(model.metadata, ensure_ascii=False, sort_keys=True),
            scorecard_text=model.scorecard.to_text())

    def _require(self) -> None:
        if not current_principal().roles & READERS:
            raise ServiceError.permission_denied("this call is not open to your role")

    async def Evaluate(self, request: scoring_pb2.EvaluateRequest,
                       context: Any) -> scoring_pb2.Evaluation:
        self._require()
        today = self.today()
        violations: list[tuple[str, str]] = []
        try:
            key = require_ref(request.entity, "entity", self.protector).key
        except Invalid as exc:
            violations += exc.violations
        try:
            as_of = optional_date(request.as_of, "as_of", today)
            if as_of > today:
                violations.append(("as_of", f"{as_of} is in the future"))
        except Invalid as exc:
            violations += exc.violations
        department = request.department or None
        if department is not None and department not in SOURCE_OWNER.values():
            violations.append(("department", f"unknown department {department!r}"))
        if violations:
            raise ServiceError.invalid_argument(*violations)

        def run() -> Evaluation | None:
            with self.records.connect() as conn:
                return self.evaluator.evaluate(conn, key, as_of, department)

        evaluation = await asyncio.to_thread(run)
        if evaluation is None:
            raise ServiceError.not_found("entity not found")
        return evaluation_pb(evaluation)

    async def GetModelCard(self, request: scoring_pb2.GetModelCardRequest,
                           context: Any) -> scoring_pb2.ModelCard:
        self._require()
        return self.model_card


def register(servicer: ScoringServicer) -> Callable[[grpc.aio.Server], list[str]]:
    def add(server: grpc.aio.Server) -> list[str]:
        scoring_pb2_grpc.add_ScoringServiceServicer_to_server(  # type: ignore[no-untyped-call]
            servicer, server)
        return [SERVICE_NAME]
    return add
