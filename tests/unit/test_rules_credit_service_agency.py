"""Jilin credit service agencies (source line 19)."""

from datetime import date
from typing import Any

import pytest

from services.records.rules import (
    Category,
    Classification,
    Context,
    RuleViolation,
    annual_report_required,
    classify,
    missing_annual_report_years,
    registration_refusal_reason,
)
from services.records.rules.credit_service_agency import (
    complaints_within_a_year,
    last_due_report_year,
)

DECIDED = date(2025, 7, 15)


def rate(
    reports: frozenset[int] = frozenset(),
    kind: str = "credit_service_agency",
    decided: date = DECIDED,
    **facts: Any,
) -> Classification:
    ctx = Context(decided_on=decided, history=(), entity_kind=kind, annual_reports=reports)
    return classify("credit_service_agency", facts, ctx)


def violation_of(**kwargs: Any) -> RuleViolation:
    with pytest.raises(RuleViolation) as err:
        rate(**kwargs)
    return err.value


@pytest.mark.parametrize(
    ("item", "category"),
    [
        (1, Category.GENERAL),
        (2, Category.GENERAL),
        (4, Category.MINOR),
        (6, Category.GENERAL),
        (7, Category.GENERAL),
        (8, Category.MINOR),
    ],
)
def test_item_categories(item: int, category: Category) -> None:
    result = rate(article16_item=item)
    assert result.category is category
    assert result.measures == ("约谈或者书面通知整改",)
    assert result.legal_basis[0].provision.startswith("第十六条第（")
    assert result.legal_basis[0].source_line == 19


@pytest.mark.parametrize(
    ("item", "before", "after"),
    [
        (1, Category.GENERAL, Category.SERIOUS),
        (4, Category.MINOR, Category.GENERAL),
        (7, Category.GENERAL, Category.SERIOUS),
    ],
)
def test_refusing_to_rectify_is_one_category_higher(
    item: int, before: Category, after: Category
) -> None:
    assert rate(article16_item=item, refused_rectification=False).category is before
    refused = rate(article16_item=item, refused_rectification=True)
    assert refused.category is after
    assert refused.source_level.endswith("拒不整改")
    assert "拒不整改：会同相关部门依法予以相应处罚" in refused.measures


def test_minor_item_is_unpublished_by_default() -> None:
    result = rate(article16_item=4)
    assert (result.published, result.publication_end) == (False, None)
    assert result.source_level == "第十六条第（四）项"
    assert "异议信息已核查处理并告知异议申请主体的证明" in result.repair_requirements


def test_general_item_publication_bounds() -> None:
    assert rate(article16_item=1, publication_months=3).publication_end == date(2025, 10, 16)
    assert rate(article16_item=1).publication_end == date(2026, 7, 16)
    for months in (2, 13):
        assert violation_of(article16_item=1, publication_months=months).field == (
            "publication_months"
        )


# --- 第十六条（三）: two verified complaints within one year --------------------------------


def test_complaints_exactly_one_year_apart_count() -> None:
    dates = [date(2024, 3, 1), date(2025, 3, 1)]
    assert complaints_within_a_year(dates) == (date(2024, 3, 1), date(2025, 3, 1))
    result = rate(article16_item=3, verified_complaint_dates=dates)
    assert result.category is Category.MINOR
    assert any("2024-03-01 and 2025-03-01" in note for note in result.notes)


def test_complaints_one_year_and_one_day_apart_do_not() -> None:
    dates = [date(2024, 3, 1), date(2025, 3, 2)]
    assert complaints_within_a_year(dates) is None
    err = violation_of(article16_item=3, verified_complaint_dates=dates)
    assert err.field == "verified_complaint_dates"


def test_any_one_year_window_counts() -> None:
    dates = [date(2025, 6, 1), date(2021, 1, 1), date(2023, 1, 1), date(2024, 6, 2)]
    assert complaints_within_a_year(dates) == (date(2024, 6, 2), date(2025, 6, 1))
    assert complaints_within_a_year([date(2024, 2, 29), date(2025, 2, 28)]) is not None
    assert complaints_within_a_year([date(2024, 2, 29), date(2025, 3, 1)]) is None
    assert complaints_within_a_year([date(2025, 1, 1), date(2025, 1, 1)]) is not None


@pytest.mark.parametrize(
    ("dates", "field"),
    [
        (None, "verified_complaint_dates"),
        ([], "verified_complaint_dates"),
        ([date(2025, 1, 1)], "verified_complaint_dates"),
        ("2025-01-01", "verified_complaint_dates"),
        ([date(2025, 1, 1), "2025-02-01"], "verified_complaint_dates[1]"),
        ([date(2025, 7, 1), date(2025, 7, 16)], "verified_complaint_dates[1]"),
    ],
)
def test_bad_complaint_dates(dates: object, field: str) -> None:
    facts: dict[str, Any] = {"article16_item": 3}
    if dates is not None:
        facts["verified_complaint_dates"] = dates
    assert violation_of(**facts).field == field


def test_complaint_dates_belong_to_item_three_only() -> None:
    err = violation_of(article16_item=1, verified_complaint_dates=[date(2025, 1, 1)] * 2)
    assert err.field == "verified_complaint_dates"


# --- 第十六条（五）: no annual report two years running (第十三条: due by 30 June) ----------


@pytest.mark.parametrize(
    ("as_of", "last_due"),
    [
        (date(2025, 1, 1), 2023),
        (date(2025, 6, 30), 2023),
        (date(2025, 7, 1), 2024),
        (date(2025, 12, 31), 2024),
    ],
)
def test_last_due_report_year(as_of: date, last_due: int) -> None:
    assert last_due_report_year(as_of) == last_due


@pytest.mark.parametrize(
    ("as_of", "established", "filed", "expected"),
    [
        (date(2025, 6, 30), date(2015, 1, 1), frozenset(), (2022, 2023)),
        (date(2025, 7, 1), date(2015, 1, 1), frozenset(), (2023, 2024)),
        (date(2025, 6, 30), date(2015, 1, 1), frozenset({2024}), (2022, 2023)),
        (date(2025, 7, 1), date(2015, 1, 1), frozenset({2024}), None),
        (date(2025, 7, 1), date(2015, 1, 1), frozenset({2023}), None),
        (date(2025, 7, 1), date(2015, 1, 1), frozenset({2021, 2022}), (2023, 2024)),
        (date(2025, 7, 1), date(2023, 12, 31), frozenset(), (2023, 2024)),
        (date(2025, 7, 1), date(2024, 1, 1), frozenset(), None),
        (date(2025, 6, 30), date(2023, 1, 1), frozenset(), None),
    ],
)
def test_missing_annual_report_years(
    as_of: date, established: date, filed: frozenset[int], expected: tuple[int, int] | None
) -> None:
    assert missing_annual_report_years(as_of, established, filed) == expected


def test_item_five_needs_two_missing_reports_in_the_register() -> None:
    result = rate(article16_item=5, reports=frozenset({2021, 2022}))
    assert result.category is Category.MINOR
    assert any("2023 or 2024" in note for note in result.notes)
    assert {b.provision for b in result.legal_basis} >= {"第十六条第（五）项", "第十三条"}
    assert "已补报所缺年度的信用服务年度报告" in result.repair_requirements


def test_item_five_on_30_june_looks_at_the_years_before() -> None:
    assert rate(article16_item=5, reports=frozenset({2024}), decided=date(2025, 6, 30)).listed
    err = violation_of(article16_item=5, reports=frozenset({2024}), decided=date(2025, 7, 1))
    assert err.field == "article16_item"
    assert err.reason.startswith("annual-report register shows a report for 2024")


def test_item_five_for_a_young_agency() -> None:
    err = violation_of(article16_item=5, established_on=date(2024, 3, 1))
    assert err.field == "article16_item"
    assert "did not exist in 2023" in err.reason
    assert rate(article16_item=5, established_on=date(2023, 3, 1)).listed
    assert violation_of(article16_item=5, established_on=date(2025, 8, 1)).field == (
        "established_on"
    )


# --- registration (第十条) and input checks ------------------------------------------------


def test_registration_refusal_reason() -> None:
    assert registration_refusal_reason(False, []) is None
    assert registration_refusal_reason(True, []) == (
        "第十条第（二）项：注册机构被列入严重失信主体名单，不予审核通过"
    )
    assert registration_refusal_reason(False, ["张三", " 李四 "]) == (
        "第十条第（二）项：主要负责人（张三、李四）被列入严重失信主体名单，不予审核通过"
    )
    both = registration_refusal_reason(True, ["张三"])
    assert both is not None and "注册机构及主要负责人（张三）" in both
    with pytest.raises(RuleViolation) as err:
        registration_refusal_reason(False, ["张三", " "])
    assert err.value.field == "principals_on_list[1]"
    # 第十条（一）: the articles' business scope lacks credit services; with (二), both named.
    assert registration_refusal_reason(False, [], credit_services_in_scope=False) == (
        "第十条第（一）项：经相关部门批准的章程中业务范围不包含信用服务内容，不予审核通过"
    )
    scope_and_list = registration_refusal_reason(True, [], credit_services_in_scope=False)
    assert scope_and_list == (
        "第十条第（一）项：经相关部门批准的章程中业务范围不包含信用服务内容；"
        "第十条第（二）项：注册机构被列入严重失信主体名单，不予审核通过"
    )


@pytest.mark.parametrize(
    ("established", "registered", "required"),
    [
        # Its first year is full at the end of the same date a year on (民法典 第二百零一条).
        (date(2024, 3, 1), date(2025, 3, 1), False),
        (date(2024, 3, 1), date(2025, 3, 2), True),
        (date(2024, 11, 20), date(2025, 11, 20), False),
        (date(2024, 11, 19), date(2025, 11, 20), True),
        # A year from 29 February ends on 28 February (the month has no 29th).
        (date(2024, 2, 29), date(2025, 2, 28), False),
        (date(2024, 2, 29), date(2025, 3, 1), True),
        (date(2025, 11, 20), date(2025, 11, 20), False),  # established the same day
    ],
)
def test_the_annual_report_is_required_after_the_first_full_year(
        established: date, registered: date, required: bool) -> None:
    # 第八条（四）: "注册时间未满一年的企业无须填报".
    assert annual_report_required(established, registered) is required


@pytest.mark.parametrize(
    ("facts", "field"),
    [
        ({}, "article16_item"),
        ({"article16_item": 0}, "article16_item"),
        ({"article16_item": 9}, "article16_item"),
        ({"article16_item": "3"}, "article16_item"),
        ({"article16_item": True}, "article16_item"),
        ({"article16_item": 1, "refused_rectification": "yes"}, "refused_rectification"),
        ({"article16_item": 1, "established_on": "2020-01-01"}, "established_on"),
        ({"article16_item": 1, "tier": "minor"}, "tier"),
    ],
)
def test_bad_input(facts: dict[str, Any], field: str) -> None:
    assert violation_of(**facts).field == field


def test_only_credit_service_agencies() -> None:
    assert violation_of(article16_item=1, kind="enterprise").field == "entity.kind"
