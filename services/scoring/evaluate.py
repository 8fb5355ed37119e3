"""One entity's evaluation: features → score → grade (with the hard legal rules) → tier.

The evaluation path of the scoring service. It reads features through the same aggregate
query the bulk re-grade uses (services.scoring.features), and `grade_columns` is the one
vectorised grading both use, so a single evaluation and a bulk grade agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from services.records.rules import LegalBasis
from services.scoring.features import FEATURE_NAMES, feature_rows
from services.scoring.policy import (
    GradeDecision,
    GradeInputs,
    GradePolicy,
    decide,
    decide_many,
)
from services.scoring.scorecard import ReasonCode, Scorecard
from services.scoring.supervision import GradeSupervision, SupervisionPolicy

TOP_REASONS = 4


@dataclass(frozen=True)
class Model:
    scorecard: Scorecard
    metadata: dict[str, Any]

    @property
    def version(self) -> str:
        return str(self.metadata["version"])


@dataclass(frozen=True)
class Graded:
    """Grades of many rows, as codes: GRADES[grade[i]], policy.decided_by_labels[decided[i]];
    `reasons` holds characteristic indices (largest loss first, -1 = none) when asked."""

    scores: npt.NDArray[np.float64]
    grade: npt.NDArray[np.int8]
    score_grade: npt.NDArray[np.int8]
    decided: npt.NDArray[np.int8]
    reasons: npt.NDArray[np.intp] | None


def grade_columns(model: Model, policy: GradePolicy,
                  columns: Mapping[str, npt.NDArray[np.float64]], *,
                  reasons: bool = True) -> Graded:
    """Score, hard rules and reason codes of rows given as feature columns by name: the
    columns the scorecard reads plus GRADE_INPUTS, and LIST_INPUT when known."""
    card = model.scorecard
    if reasons:
        scores, order, _ = card.score_with_reasons(columns, TOP_REASONS)
    else:
        scores, order = card.score(columns), None
    n_serious = columns["n_active_serious"].astype(np.int64)
    n_general = columns["n_active_general"].astype(np.int64)
    listed = columns.get(LIST_INPUT)
    on_list = np.zeros(len(scores), dtype=bool) if listed is None else listed >= 1
    grade, decided = decide_many(policy, scores, n_serious, n_general, on_list)
    # As policy.score_grade: thresholds strictly decrease, so the count missed is the index.
    by_score = np.zeros(len(scores), dtype=np.int8)
    for t in policy.thresholds:
        by_score += scores < t
    return Graded(scores, grade, by_score, decided, order)


# The facts the hard rules read, besides the scorecard's characteristics.
GRADE_INPUTS = ("n_active_serious", "n_active_general")
# Read from the database's rows (Evaluate, re-grades). It changes only which rule is named, as
# every listing is an active 严重 record, D anyway; EvaluateBatch's scored feature matrices
# return grades without their decider, so they do without it.
LIST_INPUT = "n_active_serious_list"


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
        return self.evaluate_many(conn, [entity_key], as_of, department).get(entity_key)

    def evaluate_many(self, conn: Connection, entity_keys: Sequence[str], as_of: date,
                      department: str | None = None) -> dict[str, Evaluation]:
        """Evaluations by key of the entities that exist: one feature query, vectorised
        scoring, then each grade explained with its rules' texts and legal basis."""
        out: dict[str, Evaluation] = {}
        card = self.model.scorecard
        for batch in feature_rows(conn, as_of, entity_keys=entity_keys):
            columns = {name: batch.matrix[:, FEATURE_NAMES.index(name)] for name in card.names}
            scores, order, lost = card.score_with_reasons(columns, TOP_REASONS)
            reasons = card.explain(order, lost)
            for i, key in enumerate(batch.entity_keys):
                features = dict(zip(FEATURE_NAMES, batch.matrix[i].tolist(), strict=True))
                decision = decide(self.policy, float(scores[i]), GradeInputs(
                    n_active_serious=int(features["n_active_serious"]),
                    n_active_general=int(features["n_active_general"]),
                    on_serious_list=features[LIST_INPUT] >= 1,
                ))
                out[key] = Evaluation(
                    entity_key=key, as_of=as_of, score=float(scores[i]), decision=decision,
                    reasons=reasons[i],
                    tier=self.supervision.grade(decision.grade, department),
                    features=features, model_version=self.model.version,
                    supervision_version=self.supervision.version,
                )
        return out
