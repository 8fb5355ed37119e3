"""Reproducible, publicly verifiable "双随机、一公开" draws (line 27 四).

Algorithm "draw-v3" (plans drawn with "draw-v1" or "draw-v2" still verify). Everything is
SHA-256 over UTF-8 text, hex digests, so anyone can recompute a published plan in any language
from the plan, the candidate list, the inspector list, the keys that earlier plans exclude
("previous": the department's previous plan's drawn keys, and the entities whose random draws
in the task's calendar year reached their grade's max_per_year) and the supervision policy:

1. Candidates are sorted by key (UTF-8 byte order = code point order). candidate_hash =
   SHA-256 of the lines "key|grade\\n". inspector_hash = SHA-256 of the lines
   "id|department|capacity|recusal1|recusal2…\\n" (sorted by id, recusals sorted).
   previous_hash = SHA-256 of the lines "key\\n" of the excluded ("previous") keys, sorted.
2. Per grade stratum A, B, C, D (the department's merged supervision table): triggered entities
   are always inspected and are not part of the random pool. Of the rest, an entity among the
   previous keys is excluded unless its grade may be redrawn (key supervision, i.e. D, or a
   draw ratio of 1). drawn = ceil(ratio × eligible) in exact decimal arithmetic, where ratio is
   the grade's draw_ratio, or 0 for a grade not inspected proactively (A: 无事不扰).
3. Eligible keys are ranked by SHA-256("seed|ALG|candidate_hash|grade|key") ascending (ALG is the
   plan's algorithm, e.g. "draw-v3"; ties, never seen in practice, by key); the first `drawn`
   are taken. Plan order: per grade A→D, the triggered entities by key, then the random ones in
   rank order.
4. Inspectors, for each planned entity in plan order: its inspectors not recused from it are
   ranked by SHA-256("seed|ALG|candidate_hash|inspector|entity_key|inspector_id") (rank ties,
   never seen, by id); the first k = `inspectors_per_entity` of them with capacity left (the
   open ones) are assigned. draw-v2 and v3: unless, with them taken, the capacity left could no
   longer give the R entities after this one k distinct inspectors each (Σ_i min(left_i, R) <
   k·R over all inspectors, recusals aside); then the k open ones with the most capacity left
   are assigned (capacity ties in rank order). Both also fail at once when Σ_i min(capacity_i,
   E) < k·E for the E planned entities.
5. draw-v3 only, when fewer than k were open (recusals left the entity's share with others):
   one more inspector at a time comes from the shortest chain of reassignments, found breadth
   first. The entity queues, in its rank order, the inspectors it may have and does not; the
   first inspector with capacity left to be queued ends the chain. Otherwise inspectors are
   taken from the queue in turn and followed to the entities staffed before that have them,
   in plan order, each entity once; each queues, in its own rank order, the inspectors it may
   have, does not have and that were not queued before. At the chain's end, the inspector
   with capacity goes to the entity that queued it, which gives up the inspector through which
   it was reached; that one goes to the entity that queued it, and so on back to the entity
   being staffed. Only the end's load changes, by one.
6. Every entity's inspectors are listed in its rank order. If an entity cannot be staffed the
   draw fails as a whole (`DrawError`).

The seed is an integer written as a decimal string (128 bits from os.urandom when not given, so
JSON readers without big integers keep it exact). draw-v1's greedy ranked choice could fail with
capacity to spare (3 inspectors of capacity 60 for 87 entities, 2 each: it depended on the
seed); draw-v2's capacity look-ahead never fails that way without recusals, but recusals could
still make it fail where another assignment fits. draw-v3 fails only where no assignment
exists: step 5 is an augmenting path of the flow source → entity (k) → inspector not recused
from it (1) → sink (capacity), and an entity no such path reaches cannot be staffed together
with the entities before it. The ranked choice stands wherever it leaves enough, so the
assignment stays random.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import math
import os
import sys
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

from services.scoring.policy import (
    GRADES,
    PolicyError,
    expect_keys,
    expect_list,
    expect_text,
)
from services.scoring.supervision import (
    GradeSupervision,
    SupervisionPolicy,
    default_supervision,
    load_supervision,
)

__all__ = [
    "ALGORITHM",
    "ALGORITHMS",
    "MAX_SEED_DIGITS",
    "Candidate",
    "DrawError",
    "DrawInputError",
    "DrawTask",
    "DrawTooLarge",
    "DrawnEntity",
    "InspectionPlan",
    "Inspector",
    "Published",
    "Stratum",
    "VerifyResult",
    "candidate_hash",
    "candidates_from_json",
    "draw",
    "inspector_hash",
    "inspectors_from_json",
    "main",
    "previous_from_json",
    "previous_hash",
    "verify",
]

ALGORITHM = "draw-v3"  # what new plans are drawn with
ALGORITHMS = ("draw-v1", "draw-v2", ALGORITHM)  # what plans may say (and are verified by)
RANKINGS_KEPT = 2_000_000  # inspector ids in the rankings draw-v3 keeps at most
MAX_SEED_DIGITS = 80  # a seed is a decimal string; drawn seeds have 39 digits at most
RANDOM = "random"
TRIGGERED = "triggered"
_FORBIDDEN = ("|", "\n", "\r")  # separators of the canonical lines


class DrawError(Exception):
    """The draw cannot be staffed (maps to FAILED_PRECONDITION); nothing was drawn."""


class DrawInputError(ValueError):
    """Malformed input: duplicate keys, unknown grades, bad JSON documents."""


class DrawTooLarge(DrawInputError):
    """More entity × inspector rankings than the caller allows (see `most_rankings`)."""


@dataclass(frozen=True)
class DrawTask:
    department: str
    name: str
    date: date


@dataclass(frozen=True)
class Candidate:
    key: str
    grade: str
    region: str = ""
    industry: str = ""
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Inspector:
    id: str
    name: str
    department: str
    capacity: int  # most entities this inspector can take in one plan
    recusals: frozenset[str] = frozenset()  # entity keys the inspector must not inspect


@dataclass(frozen=True)
class Stratum:
    grade: str
    candidates: int
    triggered: int
    excluded_previous: int  # among the previous keys (earlier plans) and not redrawable
    eligible: int  # candidates − triggered − excluded_previous
    ratio: str  # effective draw ratio as a decimal string; "0" when not inspected proactively
    drawn: int  # ceil(ratio × eligible), random


@dataclass(frozen=True)
class DrawnEntity:
    key: str
    grade: str
    reason: str  # RANDOM or TRIGGERED
    inspectors: tuple[str, ...]  # inspector ids in rank order
    region: str = ""
    industry: str = ""


@dataclass(frozen=True)
class InspectionPlan:
    task: DrawTask
    seed: int
    algorithm: str
    policy_version: str
    candidate_hash: str
    inspector_hash: str
    previous_hash: str
    inspectors_per_entity: int
    strata: tuple[Stratum, ...]
    entities: tuple[DrawnEntity, ...]

    @property
    def triggered(self) -> frozenset[str]:
        return frozenset(e.key for e in self.entities if e.reason == TRIGGERED)

    @property
    def plan_hash(self) -> str:
        return hashlib.sha256(_canonical(self.to_dict())).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "task": {
                "department": self.task.department,
                "name": self.task.name,
                "date": self.task.date.isoformat(),
            },
            "seed": str(self.seed),
            "policy_version": self.policy_version,
            "candidate_hash": self.candidate_hash,
            "inspector_hash": self.inspector_hash,
            "previous_hash": self.previous_hash,
            "inspectors_per_entity": self.inspectors_per_entity,
            "strata": [
                {
                    "grade": s.grade,
                    "candidates": s.candidates,
                    "triggered": s.triggered,
                    "excluded_previous": s.excluded_previous,
                    "eligible": s.eligible,
                    "ratio": s.ratio,
                    "drawn": s.drawn,
                }
                for s in self.strata
            ],
            "entities": [
                {
                    "key": e.key,
                    "grade": e.grade,
                    "reason": e.reason,
                    "inspectors": list(e.inspectors),
                    "region": e.region,
                    "industry": e.industry,
                }
                for e in self.entities
            ],
        }

    def to_json(self) -> str:
        """The published document: the plan plus its plan_hash, stable byte for byte."""
        body = {**self.to_dict(), "plan_hash": self.plan_hash}
        return json.dumps(body, ensure_ascii=False, sort_keys=True, indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: object) -> InspectionPlan:
        """Reads `to_dict()` output; a "plan_hash" key is accepted and not checked here."""
        with _reading("plan"):
            top = expect_keys(
                data,
                "",
                {
                    "algorithm", "task", "seed", "policy_version", "candidate_hash",
                    "inspector_hash", "previous_hash", "inspectors_per_entity", "strata",
                    "entities",
                },
                {"plan_hash"},
            )
            task = expect_keys(top["task"], "task", {"department", "name", "date"})
            seed = top["seed"]
            if not (isinstance(seed, str) and 0 < len(seed) <= MAX_SEED_DIGITS
                    and seed.isascii() and seed.isdigit()):
                raise DrawInputError(f"plan: seed: expected a decimal string of at most "
                                     f"{MAX_SEED_DIGITS} digits")
            strata = []
            for i, item in enumerate(expect_list(top["strata"], "strata")):
                path = f"strata[{i}]"
                s = expect_keys(item, path, set(_STRATUM_INTS) | {"grade", "ratio"})
                strata.append(
                    Stratum(
                        grade=expect_text(s["grade"], f"{path}.grade"),
                        ratio=expect_text(s["ratio"], f"{path}.ratio"),
                        **{n: _count(s[n], f"{path}.{n}") for n in _STRATUM_INTS},
                    )
                )
            entities = []
            for i, item in enumerate(expect_list(top["entities"], "entities")):
                path = f"entities[{i}]"
                e = expect_keys(item, path, {"key", "grade", "reason", "inspectors"},
                                {"region", "industry"})
                entities.append(
                    DrawnEntity(
                        key=expect_text(e["key"], f"{path}.key"),
                        grade=expect_text(e["grade"], f"{path}.grade"),
                        reason=expect_text(e["reason"], f"{path}.reason"),
                        inspectors=_texts(e["inspectors"], f"{path}.inspectors"),
                        region=_text_or_empty(e.get("region"), f"{path}.region"),
                        industry=_text_or_empty(e.get("industry"), f"{path}.industry"),
                    )
                )
            return cls(
                task=DrawTask(
                    department=expect_text(task["department"], "task.department"),
                    name=expect_text(task["name"], "task.name"),
                    date=_date(task["date"], "task.date"),
                ),
                seed=int(seed),
                algorithm=expect_text(top["algorithm"], "algorithm"),
                policy_version=expect_text(top["policy_version"], "policy_version"),
                candidate_hash=expect_text(top["candidate_hash"], "candidate_hash"),
                inspector_hash=expect_text(top["inspector_hash"], "inspector_hash"),
                previous_hash=expect_text(top["previous_hash"], "previous_hash"),
                inspectors_per_entity=_count(top["inspectors_per_entity"], "inspectors_per_entity"),
                strata=tuple(strata),
                entities=tuple(entities),
            )


_STRATUM_INTS = ("candidates", "triggered", "excluded_previous", "eligible", "drawn")


# --- Drawing ---------------------------------------------------------------------------------


def candidate_hash(candidates: Sequence[Candidate]) -> str:
    return _lines_hash(f"{c.key}|{c.grade}" for c in sorted(candidates, key=lambda c: c.key))


def inspector_hash(inspectors: Sequence[Inspector]) -> str:
    return _lines_hash(
        "|".join([i.id, i.department, str(i.capacity), *sorted(i.recusals)])
        for i in sorted(inspectors, key=lambda i: i.id)
    )


def previous_hash(previous: Collection[str]) -> str:
    return _lines_hash(sorted(set(previous)))


def draw(
    task: DrawTask,
    candidates: Sequence[Candidate],
    inspectors: Sequence[Inspector],
    policy: SupervisionPolicy,
    previous: Collection[str] = (),
    *,
    seed: int | None = None,
    triggered: Collection[str] = (),
    most_rankings: int | None = None,
    algorithm: str = ALGORITHM,
) -> InspectionPlan:
    """Draw entities and inspectors; raises `DrawError` (and returns nothing) if unstaffable.
    Staffing ranks every inspector for every drawn entity; more than `most_rankings` of those
    raises DrawTooLarge before any is computed (None: no bound). `algorithm`: one of
    ALGORITHMS (an older one only to recompute a plan drawn with it)."""
    if algorithm not in ALGORITHMS:
        raise DrawInputError(f"algorithm: {algorithm!r} is not one of {ALGORITHMS}")
    _check_inputs(candidates, inspectors, triggered)
    if seed is None:
        seed = int.from_bytes(os.urandom(16), "big")
    elif isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DrawInputError("seed: expected a non-negative integer")
    table = policy.for_department(task.department)
    c_hash = candidate_hash(candidates)
    was_drawn, forced = set(previous), set(triggered)

    strata: list[Stratum] = []
    planned: list[Candidate] = []
    reasons: dict[str, str] = {}
    for grade in GRADES:
        rule = table[grade]
        members = sorted((c for c in candidates if c.grade == grade), key=lambda c: c.key)
        hit = [c for c in members if c.key in forced]
        pool = [c for c in members if c.key not in forced]
        eligible = [c for c in pool if rule.redraw_allowed or c.key not in was_drawn]
        ratio = _ratio(rule)
        count = math.ceil(Fraction(ratio) * len(eligible))
        ranked = sorted(eligible,
                        key=lambda c: (_rank(seed, algorithm, c_hash, grade, c.key), c.key))
        picked = ranked[:count]
        strata.append(
            Stratum(
                grade=grade,
                candidates=len(members),
                triggered=len(hit),
                excluded_previous=len(pool) - len(eligible),
                eligible=len(eligible),
                ratio=ratio,
                drawn=count,
            )
        )
        planned += hit + picked
        reasons.update({c.key: TRIGGERED for c in hit} | {c.key: RANDOM for c in picked})

    if most_rankings is not None and len(planned) * len(inspectors) > most_rankings:
        raise DrawTooLarge(f"{len(planned):,} drawn entities × {len(inspectors):,} inspectors "
                           f"exceed {most_rankings:,} rankings")
    staff = _assign(seed, algorithm, c_hash, planned, inspectors, policy.inspectors_per_entity)
    return InspectionPlan(
        task=task,
        seed=seed,
        algorithm=algorithm,
        policy_version=policy.version,
        candidate_hash=c_hash,
        inspector_hash=inspector_hash(inspectors),
        previous_hash=previous_hash(previous),
        inspectors_per_entity=policy.inspectors_per_entity,
        strata=tuple(strata),
        entities=tuple(
            DrawnEntity(c.key, c.grade, reasons[c.key], staff[c.key], c.region, c.industry)
            for c in planned
        ),
    )


def _ratio(rule: GradeSupervision) -> str:
    # repr() is the shortest decimal that round-trips, so 0.07 stays "0.07", never 0.07000…01.
    return repr(rule.draw_ratio) if rule.proactive else "0"


def _assign(
    seed: int,
    algorithm: str,
    c_hash: str,
    planned: Sequence[Candidate],
    inspectors: Sequence[Inspector],
    per_entity: int,
) -> dict[str, tuple[str, ...]]:
    need = per_entity * len(planned)
    total = sum(i.capacity for i in inspectors)
    if total < need:
        raise DrawError(
            f"{len(planned)} entities need {need} inspector assignments; "
            f"the inspectors' capacity is {total}"
        )
    left = {i.id: i.capacity for i in inspectors}
    keeps_staffable = algorithm != "draw-v1"
    if keeps_staffable and not _staffable(left, (), len(planned), per_entity):
        usable = sum(min(c, len(planned)) for c in left.values())
        raise DrawError(
            f"{len(planned)} entities need {need} assignments to {per_entity} distinct "
            f"inspectors each; no inspector can take an entity twice, so the capacity that "
            f"counts is {usable}"
        )

    # Cached within a bound (about 2,000,000 ids, ~16 MB): draw-v3's chains revisit entities.
    @functools.lru_cache(maxsize=max(1, RANKINGS_KEPT // max(1, len(inspectors))))
    def ranking(key: str) -> list[str]:
        """The inspectors not recused from entity `key`, in its rank order."""
        allowed = [i.id for i in inspectors if key not in i.recusals]
        return sorted(allowed, key=lambda i: (_rank(seed, algorithm, c_hash, "inspector", key,
                                                    i), i))

    staffing = _Staffing(left, {c.key: n for n, c in enumerate(planned)}, ranking)
    for n, c in enumerate(planned):
        ranked = ranking(c.key)
        if len(ranked) < per_entity:
            raise DrawError(
                f"entity {c.key}: only {len(ranked)} inspectors are not recused; "
                f"{per_entity} are needed"
            )
        open_ = [i for i in ranked if left[i] > 0]
        chosen = open_[:per_entity]
        rest = len(planned) - n - 1
        if keeps_staffable and rest and not _staffable(left, set(chosen), rest, per_entity):
            # Stable sort: equal capacity keeps rank order, so the choice stays random.
            most = set(sorted(open_, key=lambda i: -left[i])[:per_entity])
            chosen = [i for i in open_ if i in most]  # listed in rank order, as always
        staffing.take(c.key, chosen)
        if algorithm == "draw-v3":
            while len(staffing.staff[c.key]) < per_entity and staffing.reassign(c.key):
                pass
        got = len(staffing.staff[c.key])
        if got < per_entity:
            also = ", even moving other entities' inspectors" if algorithm == "draw-v3" else ""
            raise DrawError(
                f"entity {c.key}: only {got} of the inspectors not recused from it "
                f"have capacity left{also}; {per_entity} are needed (add inspectors or "
                f"capacity)"
            )
    return {key: tuple(ids) for key, ids in staffing.staff.items()}


class _Staffing:
    """Who inspects whom so far, and draw-v3's repair (step 5 of the module docstring)."""

    def __init__(self, left: dict[str, int], position: Mapping[str, int],
                 ranking: Callable[[str], list[str]]) -> None:
        self.left, self.position = left, position
        # Rankings come from `ranking` when a chain needs them: kept for every entity they
        # would take planned entities × inspectors of memory.
        self.ranking = ranking
        self.staff: dict[str, list[str]] = {}  # entity → its inspectors, in its rank order
        self.holds: dict[str, set[str]] = {i: set() for i in left}  # inspector → entities

    def take(self, entity: str, chosen: list[str]) -> None:
        """Assigns `chosen` (in the entity's rank order) to `entity`."""
        self.staff[entity] = list(chosen)
        for i in chosen:
            self.left[i] -= 1
            self.holds[i].add(entity)

    def reassign(self, entity: str) -> bool:
        """Gives `entity` one more inspector through the shortest chain of reassignments;
        False when there is none."""
        reached: dict[str, tuple[str, str | None]] = {}  # inspector → (entity, gives up)
        queue: deque[str] = deque()
        ranks = {entity: self.ranking(entity)}  # of the entities expanded, also their set

        def reach(e: str, gives_up: str | None) -> str | None:
            """Queues the inspectors `e` may have and does not; the first with capacity left
            ends the search."""
            mine = self.staff[e]
            for i in ranks[e]:
                if i not in reached and i not in mine:
                    reached[i] = (e, gives_up)
                    if self.left[i] > 0:
                        return i
                    queue.append(i)
            return None

        end = reach(entity, None)
        while end is None and queue:
            full = queue.popleft()
            for e in sorted(self.holds[full] - ranks.keys(), key=self.position.__getitem__):
                ranks[e] = self.ranking(e)
                if (end := reach(e, full)) is not None:
                    break
        if end is None:
            return False
        self.left[end] -= 1
        i: str | None = end
        while i is not None:  # back along the chain: each entity takes i, gives up the next
            e, gives_up = reached[i]
            self._move(e, gives_up, i, ranks[e])
            i = gives_up
        return True

    def _move(self, entity: str, gives_up: str | None, takes: str, ranked: list[str]) -> None:
        mine = set(self.staff[entity]) - {gives_up} | {takes}
        self.staff[entity] = [i for i in ranked if i in mine]
        self.holds[takes].add(entity)
        if gives_up is not None:
            self.holds[gives_up].discard(entity)


def _staffable(left: Mapping[str, int], taking: Collection[str], rest: int,
               per_entity: int) -> bool:
    """Whether `rest` more entities can each get `per_entity` distinct inspectors from the
    capacity `left` once `taking` have taken one each, recusals aside: Σ min(left, rest) ≥
    per_entity × rest (the flow bound; each inspector serves an entity at most once)."""
    return sum(min(c - (i in taking), rest) for i, c in left.items()) >= per_entity * rest


def _rank(seed: int, algorithm: str, c_hash: str, *parts: str) -> bytes:
    return hashlib.sha256("|".join((str(seed), algorithm, c_hash, *parts)).encode()).digest()


def _lines_hash(lines: Iterable[str]) -> str:
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode("utf-8") + b"\n")
    return h.hexdigest()


def _check_inputs(
    candidates: Sequence[Candidate], inspectors: Sequence[Inspector], triggered: Collection[str]
) -> None:
    keys: set[str] = set()
    for c in candidates:
        _check_token(c.key, "candidate key")
        if c.key in keys:
            raise DrawInputError(f"candidate {c.key}: listed twice")
        if c.grade not in GRADES:
            raise DrawInputError(f"candidate {c.key}: unknown grade {c.grade!r}")
        keys.add(c.key)
    ids: set[str] = set()
    for i in inspectors:
        _check_token(i.id, "inspector id")
        _check_token(i.department, f"inspector {i.id}: department")
        if i.id in ids:
            raise DrawInputError(f"inspector {i.id}: listed twice")
        if isinstance(i.capacity, bool) or not isinstance(i.capacity, int) or i.capacity < 0:
            raise DrawInputError(f"inspector {i.id}: capacity must be a non-negative integer")
        for key in i.recusals:
            _check_token(key, f"inspector {i.id}: recusal")
        ids.add(i.id)
    for key in triggered:
        if key not in keys:
            raise DrawInputError(f"triggered entity {key}: not among the candidates")


def _check_token(value: object, what: str) -> None:
    if not isinstance(value, str) or not value or any(ch in value for ch in _FORBIDDEN):
        raise DrawInputError(f"{what}: expected non-empty text without '|' or line breaks")


# --- Verification ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    problems: list[str] = field(default_factory=list)


def verify(
    plan: InspectionPlan,
    candidates: Sequence[Candidate],
    inspectors: Sequence[Inspector],
    policy: SupervisionPolicy,
    previous: Collection[str] = (),
    most_rankings: int | None = None,
) -> VerifyResult:
    """Recompute the plan from its seed and triggered entities and compare every part;
    DrawTooLarge when the recomputation would exceed `most_rankings` (see `draw`)."""
    if plan.algorithm not in ALGORITHMS:
        return VerifyResult(False, [f"algorithm {plan.algorithm!r} is not one of {ALGORITHMS}"])
    problems: list[str] = []
    if plan.policy_version != policy.version:
        problems.append(
            f"policy_version: plan says {plan.policy_version}, the policy given is {policy.version}"
        )
    try:
        again = draw(
            plan.task, candidates, inspectors, policy, previous,
            seed=plan.seed, triggered=plan.triggered & {c.key for c in candidates},
            most_rankings=most_rankings, algorithm=plan.algorithm,
        )
    except DrawTooLarge:
        raise  # no verdict on the plan: it was not recomputed
    except (DrawError, DrawInputError) as exc:
        return VerifyResult(False, [*problems, f"recomputation failed: {exc}"])
    for name, what in (
        ("candidate_hash", "the candidate list differs from the one drawn from"),
        ("inspector_hash", "the inspector list differs from the one assigned from"),
        ("previous_hash", "the keys earlier plans exclude differ from those excluded"),
    ):
        mine, theirs = getattr(plan, name), getattr(again, name)
        if mine != theirs:
            problems.append(f"{name}: plan says {mine}, recomputed {theirs}: {what}")
    if plan.inspectors_per_entity != again.inspectors_per_entity:
        problems.append(
            f"inspectors_per_entity: plan says {plan.inspectors_per_entity}, "
            f"policy gives {again.inspectors_per_entity}"
        )
    problems += _compare_strata(plan.strata, again.strata)
    problems += _compare_entities(plan, again)
    return VerifyResult(not problems, problems)


def _compare_strata(mine: Sequence[Stratum], theirs: Sequence[Stratum]) -> list[str]:
    problems = []
    by_grade = {s.grade: s for s in mine}
    for grade in set(by_grade) - set(GRADES):
        problems.append(f"stratum {grade}: unknown grade")
    for s in theirs:
        got = by_grade.get(s.grade)
        if got is None:
            problems.append(f"stratum {s.grade}: missing from the plan")
            continue
        for name in (*_STRATUM_INTS, "ratio"):
            a, b = getattr(got, name), getattr(s, name)
            if a != b:
                problems.append(f"stratum {s.grade}: {name} is {a} in the plan, {b} recomputed")
    return problems


def _compare_entities(plan: InspectionPlan, again: InspectionPlan) -> list[str]:
    problems = []
    mine = {e.key: e for e in plan.entities}
    theirs = {e.key: e for e in again.entities}
    if len(mine) != len(plan.entities):
        problems.append("entities: an entity is listed more than once")
    extra = [e for e in plan.entities if e.key not in theirs]
    missing = [e for e in again.entities if e.key not in mine]
    for e in extra:
        problems.append(f"entity {e.key} (grade {e.grade}): in the plan but not drawn")
    for e in missing:
        problems.append(f"entity {e.key} (grade {e.grade}): drawn but missing from the plan")
    if extra or missing:
        problems.append(
            f"the drawn entities differ from a recomputation with seed {plan.seed}: "
            "the seed, the entities or the inputs were altered"
        )
    for key, e in mine.items():
        other = theirs.get(key)
        if other is None:
            continue
        for name in ("grade", "reason", "region", "industry"):
            a, b = getattr(e, name), getattr(other, name)
            if a != b:
                problems.append(f"entity {key}: {name} is {a!r} in the plan, {b!r} recomputed")
        if e.inspectors != other.inspectors:
            problems.append(
                f"entity {key}: inspectors {', '.join(e.inspectors)} in the plan, "
                f"{', '.join(other.inspectors)} recomputed"
            )
    if not extra and not missing and [e.key for e in plan.entities] != list(theirs):
        problems.append("entities: the plan order differs from the recomputed order")
    return problems


# --- The published document ----------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """What 一公开 publishes about a plan: the plan and every input needed to recompute it."""

    plan: InspectionPlan
    candidates: tuple[Candidate, ...]
    inspectors: tuple[Inspector, ...]
    previous: frozenset[str]
    policy: SupervisionPolicy
    claimed_hash: str | None = None  # the plan_hash the document states
    # Where `previous` comes from, so that it can be audited against the published plans:
    # "previous_plan_id" (or None) and, for the yearly cap, "year_plan_ids" (the department's
    # plans of the task's year whose random draws were counted) and "year_capped" (the keys
    # they bring to their grade's max_per_year). Not an input to the recomputation.
    provenance: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        # One checked, JSON-ready form however the object was built (sorted keys, lists).
        if self.provenance is not None:
            object.__setattr__(self, "provenance", _provenance(self.provenance))

    def to_json(self) -> str:
        body = {
            "plan": {**self.plan.to_dict(), "plan_hash": self.plan.plan_hash},
            "candidates": [{"key": c.key, "grade": c.grade, "region": c.region,
                            "industry": c.industry, "sources": list(c.sources)}
                           for c in sorted(self.candidates, key=lambda c: c.key)],
            "inspectors": [{"id": i.id, "name": i.name, "department": i.department,
                            "capacity": i.capacity, "recusals": sorted(i.recusals)}
                           for i in sorted(self.inspectors, key=lambda i: i.id)],
            "previous": sorted(self.previous),
            "supervision_policy": self.policy.to_dict(),
        }
        if self.provenance is not None:
            body["previous_provenance"] = self.provenance
        return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Published:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DrawInputError(f"published document: not valid JSON: {exc}") from None
        except (ValueError, RecursionError):  # a number of thousands of digits; deep nesting
            raise DrawInputError("published document: a number or nesting beyond any plan's"
                                 ) from None
        with _reading("published document"):
            top = expect_keys(data, "", {"plan", "candidates", "inspectors", "previous",
                                         "supervision_policy"}, {"previous_provenance"})
            provenance = (_provenance(top["previous_provenance"])
                          if "previous_provenance" in top else None)
        claimed = top["plan"].get("plan_hash") if isinstance(top["plan"], Mapping) else None
        return cls(
            plan=InspectionPlan.from_dict(top["plan"]),
            candidates=tuple(candidates_from_json(top["candidates"])),
            inspectors=tuple(inspectors_from_json(top["inspectors"])),
            previous=previous_from_json(top["previous"]),
            policy=_supervision_from(top["supervision_policy"]),
            claimed_hash=claimed if isinstance(claimed, str) else None,
            provenance=provenance,
        )

    @staticmethod
    def plan_of(text: str) -> InspectionPlan:
        """Only the plan of a published document (stored documents were checked when
        written; the candidate list, up to hundreds of thousands of entries, is parsed as JSON
        but not checked or turned into candidates)."""
        data = json.loads(text)
        if not isinstance(data, Mapping) or "plan" not in data:
            raise DrawInputError("published document: no plan")
        return InspectionPlan.from_dict(data["plan"])

    def verify(self, most_rankings: int | None = None) -> VerifyResult:
        """Recomputes the plan from the document's own inputs; also checks its plan_hash."""
        result = verify(self.plan, self.candidates, self.inspectors, self.policy, self.previous,
                        most_rankings)
        problems = list(result.problems)
        capped = set(self.provenance["year_capped"]) if self.provenance is not None else set()
        if not capped <= self.previous:
            problems.append(f"previous_provenance: {len(capped - self.previous)} capped keys "
                            "are not among the excluded (previous) keys")
        if self.claimed_hash != self.plan.plan_hash:
            problems.append(f"plan_hash: document says {self.claimed_hash}, "
                            f"content gives {self.plan.plan_hash}")
        return VerifyResult(not problems, problems)


def _supervision_from(data: object) -> SupervisionPolicy:
    with _reading("supervision_policy"):
        return SupervisionPolicy.from_dict(data)


# --- JSON documents and the command line ----------------------------------------------------


def candidates_from_json(data: object) -> list[Candidate]:
    with _reading("candidates"):
        out = []
        for i, item in enumerate(expect_list(data, "candidates")):
            path = f"[{i}]"
            c = expect_keys(item, path, {"key", "grade"}, {"region", "industry", "sources"})
            out.append(
                Candidate(
                    key=expect_text(c["key"], f"{path}.key"),
                    grade=expect_text(c["grade"], f"{path}.grade"),
                    region=_text_or_empty(c.get("region"), f"{path}.region"),
                    industry=_text_or_empty(c.get("industry"), f"{path}.industry"),
                    sources=_texts(c.get("sources", []), f"{path}.sources"),
                )
            )
        return out


def inspectors_from_json(data: object) -> list[Inspector]:
    with _reading("inspectors"):
        out = []
        for i, item in enumerate(expect_list(data, "inspectors")):
            path = f"[{i}]"
            x = expect_keys(item, path, {"id", "name", "department", "capacity"}, {"recusals"})
            out.append(
                Inspector(
                    id=expect_text(x["id"], f"{path}.id"),
                    name=expect_text(x["name"], f"{path}.name"),
                    department=expect_text(x["department"], f"{path}.department"),
                    capacity=_count(x["capacity"], f"{path}.capacity"),
                    recusals=frozenset(_texts(x.get("recusals", []), f"{path}.recusals")),
                )
            )
        return out


def previous_from_json(data: object) -> frozenset[str]:
    """A previous plan document (its drawn keys) or a plain list of keys."""
    if isinstance(data, list):
        with _reading("previous"):
            return frozenset(_texts(data, "previous"))
    return frozenset(e.key for e in InspectionPlan.from_dict(data).entities)


def _provenance(data: object) -> dict[str, Any]:
    """A published document's previous_provenance, checked (documents drawn before it existed
    have none). Informational: not an input of the recomputation nor part of plan_hash."""
    with _reading("previous_provenance"):
        x = expect_keys(data, "", {"previous_plan_id", "year_plan_ids", "year_capped"})
        previous_id = x["previous_plan_id"]
        return {
            "previous_plan_id": None if previous_id is None
            else expect_text(previous_id, "previous_plan_id"),
            "year_plan_ids": list(_texts(x["year_plan_ids"], "year_plan_ids")),
            "year_capped": sorted(_texts(x["year_capped"], "year_capped")),
        }


@contextmanager
def _reading(what: str) -> Iterator[None]:
    # The strict policy readers are reused; their errors are input errors here.
    try:
        yield
    except PolicyError as exc:
        raise DrawInputError(f"{what}: {exc.reason}") from None


def _count(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DrawInputError(f"{path}: expected a non-negative integer")
    return value


def _texts(value: object, path: str) -> tuple[str, ...]:
    return tuple(expect_text(v, f"{path}[{i}]") for i, v in enumerate(expect_list(value, path)))


def _text_or_empty(value: object, path: str) -> str:
    return "" if value is None or value == "" else expect_text(value, path)


def _date(value: object, path: str) -> date:
    try:
        return date.fromisoformat(expect_text(value, path))
    except ValueError:
        raise DrawInputError(f"{path}: expected an ISO date") from None


def _canonical(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _load(path: str) -> object:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DrawInputError(f"{path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise DrawInputError(f"{path}: not valid JSON: {exc}") from None


def _policy(path: str | None) -> SupervisionPolicy:
    return default_supervision() if path is None else load_supervision(path)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m services.scoring.draws", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("draw", help="draw a plan from JSON inputs and print it (or --out)")
    d.add_argument("candidates")
    d.add_argument("inspectors")
    d.add_argument("--department", required=True)
    d.add_argument("--name", required=True)
    d.add_argument("--date", required=True, help="YYYY-MM-DD")
    d.add_argument("--previous", help="the keys earlier plans exclude: the previous plan, "
                   "or a JSON list of keys")
    d.add_argument("--triggered", action="append", default=[], metavar="KEY")
    d.add_argument("--seed", type=int, help="default: 128 random bits, recorded in the plan")
    d.add_argument("--policy", help="supervision policy JSON (default: the shipped edition)")
    d.add_argument("--out", help="write the plan here instead of standard output")
    v = sub.add_parser("verify", help="recompute a plan and report every difference")
    v.add_argument("plan")
    v.add_argument("candidates")
    v.add_argument("inspectors")
    v.add_argument("--previous", help="the keys the plan excluded: the previous plan, or a "
                   "JSON list of keys (a published document lists them)")
    v.add_argument("--policy", help="supervision policy JSON (default: the shipped edition)")
    p = sub.add_parser("verify-published",
                       help="recompute a published plan document (GetInspectionPlan's "
                            "published_json) from the inputs it publishes")
    p.add_argument("document")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "verify-published":
        return _verify_published(args.document)
    try:
        candidates = candidates_from_json(_load(args.candidates))
        inspectors = inspectors_from_json(_load(args.inspectors))
        previous = previous_from_json(_load(args.previous)) if args.previous else frozenset()
        policy = _policy(args.policy)
        if args.command == "draw":
            task = DrawTask(args.department, args.name, _date(args.date, "--date"))
            plan = draw(task, candidates, inspectors, policy, previous,
                        seed=args.seed, triggered=args.triggered)
            if args.out:
                Path(args.out).write_text(plan.to_json(), encoding="utf-8")
                print(f"plan {plan.plan_hash}: {len(plan.entities)} entities")
            else:
                sys.stdout.write(plan.to_json())
            return 0
        document = _load(args.plan)
        plan = InspectionPlan.from_dict(document)
        result = verify(plan, candidates, inspectors, policy, previous)
        problems = list(result.problems)
        claimed = document.get("plan_hash") if isinstance(document, Mapping) else None
        if claimed is not None and claimed != plan.plan_hash:
            problems.append(f"plan_hash: document says {claimed}, content gives {plan.plan_hash}")
    except DrawError as exc:
        print(f"draw failed: {exc}", file=sys.stderr)
        return 1
    except (DrawInputError, PolicyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if problems:
        for problem in problems:
            print(f"FAIL {problem}")
        return 1
    print(f"OK {plan.plan_hash}")
    return 0


def _verify_published(path: str) -> int:
    try:
        published = Published.from_json(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        print(f"error: {path}: {exc.strerror}", file=sys.stderr)
        return 2
    except (DrawInputError, PolicyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = published.verify()
    for problem in result.problems:
        print(f"FAIL {problem}")
    if result.ok:
        print(f"OK {published.plan.plan_hash}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
