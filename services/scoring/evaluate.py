"""One entity's evaluation: features → score → grade (with the hard legal rules) → tier.

The single-entity path of the scoring service. It reads the entity's features through the
same aggregate query the bulk re-grade uses (services.scoring.features), so both agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import Connection

from services.records.rules import LegalBasis
from services.scoring.features import features_for
from services.scoring.policy import GradeDecision, GradeInputs, GradePolicy, decide
from services.scoring.scorecard import ReasonCode, Scorecard
from services.scoring.supervision import GradeSupervision, SupervisionPolicy


@dataclass(frozen=True)
class Model:
    scorecard: Scorecard
    metadata: dict[str, Any]

    @property
    def version(self) -> str:
        return str(self.metadata["version"])


@dataclass(frozen=True)
class Evaluation:
    entity_key: str
    as_of: date
    score: float
    decision: GradeDecision
    reasons: list[ReasonCode]
    tier: GradeSupervision
    features: dict[str, float]
    model_version: str
    supervision_version: str

    @property
    def legal_basis(self) -> tuple[LegalBasis, ...]:
        return self.decision.legal_basis


class Evaluator:
    def __init__(self, model: Model, policy: GradePolicy, supervision: SupervisionPolicy) -> None:
        self.model, self.policy, self.supervision = model, policy, supervision

    def evaluate(self, conn: Connection, entity_key: str, as_of: date,
                 department: str | None = None) -> Evaluation | None:
        """None when the entity does not exist."""
        features = features_for(conn, entity_key, as_of)
        if features is None:
            return None
        card = self.model.scorecard
        row = {name: np.array([features[name]], dtype=np.float64) for name in card.names}
        score = float(card.score(row)[0])
        decision = decide(self.policy, score, GradeInputs(
            n_active_serious=int(features["n_active_serious"]),
            n_active_general=int(features["n_active_general"]),
            # Every listing on a serious dishonesty list in the four sources is classified
            # 严重, so the active-serious rule already caps such entities at D.
            on_serious_list=False,
        ))
        return Evaluation(
            entity_key=entity_key, as_of=as_of, score=score, decision=decision,
            reasons=card.reason_codes(row)[0],
            tier=self.supervision.grade(decision.grade, department),
            features=features, model_version=self.model.version,
            supervision_version=self.supervision.version,
        )
