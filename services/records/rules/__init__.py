"""Legal rules that turn the facts of a finding into a dishonesty classification.

One module per source; each keeps its policy as data tables citing the provision they encode.
`classify(source, facts, ctx)` dispatches to the rule set registered for the source.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.records.rules.base import (
    ENTITY_KINDS,
    Category,
    Classification,
    Context,
    LegalBasis,
    PriorRecord,
    RuleSet,
    RuleViolation,
)
from services.records.rules.credit_service_agency import (
    CreditServiceAgencyRules,
    annual_report_required,
    missing_annual_report_years,
    registration_refusal_reason,
)
from services.records.rules.fire_products import FireProductRules
from services.records.rules.hr_penalty import HrPenaltyRules
from services.records.rules.medical_procurement import MedicalProcurementRules
from services.records.rules.national import add_months

__all__ = [
    "ENTITY_KINDS",
    "RULESETS",
    "Category",
    "Classification",
    "Context",
    "LegalBasis",
    "PriorRecord",
    "RuleSet",
    "RuleViolation",
    "add_months",
    "annual_report_required",
    "classify",
    "missing_annual_report_years",
    "registration_refusal_reason",
]

RULESETS: dict[str, RuleSet] = {
    rules.source: rules
    for rules in (
        MedicalProcurementRules(),
        FireProductRules(),
        CreditServiceAgencyRules(),
        HrPenaltyRules(),
    )
}


def classify(source: str, facts: Mapping[str, Any], ctx: Context) -> Classification:
    rules = RULESETS.get(source)
    if rules is None:
        raise RuleViolation("source", f"unknown source; expected one of {', '.join(RULESETS)}")
    return rules.classify(facts, ctx)
