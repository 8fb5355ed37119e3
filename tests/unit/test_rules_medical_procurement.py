"""Medical price and procurement credit (NHSA notice 2025, source line 12)."""

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
from services.records.rules.medical_procurement import next_quarter_start

DECIDED = date(2025, 12, 31)


def facts(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "violation": "commercial_bribery",
        "amount_yuan": "100000.00",
        "case_source": "court_judgment",
        "enterprise_role": "distributor",
        "case_received_on": date(2025, 7, 10),
        "evaluation_completed_on": date(2025, 8, 20),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def rate(
    history: Sequence[PriorRecord] = (), kind: str = "enterprise", **overrides: Any
) -> Classification:
    ctx = Context(decided_on=DECIDED, history=history, entity_kind=kind)
    return classify("medical_procurement", facts(**overrides), ctx)


def violation_of(**overrides: Any) -> RuleViolation:
    with pytest.raises(RuleViolation) as err:
        rate(**overrides)
    return err.value


def prior(
    level: str, on: date = date(2024, 5, 1), source: str = "medical_procurement"
) -> PriorRecord:
    return PriorRecord(source, level, "commercial_bribery", on, Category.GENERAL)


@pytest.mark.parametrize(
    ("amount", "level", "category"),
    [
        ("0.01", "失信", Category.GENERAL),
        ("499999.99", "失信", Category.GENERAL),
        ("500000", "严重失信", Category.SERIOUS),
        ("500000.00", "严重失信", Category.SERIOUS),
        ("999999.99", "严重失信", Category.SERIOUS),
        ("1000000", "特别严重失信", Category.SERIOUS),
        ("25000000.00", "特别严重失信", Category.SERIOUS),
    ],
)
def test_bribery_thresholds(amount: str, level: str, category: Category) -> None:
    result = rate(amount_yuan=amount)
    assert (result.source_level, result.category) == (level, category)


@pytest.mark.parametrize(
    ("amount", "level"),
    [
        ("50000", "失信"),
        ("50000.00", "失信"),
        ("499999.99", "失信"),
        ("500000", "严重失信"),
        ("2499999.99", "严重失信"),
        ("2500000", "特别严重失信"),
    ],
)
def test_tax_thresholds(amount: str, level: str) -> None:
    assert rate(violation="tax_violation", amount_yuan=amount).source_level == level


@pytest.mark.parametrize("amount", ["49999.99", "0"])
def test_tax_below_the_threshold_gives_no_rating(amount: str) -> None:
    err = violation_of(violation="tax_violation", amount_yuan=amount)
    assert (err.field, err.reason) == ("amount_yuan", "below the 50,000 yuan rating threshold")


def test_bribery_of_nothing_is_rejected() -> None:
    assert violation_of(amount_yuan="0").field == "amount_yuan"


@pytest.mark.parametrize("violation", ["bribing_insurance_staff", "bid_rigging_vbp"])
def test_top_rated_violations_need_no_amount(violation: str) -> None:
    result = rate(violation=violation, amount_yuan=None)
    assert (result.source_level, result.category) == ("特别严重失信", Category.SERIOUS)
    assert "暂停在评价省份的配送资格5年" in result.measures
    # A small amount cannot lower 顶格, but a given amount is still validated.
    assert rate(violation=violation, amount_yuan="1.00").source_level == "特别严重失信"
    assert violation_of(violation=violation, amount_yuan="-1").field == "amount_yuan"


def test_escalation_on_the_third_dishonest_rating() -> None:
    one = [prior("失信")]
    two = [prior("失信"), prior("失信", date(2025, 1, 1))]
    assert rate(history=one).source_level == "失信"
    third = rate(history=two)
    assert (third.source_level, third.category) == ("严重失信", Category.SERIOUS)
    assert any("upgraded" in note and "no. 3" in note for note in third.notes)
    assert "暂停在评价省份的配送资格3年" in third.measures


def test_escalation_counts_only_prior_dishonest_medical_ratings() -> None:
    others = [
        prior("失信"),
        prior("严重失信"),
        prior("失信", source="fire_products"),
        prior("失信", on=date(2026, 1, 1)),  # after this decision: not prior
    ]
    assert rate(history=others).source_level == "失信"


def test_escalation_does_not_touch_higher_levels() -> None:
    history = [prior("失信"), prior("失信")]
    assert rate(history=history, amount_yuan="1000000").source_level == "特别严重失信"


@pytest.mark.parametrize(
    ("completed", "effective"),
    [
        (date(2025, 1, 1), date(2025, 4, 1)),
        (date(2025, 3, 31), date(2025, 4, 1)),
        (date(2025, 4, 1), date(2025, 7, 1)),
        (date(2025, 6, 30), date(2025, 7, 1)),
        (date(2025, 9, 30), date(2025, 10, 1)),
        (date(2025, 10, 1), date(2026, 1, 1)),
        (date(2025, 12, 31), date(2026, 1, 1)),
    ],
)
def test_effective_from_first_day_of_next_quarter(completed: date, effective: date) -> None:
    assert next_quarter_start(completed) == effective


def test_publication_runs_from_the_effective_date() -> None:
    result = rate(case_received_on=date(2025, 7, 1), evaluation_completed_on=date(2025, 9, 30))
    assert result.publication_start == date(2025, 10, 1)
    assert result.publication_end == date(2026, 10, 2)  # 一般: 12 months (last day 2026-10-01)
    assert result.repair_eligible_from == date(2026, 1, 2)  # after the 3-month minimum
    serious = rate(
        amount_yuan="600000",
        case_received_on=date(2025, 7, 1),
        evaluation_completed_on=date(2025, 9, 30),
        publication_months=12,
    )
    assert serious.publication_end == date(2026, 10, 2)
    assert serious.repair_eligible_from == date(2026, 10, 2)


@pytest.mark.parametrize(
    ("received", "completed", "late"),
    [
        (date(2025, 1, 31), date(2025, 7, 31), False),
        (date(2025, 1, 31), date(2025, 8, 1), True),
        (date(2025, 2, 28), date(2025, 8, 28), False),
        (date(2025, 2, 28), date(2025, 8, 29), True),
    ],
)
def test_six_month_evaluation_note(received: date, completed: date, late: bool) -> None:
    result = rate(case_received_on=received, evaluation_completed_on=completed)
    assert any("beyond 6 months" in note for note in result.notes) is late


def test_evaluation_before_the_edition_is_flagged() -> None:
    early = rate(case_received_on=date(2025, 3, 1), evaluation_completed_on=date(2025, 6, 30))
    assert any("before 2025-07-01" in note for note in early.notes)
    assert not any("before 2025-07-01" in note for note in rate().notes)


@pytest.mark.parametrize(("level_amount", "years"), [("1", 1), ("500000", 3), ("1000000", 5)])
def test_distributor_suspension(level_amount: str, years: int) -> None:
    result = rate(amount_yuan=level_amount)
    assert f"暂停在评价省份的配送资格{years}年" in result.measures
    assert not any("挂网" in m for m in result.measures if "配送" not in m)


@pytest.mark.parametrize("role", ["producer", "mah"])
def test_particularly_serious_producer_is_suspended_everywhere(role: str) -> None:
    result = rate(enterprise_role=role, amount_yuan="1000000")
    assert "中止全部产品在评价省份的挂网、投标资格" in result.measures
    assert "中止涉案产品在所有省份的挂网、投标资格" in result.measures
    assert "涉案产品调整信用评价或重新挂网时按不低于20%比例剔除价格虚高空间" in result.measures
    assert not any("配送资格" in m for m in result.measures)


def test_serious_producer_is_not_suspended() -> None:
    result = rate(enterprise_role="producer", amount_yuan="999999.99")
    assert not any("中止" in m for m in result.measures)
    assert any("20%" in m for m in result.measures)
    assert any("marketing-authorisation holder" in n for n in result.notes)


def test_price_cut_surcharge_follows_returned_gains() -> None:
    def surcharge(returned: bool | None) -> list[str]:
        measures = rate(enterprise_role="producer", improper_gains_returned=returned).measures
        return [m for m in measures if "10%" in m]

    assert surcharge(None) == ["不能退回不合理收益的，在原降幅比例上追加10%"]
    assert surcharge(False) == ["不合理收益未退回：在原降幅比例上追加10%"]
    assert surcharge(True) == []


def test_mitigation_is_noted_not_applied() -> None:
    plain = rate(amount_yuan="600000")
    corrected = rate(amount_yuan="600000", proactive_correction=True)
    testified = rate(amount_yuan="600000", effective_testimony=True)
    assert corrected.measures == plain.measures == testified.measures
    assert any("proactive correction" in n and "not reduced" in n for n in corrected.notes)
    assert any("testimony" in n and "not reduced" in n for n in testified.notes)
    assert any(b.provision == "四" for b in testified.legal_basis)
    assert not any(b.provision == "四" for b in plain.legal_basis)


def test_only_a_distributor_can_testify() -> None:
    err = violation_of(enterprise_role="producer", effective_testimony=True)
    assert err.field == "effective_testimony"


def test_result_cites_the_notice_and_the_national_plan() -> None:
    cites = [b.cite() for b in rate().legal_basis]
    notice = "《国家医疗保障局办公室关于进一步完善医药价格和招采信用评价制度的通知》"
    assert cites[0] == f"{notice}一（source line 12）"
    assert {b.source_line for b in rate().legal_basis} == {10, 12, 16}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"violation": None}, "violation"),
        ({"violation": "price_fixing"}, "violation"),
        ({"amount_yuan": None}, "amount_yuan"),
        ({"amount_yuan": "-500"}, "amount_yuan"),
        ({"amount_yuan": "NaN"}, "amount_yuan"),
        ({"amount_yuan": "500000.001"}, "amount_yuan"),
        ({"amount_yuan": "five"}, "amount_yuan"),
        ({"case_source": None}, "case_source"),
        ({"case_source": "newspaper"}, "case_source"),
        ({"enterprise_role": "hospital"}, "enterprise_role"),
        ({"case_received_on": None}, "case_received_on"),
        ({"case_received_on": "2025-07-10"}, "case_received_on"),
        ({"evaluation_completed_on": date(2025, 7, 9)}, "evaluation_completed_on"),
        ({"evaluation_completed_on": date(2026, 1, 1)}, "evaluation_completed_on"),
        ({"proactive_correction": "yes"}, "proactive_correction"),
        ({"improper_gains_returned": 1}, "improper_gains_returned"),
        ({"publication_months": 2}, "publication_months"),
        ({"publication_months": 13}, "publication_months"),
        ({"amount_yuan": "600000", "publication_months": 11}, "publication_months"),
        ({"amount_yuan": "600000", "publication_months": 37}, "publication_months"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_input(overrides: dict[str, Any], field: str) -> None:
    assert violation_of(**overrides).field == field


def test_only_enterprises_are_rated() -> None:
    assert violation_of(kind="person").field == "entity.kind"
