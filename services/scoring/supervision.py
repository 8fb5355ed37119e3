"""Supervision per credit grade (分级分类监管): sampling ratios, frequency, measures and flags.

The policy is data (`policies/supervision-2025.1.json`). Defaults apply to every department;
a department's override changes individual fields of individual grades and is merged over the
defaults (`for_department`). Every merged table is validated when the policy is loaded, so a
bad override fails at start-up, not in the middle of a draw.

Sources: 分级分类监管 (line 6 三（三）; line 21 一（二）18), "信用+免审" (line 27 三),
"双随机、一公开" and "清单之外无检查" (line 27 四; line 21 一（三）23), "综合查一次" and
无感监管 (line 21 一（二）18). The ratios are not in the source file: they follow one county's
published market-supervision credit-risk classification (RULES.md, public reference points).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from services.records.rules.base import LegalBasis
from services.scoring.policy import (
    GRADES,
    PolicyError,
    basis_to_dict,
    expect_bases,
    expect_bool,
    expect_keys,
    expect_list,
    expect_number,
    expect_object,
    expect_text,
    read_policy_file,
)

__all__ = [
    "DEFAULT_SUPERVISION_PATH",
    "DepartmentOverride",
    "GradeSupervision",
    "Principle",
    "SupervisionPolicy",
    "default_supervision",
    "load_supervision",
]

DEFAULT_SUPERVISION_PATH = Path(__file__).parent / "policies" / "supervision-2025.1.json"


@dataclass(frozen=True)
class GradeSupervision:
    grade: str
    ratio_min: float  # share of the grade's entities sampled per plan, lower bound
    ratio_max: float  # upper bound
    draw_ratio: float  # the fixed share a draw uses; within [ratio_min, ratio_max]
    max_per_year: int | None  # proactive inspections a year, inclusive; None = as needed
    frequency_zh: str
    frequency_en: str
    measures_zh: str
    measures_en: str
    proactive: bool  # False = 无事不扰: inspected only when triggered
    key_supervision: bool  # 重点监管
    exempt_review: bool  # eligible for "信用+免审"
    contactless: bool  # eligible for off-site 无感监管

    @property
    def redraw_allowed(self) -> bool:
        """May be drawn in consecutive plans: key supervision, or everyone is inspected anyway."""
        return self.key_supervision or self.draw_ratio >= 1.0


# Readers for the fields a grade entry (or an override) may carry; `grade` comes from the key.
def _optional_count(value: object, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PolicyError(f"{path}: expected a non-negative integer or null (as needed)")
    return value


_FIELDS: Mapping[str, Callable[[object, str], object]] = MappingProxyType(
    {
        "ratio_min": expect_number,
        "ratio_max": expect_number,
        "draw_ratio": expect_number,
        "max_per_year": _optional_count,
        "frequency_zh": expect_text,
        "frequency_en": expect_text,
        "measures_zh": expect_text,
        "measures_en": expect_text,
        "proactive": expect_bool,
        "key_supervision": expect_bool,
        "exempt_review": expect_bool,
        "contactless": expect_bool,
    }
)


@dataclass(frozen=True)
class Principle:
    """A supervision principle the grades implement, with where it is published."""

    id: str
    zh: str
    en: str
    basis: tuple[LegalBasis, ...]  # empty when only a public reference exists
    reference: str = ""  # a published source outside the policy file


@dataclass(frozen=True)
class DepartmentOverride:
    department: str
    note: str  # why the department departs from the defaults
    basis: tuple[LegalBasis, ...]
    grades: Mapping[str, Mapping[str, Any]]  # grade → field → value, checked by _FIELDS


@dataclass(frozen=True)
class SupervisionPolicy:
    version: str
    inspectors_per_entity: int  # inspectors assigned to each drawn entity; at least 2
    ratio_reference: str  # where the default ratios come from
    principles: tuple[Principle, ...]
    grades: Mapping[str, GradeSupervision]
    departments: Mapping[str, DepartmentOverride] = dataclasses.field(
        default_factory=lambda: MappingProxyType({})
    )
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.version, str) or not self.version.strip():
            raise PolicyError("version: missing")
        if (
            isinstance(self.inspectors_per_entity, bool)
            or not isinstance(self.inspectors_per_entity, int)
            or self.inspectors_per_entity < 2
        ):
            # Inspections are carried out by at least two officers.
            raise PolicyError("inspectors_per_entity: expected an integer of at least 2")
        if set(self.grades) != set(GRADES):
            missing = sorted(set(GRADES) - set(self.grades))
            extra = sorted(set(self.grades) - set(GRADES))
            raise PolicyError(f"grades: expected A to D; missing {missing}, unknown {extra}")
        for grade, entry in self.grades.items():
            _check_grade(entry, grade, f"grades.{grade}")
        for name, override in self.departments.items():
            for grade in override.grades:
                if grade not in GRADES:
                    raise PolicyError(f"departments.{name}.grades.{grade}: unknown grade")
            for grade, entry in self.for_department(name).items():
                _check_grade(entry, grade, f"departments.{name}.grades.{grade}")

    def for_department(self, department: str | None) -> Mapping[str, GradeSupervision]:
        """The defaults with the department's override merged over them (field by field)."""
        override = self.departments.get(department) if department is not None else None
        if override is None:
            return self.grades
        merged = {
            grade: dataclasses.replace(entry, **override.grades.get(grade, {}))
            for grade, entry in self.grades.items()
        }
        return MappingProxyType(merged)

    def grade(self, grade: str, department: str | None = None) -> GradeSupervision:
        if grade not in GRADES:
            raise KeyError(grade)
        return self.for_department(department)[grade]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "inspectors_per_entity": self.inspectors_per_entity,
            "ratio_reference": self.ratio_reference,
            "notes": list(self.notes),
            "principles": [
                {
                    "id": p.id,
                    "zh": p.zh,
                    "en": p.en,
                    "basis": [basis_to_dict(b) for b in p.basis],
                    **({"reference": p.reference} if p.reference else {}),
                }
                for p in self.principles
            ],
            "grades": {
                grade: {name: getattr(self.grades[grade], name) for name in _FIELDS}
                for grade in GRADES
            },
            "departments": {
                name: {
                    "note": o.note,
                    "basis": [basis_to_dict(b) for b in o.basis],
                    "grades": {g: dict(fields) for g, fields in o.grades.items()},
                }
                for name, o in self.departments.items()
            },
        }

    @classmethod
    def from_dict(cls, data: object) -> SupervisionPolicy:
        top = expect_keys(
            data,
            "",
            {"version", "inspectors_per_entity", "ratio_reference", "principles", "grades"},
            {"departments", "notes"},
        )
        grades_in = expect_keys(top["grades"], "grades", set(GRADES))
        grades = {
            grade: GradeSupervision(
                grade=grade, **_fields(grades_in[grade], f"grades.{grade}", partial=False)
            )
            for grade in GRADES
        }
        departments = {}
        for name, item in expect_object(top.get("departments", {}), "departments").items():
            path = f"departments.{name}"
            entry = expect_keys(item, path, {"note", "grades"}, {"basis"})
            changes = expect_object(entry["grades"], f"{path}.grades")
            departments[name] = DepartmentOverride(
                department=name,
                note=expect_text(entry["note"], f"{path}.note"),
                basis=expect_bases(entry.get("basis", []), f"{path}.basis"),
                grades=MappingProxyType(
                    {
                        g: MappingProxyType(_fields(v, f"{path}.grades.{g}", partial=True))
                        for g, v in changes.items()
                    }
                ),
            )
        principles = []
        for i, item in enumerate(expect_list(top["principles"], "principles")):
            path = f"principles[{i}]"
            entry = expect_keys(item, path, {"id", "zh", "en", "basis"}, {"reference"})
            reference = entry.get("reference", "")
            principles.append(
                Principle(
                    id=expect_text(entry["id"], f"{path}.id"),
                    zh=expect_text(entry["zh"], f"{path}.zh"),
                    en=expect_text(entry["en"], f"{path}.en"),
                    basis=expect_bases(entry["basis"], f"{path}.basis"),
                    reference=expect_text(reference, f"{path}.reference") if reference else "",
                )
            )
        inspectors = top["inspectors_per_entity"]
        if isinstance(inspectors, bool) or not isinstance(inspectors, int):
            raise PolicyError("inspectors_per_entity: expected an integer")
        return cls(
            version=expect_text(top["version"], "version"),
            inspectors_per_entity=inspectors,
            ratio_reference=expect_text(top["ratio_reference"], "ratio_reference"),
            principles=tuple(principles),
            grades=MappingProxyType(grades),
            departments=MappingProxyType(departments),
            notes=tuple(
                expect_text(n, f"notes[{i}]")
                for i, n in enumerate(expect_list(top.get("notes", []), "notes"))
            ),
        )

    @classmethod
    def from_json(cls, text: str) -> SupervisionPolicy:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PolicyError(f"not valid JSON: {exc}") from None
        return cls.from_dict(data)


def _fields(value: object, path: str, *, partial: bool) -> dict[str, Any]:
    entry = expect_keys(value, path, () if partial else set(_FIELDS), set(_FIELDS))
    return {name: _FIELDS[name](entry[name], f"{path}.{name}") for name in entry}


def _check_grade(g: GradeSupervision, grade: str, path: str) -> None:
    for name in ("ratio_min", "ratio_max", "draw_ratio"):
        value = getattr(g, name)
        if not 0.0 <= value <= 1.0:
            raise PolicyError(f"{path}.{name}: {value} is outside [0, 1]")
    if g.ratio_min > g.ratio_max:
        raise PolicyError(f"{path}: ratio_min {g.ratio_min} exceeds ratio_max {g.ratio_max}")
    if not g.ratio_min <= g.draw_ratio <= g.ratio_max:
        raise PolicyError(
            f"{path}.draw_ratio: {g.draw_ratio} is outside [{g.ratio_min}, {g.ratio_max}]"
        )
    if g.grade != grade:
        raise PolicyError(f"{path}.grade: entry for {g.grade!r} filed under {grade!r}")
    if g.redraw_allowed and g.max_per_year is not None:
        # Draws never leave such a grade out (plans._at_yearly_cap, draws step 2): a cap on it
        # would be published and silently not applied.
        raise PolicyError(f"{path}.max_per_year: a grade drawn in every plan (key supervision "
                          "or draw_ratio 1) takes no yearly cap; set it to null")


def load_supervision(path: Path | str = DEFAULT_SUPERVISION_PATH) -> SupervisionPolicy:
    return SupervisionPolicy.from_json(read_policy_file(path))


@cache
def default_supervision() -> SupervisionPolicy:
    return load_supervision()
