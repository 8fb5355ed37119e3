"""Tiered lists, counts, draw candidates and stored plans on real SQLite and PostgreSQL: the
queries use operators (bit masks, prefix ranges, row-value comparison) whose spelling differs
between the engines."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import inspect

from services.common.db import migrate
from services.scoring import grades as q
from services.scoring import plans
from services.scoring.draws import RANDOM, DrawError, DrawTask, Inspector, Published
from services.scoring.models import SCHEMA
from services.scoring.store import (
    MIGRATIONS,
    GradeRow,
    GradeStore,
    open_grade_store,
    write_grades,
)
from services.scoring.supervision import SupervisionPolicy, default_supervision

DAY = date(2025, 11, 20)
REGIONS = ("220183", "220102", "220581", "110101")


def _row(i: int) -> GradeRow:
    grade = "ABCD"[i % 4]
    return GradeRow(f"K{i:04d}", i, grade, 500.0 + i, grade, "score", ("n_listed_12m",),
                    "m-1", "p-1", "person" if i % 5 == 0 else "enterprise", f"主体{i}",
                    f"ID{i}", REGIONS[i % len(REGIONS)], "CF"[i % 2], i % 16)


@pytest.fixture
def graded(db_url: str) -> Iterator[GradeStore]:
    store = open_grade_store(db_url)
    with store.writer() as s:
        write_grades(s, [_row(i) for i in range(200)], "bulk", DAY)
    yield store
    store.engine.dispose()


def _pages(store: GradeStore, f: q.GradeFilter, size: int) -> list[str]:
    keys: list[str] = []
    after = None
    with store.sessions() as s:
        while True:
            rows, after = q.list_grades(s, f, size, after)
            keys += [r.entity_key for r in rows]
            if after is None:
                return keys


def _expected(pred: Callable[[GradeRow], object]) -> list[str]:
    rows = [r for r in map(_row, range(200)) if pred(r)]
    return [r.entity_key for r in sorted(rows, key=lambda r: (r.grade, r.region_code,
                                                            r.entity_key))]


def test_filters_and_keyset_pages(graded: GradeStore) -> None:
    assert _pages(graded, q.GradeFilter(), 7) == _expected(lambda r: True)
    f = q.GradeFilter(grades=("B", "D"), region_prefix="2201", industries=("F",),
                      sources=("fire_products", "hr_penalty"), kinds=("enterprise",))
    want = _expected(lambda r: r.grade in "BD" and r.region_code.startswith("2201")
                     and r.industry == "F" and r.sources & 0b1010 and r.kind == "enterprise")
    assert want and _pages(graded, f, 3) == want
    # A prefix is a prefix: "22" takes every Jilin code and no Beijing one.
    jilin = _pages(graded, q.GradeFilter(region_prefix="22"), 1000)
    assert len(jilin) == 150


def test_counts_group_by_city_and_industry(graded: GradeStore) -> None:
    with graded.sessions() as s:
        by_city = q.count_grades(s, q.GradeFilter(), "city")
        by_industry = q.count_grades(s, q.GradeFilter(grades=("A",)), "industry")
        plain = q.count_grades(s, q.GradeFilter(), "")
    assert sum(n for _, _, n in by_city) == 200
    assert {g for g, _, _ in by_city} == {"2201", "2205", "1101"}
    assert by_industry == [("C", "A", 50)]  # A rows are the multiples of 4: all even → C
    assert plain == [("", g, 50) for g in "ABCD"]


def test_filter_problems_name_the_field() -> None:
    bad = q.GradeFilter(grades=("E",), region_prefix="22a", industries=("Z",),
                        sources=("tax",), kinds=("robot",))
    assert [f for f, _ in bad.problems("filter")] == [
        "filter.grades", "filter.region_prefix", "filter.industries", "filter.sources",
        "filter.kinds"]
    plain = q.GradeFilter()
    with pytest.raises(q.PageTokenError):
        q.decode_page_token("bm9wZQ==", plain)
    position = ("C", "220183", "K0001")
    token = q.encode_page_token(position, plain)
    assert q.decode_page_token(token, plain) == position
    # A position means nothing under other filters (the same filters in another order do).
    grades = q.GradeFilter(grades=("B", "C"))
    with pytest.raises(q.PageTokenError, match="other filters"):
        q.decode_page_token(token, grades)
    assert q.decode_page_token(q.encode_page_token(position, grades),
                               q.GradeFilter(grades=("C", "B"))) == position


def _request(request_id: str, inspectors: int = 6) -> plans.DrawRequest:
    crew = tuple(Inspector(f"i{n}", f"检查员{n}", "fire_rescue", 100) for n in range(inspectors))
    return plans.DrawRequest(request_id, DrawTask("fire_rescue", "抽查", DAY),
                             q.GradeFilter(region_prefix="22"), crew, (), 7)


def test_plans_are_stored_once_and_chain_to_the_previous(graded: GradeStore) -> None:
    policy = default_supervision()
    first, created = plans.draw_plan(graded, _request("r1"), policy, "planner")
    assert created and first.previous_plan_id is None
    again, created = plans.draw_plan(graded, _request("r1"), policy, "planner")
    assert not created and again.plan_id == first.plan_id
    with pytest.raises(plans.PlanConflict):
        plans.draw_plan(graded, _request("r1", inspectors=7), policy, "planner")
    with pytest.raises(DrawError):
        plans.draw_plan(graded, _request("r2", inspectors=1), policy, "planner")
    second, _ = plans.draw_plan(graded, _request("r3"), policy, "planner")
    assert second.previous_plan_id == first.plan_id
    with graded.sessions() as s:
        page, more = plans.list_plans(s, "fire_rescue", 1, None)
        assert [p.plan_id for p in page] == [second.plan_id] and more is not None
        rest, end = plans.list_plans(s, "fire_rescue", 1, more)
        assert [p.plan_id for p in rest] == [first.plan_id] and end is None

    key = plans.plan_of(first).entities[0].key
    result = plans.ResultIn(first.plan_id, key, "clear", "未发现问题", DAY)
    stored = plans.record_result(graded, result, None, "fire")
    again_stored = plans.record_result(graded, result, None, "fire")
    # SQLite hands back the stored UTC time without its zone: compare the instants' digits.
    assert again_stored.recorded_at.replace(tzinfo=None) == stored.recorded_at.replace(
        tzinfo=None)
    other = plans.ResultIn(first.plan_id, key, "finding", "发现问题", DAY)
    with pytest.raises(plans.PlanConflict):
        plans.record_result(graded, other, None, "fire")
    with pytest.raises(plans.PlanConflict):
        plans.existing_result(graded, other)


def test_a_grades_yearly_cap_holds_across_the_departments_plans(graded: GradeStore) -> None:
    """B once a year, C twice (max_per_year), whatever the number of plans; D (key
    supervision) as needed; triggered inspections do not count; a new year starts afresh."""
    doc = default_supervision().to_dict()
    doc["grades"]["B"]["draw_ratio"], doc["grades"]["C"]["draw_ratio"] = 0.2, 0.6
    policy = SupervisionPolicy.from_dict(doc)
    crew = tuple(Inspector(f"i{n}", f"检查员{n}", "fire_rescue", 100) for n in range(8))
    grade_of = {r.entity_key: r.grade for r in map(_row, range(200))}
    b_key = next(k for k in sorted(grade_of) if grade_of[k] == "B")

    drawn_in: dict[int, list[str]] = {}  # plan ids by task year
    rows: list[tuple[Any, Published]] = []

    def run(request_id: str, day: date, triggered: tuple[str, ...] = ()) -> Counter[str]:
        row, _ = plans.draw_plan(graded, plans.DrawRequest(
            request_id, DrawTask("fire_rescue", "抽查", day), q.GradeFilter(),
            crew, triggered, int(request_id[1:])), policy, "planner")
        published = Published.from_json(row.document)
        assert published.verify().ok  # the exclusions are in the document: it verifies
        # Where they come from is published too: the plans counted and the keys capped.
        earlier = drawn_in.setdefault(day.year, [])
        assert published.provenance is not None
        assert published.provenance["year_plan_ids"] == earlier
        assert set(published.provenance["year_capped"]) <= published.previous
        with graded.sessions() as s:  # and they agree with the plans stored before it
            assert plans.audit_exclusions(s, row, published) == []
        earlier.append(row.plan_id)
        rows.append((row, published))
        return Counter(e.key for e in published.plan.entities if e.reason == RANDOM)

    year = Counter[str]()
    for n, month in enumerate((1, 3, 5, 7, 9, 11)):
        year += run(f"q{n}", date(2025, month, 1), (b_key,) if n == 0 else ())
        if n == 0:  # a triggered inspection is no random draw: it does not count to the cap
            with graded.sessions() as s:
                capped, _ = plans._at_yearly_cap(
                    s, DrawTask("fire_rescue", "抽查", date(2025, 2, 1)),
                    q.candidates(s, q.GradeFilter(), 1000), policy)
            assert b_key not in capped and b_key not in year
            assert {k for k in year if grade_of[k] == "B"} <= capped
    by_grade = {g: [year[k] for k in year if grade_of[k] == g] for g in "BCD"}
    # Six plans: without the cap, the previous-plan rule alone lets C in every other plan.
    assert max(by_grade["B"]) == 1 and max(by_grade["C"]) == 2
    assert max(by_grade["D"]) == 6  # fire_rescue's D: ratio 1, every plan
    # In 2026 the count starts again: a B drawn in 2025 may be drawn again.
    again = run("q7", date(2026, 3, 1))
    assert any(grade_of[k] == "B" and year[k] for k in again)
    # A document whose exclusions were edited (a capped key let back in, and its trace
    # removed) still recomputes, but no longer agrees with the plans stored before it.
    row, published = rows[4]
    assert published.provenance is not None and published.provenance["year_capped"]
    key = published.provenance["year_capped"][0]
    forged = dataclasses.replace(
        published, previous=published.previous - {key},
        provenance={**published.provenance, "year_capped": published.provenance[
            "year_capped"][1:]})
    with graded.sessions() as s:
        problems = plans.audit_exclusions(s, row, forged)
    assert [p.split(":")[0] for p in problems] == ["previous_provenance.year_capped", "previous"]


def test_0005_fills_the_random_keys_of_plans_stored_before_it(graded: GradeStore) -> None:
    first, _ = plans.draw_plan(graded, _request("m1"), default_supervision(), "planner")
    stored = [e.key for e in plans.plan_of(first).entities if e.reason == RANDOM]
    assert stored and first.random_keys == stored
    migrate(graded.engine, MIGRATIONS, SCHEMA, "0004", down=True)
    with graded.engine.connect() as conn:  # the column is gone; the document stays
        columns = {c["name"] for c in inspect(conn).get_columns(
            "inspection_plans", schema=SCHEMA if conn.dialect.name == "postgresql" else None)}
    assert "random_keys" not in columns and "document" in columns
    migrate(graded.engine, MIGRATIONS, SCHEMA)
    with graded.sessions() as s:
        row = plans.find_plan(s, first.plan_id)
        assert row is not None and row.random_keys == stored
