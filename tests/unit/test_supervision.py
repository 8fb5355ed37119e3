"""Supervision per grade: published defaults, department overrides and validation."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from services.scoring.policy import PolicyError
from services.scoring.supervision import (
    DEFAULT_SUPERVISION_PATH,
    SupervisionPolicy,
    default_supervision,
    load_supervision,
)

POLICY = default_supervision()


def test_defaults_follow_the_published_ratios() -> None:
    a, b, c, d = (POLICY.grade(g) for g in "ABCD")
    assert POLICY.version == "supervision-2025.1"
    assert (a.ratio_min, a.ratio_max, a.max_per_year) == (0.0, 0.05, 1)
    assert (b.ratio_min, b.ratio_max, b.max_per_year) == (0.05, 0.2, 1)
    assert (c.ratio_min, c.ratio_max, c.max_per_year) == (0.21, 0.6, 2)
    assert (d.ratio_min, d.ratio_max, d.max_per_year) == (0.61, 1.0, None)
    assert "61–100%" in POLICY.ratio_reference


def test_flags_per_grade() -> None:
    table = POLICY.for_department(None)
    assert [table[g].proactive for g in "ABCD"] == [False, True, True, True]  # A: 无事不扰
    assert [table[g].key_supervision for g in "ABCD"] == [False, False, False, True]
    assert [table[g].exempt_review for g in "ABCD"] == [True, False, False, False]
    assert [table[g].redraw_allowed for g in "ABCD"] == [False, False, False, True]
    assert "无事不扰" in table["A"].measures_zh and "重点监管" in table["D"].measures_zh


def test_principles_cite_their_sources() -> None:
    lines = {p.id: {b.source_line for b in p.basis} for p in POLICY.principles}
    assert lines["graded_supervision"] >= {6, 21}
    assert lines["credit_exempt_review"] == {27}
    assert lines["double_random"] == {27}
    assert lines["joint_inspection"] == {21}
    assert lines["no_inspection_off_list"] == {21, 27}
    assert lines["contactless"] == {21}
    # Line 21 numbers its items across sections: item 18 (综合查一次, 分级分类检查, 无感监管) is in
    # 一（二）, item 23 (乱检查整治) in 一（三）.
    cited = {p.id: {(b.provision, b.source_line) for b in p.basis} for p in POLICY.principles}
    for principle in ("graded_supervision", "joint_inspection", "contactless"):
        assert ("一（二）18", 21) in cited[principle], principle
    assert ("一（三）23", 21) in cited["no_inspection_off_list"]
    # 无事不扰 is not in the source file; it names its public reference instead.
    assert all(p.basis or p.reference for p in POLICY.principles)


def test_a_department_override_merges_over_the_defaults() -> None:
    fire = POLICY.for_department("fire_rescue")
    assert (fire["D"].draw_ratio, fire["D"].ratio_min, fire["D"].ratio_max) == (1.0, 1.0, 1.0)
    assert fire["D"].measures_zh == POLICY.grades["D"].measures_zh  # untouched fields kept
    assert all(fire[g] == POLICY.grades[g] for g in "ABC")
    assert POLICY.for_department("market_supervision") == POLICY.grades
    assert POLICY.grade("D", "fire_rescue").draw_ratio == 1.0
    assert POLICY.departments["fire_rescue"].basis[0].number == "消防〔2025〕32号"
    with pytest.raises(KeyError):
        POLICY.grade("E")


def test_a_ratio_of_one_allows_redraws() -> None:
    doc = _doc()
    every: dict[str, float | None] = {"ratio_max": 1.0, "draw_ratio": 1.0}
    doc["departments"]["tax"] = {"note": "everyone in B", "grades": {"B": every}}
    # B's "once a year" cannot hold for a grade drawn in full every time: refused, not ignored.
    with pytest.raises(PolicyError, match=r"departments\.tax\.grades\.B\.max_per_year"):
        SupervisionPolicy.from_dict(doc)
    every["max_per_year"] = None
    policy = SupervisionPolicy.from_dict(doc)
    assert policy.grade("B", "tax").redraw_allowed
    assert not policy.grade("B").redraw_allowed


def _doc() -> dict[str, Any]:
    return copy.deepcopy(POLICY.to_dict())


def test_the_document_round_trips(tmp_path: Path) -> None:
    assert SupervisionPolicy.from_dict(_doc()) == POLICY
    path = tmp_path / "s.json"
    path.write_text(json.dumps(_doc(), ensure_ascii=False), encoding="utf-8")
    assert load_supervision(path) == POLICY
    assert load_supervision(DEFAULT_SUPERVISION_PATH) == POLICY


def _with(change: dict[str, Any], grade: str = "C", dept: str | None = None) -> dict[str, Any]:
    doc = _doc()
    if dept is None:
        doc["grades"][grade].update(change)
    else:
        doc["departments"][dept] = {"note": "test", "grades": {grade: change}}
    return doc


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        (_with({"ratio_max": 1.5}), "grades.C.ratio_max: 1.5 is outside [0, 1]"),
        (_with({"ratio_min": -0.1}), "grades.C.ratio_min: -0.1 is outside [0, 1]"),
        (_with({"ratio_min": 0.7}), "grades.C: ratio_min 0.7 exceeds ratio_max 0.6"),
        (_with({"draw_ratio": 0.65}), "grades.C.draw_ratio: 0.65 is outside [0.21, 0.6]"),
        (_with({"proactive": "yes"}), "grades.C.proactive: expected true or false"),
        (_with({"max_per_year": -1}), "grades.C.max_per_year"),
        (_with({"colour": "red"}), "grades.C.colour: unknown field"),
        # Overrides are validated after merging, under the department's path.
        (_with({"ratio_min": 0.9}, "C", "tax"), "departments.tax.grades.C: ratio_min 0.9"),
        (_with({"draw_ratio": 2.0}, "D", "tax"), "departments.tax.grades.D.draw_ratio: 2.0"),
        (_with({"ratio_min": 0.3}, "E", "tax"), "departments.tax.grades.E: unknown grade"),
        (_with({"grade": "A"}, "C", "tax"), "departments.tax.grades.C.grade: unknown field"),
        (_with({"exempt_review": 1}, "B", "tax"), "departments.tax.grades.B.exempt_review"),
    ],
)
def test_validation(doc: dict[str, Any], reason: str) -> None:
    with pytest.raises(PolicyError) as err:
        SupervisionPolicy.from_dict(doc)
    assert reason in err.value.reason


def test_grades_must_be_complete() -> None:
    doc = _doc()
    del doc["grades"]["B"]
    with pytest.raises(PolicyError, match=r"grades\.B: missing"):
        SupervisionPolicy.from_dict(doc)
    doc = _doc()
    del doc["grades"]["C"]["measures_en"]
    with pytest.raises(PolicyError, match=r"grades\.C\.measures_en: missing"):
        SupervisionPolicy.from_dict(doc)
    with pytest.raises(PolicyError, match="expected A to D"):
        SupervisionPolicy(
            version="x", inspectors_per_entity=2, ratio_reference="r", principles=(),
            grades={g: POLICY.grades[g] for g in "ABC"},
        )


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("inspectors_per_entity", 1, "at least 2"),
        ("inspectors_per_entity", 2.0, "expected an integer"),
        ("version", "", "version: expected non-empty text"),
        ("departments", [], "departments: expected an object"),
    ],
)
def test_top_level_validation(key: str, value: Any, reason: str) -> None:
    doc = _doc()
    doc[key] = value
    with pytest.raises(PolicyError, match=reason):
        SupervisionPolicy.from_dict(doc)


def test_an_override_needs_a_note() -> None:
    doc = _doc()
    doc["departments"]["tax"] = {"grades": {}}
    with pytest.raises(PolicyError, match=r"departments\.tax\.note: missing"):
        SupervisionPolicy.from_dict(doc)
