"""National categories and publication periods (国办发〔2025〕22号), plus the shared contract."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.records.rules import (
    RULESETS,
    Category,
    Classification,
    Context,
    LegalBasis,
    RuleViolation,
    classify,
)
from services.records.rules.base import parse_amount
from services.records.rules.national import (
    CATEGORIES_2025,
    add_months,
    classification,
    one_higher,
    period_end,
    publication,
)

START = date(2025, 3, 15)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2025, 3, 31), 3, date(2025, 6, 30)),
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
        (date(2025, 12, 15), 1, date(2026, 1, 15)),
        (date(2025, 3, 15), 36, date(2028, 3, 15)),
        (date(2025, 3, 15), 0, date(2025, 3, 15)),
    ],
)
def test_add_months_is_end_of_month_safe(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


def test_category_table_matches_the_source() -> None:
    periods = {c: (r.min_months, r.max_months) for c, r in CATEGORIES_2025.items()}
    assert periods == {
        Category.MINOR: (0, 3),
        Category.GENERAL: (3, 12),
        Category.SERIOUS: (12, 36),
    }


@pytest.mark.parametrize(
    ("category", "too_short", "minimum", "maximum", "too_long"),
    [
        (Category.MINOR, -1, 0, 3, 4),
        (Category.GENERAL, 2, 3, 12, 13),
        (Category.SERIOUS, 11, 12, 36, 37),
    ],
)
def test_publication_bounds(
    category: Category, too_short: int, minimum: int, maximum: int, too_long: int
) -> None:
    for months in (too_short, too_long):
        with pytest.raises(RuleViolation) as err:
            publication(category, START, months)
        assert err.value.field == "publication_months"
    low = publication(category, START, minimum)
    high = publication(category, START, maximum)
    assert high.published and high.end == period_end(START, maximum)
    if minimum:
        assert low.published and low.end == period_end(START, minimum)
    else:
        assert not low.published and low.end is None


@pytest.mark.parametrize(
    ("start", "months", "last_day"),
    [
        (date(2025, 6, 1), 12, date(2026, 6, 1)),  # 信用中国's 公示截止日期: decision + period
        (date(2025, 1, 31), 1, date(2025, 2, 28)),  # no 31 February: the month's last day
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2025, 12, 31), 3, date(2026, 3, 31)),
    ],
)
def test_a_period_ends_with_its_corresponding_day(start: date, months: int,
                                                  last_day: date) -> None:
    """民法典 第二百零一条、第二百零二条: the start day is not counted; the last day is the
    corresponding day. The exclusive end is the day after; counting the start day (the
    other convention) ends a day earlier."""
    assert period_end(start, months) == last_day + timedelta(days=1)
    assert period_end(start, months, start_day_counted=True) == last_day
    window = publication(Category.SERIOUS, start, 12)
    assert window.end == period_end(start, 12)
    assert window.repair_eligible_from == window.end  # the day after the minimum period


@pytest.mark.parametrize(
    ("category", "end", "repair"),
    [
        (Category.GENERAL, date(2026, 3, 16), date(2025, 6, 16)),
        (Category.SERIOUS, date(2028, 3, 16), date(2026, 3, 16)),
    ],
)
def test_default_is_the_maximum_and_repair_follows_the_minimum(
    category: Category, end: date, repair: date
) -> None:
    window = publication(category, START, None)
    assert (window.published, window.end, window.repair_eligible_from) == (True, end, repair)


def test_minor_defaults_to_unpublished_and_repairs_at_once() -> None:
    window = publication(Category.MINOR, START, None)
    assert (window.published, window.end, window.repair_eligible_from) == (False, None, START)
    published = publication(Category.MINOR, START, 2)
    assert published.end == date(2025, 5, 16)
    assert published.repair_eligible_from == START


def test_minimum_forces_the_lower_end_and_rejects_another_period() -> None:
    assert publication(Category.GENERAL, START, None, minimum=True).end == date(2025, 6, 16)
    assert publication(Category.SERIOUS, START, 12, minimum=True).end == date(2026, 3, 16)
    assert not publication(Category.MINOR, START, None, minimum=True).published
    with pytest.raises(RuleViolation) as err:
        publication(Category.GENERAL, START, 6, minimum=True)
    assert err.value.field == "publication_months"


@pytest.mark.parametrize("bad", ["12", 12.0, True])
def test_publication_months_must_be_an_integer(bad: object) -> None:
    with pytest.raises(RuleViolation) as err:
        classification(
            category=Category.GENERAL,
            source_level="x",
            start=START,
            facts={"publication_months": bad},
            measures=(),
            legal_basis=(),
        )
    assert err.value.field == "publication_months"


def test_classification_adds_national_basis_and_repair_requirements() -> None:
    result = classification(
        category=Category.GENERAL,
        source_level="失信",
        start=START,
        facts={"publication_months": 6},
        measures=["m"],
        legal_basis=[LegalBasis("doc", "一", 1)],
        repair_requirements=["extra"],
    )
    assert result.publication_end == date(2025, 9, 16)
    assert result.repair_requirements == ("法定责任义务履行完毕的证明材料", "信用承诺书", "extra")
    assert [b.source_line for b in result.legal_basis] == [1, 10, 10, 16]


def test_one_higher_stops_at_serious() -> None:
    assert one_higher(Category.MINOR) is Category.GENERAL
    assert one_higher(Category.GENERAL) is Category.SERIOUS
    assert one_higher(Category.SERIOUS) is Category.SERIOUS


def test_cite_is_human_readable() -> None:
    basis = LegalBasis("关于进一步完善信用修复制度的实施方案", "二", 10, "国办发〔2025〕22号")
    assert basis.cite() == (
        "《关于进一步完善信用修复制度的实施方案》（国办发〔2025〕22号）二（source line 10）"
    )
    assert LegalBasis("通知", "二", 12).cite() == "《通知》二（source line 12）"


def test_classification_invariants() -> None:
    with pytest.raises(ValueError):
        Classification(
            listed=False,
            source_level="x",
            category=Category.MINOR,
            published=False,
            publication_start=START,
            publication_end=None,
            repair_eligible_from=START,
            measures=(),
            legal_basis=(),
            repair_requirements=(),
        )
    with pytest.raises(ValueError):
        Classification(
            listed=True,
            source_level="x",
            category=Category.GENERAL,
            published=True,
            publication_start=START,
            publication_end=None,
            repair_eligible_from=START,
            measures=(),
            legal_basis=(),
            repair_requirements=(),
        )


def test_registry_and_dispatcher() -> None:
    assert set(RULESETS) == {
        "medical_procurement",
        "fire_products",
        "credit_service_agency",
        "hr_penalty",
    }
    assert all(rules.source == name for name, rules in RULESETS.items())
    ctx = Context(decided_on=START, history=(), entity_kind="enterprise")
    with pytest.raises(RuleViolation) as err:
        classify("tax_credit", {}, ctx)
    assert err.value.field == "source"
    result = classify("hr_penalty", {"tier": "serious", "violation": "欠薪"}, ctx)
    assert result.category is Category.GENERAL


def test_unknown_fact_and_unknown_entity_kind_are_rejected() -> None:
    ctx = Context(decided_on=START, history=(), entity_kind="enterprise")
    with pytest.raises(RuleViolation) as err:
        classify("hr_penalty", {"tier": "serious", "violation": "欠薪", "tierr": "x"}, ctx)
    assert err.value.field == "tierr"
    robot = Context(START, (), "robot")
    with pytest.raises(RuleViolation) as err:
        classify("hr_penalty", {"tier": "serious", "violation": "欠薪"}, robot)
    assert err.value.field == "entity.kind"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("500000.00", Decimal("500000")),
        ("0.01", Decimal("0.01")),
        ("1.000", Decimal("1")),
        (500000, Decimal("500000")),
        (Decimal("12.5"), Decimal("12.5")),
    ],
)
def test_amounts_parse(raw: object, expected: Decimal) -> None:
    assert parse_amount(raw, "amount_yuan") == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("-0.01", "negative amount"),
        ("NaN", "not a finite number"),
        ("Infinity", "not a finite number"),
        ("12.345", "more than 2 decimals (amounts are in yuan to the fen)"),
        ("abc", "not a decimal number"),
        ("", "not a decimal number"),
        (12.5, "expected a decimal string such as '500000.00'"),
        (True, "expected a decimal string such as '500000.00'"),
    ],
)
def test_bad_amounts_are_rejected(raw: object, reason: str) -> None:
    with pytest.raises(RuleViolation) as err:
        parse_amount(raw, "amount_yuan")
    assert (err.value.field, err.value.reason) == ("amount_yuan", reason)
