"""Grade policy: scorecard points → credit grade A/B/C/D, with hard rules that override the score.

The policy is data (`policies/grade-policy-2025.2.json`); a new edition is a new file with a new
version, never new branches here. 2025.2 names only the 严重违法失信名单 as a serious
dishonesty list: 2025.1 counted the NHSA's 严重失信 ratings too, which grade and list nobody.
This module only knows which facts each rule id tests.

Scale: the scorecard gives MORE points for LOWER risk; 600 points = 50:1 good:bad odds and every
20 points (PDO) double the odds, so 620 ≈ 100:1, 580 = 25:1, 540 = 6.25:1.

Order of decision:
1. the score alone gives `score_grade` (a threshold is a minimum, inclusive: 620 is A);
2. every hard rule whose fact holds caps the grade ("at best C" = min(score grade, C), D worst);
3. `decided_by` is the rule that actually lowered the grade (the strictest cap, ties to the
   earlier rule in the policy), or "score" when no rule lowered it.

Records shielded during a bankruptcy reorganisation or settlement (国办发〔2025〕22号 九) are not
counted here: the caller passes counts that already exclude them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from services.records.rules.base import LegalBasis

__all__ = [
    "DEFAULT_POLICY_PATH",
    "GRADES",
    "RULE_FACTS",
    "SCORE",
    "Exclusion",
    "GradeDecision",
    "GradeInputs",
    "GradePolicy",
    "HardRule",
    "PolicyError",
    "ScoreScale",
    "basis_from_dict",
    "basis_to_dict",
    "decide",
    "decide_many",
    "default_policy",
    "expect_bases",
    "expect_bool",
    "expect_keys",
    "expect_list",
    "expect_number",
    "expect_object",
    "expect_text",
    "load_policy",
]

GRADES = ("A", "B", "C", "D")  # best to worst; bulk codes are indexes into this tuple
SCORE = "score"  # decided_by when no hard rule lowered the grade
DEFAULT_POLICY_PATH = Path(__file__).parent / "policies" / "grade-policy-2025.2.json"

# The facts each known rule id tests; a rule fires when its fact is ≥ 1 (or true).
RULE_FACTS: Mapping[str, str] = MappingProxyType(
    {
        "serious_list": "on_serious_list",
        "active_serious_record": "n_active_serious",
        "active_general_record": "n_active_general",
    }
)


class PolicyError(Exception):
    """A policy document is malformed; `reason` names the offending field."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ScoreScale:
    points: float  # anchor points
    odds: float  # good:bad odds at the anchor
    pdo: float  # points that double the odds
    direction: str  # human-readable statement of the scale's sense

    def odds_at(self, points: float) -> float:
        return float(self.odds * 2.0 ** ((points - self.points) / self.pdo))

    def is_scale_of(self, base_points: float, base_odds: float, pdo: float) -> bool:
        """A scorecard scaled so has its points on this scale: the thresholds apply."""
        return (math.isclose(self.points, base_points) and math.isclose(self.odds, base_odds)
                and math.isclose(self.pdo, pdo))


@dataclass(frozen=True)
class HardRule:
    id: str  # one of RULE_FACTS
    cap: str  # best grade allowed while the rule fires
    zh: str
    en: str
    basis: tuple[LegalBasis, ...]


@dataclass(frozen=True)
class Exclusion:
    """Records the caller must leave out before counting; documented, not computed here."""

    id: str
    zh: str
    en: str
    basis: tuple[LegalBasis, ...]


@dataclass(frozen=True)
class GradePolicy:
    version: str
    scale: ScoreScale
    thresholds: tuple[float, float, float]  # minimum points for A, B, C; below C is D
    rules: tuple[HardRule, ...]
    score_basis: tuple[LegalBasis, ...]
    exclusions: tuple[Exclusion, ...] = ()

    def __post_init__(self) -> None:
        _check_policy(self)

    @property
    def decided_by_labels(self) -> tuple[str, ...]:
        """Bulk `decided_by` codes index this: 0 is the score, i is rules[i - 1]."""
        return (SCORE, *(r.id for r in self.rules))

    def score_grade(self, score: float) -> str:
        return GRADES[sum(score < t for t in self.thresholds)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "scale": {
                "points": self.scale.points,
                "odds": self.scale.odds,
                "pdo": self.scale.pdo,
                "direction": self.scale.direction,
            },
            "thresholds": dict(zip(GRADES[:3], self.thresholds, strict=True)),
            "score_basis": [basis_to_dict(b) for b in self.score_basis],
            "rules": [
                {
                    "id": r.id,
                    "cap": r.cap,
                    "zh": r.zh,
                    "en": r.en,
                    "basis": [basis_to_dict(b) for b in r.basis],
                }
                for r in self.rules
            ],
            "exclusions": [
                {"id": e.id, "zh": e.zh, "en": e.en, "basis": [basis_to_dict(b) for b in e.basis]}
                for e in self.exclusions
            ],
        }

    @classmethod
    def from_dict(cls, data: object) -> GradePolicy:
        top = expect_keys(
            data, "", {"version", "scale", "thresholds", "score_basis", "rules"}, {"exclusions"}
        )
        version = expect_text(top["version"], "version")
        scale = expect_keys(top["scale"], "scale", {"points", "odds", "pdo", "direction"})
        thresholds = expect_keys(top["thresholds"], "thresholds", set(GRADES[:3]))
        rules = []
        for i, item in enumerate(expect_list(top["rules"], "rules")):
            path = f"rules[{i}]"
            rule = expect_keys(item, path, {"id", "cap", "zh", "en", "basis"})
            rules.append(
                HardRule(
                    id=expect_text(rule["id"], f"{path}.id"),
                    cap=expect_text(rule["cap"], f"{path}.cap"),
                    zh=expect_text(rule["zh"], f"{path}.zh"),
                    en=expect_text(rule["en"], f"{path}.en"),
                    basis=expect_bases(rule["basis"], f"{path}.basis"),
                )
            )
        exclusions = []
        for i, item in enumerate(expect_list(top.get("exclusions", []), "exclusions")):
            path = f"exclusions[{i}]"
            excl = expect_keys(item, path, {"id", "zh", "en", "basis"})
            exclusions.append(
                Exclusion(
                    id=expect_text(excl["id"], f"{path}.id"),
                    zh=expect_text(excl["zh"], f"{path}.zh"),
                    en=expect_text(excl["en"], f"{path}.en"),
                    basis=expect_bases(excl["basis"], f"{path}.basis"),
                )
            )
        return cls(
            version=version,
            scale=ScoreScale(
                points=expect_number(scale["points"], "scale.points"),
                odds=expect_number(scale["odds"], "scale.odds"),
                pdo=expect_number(scale["pdo"], "scale.pdo"),
                direction=expect_text(scale["direction"], "scale.direction"),
            ),
            thresholds=(
                expect_number(thresholds["A"], "thresholds.A"),
                expect_number(thresholds["B"], "thresholds.B"),
                expect_number(thresholds["C"], "thresholds.C"),
            ),
            rules=tuple(rules),
            score_basis=expect_bases(top["score_basis"], "score_basis"),
            exclusions=tuple(exclusions),
        )

    @classmethod
    def from_json(cls, text: str) -> GradePolicy:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PolicyError(f"not valid JSON: {exc}") from None
        return cls.from_dict(data)


def _check_policy(p: GradePolicy) -> None:
    # Also guards policies built in code, so a bad edition fails at construction.
    if not isinstance(p.version, str) or not p.version.strip():
        raise PolicyError("version: missing")
    if not (p.scale.odds > 0 and p.scale.pdo > 0):
        raise PolicyError("scale: odds and pdo must be positive")
    if len(p.thresholds) != 3 or not all(math.isfinite(t) for t in p.thresholds):
        raise PolicyError("thresholds: expected finite minimum points for A, B and C")
    if not p.thresholds[0] > p.thresholds[1] > p.thresholds[2]:
        raise PolicyError("thresholds: must be strictly decreasing from A to C")
    seen: set[str] = set()
    for i, rule in enumerate(p.rules):
        if rule.id not in RULE_FACTS:
            known = ", ".join(sorted(RULE_FACTS))
            raise PolicyError(f"rules[{i}].id: unknown rule {rule.id!r}; expected one of {known}")
        if rule.id in seen:
            raise PolicyError(f"rules[{i}].id: duplicate rule {rule.id!r}")
        seen.add(rule.id)
        if rule.cap not in GRADES:
            raise PolicyError(f"rules[{i}].cap: unknown grade {rule.cap!r}")
        if not rule.basis:
            raise PolicyError(f"rules[{i}].basis: a hard rule must cite its legal basis")
    if not p.score_basis:
        raise PolicyError("score_basis: must cite at least one legal basis")


# --- Decisions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradeInputs:
    """Facts for the hard rules. Counts are of ACTIVE records (published, not repaired, not
    expired) and must already exclude records shielded during a bankruptcy reorganisation or
    settlement (国办发〔2025〕22号 九). `on_serious_list`: an active listing on a serious
    dishonesty list (services.records.queries.SERIOUS_LIST_LEVELS: the 严重违法失信名单)."""

    n_active_serious: int = 0
    n_active_general: int = 0
    on_serious_list: bool = False

    def __post_init__(self) -> None:
        for name in ("n_active_serious", "n_active_general"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}: expected a non-negative integer")
        if not isinstance(self.on_serious_list, bool):
            raise ValueError("on_serious_list: expected true or false")


Reason = tuple[str, str, str]  # (code, zh, en)


@dataclass(frozen=True)
class GradeDecision:
    grade: str
    score: float
    score_grade: str  # what the score alone gives
    decided_by: str  # SCORE or the id of the rule that lowered the grade
    reasons: list[Reason]  # the score first, then every rule that fired, in policy order
    legal_basis: tuple[LegalBasis, ...]
    policy_version: str


def decide(policy: GradePolicy, score: float, facts: GradeInputs) -> GradeDecision:
    if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
        raise ValueError("score: expected a finite number")
    by_score = policy.score_grade(score)
    fired = [r for r in policy.rules if getattr(facts, RULE_FACTS[r.id]) >= 1]
    grade_index, decided_by = GRADES.index(by_score), SCORE
    for rule in fired:
        # Strictly worse only: ties keep the earlier rule (or the score) as the decider.
        if GRADES.index(rule.cap) > grade_index:
            grade_index, decided_by = GRADES.index(rule.cap), rule.id
    # Full precision: a score just under a threshold must not print as the threshold.
    a, b, c = (f"{t:g}" for t in policy.thresholds)
    shown = f"{score:.10g}"
    reasons: list[Reason] = [
        (
            SCORE,
            f"信用评分{shown}分，按A≥{a}、B≥{b}、C≥{c}对应{by_score}级",
            f"score {shown} points gives {by_score} (A ≥ {a}, B ≥ {b}, C ≥ {c})",
        )
    ]
    reasons += [(r.id, r.zh, r.en) for r in fired]
    bases = dict.fromkeys(policy.score_basis)
    for rule in fired:
        bases.update(dict.fromkeys(rule.basis))
    return GradeDecision(
        grade=GRADES[grade_index],
        score=float(score),
        score_grade=by_score,
        decided_by=decided_by,
        reasons=reasons,
        legal_basis=tuple(bases),
        policy_version=policy.version,
    )


def decide_many(
    policy: GradePolicy,
    scores: npt.ArrayLike,
    n_serious: npt.ArrayLike,
    n_general: npt.ArrayLike,
    on_list: npt.ArrayLike,
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int8]]:
    """Bulk `decide`: (grade codes, decided_by codes) as int8 arrays.

    Grade code i is GRADES[i] (0 = A … 3 = D); decided_by code j is
    `policy.decided_by_labels[j]` (0 = score). Same semantics as `decide`, element-wise.
    """
    s = np.asarray(scores, dtype=np.float64)
    facts = {
        "n_active_serious": np.asarray(n_serious),
        "n_active_general": np.asarray(n_general),
        "on_serious_list": np.asarray(on_list, dtype=bool),
    }
    for name, arr in facts.items():
        if arr.shape != s.shape:
            raise ValueError(f"{name}: shape {arr.shape} differs from scores {s.shape}")
    if not np.isfinite(s).all():
        raise ValueError("scores: expected finite numbers")
    for name in ("n_active_serious", "n_active_general"):
        if facts[name].dtype.kind not in "iub" or (facts[name] < 0).any():
            raise ValueError(f"{name}: expected non-negative integers")
    # Thresholds are strictly decreasing, so the number missed is the grade index.
    by_score = np.zeros(s.shape, dtype=np.int8)
    for t in policy.thresholds:
        by_score += s < t
    grade = by_score.copy()
    fired = [facts[RULE_FACTS[r.id]] >= 1 for r in policy.rules]
    caps = [np.int8(GRADES.index(r.cap)) for r in policy.rules]
    for hit, cap in zip(fired, caps, strict=True):
        np.maximum(grade, np.where(hit, cap, np.int8(0)), out=grade)
    decided = np.zeros(s.shape, dtype=np.int8)
    # Reverse order so that, among rules reaching the final grade, the earliest one wins.
    for j in range(len(policy.rules) - 1, -1, -1):
        won = fired[j] & (caps[j] == grade) & (caps[j] > by_score)
        decided[won] = j + 1
    return grade, decided


# --- Loading ---------------------------------------------------------------------------------


def read_policy_file(path: Path | str) -> str:
    """A policy document's text; an unreadable file is a PolicyError naming it."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read {path}: {exc.strerror}") from None


def load_policy(path: Path | str = DEFAULT_POLICY_PATH) -> GradePolicy:
    return GradePolicy.from_json(read_policy_file(path))


@cache
def default_policy() -> GradePolicy:
    return load_policy()


# --- Strict readers for policy documents (shared with supervision.py) -----------------------


def expect_keys(
    value: object, path: str, required: Collection[str], optional: Collection[str] = ()
) -> Mapping[str, object]:
    """An object with exactly the required keys plus any of the optional ones."""
    value = expect_object(value, path)
    for key in value:
        if key not in required and key not in optional:
            raise PolicyError(f"{_join(path, str(key))}: unknown field")
    for key in sorted(required):
        if key not in value:
            raise PolicyError(f"{_join(path, key)}: missing")
    return value


def expect_object(value: object, path: str) -> Mapping[str, object]:
    """An object with any non-empty text keys (e.g. department names)."""
    if not isinstance(value, Mapping):
        raise PolicyError(f"{path or 'policy'}: expected an object")
    for key in value:
        if not isinstance(key, str) or not key.strip():
            raise PolicyError(f"{path or 'policy'}: keys must be non-empty text")
    return value


def expect_text(value: object, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(f"{path}: expected non-empty text")
    return value


def expect_number(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PolicyError(f"{path}: expected a finite number")
    return float(value)


def expect_bool(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise PolicyError(f"{path}: expected true or false")
    return value


def expect_list(value: object, path: str) -> Sequence[object]:
    if not isinstance(value, list):
        raise PolicyError(f"{path}: expected a list")
    return value


def basis_from_dict(value: object, path: str) -> LegalBasis:
    item = expect_keys(value, path, {"document", "provision", "source_line"}, {"number"})
    line = item["source_line"]
    if isinstance(line, bool) or not isinstance(line, int) or line < 1:
        raise PolicyError(f"{path}.source_line: expected a positive line number")
    provision, number = item["provision"], item.get("number", "")
    if not isinstance(provision, str) or not isinstance(number, str):
        raise PolicyError(f"{path}: provision and number must be text")
    return LegalBasis(expect_text(item["document"], f"{path}.document"), provision, line, number)


def basis_to_dict(basis: LegalBasis) -> dict[str, Any]:
    out: dict[str, Any] = {
        "document": basis.document,
        "provision": basis.provision,
        "source_line": basis.source_line,
    }
    if basis.number:
        out["number"] = basis.number
    return out


def expect_bases(value: object, path: str) -> tuple[LegalBasis, ...]:
    return tuple(basis_from_dict(b, f"{path}[{i}]") for i, b in enumerate(expect_list(value, path)))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
