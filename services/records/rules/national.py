"""National dishonesty categories, publication periods and repair (国办发〔2025〕22号, line 10).

Every source maps its own level to one of the three national categories; this module turns
the category into publication and repair dates and assembles the `Classification`.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any, NamedTuple

from services.records.rules.base import (
    Category,
    Classification,
    LegalBasis,
    RuleViolation,
    optional_int,
)

__all__ = [
    "CATEGORIES_2025",
    "CATEGORY_BASIS",
    "MEASURES_BASIS",
    "REPAIR_BASIS",
    "REPAIR_REQUIREMENTS",
    "START_DAY_COUNTED",
    "CategoryRule",
    "Publication",
    "add_months",
    "classification",
    "not_listed",
    "one_higher",
    "period_end",
    "publication",
]

DOCUMENT = "关于进一步完善信用修复制度的实施方案"
NUMBER = "国办发〔2025〕22号"

CATEGORY_BASIS = LegalBasis(DOCUMENT, "二", 10, NUMBER)
REPAIR_BASIS = LegalBasis(DOCUMENT, "三、四", 10, NUMBER)
# Every record carries its measures from the national basic list of measures (line 16).
MEASURES_BASIS = LegalBasis(
    "全国失信惩戒措施基础清单（2025年版）", "", 16, "发改财金规〔2025〕297号"
)

# 四: a repair application is proof of fulfilment plus a credit commitment letter.
REPAIR_REQUIREMENTS = ("法定责任义务履行完毕的证明材料", "信用承诺书")


@dataclass(frozen=True)
class CategoryRule:
    name: str  # 轻微 / 一般 / 严重
    min_months: int  # 0: the record may be left unpublished
    max_months: int
    default_months: int  # period when the finding authority sets none
    repair_after_minimum: bool  # False: repair as soon as the obligation is fulfilled


# 二 sets the periods; 三 allows repair only after the minimum period. The default is the
# maximum because repair is what ends publication early; 轻微 defaults to unpublished because
# 二 makes publication the exception (确有必要公示的). Periods set by law (从其规定) are not here.
CATEGORIES_2025: Mapping[Category, CategoryRule] = MappingProxyType(
    {
        Category.MINOR: CategoryRule("轻微", 0, 3, 0, repair_after_minimum=False),
        Category.GENERAL: CategoryRule("一般", 3, 12, 12, repair_after_minimum=True),
        Category.SERIOUS: CategoryRule("严重", 12, 36, 36, repair_after_minimum=True),
    }
)

_ORDER = (Category.MINOR, Category.GENERAL, Category.SERIOUS)

# How a period of N months from a date is counted; the policy texts do not say. The general
# rule of Chinese law, 民法典 第二百零一条、第二百零二条 (and 第二百零四条 for any period a law
# sets): the starting day is not counted, and the period's last day is the corresponding day N
# months later. So a record decided on 2025-06-01 and published for 12 months is published
# through 2026-06-01 (the end, exclusive, is 2026-06-02), and "after the minimum period" of
# 12 months (三) is from 2026-06-02. This is also how 信用中国 shows 公示截止日期. Changing it
# changes the dates stored with every record: a records migration must move them.
START_DAY_COUNTED = False


class Publication(NamedTuple):  # one per ingested record: a named tuple is cheap to build
    published: bool
    start: date
    end: date | None  # exclusive: the day after the last day of publication
    repair_eligible_from: date


def period_end(start: date, months: int, *, start_day_counted: bool = START_DAY_COUNTED) -> date:
    """The exclusive end of a period of `months` months from `start` (see START_DAY_COUNTED)."""
    end = add_months(start, months)
    return end if start_day_counted else end + timedelta(days=1)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (31 Jan + 1 → 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    if day.day <= 28:  # every month has it: no month length to look up (the common case)
        return date(year, month + 1, day.day)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def one_higher(category: Category) -> Category:
    return _ORDER[min(_ORDER.index(category) + 1, len(_ORDER) - 1)]


def publication(
    category: Category,
    start: date,
    months: int | None,
    *,
    minimum: bool = False,
    rules: Mapping[Category, CategoryRule] = CATEGORIES_2025,
) -> Publication:
    """Publication window for `category`; `minimum` is the lower end (从轻, 最低的处罚标准)."""
    rule = rules[category]
    if months is not None:
        if not rule.min_months <= months <= rule.max_months:
            raise RuleViolation(
                "publication_months",
                f"{months} months is outside {rule.min_months}..{rule.max_months} for "
                f"{rule.name} ({NUMBER} 二)",
            )
        if minimum and months != rule.min_months:
            raise RuleViolation(
                "publication_months",
                f"the lower end of {rule.name} applies: {rule.min_months} months, not {months}",
            )
    requested = rule.default_months if months is None else months
    chosen = rule.min_months if minimum else requested
    published = chosen > 0
    return Publication(
        published=published,
        start=start,
        end=period_end(start, chosen) if published else None,
        repair_eligible_from=period_end(start, rule.min_months)
        if rule.repair_after_minimum
        else start,
    )


def classification(
    *,
    category: Category,
    source_level: str,
    start: date,
    facts: Mapping[str, Any],
    measures: Sequence[str],
    legal_basis: Sequence[LegalBasis],
    repair_requirements: Sequence[str] = (),
    notes: Sequence[str] = (),
    minimum: bool = False,
) -> Classification:
    """A listed record: reads `publication_months` and adds the national basis and repair needs."""
    months = optional_int(facts, "publication_months")
    window = publication(category, start, months, minimum=minimum)
    return Classification(
        listed=True,
        source_level=source_level,
        category=category,
        published=window.published,
        publication_start=start,
        publication_end=window.end,
        repair_eligible_from=window.repair_eligible_from,
        measures=tuple(measures),
        legal_basis=(*legal_basis, CATEGORY_BASIS, REPAIR_BASIS, MEASURES_BASIS),
        repair_requirements=(*REPAIR_REQUIREMENTS, *repair_requirements),
        notes=tuple(notes),
    )


def not_listed(
    *,
    source_level: str,
    decided_on: date,
    legal_basis: Sequence[LegalBasis],
    notes: Sequence[str] = (),
) -> Classification:
    """No dishonesty information arises: nothing to publish, measure or repair."""
    return Classification(
        listed=False,
        source_level=source_level,
        category=None,
        published=False,
        publication_start=decided_on,
        publication_end=None,
        repair_eligible_from=decided_on,
        measures=(),
        legal_basis=tuple(legal_basis),
        repair_requirements=(),
        notes=tuple(notes),
    )
