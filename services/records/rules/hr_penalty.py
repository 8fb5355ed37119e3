"""Jilin human-resources and social-security penalties (吉人社规〔2024〕4号, line 29).

Tiers come from 第十一条, no penalty / exemption from 第八条 / 第九条, mitigation from 第十条 and
第十二条. Nothing here aggravates: a defence can never raise the tier (第十三条), so no fact does.
The national category follows the suggested mapping 较轻 → 轻微, 较重 → 一般, 严重 → 严重.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from types import MappingProxyType
from typing import Any

from services.records.rules import national
from services.records.rules.base import (
    ENTITY_KINDS,
    Category,
    Classification,
    Context,
    LegalBasis,
    RuleViolation,
    check_fields,
    check_kind,
    flag,
    optional_choice,
    prior_records,
    require_choice,
    require_text,
)

__all__ = ["MITIGATIONS", "SOURCE", "TIERS", "HrPenaltyRules", "Tier"]

SOURCE = "hr_penalty"
DOCUMENT = "吉林省人力资源社会保障部门实施行政处罚裁量权规定"
NUMBER = "吉人社规〔2024〕4号"

FACT_NAMES = frozenset(
    {
        "tier",
        "no_penalty",
        "first_minor_exempt",
        "mitigation",
        "rectification_commitment",
        "violation",
        "publication_months",
    }
)


@cache  # a handful of articles, cited on every record
def _article(number: str) -> LegalBasis:
    return LegalBasis(DOCUMENT, f"第{number}条", 29, NUMBER)


@dataclass(frozen=True)
class Tier:
    name: str
    category: Category


# 第十一条: three tiers, lowest first (减轻 steps down this order).
TIERS: Mapping[str, Tier] = MappingProxyType(
    {
        "minor": Tier("情节较轻", Category.MINOR),
        "serious": Tier("情节较重", Category.GENERAL),
        "grave": Tier("情节严重", Category.SERIOUS),
    }
)
_ORDER = tuple(TIERS)

# 第十二条: 减轻 → within the next lower tier; 从轻 → the lower end of the same tier.
MITIGATIONS = frozenset({"none", "mitigated", "lenient"})

REPAIR = ("行政处罚决定已履行完毕的证明（如罚款缴纳凭证）", "违法行为已整改到位的证明")


@dataclass(frozen=True)
class HrPenaltyRules:
    source: str = SOURCE

    def classify(self, facts: Mapping[str, Any], ctx: Context) -> Classification:
        # Everything but the dates follows from the facts, the entity's kind and, for a claimed
        # exemption, its latest earlier hr_penalty record (第九条), which repeat across records:
        # assessed once per combination; only the publication window is worked out per record.
        latest = None
        if facts.get("first_minor_exempt"):
            # Only 第九条's exemption looks at the history; keyed by it only when claimed,
            # entities' own dates would make nearly every look-up a miss.
            latest = max((r.decided_on for r in prior_records(ctx, SOURCE)), default=None)
        try:
            assessment = _assessed(tuple(facts.items()), ctx.entity_kind, latest)
        except (AttributeError, TypeError):  # not a mapping of hashable values: uncached
            assessment = _assess(facts, ctx.entity_kind, latest)
        return assessment.classification(facts, ctx.decided_on)


@dataclass(frozen=True)
class _Assessment:
    """A classification without its dates."""

    listed: bool
    source_level: str
    category: Category | None
    measures: tuple[str, ...]
    legal_basis: tuple[LegalBasis, ...]
    notes: tuple[str, ...]
    minimum: bool

    def classification(self, facts: Mapping[str, Any], decided_on: date) -> Classification:
        if self.category is None:
            return national.not_listed(source_level=self.source_level, decided_on=decided_on,
                                       legal_basis=self.legal_basis, notes=self.notes)
        return national.classification(
            category=self.category,
            source_level=self.source_level,
            start=decided_on,
            facts=facts,
            measures=self.measures,
            legal_basis=self.legal_basis,
            repair_requirements=REPAIR,
            notes=self.notes,
            minimum=self.minimum,
        )


@lru_cache(maxsize=4096)
def _assessed(facts: tuple[tuple[str, Any], ...], kind: str,
              latest: date | None) -> _Assessment:
    # Invalid facts raise, and raising is never cached.
    return _assess(dict(facts), kind, latest)


def _assess(facts: Mapping[str, Any], kind: str, latest: date | None) -> _Assessment:
    """`latest`: the decision date of the entity's latest earlier hr_penalty record."""
    check_fields(facts, FACT_NAMES)
    check_kind(kind, ENTITY_KINDS)  # employers of every kind are subject to it
    tier = require_choice(facts, "tier", TIERS)
    violation = require_text(facts, "violation")
    mitigation = optional_choice(facts, "mitigation", MITIGATIONS, "none")
    commitment = flag(facts, "rectification_commitment")
    # 第六条: each violation is assessed on its own; one record per violation.
    notes = [f"assessed separately (第六条): {violation}"]

    unpenalised = _unpenalised(facts, latest, tier, mitigation, commitment)
    if unpenalised is not None:
        level, article = unpenalised
        return _Assessment(False, level, None, (), (_article("六"), _article(article)),
                           tuple(notes), False)

    applied, minimum = tier, False
    articles = ["六", "十一"]
    name = TIERS[tier].name
    if mitigation == "mitigated":
        articles.append("十二")
        step = _ORDER.index(tier)
        if step == 0:
            minimum = True  # no tier below 情节较轻: the lowest standard is as far as it goes
            measure = f"在{name}档以下减轻处罚（减轻，无更低档次）"
            notes.append(f"减轻 from {name}: no lower tier, lowest standard applied (第十二条)")
        else:
            applied = _ORDER[step - 1]
            lower = TIERS[applied].name
            measure = f"在{lower}档处罚标准内实施行政处罚（减轻）"
            notes.append(f"减轻 (第十二条): {name} → {lower}")
    elif mitigation == "lenient":
        articles.append("十二")
        minimum = True
        measure = f"在{name}档处罚标准内较低档次实施行政处罚（从轻）"
        notes.append(f"从轻 (第十二条): lower end of {name}, minimum publication period")
    else:
        measure = f"按{name}档处罚标准实施行政处罚"
    measures = [measure]
    if commitment:
        articles.append("十")
        if mitigation == "mitigated":
            minimum = True  # 第十条: 可以减轻处罚，适用最低的处罚标准
            measures.append("适用最低的处罚标准（承诺限期整改）")
        else:
            notes.append("commitment to rectify recorded; 第十条 allows, not requires, 减轻")

    return _Assessment(True, TIERS[applied].name, TIERS[applied].category, tuple(measures),
                       tuple(_article(a) for a in articles), tuple(notes), minimum)


def _unpenalised(
    facts: Mapping[str, Any], latest: date | None, tier: str, mitigation: str, commitment: bool
) -> tuple[str, str] | None:
    """(level, article) when 第八条 or 第九条 leaves the violation unpenalised, else None."""
    no_penalty, exempt = flag(facts, "no_penalty"), flag(facts, "first_minor_exempt")
    if not (no_penalty or exempt):
        return None
    claimed = "no_penalty" if no_penalty else "first_minor_exempt"
    if tier != "minor":
        raise RuleViolation(claimed, "applies only to tier minor (违法行为轻微, 第八条 / 第九条)")
    if exempt and latest is not None:
        raise RuleViolation(
            "first_minor_exempt",
            f"not a first violation: an earlier {SOURCE} record of {latest} (第九条)",
        )
    if mitigation != "none":
        raise RuleViolation("mitigation", "nothing to mitigate when no penalty is imposed")
    if commitment:
        raise RuleViolation(
            "rectification_commitment", "第十条 concerns violations that must be penalised"
        )
    if facts.get("publication_months") is not None:
        raise RuleViolation("publication_months", "nothing is published without a penalty")
    # 第八条 (不予处罚) is unconditional and so prevails over the discretionary 第九条.
    return ("不予处罚", "八") if no_penalty else ("免予处罚", "九")
