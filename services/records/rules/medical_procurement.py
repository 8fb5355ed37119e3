"""Medical price and procurement credit evaluation (NHSA notice of 2025-05-20, line 12).

Levels 失信 / 严重失信 / 特别严重失信 come from the amount tables in 二, escalation and measures
from 三, mitigation from 四 and timing from 五. The national category follows the suggested
mapping 失信 → 一般, 严重失信 / 特别严重失信 → 严重.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
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
    optional_amount,
    optional_bool,
    prior_records,
    require_amount,
    require_choice,
    require_date,
)

__all__ = [
    "EDITION_2025",
    "SOURCE",
    "AmountScale",
    "MedicalEdition",
    "MedicalProcurementRules",
    "next_quarter_start",
]

SOURCE = "medical_procurement"
DOCUMENT = "国家医疗保障局办公室关于进一步完善医药价格和招采信用评价制度的通知"

DISHONEST = "失信"
SERIOUS = "严重失信"
PARTICULARLY_SERIOUS = "特别严重失信"

FIELDS = frozenset(
    {
        "violation",
        "amount_yuan",
        "case_source",
        "enterprise_role",
        "case_received_on",
        "evaluation_completed_on",
        "proactive_correction",
        "effective_testimony",
        "improper_gains_returned",
        "publication_months",
    }
)
# 一: court judgments, administrative penalty decisions, and (new in 2025) audit results.
CASE_SOURCES: Mapping[str, str] = MappingProxyType(
    {
        "court_judgment": "法院判决",
        "administrative_penalty": "执法部门行政处罚",
        "audit": "审计报告或审计部门移送问题线索的查办结果",
    }
)
ROLES = frozenset({"producer", "distributor", "mah"})  # mah: 上市许可持有人


@dataclass(frozen=True)
class AmountScale:
    bands: tuple[tuple[Decimal, str], ...]  # (inclusive lower bound in yuan, level), ascending
    below: str  # RuleViolation reason for an amount under the first bound


@dataclass(frozen=True)
class MedicalEdition:
    applies_from: date  # first evaluation completion date the edition governs
    levels: tuple[str, ...]  # ascending
    scales: Mapping[str, AmountScale]  # violations rated by amount
    top_rated: frozenset[str]  # violations rated at the highest level (顶格)
    escalate_at: int  # this many 失信 ratings nationwide make a 严重失信
    distributor_suspension_years: Mapping[str, int]
    producer_suspensions: Mapping[str, tuple[str, ...]]  # by level; producers and MAHs
    relisting_cut_percent: int  # minimum cut of the inflated margin to re-list a case product
    unreturned_gains_surcharge_percent: int  # added when improper gains are not returned
    national: Mapping[str, Category]
    evaluation_months: int  # the case must be evaluated within this many months of receipt
    basis: Mapping[str, LegalBasis]


def _yuan(wan: str) -> Decimal:
    return Decimal(wan) * 10_000


def _basis(provision: str) -> LegalBasis:
    return LegalBasis(DOCUMENT, provision, 12)


EDITION_2025 = MedicalEdition(
    # 五 (closing): provinces apply the notice from their 2025 Q3 evaluation results.
    applies_from=date(2025, 7, 1),
    levels=(DISHONEST, SERIOUS, PARTICULARLY_SERIOUS),
    scales=MappingProxyType(
        {
            # 二: 严重 50万—100万, 特别严重 100万以上. Below 50万 the notice says nothing;
            # the former 一般/中等 levels it merges into 失信 covered it, so 失信 (a choice, as
            # RULES.md reads it).
            "commercial_bribery": AmountScale(
                bands=(
                    (Decimal("0.01"), DISHONEST),
                    (_yuan("50"), SERIOUS),
                    (_yuan("100"), PARTICULARLY_SERIOUS),
                ),
                below="a bribery rating needs a positive amount",
            ),
            # 二: 失信 5万—50万, 严重 50万—250万, 特别严重 250万以上; below 5万 no rating arises.
            "tax_violation": AmountScale(
                bands=(
                    (_yuan("5"), DISHONEST),
                    (_yuan("50"), SERIOUS),
                    (_yuan("250"), PARTICULARLY_SERIOUS),
                ),
                below="below the 50,000 yuan rating threshold",
            ),
        }
    ),
    # 二: bribing medical-insurance / procurement staff, or 围标串标 in national VBP → 顶格.
    top_rated=frozenset({"bribing_insurance_staff", "bid_rigging_vbp"}),
    escalate_at=3,  # 三: 在全国范围内累计"失信"3次以上 → 严重失信
    distributor_suspension_years=MappingProxyType(  # 三: 1 / 3 / 5 years by level
        {DISHONEST: 1, SERIOUS: 3, PARTICULARLY_SERIOUS: 5}
    ),
    producer_suspensions=MappingProxyType(  # 三: only 特别严重失信 producers are suspended
        {
            PARTICULARLY_SERIOUS: (
                "中止全部产品在评价省份的挂网、投标资格",
                "中止涉案产品在所有省份的挂网、投标资格",
            )
        }
    ),
    relisting_cut_percent=20,  # 三: 按不低于20%比例剔除价格虚高空间
    unreturned_gains_surcharge_percent=10,  # 三: 不能退回不合理收益的…进一步追加10%
    national=MappingProxyType(
        {
            DISHONEST: Category.GENERAL,
            SERIOUS: Category.SERIOUS,
            PARTICULARLY_SERIOUS: Category.SERIOUS,
        }
    ),
    evaluation_months=6,  # 五: 接到案源信息6个月内完成评价处置
    basis=MappingProxyType(
        {
            "sources": _basis("一"),
            "levels": _basis("二"),
            "measures": _basis("三"),
            "mitigation": _basis("四"),
            "timing": _basis("五"),
        }
    ),
)


def next_quarter_start(day: date) -> date:
    """First day of the quarter after `day` (五: 自完成评价的下季度首日正式生效)."""
    month = (day.month - 1) // 3 * 3 + 4
    return date(day.year + 1, 1, 1) if month > 12 else date(day.year, month, 1)


@dataclass(frozen=True)
class MedicalProcurementRules:
    edition: MedicalEdition = EDITION_2025
    source: str = SOURCE

    def classify(self, facts: Mapping[str, Any], ctx: Context) -> Classification:
        check_fields(facts, FIELDS)
        check_entity_kind(ctx, {"enterprise"})
        ed = self.edition
        violation = require_choice(facts, "violation", (*ed.scales, *ed.top_rated))
        case_source = require_choice(facts, "case_source", CASE_SOURCES)
        role = require_choice(facts, "enterprise_role", ROLES)
        received, completed = _dates(facts, ctx)
        notes = [f"case source: {CASE_SOURCES[case_source]} (一)"]

        level = self._level(violation, facts)
        if level == DISHONEST:
            earlier = sum(1 for r in prior_records(ctx, SOURCE) if r.source_level == DISHONEST)
            if earlier + 1 >= ed.escalate_at:
                level = SERIOUS
                notes.append(
                    f"upgraded to {SERIOUS}: {DISHONEST} rating no. {earlier + 1} nationwide "
                    f"(三: 累计{ed.escalate_at}次以上)"
                )

        mitigation = _mitigation_notes(facts, role)
        notes.extend(mitigation)
        deadline = national.add_months(received, ed.evaluation_months)
        if completed > deadline:
            notes.append(
                f"evaluation completed beyond {ed.evaluation_months} months of receiving the "
                f"case (deadline {deadline.isoformat()}, 五)"
            )
        if completed < ed.applies_from:
            notes.append(
                f"evaluation completed before {ed.applies_from.isoformat()}: the 2025 notice "
                "governs from the 2025 Q3 results; check whether the earlier standards apply"
            )
        if role == "producer":
            notes.append("liability pierces to the marketing-authorisation holder (四)")
        cited = ["sources", "levels", "measures"]
        if mitigation or role == "producer":
            cited.append("mitigation")  # 四 covers both the reductions and MAH piercing
        cited.append("timing")

        return national.classification(
            category=ed.national[level],
            source_level=level,
            start=next_quarter_start(completed),
            facts=facts,
            measures=self._measures(role, level, optional_bool(facts, "improper_gains_returned")),
            legal_basis=tuple(ed.basis[key] for key in cited),
            repair_requirements=_repair_requirements(role),
            notes=notes,
        )

    def _level(self, violation: str, facts: Mapping[str, Any]) -> str:
        ed = self.edition
        if violation in ed.top_rated:
            optional_amount(facts, "amount_yuan")  # validated when given; it cannot lower 顶格
            return ed.levels[-1]
        scale = ed.scales[violation]
        amount = require_amount(facts, "amount_yuan")
        level = None
        for lower, name in scale.bands:
            if amount >= lower:
                level = name  # a shared boundary belongs to the higher tier
        if level is None:
            raise RuleViolation("amount_yuan", scale.below)
        return level

    def _measures(self, role: str, level: str, gains_returned: bool | None) -> tuple[str, ...]:
        ed = self.edition
        marking = "标识评价结果，警示采购风险"  # 五
        if role == "distributor":
            years = ed.distributor_suspension_years[level]
            return (marking, f"暂停在评价省份的配送资格{years}年")
        # Producers and MAHs (liability pierces to the MAH, 四) answer for the case products.
        surcharge = ed.unreturned_gains_surcharge_percent
        gains = {
            None: (f"不能退回不合理收益的，在原降幅比例上追加{surcharge}%",),
            False: (f"不合理收益未退回：在原降幅比例上追加{surcharge}%",),
            True: (),
        }[gains_returned]
        return (
            marking,
            *ed.producer_suspensions.get(level, ()),
            f"涉案产品调整信用评价或重新挂网时按不低于{ed.relisting_cut_percent}%比例剔除价格虚高空间",
            *gains,
            "同厂家同通用名同剂型产品按差比价规则同步调整",
        )


def _dates(facts: Mapping[str, Any], ctx: Context) -> tuple[date, date]:
    received = require_date(facts, "case_received_on")
    completed = require_date(facts, "evaluation_completed_on")
    if completed < received:
        raise RuleViolation("evaluation_completed_on", "before case_received_on")
    if completed > ctx.decided_on:
        raise RuleViolation("evaluation_completed_on", "after the decision date")
    return received, completed


def _mitigation_notes(facts: Mapping[str, Any], role: str) -> list[str]:
    # 四 lets the province reduce measures 视情节 after the evaluation; that is a decision for
    # the authority, so the measures are listed in full and only flagged here.
    notes = []
    if flag(facts, "effective_testimony"):
        if role != "distributor":
            raise RuleViolation(
                "effective_testimony",
                "only a distribution enterprise can testify against the producer (四)",
            )
        notes.append(
            "effective testimony against the producer: measures may be reduced after evaluation "
            "(四, 视情节减免); not reduced automatically"
        )
    if flag(facts, "proactive_correction"):
        notes.append(
            "proactive correction at the pre-evaluation notice: measures may be reduced after "
            "evaluation (四, 视情节减免; charitable donations do not count); not reduced "
            "automatically"
        )
    return notes


def _repair_requirements(role: str) -> tuple[str, ...]:
    if role == "distributor":
        return ()
    return ("涉案产品已按要求剔除价格虚高空间（降价）的证明", "不合理收益退回情况说明")
