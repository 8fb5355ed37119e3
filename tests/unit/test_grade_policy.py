"""Grade policy: thresholds, hard rules, the bulk path and the policy document."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from services.records.rules.base import LegalBasis
from services.scoring.policy import (
    DEFAULT_POLICY_PATH,
    GRADES,
    SCORE,
    GradeInputs,
    GradePolicy,
    PolicyError,
    decide,
    decide_many,
    default_policy,
    load_policy,
)

POLICY = default_policy()
NONE = GradeInputs()


def test_shipped_policy_is_the_default_edition() -> None:
    assert POLICY.version == "grade-policy-2025.2"
    assert POLICY.thresholds == (620, 580, 540)
    assert [r.id for r in POLICY.rules] == [
        "serious_list",
        "active_serious_record",
        "active_general_record",
    ]
    assert load_policy(DEFAULT_POLICY_PATH) == POLICY


def test_scale_is_600_points_at_50_to_1_with_pdo_20() -> None:
    assert POLICY.scale.odds_at(600) == pytest.approx(50)
    assert POLICY.scale.odds_at(620) == pytest.approx(100)
    assert POLICY.scale.odds_at(540) == pytest.approx(6.25)


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (900.0, "A"),
        (620.0, "A"),  # a threshold is a minimum: 620 itself is A
        (619.999, "B"),
        (580.0, "B"),
        (579.999, "C"),
        (540.0, "C"),
        (539.999, "D"),
        (0.0, "D"),
        (-50.0, "D"),
    ],
)
def test_every_threshold_on_both_sides(score: float, grade: str) -> None:
    decision = decide(POLICY, score, NONE)
    assert (decision.grade, decision.score_grade, decision.decided_by) == (grade, grade, SCORE)
    assert decision.reasons[0][0] == SCORE
    assert decision.policy_version == "grade-policy-2025.2"
    assert decision.legal_basis == POLICY.score_basis


def test_score_reason_does_not_round_up_to_the_threshold() -> None:
    _, zh, en = decide(POLICY, 619.96, NONE).reasons[0]
    assert "619.96" in zh and "619.96" in en and "gives B" in en


def _basis_lines(bases: tuple[LegalBasis, ...]) -> set[int]:
    return {b.source_line for b in bases}


@pytest.mark.parametrize("score", [900.0, 620.0, 560.0, 500.0])
def test_an_active_serious_record_gives_d_whatever_the_score(score: float) -> None:
    decision = decide(POLICY, score, GradeInputs(n_active_serious=1))
    assert decision.grade == "D"
    expected = SCORE if decision.score_grade == "D" else "active_serious_record"
    assert decision.decided_by == expected
    assert [r[0] for r in decision.reasons] == [SCORE, "active_serious_record"]
    assert 10 in _basis_lines(decision.legal_basis)  # 国办发〔2025〕22号


@pytest.mark.parametrize(
    ("score", "grade", "decided_by"),
    [
        (900.0, "C", "active_general_record"),  # A by score, capped at C
        (600.0, "C", "active_general_record"),  # B by score, capped at C
        (560.0, "C", SCORE),  # already C: the cap changes nothing
        (500.0, "D", SCORE),  # "at best C" never improves a D
    ],
)
def test_an_active_general_record_gives_at_best_c(
    score: float, grade: str, decided_by: str
) -> None:
    decision = decide(POLICY, score, GradeInputs(n_active_general=2))
    assert (decision.grade, decision.decided_by) == (grade, decided_by)
    # The rule fired either way, so it is explained and cited.
    assert "active_general_record" in [r[0] for r in decision.reasons]
    assert any(b.number == "国办发〔2025〕22号" for b in decision.legal_basis)


def test_a_serious_list_gives_d_and_cites_the_list() -> None:
    decision = decide(POLICY, 700.0, GradeInputs(on_serious_list=True))
    assert (decision.grade, decision.score_grade, decision.decided_by) == ("D", "A", "serious_list")
    # 2025.2: the 严重违法失信名单 of 消防〔2025〕32号 三（四）7 (line 8); the NHSA notice (line
    # 12) rates procurement credit and lists nobody, so it is no basis for a listing.
    assert _basis_lines(decision.legal_basis) - _basis_lines(POLICY.score_basis) == {8}
    code, zh, en = decision.reasons[1]
    assert code == "serious_list" and "严重违法失信名单" in zh and "serious" in en


def test_the_2025_1_edition_stays_readable_for_the_grades_it_decided() -> None:
    old = load_policy(DEFAULT_POLICY_PATH.with_name("grade-policy-2025.1.json"))
    assert old.version == "grade-policy-2025.1" and old.scale == POLICY.scale
    assert old.thresholds == POLICY.thresholds
    assert [r.id for r in old.rules] == [r.id for r in POLICY.rules]


def test_the_earlier_rule_decides_between_equal_caps() -> None:
    facts = GradeInputs(n_active_serious=1, n_active_general=1, on_serious_list=True)
    decision = decide(POLICY, 700.0, facts)
    assert (decision.grade, decision.decided_by) == ("D", "serious_list")
    assert [r[0] for r in decision.reasons] == [
        SCORE,
        "serious_list",
        "active_serious_record",
        "active_general_record",
    ]
    assert len(set(decision.legal_basis)) == len(decision.legal_basis)


def test_the_score_decides_when_no_rule_fires() -> None:
    decision = decide(POLICY, 600.0, GradeInputs(0, 0, False))
    assert (decision.grade, decision.decided_by, len(decision.reasons)) == ("B", SCORE, 1)


@pytest.mark.parametrize(
    "kwargs",
    [{"n_active_serious": -1}, {"n_active_general": 1.5}, {"n_active_serious": True},
     {"on_serious_list": 1}],
)
def test_bad_inputs_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        GradeInputs(**kwargs)


@pytest.mark.parametrize("score", [float("nan"), float("inf"), True])
def test_a_score_must_be_a_finite_number(score: float) -> None:
    with pytest.raises(ValueError):
        decide(POLICY, score, NONE)


# --- Bulk path -------------------------------------------------------------------------------


def _random_inputs(n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    scores = rng.normal(585, 45, n)
    # Thresholds exactly and just below, where off-by-one errors live.
    scores[:6] = [620.0, 580.0, 540.0, np.nextafter(620.0, 0), np.nextafter(580.0, 0), 539.0]
    return (scores, rng.poisson(0.15, n), rng.poisson(0.3, n), rng.random(n) < 0.1)


def test_decide_many_agrees_with_decide() -> None:
    scores, serious, general, listed = _random_inputs(5000, seed=7)
    grades, rules = decide_many(POLICY, scores, serious, general, listed)
    labels = POLICY.decided_by_labels
    for i in range(len(scores)):
        one = decide(
            POLICY, float(scores[i]),
            GradeInputs(int(serious[i]), int(general[i]), bool(listed[i])),
        )
        assert (GRADES[grades[i]], labels[rules[i]]) == (one.grade, one.decided_by), i


def test_decide_many_takes_well_under_a_second_for_a_million() -> None:
    inputs = _random_inputs(1_000_000, seed=1)
    decide_many(POLICY, *inputs)  # warm-up
    start = time.perf_counter()
    grades, rules = decide_many(POLICY, *inputs)
    assert time.perf_counter() - start < 0.5
    assert grades.dtype == np.int8 and rules.dtype == np.int8 and grades.shape == (1_000_000,)


def test_decide_many_refuses_bad_arrays() -> None:
    scores = np.array([600.0, 610.0])
    ok = np.zeros(2, dtype=np.int64)
    with pytest.raises(ValueError, match="shape"):
        decide_many(POLICY, scores, ok[:1], ok, ok)
    with pytest.raises(ValueError, match="finite"):
        decide_many(POLICY, np.array([600.0, np.nan]), ok, ok, ok)
    with pytest.raises(ValueError, match="non-negative"):
        decide_many(POLICY, scores, np.array([0, -1]), ok, ok)
    with pytest.raises(ValueError, match="integers"):
        decide_many(POLICY, scores, ok, np.array([0.5, 0.0]), ok)


# --- The policy document ---------------------------------------------------------------------


def _doc() -> dict[str, Any]:
    return copy.deepcopy(POLICY.to_dict())


def test_the_document_round_trips() -> None:
    assert GradePolicy.from_dict(_doc()) == POLICY
    assert GradePolicy.from_json(json.dumps(_doc(), ensure_ascii=False)) == POLICY


def test_a_new_edition_is_a_new_document() -> None:
    doc = _doc()
    doc["version"] = "grade-policy-2026.1"
    doc["thresholds"] = {"A": 640, "B": 600, "C": 560}
    doc["rules"] = [r for r in doc["rules"] if r["id"] != "active_general_record"]
    edition = GradePolicy.from_dict(doc)
    assert decide(edition, 630.0, GradeInputs(n_active_general=1)).grade == "B"
    assert decide(edition, 630.0, NONE).policy_version == "grade-policy-2026.1"


def _set(path: str, value: Any) -> dict[str, Any]:
    doc = _doc()
    *parents, last = path.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is _DELETE:
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return doc


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        ("version", _DELETE, "version: missing"),
        ("version", "  ", "version: expected non-empty text"),
        ("thresholds.B", 620, "strictly decreasing"),
        ("thresholds.C", 600, "strictly decreasing"),
        ("thresholds.A", "620", "thresholds.A: expected a finite number"),
        ("thresholds.A", True, "thresholds.A: expected a finite number"),
        ("thresholds.D", 500, "thresholds.D: unknown field"),
        ("thresholds.C", _DELETE, "thresholds.C: missing"),
        ("rules.0.id", "tax_arrears", "unknown rule 'tax_arrears'"),
        ("rules.1.id", "serious_list", "duplicate rule 'serious_list'"),
        ("rules.0.cap", "E", "rules[0].cap: unknown grade"),
        ("rules.0.basis", [], "must cite its legal basis"),
        ("rules.0.basis.0.source_line", 0, "source_line: expected a positive line number"),
        ("rules.0.zh", "", "rules[0].zh: expected non-empty text"),
        ("rules.0.note", "x", "rules[0].note: unknown field"),
        ("score_basis", [], "score_basis: must cite"),
        ("scale.pdo", 0, "scale: odds and pdo must be positive"),
        ("scale", _DELETE, "scale: missing"),
        ("extra", 1, "extra: unknown field"),
        ("rules", {}, "rules: expected a list"),
    ],
)
def test_document_validation(path: str, value: Any, reason: str) -> None:
    with pytest.raises(PolicyError) as err:
        GradePolicy.from_dict(_set(path, value))
    assert reason in err.value.reason


def test_bad_json_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not valid JSON"):
        GradePolicy.from_json("{")
    with pytest.raises(PolicyError, match="policy: expected an object"):
        GradePolicy.from_json("[]")
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "absent.json")
    path = tmp_path / "p.json"
    path.write_text(json.dumps(_set("thresholds.B", 700)), encoding="utf-8")
    with pytest.raises(PolicyError, match="strictly decreasing"):
        load_policy(path)


def test_policies_built_in_code_are_checked_too() -> None:
    with pytest.raises(PolicyError, match="strictly decreasing"):
        GradePolicy(
            version="x", scale=POLICY.scale, thresholds=(500.0, 600.0, 400.0),
            rules=(), score_basis=POLICY.score_basis,
        )


def test_the_bankruptcy_exclusion_is_documented_with_its_basis() -> None:
    (exclusion,) = POLICY.exclusions
    assert exclusion.id == "bankruptcy_shielded"
    assert [(b.source_line, b.provision) for b in exclusion.basis] == [(10, "九")]
