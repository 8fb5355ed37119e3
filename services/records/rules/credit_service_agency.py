"""Jilin credit service agencies (吉林省信用服务机构管理办法, line 19).

Article 16 lists eight violations with one consequence: an interview (约谈) or a written
rectification notice, and penalties if the agency refuses to rectify. The measures give no
national category, so the table below records the one chosen here and why.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any

from services.records.rules import national
from services.records.rules.base import (
    Category,
    Classification,
    Context,
    LegalBasis,
    RuleViolation,
    check_entity_kind,
    check_fields,
    flag,
    optional_date,
    require_dates,
    require_int,
)

__all__ = [
    "ITEMS",
    "SOURCE",
    "ArticleItem",
    "CreditServiceAgencyRules",
    "annual_report_required",
    "complaints_within_a_year",
    "last_due_report_year",
    "missing_annual_report_years",
    "registration_refusal_reason",
]

SOURCE = "credit_service_agency"
# Line 19 starts at 第一章 without the title; this is the title the province's self-regulation
# convention cites for it.
DOCUMENT = "吉林省信用服务机构管理办法"

FACT_NAMES = frozenset(
    {
        "article16_item",
        "verified_complaint_dates",
        "refused_rectification",
        "established_on",
        "publication_months",
    }
)

_NUMERALS = "一二三四五六七八"


def _basis(provision: str) -> LegalBasis:
    return LegalBasis(DOCUMENT, provision, 19)


@dataclass(frozen=True)
class ArticleItem:
    text: str
    category: Category  # before any refusal to rectify
    repair: tuple[str, ...]  # what proves this item rectified


# 第十六条 sets no category. Chosen: output or filings that deceive the market ((一)(二)(七)) and
# obstruction that defeats supervision itself ((六)) → 一般; lapses of diligence → 轻微.
# Refusing to rectify (拒不整改) moves the record one category up.
ITEMS: Mapping[int, ArticleItem] = MappingProxyType(
    {
        1: ArticleItem(
            "信用报告未能真实反映企业信用状况，或评价结果与收费挂钩，或不正当竞争",
            Category.GENERAL,
            ("已更正的信用报告或评价结果及收费整改说明",),
        ),
        2: ArticleItem(
            "虚假商业宣传、承诺评价结果、诋毁其他机构承揽业务，作出虚假评价",
            Category.GENERAL,
            ("虚假评价已更正、虚假宣传已停止的证明",),
        ),
        3: ArticleItem(
            "一年内被服务对象投诉二次以上且经查实",
            Category.MINOR,
            ("被投诉问题的整改报告",),
        ),
        4: ArticleItem(
            "未按照规定及时对异议信息进行核查和处理",
            Category.MINOR,
            ("异议信息已核查处理并告知异议申请主体的证明",),
        ),
        5: ArticleItem(
            "连续二年未提交信用服务年度报告",
            Category.MINOR,
            ("已补报所缺年度的信用服务年度报告",),
        ),
        6: ArticleItem("拒绝、阻碍监督检查", Category.GENERAL, ("已接受并配合监督检查的证明",)),
        7: ArticleItem(
            "虚假填报登记信息、管理制度、从业人员信息或信用服务年度报告",
            Category.GENERAL,
            ("已更正申报信息的证明",),
        ),
        8: ArticleItem("违反法律法规规定的其他情形", Category.MINOR, ("违法行为已整改的证明",)),
    }
)

RECTIFY = "约谈或者书面通知整改"
PENALTY = "拒不整改：会同相关部门依法予以相应处罚"


def complaints_within_a_year(dates: Sequence[date]) -> tuple[date, date] | None:
    """Two complaints at most one year apart (the window runs to the same date a year later)."""
    ordered = sorted(dates)
    for first, second in itertools.pairwise(ordered):
        if second <= national.add_months(first, 12):
            return first, second
    return None


def last_due_report_year(as_of: date) -> int:
    """Latest year whose annual report is overdue: year Y is due by 30 June of Y+1 (第十三条)."""
    return as_of.year - 1 if as_of > date(as_of.year, 6, 30) else as_of.year - 2


def missing_annual_report_years(
    as_of: date, established: date, filed: frozenset[int]
) -> tuple[int, int] | None:
    """The last two due report years when neither was filed (第十六条（五）), else None.

    Only years the agency existed in are due, so a young agency cannot have two missing years.
    """
    last = last_due_report_year(as_of)
    years = (last - 1, last)
    if established.year > years[0] or any(year in filed for year in years):
        return None
    return years


def registration_refusal_reason(
    on_serious_list: bool, principals_on_list: Sequence[str], *,
    credit_services_in_scope: bool = True,
) -> str | None:
    """Why a self-registration is refused under 第十条, or None when no item applies.

    (一) the business scope of the approved articles does not include credit services
    (`credit_services_in_scope` False); (二) the agency or a principal (法定代表人、
    董事长或执行董事、总经理) is on a serious dishonesty list: `principals_on_list` names
    those principals.
    """
    names = [name.strip() for name in principals_on_list]
    for i, name in enumerate(names):
        if not name:
            raise RuleViolation(f"principals_on_list[{i}]", "expected a principal's name")
    reasons = [] if credit_services_in_scope else [
        "第十条第（一）项：经相关部门批准的章程中业务范围不包含信用服务内容"]
    parties = (["注册机构"] if on_serious_list else []) + (
        [f"主要负责人（{'、'.join(names)}）"] if names else []
    )
    if parties:
        reasons.append(f"第十条第（二）项：{'及'.join(parties)}被列入严重失信主体名单")
    if not reasons:
        return None
    return "；".join(reasons) + "，不予审核通过"


def annual_report_required(established_on: date, registered_on: date) -> bool:
    """第八条（四）: the registration materials include the agency's credit-service annual
    report, except for an enterprise registered less than a year ("注册时间未满一年的企业无须
    填报"). The year runs as periods do (民法典 第二百零一条, national.period_end): established
    on 2024-03-01, its first year is full at the end of 2025-03-01, so the report is required
    from 2025-03-02."""
    return registered_on >= national.period_end(established_on, 12)


@dataclass(frozen=True)
class CreditServiceAgencyRules:
    source: str = SOURCE

    def classify(self, facts: Mapping[str, Any], ctx: Context) -> Classification:
        check_fields(facts, FACT_NAMES)
        check_entity_kind(ctx, {SOURCE})
        number = require_int(facts, "article16_item")
        if number not in ITEMS:
            raise RuleViolation("article16_item", "expected 1..8 (第十六条（一）至（八）)")
        item = ITEMS[number]
        provision = f"第十六条第（{_NUMERALS[number - 1]}）项"
        established = optional_date(facts, "established_on")
        if established is not None and established > ctx.decided_on:
            raise RuleViolation("established_on", "after the decision date")
        notes = [f"{provision}：{item.text}"]
        provisions = [provision]

        complaints = facts.get("verified_complaint_dates")
        if number == 3:
            notes.append(_complaint_note(facts, ctx))
        elif complaints:
            raise RuleViolation("verified_complaint_dates", "only used with article16_item 3")
        if number == 5:
            notes.append(_annual_report_note(ctx, established))
            provisions.append("第十三条")

        category, level = item.category, provision
        measures = [RECTIFY]
        if flag(facts, "refused_rectification"):
            category, level = national.one_higher(category), f"{provision}，拒不整改"
            measures.append(PENALTY)
            notes.append("refused to rectify after interview or notice: one category higher")
        return national.classification(
            category=category,
            source_level=level,
            start=ctx.decided_on,
            facts=facts,
            measures=measures,
            legal_basis=tuple(_basis(p) for p in provisions),
            repair_requirements=item.repair,
            notes=notes,
        )


def _complaint_note(facts: Mapping[str, Any], ctx: Context) -> str:
    dates = require_dates(facts, "verified_complaint_dates")
    for i, day in enumerate(dates):
        if day > ctx.decided_on:
            raise RuleViolation(f"verified_complaint_dates[{i}]", "after the decision date")
    pair = complaints_within_a_year(dates)
    if pair is None:
        raise RuleViolation(
            "verified_complaint_dates",
            "item (三) needs two or more verified complaints within one year",
        )
    return f"verified complaints on {pair[0]} and {pair[1]} fall within one year"


def _annual_report_note(ctx: Context, established: date | None) -> str:
    since = established or date.min  # no founding date given: assume it existed throughout
    years = missing_annual_report_years(ctx.decided_on, since, ctx.annual_reports)
    if years is None:
        last = last_due_report_year(ctx.decided_on)
        filed = sorted(y for y in (last - 1, last) if y in ctx.annual_reports)
        reason = (
            f"annual-report register shows a report for {', '.join(map(str, filed))}"
            if filed
            else f"the agency did not exist in {last - 1}, so two report years are not yet due"
        )
        raise RuleViolation("article16_item", f"{reason}; item (五) does not apply")
    return f"no annual report for {years[0]} or {years[1]} (due by 30 June of the next year)"
