"""The contract every rule set implements, and the readers that validate request facts.

A rule set turns the facts of one finding into a `Classification`: the source's own level, the
national category (国办发〔2025〕22号), publication and repair dates, measures and legal basis.
Bad facts raise `RuleViolation` naming the offending field, never a bare `KeyError`/`ValueError`.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple, Protocol

__all__ = [
    "ENTITY_KINDS",
    "Category",
    "Classification",
    "Context",
    "LegalBasis",
    "PriorRecord",
    "RuleSet",
    "RuleViolation",
    "check_entity_kind",
    "check_fields",
    "check_kind",
    "flag",
    "optional_amount",
    "optional_bool",
    "optional_choice",
    "optional_date",
    "optional_int",
    "parse_amount",
    "prior_records",
    "require_amount",
    "require_choice",
    "require_date",
    "require_dates",
    "require_int",
    "require_text",
]


class Category(enum.StrEnum):
    """National dishonesty category (国办发〔2025〕22号 二)."""

    MINOR = "minor"  # 轻微
    GENERAL = "general"  # 一般
    SERIOUS = "serious"  # 严重


ENTITY_KINDS = frozenset({"enterprise", "credit_service_agency", "institution", "person"})


class LegalBasis(NamedTuple):
    """One cited provision of a policy document in the shared source text.

    A named tuple, not a dataclass: classifications hash these (rule-text cache) per record.
    """

    document: str
    provision: str
    source_line: int  # line in /work/shared/policy/000_9a478acafa264fa6.txt
    number: str = ""  # 文号, e.g. "国办发〔2025〕22号"; empty when the source gives none

    def cite(self) -> str:
        number = f"（{self.number}）" if self.number else ""
        return f"《{self.document}》{number}{self.provision}（source line {self.source_line}）"


class RuleViolation(Exception):
    """The facts cannot be classified: `field` is the path within the facts, `reason` English."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class PriorRecord(NamedTuple):
    """An earlier record of the same entity, from any source (a named tuple: ingestion
    builds one per record)."""

    source: str
    source_level: str
    violation: str
    decided_on: date
    category: Category | None


class Context(NamedTuple):
    """What a rule set knows besides the facts (a named tuple: built once per record)."""

    decided_on: date  # 决定日期 of the finding being classified
    history: Sequence[PriorRecord]  # earlier records of the entity, not including this one
    entity_kind: str  # one of ENTITY_KINDS
    annual_reports: frozenset[int] = frozenset()  # years with a filed annual report (agencies)


# Built once per ingested record: not frozen, since a frozen dataclass's __init__ costs five
# times as much (1.7 µs against 0.35 µs with slots); never mutated once built.
@dataclass(slots=True)
class Classification:
    listed: bool  # False: no dishonesty information arises
    source_level: str  # the source's own level, in Chinese
    category: Category | None  # None iff not listed
    published: bool
    publication_start: date  # the effective date
    publication_end: date | None  # exclusive; None when not published
    repair_eligible_from: date
    measures: tuple[str, ...]
    legal_basis: tuple[LegalBasis, ...]
    repair_requirements: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Invariants other services rely on; a breach is a bug in a rule set, not bad input.
        if self.listed != (self.category is not None):
            raise ValueError("category must be set exactly when the record is listed")
        if self.published and not self.listed:
            raise ValueError("an unlisted record cannot be published")
        if self.published != (self.publication_end is not None):
            raise ValueError("publication_end must be set exactly when published")
        if self.publication_end is not None and self.publication_end <= self.publication_start:
            raise ValueError("publication_end must follow publication_start")
        if self.repair_eligible_from < self.publication_start:
            raise ValueError("repair cannot be applied for before the record takes effect")


class RuleSet(Protocol):
    @property
    def source(self) -> str: ...

    def classify(self, facts: Mapping[str, Any], ctx: Context) -> Classification: ...


# --- Reading facts ---------------------------------------------------------------------------
# A fact that is absent or None is "not given"; anything else must have the expected type.


def check_fields(facts: Mapping[str, Any], allowed: Collection[str]) -> None:
    """Reject unknown fields: a misspelt aggravating fact must not be silently ignored."""
    if not isinstance(facts, Mapping):
        raise RuleViolation("", "facts must be a mapping of field names to values")
    for key in facts:
        if key not in allowed:
            raise RuleViolation(str(key), f"unknown field; expected one of {_listing(allowed)}")


def check_entity_kind(ctx: Context, allowed: Collection[str]) -> None:
    check_kind(ctx.entity_kind, allowed)


def check_kind(kind: str, allowed: Collection[str]) -> None:
    if kind not in ENTITY_KINDS:
        raise RuleViolation("entity.kind", f"unknown entity kind {kind!r}")
    if kind not in allowed:
        raise RuleViolation(
            "entity.kind", f"{kind!r} is not subject to this source; expected {_listing(allowed)}"
        )


def prior_records(ctx: Context, source: str) -> tuple[PriorRecord, ...]:
    """Earlier records of `source`; records dated after the decision are not prior to it."""
    return tuple(r for r in ctx.history if r.source == source and r.decided_on <= ctx.decided_on)


def require_choice(facts: Mapping[str, Any], name: str, choices: Collection[str]) -> str:
    value = facts.get(name)
    if value is None:
        raise RuleViolation(name, "missing")
    return _choice(value, name, choices)


def optional_choice(
    facts: Mapping[str, Any], name: str, choices: Collection[str], default: str
) -> str:
    value = facts.get(name)
    return default if value is None else _choice(value, name, choices)


def optional_bool(facts: Mapping[str, Any], name: str) -> bool | None:
    value = facts.get(name)
    if value is None or isinstance(value, bool):
        return value
    raise RuleViolation(name, "expected true or false")


def flag(facts: Mapping[str, Any], name: str) -> bool:
    """An optional yes/no fact; absent means no."""
    return optional_bool(facts, name) is True


def require_int(facts: Mapping[str, Any], name: str) -> int:
    value = optional_int(facts, name)
    if value is None:
        raise RuleViolation(name, "missing")
    return value


def optional_int(facts: Mapping[str, Any], name: str) -> int | None:
    value = facts.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleViolation(name, "expected an integer")
    return value


def require_text(facts: Mapping[str, Any], name: str) -> str:
    value = facts.get(name)
    if value is None:
        raise RuleViolation(name, "missing")
    if not isinstance(value, str) or not value.strip():
        raise RuleViolation(name, "expected non-empty text")
    return value.strip()


def require_date(facts: Mapping[str, Any], name: str) -> date:
    value = optional_date(facts, name)
    if value is None:
        raise RuleViolation(name, "missing")
    return value


def optional_date(facts: Mapping[str, Any], name: str) -> date | None:
    value = facts.get(name)
    return None if value is None else _date(value, name)


def require_dates(facts: Mapping[str, Any], name: str) -> tuple[date, ...]:
    value = facts.get(name)
    if value is None:
        raise RuleViolation(name, "missing")
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise RuleViolation(name, "expected a list of dates")
    return tuple(_date(item, f"{name}[{i}]") for i, item in enumerate(value))


def require_amount(facts: Mapping[str, Any], name: str) -> Decimal:
    value = optional_amount(facts, name)
    if value is None:
        raise RuleViolation(name, "missing")
    return value


def optional_amount(facts: Mapping[str, Any], name: str) -> Decimal | None:
    value = facts.get(name)
    return None if value is None else parse_amount(value, name)


def parse_amount(value: object, field: str) -> Decimal:
    """A yuan amount: a decimal string (ints and Decimals accepted), ≥ 0, at most 2 decimals."""
    # Floats are refused: binary fractions cannot carry fen exactly.
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise RuleViolation(field, "expected a decimal string such as '500000.00'")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise RuleViolation(field, "not a decimal number") from None
    if not amount.is_finite():
        raise RuleViolation(field, "not a finite number")
    if amount < 0:
        raise RuleViolation(field, "negative amount")
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise RuleViolation(field, "more than 2 decimals (amounts are in yuan to the fen)")
    return amount


def _choice(value: object, name: str, choices: Collection[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise RuleViolation(name, f"unknown value {value!r}; expected one of {_listing(choices)}")
    return value


def _date(value: object, field: str) -> date:
    # A datetime is a date subclass; refusing it keeps time zones out of legal day counts.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise RuleViolation(field, "expected a date")
    return value


def _listing(choices: Collection[str]) -> str:
    return ", ".join(sorted(choices))
