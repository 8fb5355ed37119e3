"""Jilin HR and social-security penalties (吉人社规〔2024〕4号, source line 29)."""

from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest

from services.records.rules import (
    Category,
    Classification,
    Context,
    PriorRecord,
    RuleViolation,
    classify,
)

DECIDED = date(2025, 5, 31)


def rate(
    history: Sequence[PriorRecord] = (), kind: str = "enterprise", **overrides: Any
) -> Classification:
    facts: dict[str, Any] = {"tier": "serious", "violation": "未依法足额缴纳社会保险费"}
    facts.update(overrides)
    ctx = Context(decided_on=DECIDED, history=history, entity_kind=kind)
    return classify("hr_penalty", {k: v for k, v in facts.items() if v is not None}, ctx)


def violation_of(**overrides: Any) -> RuleViolation:
    with pytest.raises(RuleViolation) as err:
        rate(**overrides)
    return err.value


def articles(result: Classification) -> list[str]:
    return [b.provision for b in result.legal_basis if b.source_line == 29]


@pytest.mark.parametrize(
    ("tier", "level", "category", "end"),
    [
        ("minor", "情节较轻", Category.MINOR, None),
        ("serious", "情节较重", Category.GENERAL, date(2026, 6, 1)),
        ("grave", "情节严重", Category.SERIOUS, date(2028, 6, 1)),
    ],
)
def test_tiers_map_to_national_categories(
    tier: str, level: str, category: Category, end: date | None
) -> None:
    result = rate(tier=tier)
    assert (result.source_level, result.category, result.publication_end) == (level, category, end)
    assert articles(result) == ["第六条", "第十一条"]
    assert result.measures == (f"按{level}档处罚标准实施行政处罚",)


@pytest.mark.parametrize(
    ("tier", "level", "category", "end"),
    [
        ("grave", "情节较重", Category.GENERAL, date(2026, 6, 1)),
        ("serious", "情节较轻", Category.MINOR, None),
        ("minor", "情节较轻", Category.MINOR, None),
    ],
)
def test_mitigation_steps_down_one_tier(
    tier: str, level: str, category: Category, end: date | None
) -> None:
    result = rate(tier=tier, mitigation="mitigated")
    assert (result.source_level, result.category, result.publication_end) == (level, category, end)
    assert "第十二条" in articles(result)
    assert any(note.startswith("减轻") for note in result.notes)


def test_mitigating_the_lowest_tier_keeps_it_at_the_minimum() -> None:
    result = rate(tier="minor", mitigation="mitigated")
    assert not result.published
    assert violation_of(tier="minor", mitigation="mitigated", publication_months=2).field == (
        "publication_months"
    )


def test_mitigated_tier_takes_its_own_publication_range() -> None:
    assert rate(tier="grave", mitigation="mitigated", publication_months=3).publication_end == (
        date(2025, 9, 1)
    )
    err = violation_of(tier="grave", mitigation="mitigated", publication_months=24)
    assert err.field == "publication_months"


@pytest.mark.parametrize(
    ("tier", "level", "published", "end", "repair"),
    [
        ("minor", "情节较轻", False, None, DECIDED),
        ("serious", "情节较重", True, date(2025, 9, 1), date(2025, 9, 1)),
        ("grave", "情节严重", True, date(2026, 6, 1), date(2026, 6, 1)),
    ],
)
def test_lenient_keeps_the_tier_at_the_minimum_period(
    tier: str, level: str, published: bool, end: date | None, repair: date
) -> None:
    result = rate(tier=tier, mitigation="lenient")
    assert (result.source_level, result.published, result.publication_end) == (
        level,
        published,
        end,
    )
    assert result.repair_eligible_from == repair
    assert "从轻" in result.measures[0]


def test_lenient_rejects_a_longer_period() -> None:
    assert rate(tier="grave", mitigation="lenient", publication_months=12).listed
    assert violation_of(tier="grave", mitigation="lenient", publication_months=13).field == (
        "publication_months"
    )


def test_commitment_to_rectify_with_mitigation_takes_the_lowest_standard() -> None:
    result = rate(tier="grave", mitigation="mitigated", rectification_commitment=True)
    assert (result.category, result.publication_end) == (Category.GENERAL, date(2025, 9, 1))
    assert "适用最低的处罚标准（承诺限期整改）" in result.measures
    assert "第十条" in articles(result)


def test_commitment_without_mitigation_changes_nothing() -> None:
    result = rate(tier="grave", rectification_commitment=True)
    assert (result.category, result.publication_end) == (Category.SERIOUS, date(2028, 6, 1))
    assert any("allows, not requires" in note for note in result.notes)


def test_no_penalty_for_a_minor_corrected_violation() -> None:
    result = rate(tier="minor", no_penalty=True)
    assert (result.listed, result.category, result.published) == (False, None, False)
    assert result.source_level == "不予处罚"
    assert result.measures == () and result.repair_requirements == ()
    assert articles(result) == ["第六条", "第八条"]


def test_first_minor_violation_may_be_exempt() -> None:
    result = rate(tier="minor", first_minor_exempt=True)
    assert (result.listed, result.source_level) == (False, "免予处罚")
    assert articles(result) == ["第六条", "第九条"]
    other_source = PriorRecord("fire_products", "首次违法", "x", date(2024, 1, 1), Category.MINOR)
    assert not rate(tier="minor", first_minor_exempt=True, history=[other_source]).listed


@pytest.mark.parametrize("level", ["免予处罚", "不予处罚"])
def test_exemption_is_refused_after_an_earlier_hr_record(level: str) -> None:
    # Shaped as ingestion builds it: unlisted (no category), violation code "tier:<tier>".
    # That ingestion hands such records in, also from earlier batches, is checked in
    # tests/integration/test_first_offence_history.py.
    unpenalised = PriorRecord("hr_penalty", level, "tier:minor", date(2024, 1, 1), None)
    err = violation_of(tier="minor", first_minor_exempt=True, history=[unpenalised])
    assert err.field == "first_minor_exempt"
    assert "2024-01-01" in err.reason


def test_no_penalty_prevails_over_exemption() -> None:
    assert rate(tier="minor", no_penalty=True, first_minor_exempt=True).source_level == "不予处罚"


def test_each_violation_is_assessed_separately() -> None:
    result = rate(violation="  拖欠工资  ")
    assert "assessed separately (第六条): 拖欠工资" in result.notes


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"tier": None}, "tier"),
        ({"tier": "moderate"}, "tier"),
        ({"tier": "情节较重"}, "tier"),
        ({"violation": None}, "violation"),
        ({"violation": ""}, "violation"),
        ({"violation": "   "}, "violation"),
        ({"violation": 42}, "violation"),
        ({"mitigation": "pardoned"}, "mitigation"),
        ({"no_penalty": True}, "no_penalty"),
        ({"tier": "grave", "first_minor_exempt": True}, "first_minor_exempt"),
        ({"tier": "minor", "no_penalty": True, "mitigation": "lenient"}, "mitigation"),
        ({"tier": "minor", "no_penalty": True, "publication_months": 1}, "publication_months"),
        (
            {"tier": "minor", "first_minor_exempt": True, "rectification_commitment": True},
            "rectification_commitment",
        ),
        ({"no_penalty": "false"}, "no_penalty"),
        ({"first_minor_exempt": 1}, "first_minor_exempt"),
        ({"publication_months": 2}, "publication_months"),
        ({"publication_months": 13}, "publication_months"),
        ({"tier": "grave", "publication_months": 11}, "publication_months"),
        ({"tier": "grave", "publication_months": 37}, "publication_months"),
        ({"tier": "minor", "publication_months": -1}, "publication_months"),
        ({"tier": "minor", "publication_months": 4}, "publication_months"),
    ],
)
def test_input_checks(overrides: dict[str, Any], field: str) -> None:
    assert violation_of(**overrides).field == field


@pytest.mark.parametrize(
    ("tier", "months", "end"),
    [
        ("minor", 0, None),
        ("minor", 3, date(2025, 9, 1)),
        ("serious", 3, date(2025, 9, 1)),
        ("serious", 12, date(2026, 6, 1)),
        ("grave", 12, date(2026, 6, 1)),
        ("grave", 36, date(2028, 6, 1)),
    ],
)
def test_publication_months_within_bounds(tier: str, months: int, end: date | None) -> None:
    assert rate(tier=tier, publication_months=months).publication_end == end


@pytest.mark.parametrize("kind", ["enterprise", "institution", "person", "credit_service_agency"])
def test_every_employer_kind_is_subject(kind: str) -> None:
    assert rate(kind=kind).listed


# --- the per-combination assessment cache ---------------------------------------------------


def test_cached_assessment_follows_each_entitys_own_history() -> None:
    earlier = PriorRecord("hr_penalty", "免予处罚", "tier:minor", date(2024, 1, 5), None)
    later = PriorRecord("hr_penalty", "免予处罚", "tier:minor", date(2024, 3, 9), None)
    for _ in range(2):  # the second round is served from the cache
        assert not rate(tier="minor", first_minor_exempt=True).listed
        err = violation_of(tier="minor", first_minor_exempt=True, history=[earlier])
        assert "2024-01-05" in err.reason
        err = violation_of(tier="minor", first_minor_exempt=True, history=[earlier, later])
        assert "2024-03-09" in err.reason
        # A record decided after this one is not prior to it.
        future = PriorRecord("hr_penalty", "免予处罚", "tier:minor", date(2025, 6, 1), None)
        assert not rate(tier="minor", first_minor_exempt=True, history=[future]).listed


def test_cached_assessment_keeps_each_records_own_dates_and_kind() -> None:
    facts = {"tier": "serious", "violation": "未依法足额缴纳社会保险费"}
    a = classify("hr_penalty", facts, Context(date(2025, 1, 31), (), "enterprise"))
    b = classify("hr_penalty", facts, Context(date(2025, 3, 31), (), "person"))
    assert (a.publication_start, a.publication_end) == (date(2025, 1, 31), date(2026, 2, 1))
    assert (b.publication_start, b.publication_end) == (date(2025, 3, 31), date(2026, 4, 1))
    with pytest.raises(RuleViolation):
        classify("hr_penalty", facts, Context(date(2025, 1, 31), (), "martian"))
    with pytest.raises(RuleViolation):  # bad facts are refused every time, never remembered
        classify("hr_penalty", {**facts, "publication_months": 99},
                 Context(date(2025, 1, 31), (), "enterprise"))
    with pytest.raises(RuleViolation):
        classify("hr_penalty", {**facts, "publication_months": 99},
                 Context(date(2025, 1, 31), (), "enterprise"))
    unhashable = {**facts, "violation": ["未依法足额缴纳社会保险费"]}
    with pytest.raises(RuleViolation) as err:
        classify("hr_penalty", unhashable, Context(date(2025, 1, 31), (), "enterprise"))
    assert err.value.field == "violation"
