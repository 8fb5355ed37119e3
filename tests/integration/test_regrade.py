"""Bulk re-grade on real SQLite and real PostgreSQL: every entity graded once, exactly as the
single-entity Evaluator grades it; history only on change; a new 严重 record moves a grade
to D; shards cover each entity once; the bulk writer is idempotent."""

from __future__ import annotations

import io
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text

from models.registry import load_default
from services.common.db import migrate
from services.common.workdays import default_calendar
from services.records import demo
from services.records.ingest import ingest
from services.records.models import Entity, Record
from services.records.store import Store, open_store
from services.scoring.evaluate import Evaluator, Model
from services.scoring.features import FEATURE_NAMES, feature_rows
from services.scoring.models import SCHEMA, Base, ConsumerCursor, Grade, GradeHistory
from services.scoring.policy import default_policy
from services.scoring.regrade import main, parse_shard, regrade_all
from services.scoring.store import (
    CURSOR,
    MIGRATIONS,
    GradeRow,
    GradeStore,
    WriteResult,
    open_grade_store,
    store_cursor,
    write_grades,
)
from services.scoring.supervision import default_supervision
from tests.conftest import MEDICAL, PII_KEY, TODAY, drop_pg_database, fresh_pg_database
from tests.factories import medical, subject

N = 2_000
MODEL = Model(*load_default())
POLICY = default_policy()


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def records(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One demo load per engine, shared by the module: loading is the slow part. Tests that
    add records each pick their own entity."""
    name = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('regrade')}/records.db"
    else:
        url, name = fresh_pg_database(request.getfixturevalue("pg_server"))
    store = open_store(url, pii_key=PII_KEY, calendar=default_calendar(), clock=lambda: TODAY)
    stats = demo.load(store, 5, N, today=TODAY)
    assert stats.rejected == 0, stats.errors
    yield store
    store.engine.dispose()
    if name is not None:
        drop_pg_database(name)


@pytest.fixture
def grades(records: Store, tmp_path: Any) -> Iterator[GradeStore]:
    """An empty grade store: its own SQLite file, or the `scoring` schema of the records
    database on PostgreSQL (the deployed layout)."""
    postgres = records.engine.dialect.name == "postgresql"
    url = records.engine.url.render_as_string(hide_password=False) if postgres \
        else f"sqlite:///{tmp_path}/scoring.db"
    store = open_grade_store(url)
    yield store
    if postgres:
        with store.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{SCHEMA}" CASCADE'))
    store.engine.dispose()


def _run(records: Store, grades: GradeStore, **kw: Any) -> Any:
    return regrade_all(records.engine, grades, MODEL, POLICY, TODAY, batch=512, **kw)


def _grades(store: GradeStore) -> dict[str, dict[str, Any]]:
    with store.sessions() as s:
        return {g.entity_key: {c.key: getattr(g, c.key) for c in Grade.__table__.c}
                for g in s.execute(select(Grade)).scalars()}


def _history(store: GradeStore, key: str | None = None) -> list[GradeHistory]:
    query = select(GradeHistory).order_by(GradeHistory.id)
    if key is not None:
        query = query.where(GradeHistory.entity_key == key)
    with store.sessions() as s:
        return list(s.execute(query).scalars())


def _history_count(store: GradeStore) -> int:
    with store.sessions() as s:
        return int(s.execute(select(func.count()).select_from(GradeHistory)).scalar_one())


def _entities(records: Store) -> dict[str, int]:
    with records.sessions() as s:
        return {k: i for k, i in s.execute(select(Entity.entity_key, Entity.id))}


# ------------------------------------------------------------------------------ regrade_all

def test_every_entity_is_graded_once_as_evaluate_grades_it(records: Store,
                                                           grades: GradeStore) -> None:
    out = io.StringIO()
    stats = _run(records, grades, progress=out)
    assert stats.entities == stats.total == stats.written == stats.history == N
    assert sum(stats.by_grade.values()) == N
    assert f"{N:,}/{N:,} entities" in out.getvalue()
    rows = _grades(grades)
    entities = _entities(records)
    assert {k: r["entity_id"] for k, r in rows.items()} == entities
    assert {r["as_of"] for r in rows.values()} == {TODAY}
    assert {r["cause"] for r in rows.values()} == {"bulk"}
    assert {r["model_version"] for r in rows.values()} == {MODEL.version}
    # The first grade of each entity is in the history too, with no previous grade.
    history = _history(grades)
    assert len(history) == N and all(h.previous_grade is None for h in history)
    assert {h.entity_key: (h.grade, h.score) for h in history} == {
        k: (r["grade"], r["score"]) for k, r in rows.items()}

    evaluator = Evaluator(MODEL, POLICY, default_supervision())
    # Every 25th entity, plus all the hard-rule decisions (none with the shipped model: an
    # active 一般 or 严重 record costs it enough points on its own), plus the Ds.
    sample = sorted(rows)[::25] + [k for k, r in rows.items()
                                   if r["decided_by"] != "score" or r["grade"] == "D"]
    assert len({r["grade"] for r in rows.values()}) >= 3
    with records.engine.connect() as conn:
        for key in sample:
            e = evaluator.evaluate(conn, key, TODAY)
            assert e is not None
            got = rows[key]
            assert got["score"] == pytest.approx(e.score, abs=1e-9), key
            assert (got["grade"], got["score_grade"], got["decided_by"]) == (
                e.decision.grade, e.decision.score_grade, e.decision.decided_by), key
            assert got["reasons"] == [r.code for r in e.reasons], key
            assert got["policy_version"] == e.decision.policy_version


def test_the_shipped_model_grades_a_clean_history_a(records: Store,
                                                   grades: GradeStore) -> None:
    # The demo population is mostly compliant: an entity never listed must reach A on the
    # score, and an entity with an active 严重 record is D whatever its score.
    _run(records, grades)
    rows = _grades(grades)
    with records.sessions() as s:
        listed = {k for (k,) in s.execute(
            select(Entity.entity_key).join(Record, Record.entity_id == Entity.id)
            .where(Record.listed.is_(True)).distinct())}
    clean = [r for k, r in rows.items() if k not in listed]
    assert len(clean) > N // 2
    assert {(r["grade"], r["decided_by"]) for r in clean} == {("A", "score")}
    assert min(r["score"] for r in clean) >= POLICY.thresholds[0]  # the A threshold
    with records.engine.connect() as conn:
        column = FEATURE_NAMES.index("n_active_serious")
        serious = [k for fb in feature_rows(conn, TODAY)
                   for k, n in zip(fb.entity_keys, fb.matrix[:, column].tolist(), strict=True)
                   if n > 0]
    assert serious and {rows[k]["grade"] for k in serious} == {"D"}
    assert Counter(r["grade"] for r in rows.values())["A"] > N // 2


def test_a_second_run_without_changes_writes_nothing(records: Store,
                                                     grades: GradeStore) -> None:
    _run(records, grades)
    before = _grades(grades)
    again = _run(records, grades)
    assert again.entities == N and again.written == 0 and again.history == 0
    assert _grades(grades) == before  # graded_at included: unchanged rows are not rewritten
    assert _history_count(grades) == N


def test_a_bulk_run_never_overwrites_a_grade_the_feed_wrote_meanwhile(
        records: Store, grades: GradeStore) -> None:
    _run(records, grades)
    last = max(_grades(grades).items(), key=lambda kv: kv[1]["entity_id"])
    key, row = last  # in the run's last batch: written long after the first commits
    newer = "D" if row["grade"] != "D" else "C"
    event = GradeRow(**{f: row[f] for f in GradeRow._fields})._replace(
        grade=newer, reasons=tuple(row["reasons"]))
    written: list[WriteResult] = []

    def after_a_batch(stats: Any) -> None:
        if not written:  # the change feed re-grades it, from records newer than the run's
            with grades.writer() as session:
                written.append(write_grades(session, [event], "event:record_created", TODAY))

    stats = _run(records, grades, on_batch=after_a_batch)
    assert written and written[0].written == 1 and stats.entities == N
    assert _grades(grades)[key]["grade"] == newer
    assert [h.cause for h in _history(grades, key)][-1] == "event:record_created"


def test_a_grade_the_feed_confirmed_is_left_alone_by_a_run_that_read_earlier(
        grades: GradeStore) -> None:
    row = GradeRow("K-confirmed", 1, "A", 640.0, "A", "score", (), "m", "p", "enterprise",
                   "某公司", "91220183MA0000001U", "220183", "C", 0)
    with grades.writer() as session:
        write_grades(session, [row], "bulk", TODAY)
    run_began = datetime.now(UTC)
    time.sleep(0.01)
    with grades.writer() as session:  # the feed re-evaluates it on newer records: still A
        confirmed = write_grades(session, [row], "event:record_repaired", TODAY, confirm=True)
    assert (confirmed.written, confirmed.history) == (0, 0)
    stale = row._replace(grade="D", score=500.0, score_grade="D")  # from the run's older read
    with grades.writer() as session:
        assert write_grades(session, [stale], "bulk", TODAY,
                            unless_graded_since=run_began).written == 0
    assert _grades(grades)["K-confirmed"]["grade"] == "A"


def test_a_new_serious_record_moves_the_grade_to_d(records: Store,
                                                   grades: GradeStore) -> None:
    _run(records, grades)
    rows = _grades(grades)
    with records.sessions() as s:
        enterprises = {e.entity_key: e for e in s.execute(
            select(Entity).where(Entity.kind == "enterprise")).scalars()}
    key = next(k for k in sorted(rows) if k in enterprises and rows[k]["grade"] != "D")
    e, old = enterprises[key], rows[key]
    sub = medical(f"regrade-serious-{records.engine.dialect.name}", key, amount="1500000")
    sub.subject.CopyFrom(subject(key, name=e.name, region=e.region_code, industry=e.industry,
                                 established=e.established_on.isoformat()))
    result = ingest(records, MEDICAL, [sub])
    assert result[0].outcome == "created", result[0].error
    assert result[0].record is not None and result[0].record["category"] == "serious"

    stats = _run(records, grades, cause="event:record_created")
    assert stats.written == 1 and stats.history == 1
    now = _grades(grades)
    assert now[key]["grade"] == "D" and now[key]["cause"] == "event:record_created"
    # 150万 of bribery is 特别严重失信: a 严重 record, no listing (the NHSA rates, it lists
    # nobody), so the active-serious rule names it.
    assert now[key]["decided_by"] == (
        "score" if now[key]["score_grade"] == "D" else "active_serious_record")
    with records.engine.connect() as conn:
        evaluation = Evaluator(MODEL, POLICY, default_supervision()).evaluate(conn, key, TODAY)
    assert evaluation is not None and evaluation.features["n_active_serious_list"] == 0
    assert [r[0] for r in evaluation.decision.reasons] == ["score", "active_serious_record"]
    assert {k: r for k, r in now.items() if k != key} == {
        k: r for k, r in rows.items() if k != key}
    first, second = _history(grades, key)
    assert (first.previous_grade, first.grade) == (None, old["grade"])
    assert (second.previous_grade, second.grade, second.score) == (
        old["grade"], "D", now[key]["score"])
    assert _history_count(grades) == N + 1


def test_shards_cover_each_entity_once(records: Store, grades: GradeStore) -> None:
    seen: set[str] = set()
    for i in range(3):
        stats = _run(records, grades, shard=(i, 3))
        rows = _grades(grades)
        new = set(rows) - seen
        assert stats.entities == stats.total == stats.written == len(new)
        assert all(rows[k]["entity_id"] % 3 == i for k in new)
        seen |= new
    assert seen == set(_entities(records))
    # The shards together wrote what one full run would: a full run finds nothing to change.
    full = _run(records, grades)
    assert full.entities == N and full.written == 0 and full.history == 0


def test_the_command_line_grades_into_the_scoring_database(
        records: Store, grades: GradeStore, capsys: pytest.CaptureFixture[str]) -> None:
    url = records.engine.url.render_as_string(hide_password=False)
    scoring = grades.engine.url.render_as_string(hide_password=False)
    assert main(["--records-database-url", url, "--scoring-database-url", scoring,
                 "--as-of", TODAY.isoformat(), "--shard", "1/2"]) == 0
    err = capsys.readouterr().err
    assert "regrade: " in err and "history rows" in err
    rows = _grades(grades)
    assert rows and all(r["entity_id"] % 2 == 1 for r in rows.values())
    assert len(rows) == sum(i % 2 == 1 for i in _entities(records).values())


def test_parse_shard() -> None:
    assert parse_shard("0/4") == (0, 4) and parse_shard("3/4") == (3, 4)
    for bad in ("4/4", "-1/2", "1", "a/b", "1/0"):
        with pytest.raises(ValueError):
            parse_shard(bad)


# ----------------------------------------------------------------------------- write_grades

@pytest.fixture
def empty(db_url: str) -> Iterator[GradeStore]:
    store = open_grade_store(db_url)
    yield store
    store.engine.dispose()


def _row(key: str, grade: str = "B", score: float = 590.25, **kw: Any) -> GradeRow:
    base = GradeRow(key, int(key[1:]), grade, score, grade, "score",
                    ("n_listed_12m", "entity_age_years"), "m-1", "p-1", "enterprise",
                    f"企业{key}", key, "220183", "C", 0b0010)
    return base._replace(**kw)


def test_write_grades_is_idempotent_and_keeps_history(empty: GradeStore) -> None:
    rows = [_row("E1"), _row("E2", "A", 630.0, reasons=()), _row("E3", "D", 500.5)]
    day = date(2025, 1, 2)
    at = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    with empty.writer() as s:
        assert write_grades(s, rows, "bulk", day, graded_at=at) == (3, 3)
    first = _grades(empty)
    assert first["E2"]["reasons"] == [] and first["E1"]["reasons"] == [
        "n_listed_12m", "entity_age_years"]
    assert first["E1"]["graded_at"].replace(tzinfo=UTC) == at  # SQLite drops the zone
    for _ in range(2):
        with empty.writer() as s:
            assert write_grades(s, rows, "bulk", date(2025, 1, 3)) == (0, 0)
    assert _grades(empty) == first and len(_history(empty)) == 3

    # A new explanation alone updates the row but is no change of grade: no history.
    changed = [rows[0]._replace(reasons=("n_active_minor",), decided_by="x"), *rows[1:]]
    with empty.writer() as s:
        assert write_grades(s, changed, "event:record_corrected", day) == (1, 0)
    assert _grades(empty)["E1"]["reasons"] == ["n_active_minor"]
    assert len(_history(empty)) == 3
    # So does a change of the entity's attributes (the lists' copy stays current).
    moved = [changed[0]._replace(region_code="220102", sources=0b1010), *changed[1:]]
    with empty.writer() as s:
        assert write_grades(s, moved, "event:record_created", day) == (1, 0)
    assert (_grades(empty)["E1"]["region_code"], _grades(empty)["E1"]["sources"]) == (
        "220102", 0b1010)
    assert len(_history(empty)) == 3
    changed = moved
    # A new score (same grade) and a new grade each append one row with the old grade.
    changed = [changed[0]._replace(score=591.0), rows[1]._replace(grade="C"), rows[2]]
    with empty.writer() as s:
        assert write_grades(s, changed, "event:record_created", day) == (2, 2)
    h = {x.entity_key: x for x in _history(empty)[3:]}
    assert (h["E1"].previous_grade, h["E1"].grade, h["E1"].score) == ("B", "B", 591.0)
    assert (h["E2"].previous_grade, h["E2"].grade) == ("A", "C")
    assert h["E2"].cause == "event:record_created"
    with empty.writer() as s, pytest.raises(ValueError):
        write_grades(s, [rows[0], rows[0]], "bulk", day)
    with empty.writer() as s:
        assert write_grades(s, [], "bulk", day) == (0, 0)


# ------------------------------------------------------------------------------- migrations

@pytest.mark.postgres
def test_scoring_migrations_match_models(pg_url: str) -> None:
    store = open_grade_store(pg_url)
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={
            "include_schemas": True, "version_table_schema": SCHEMA,
            "version_table": "scoring_alembic_version"})
        diff = compare_metadata(ctx, Base.metadata)
    store.engine.dispose()
    assert diff == []


def test_0004_keeps_cursors_and_adds_their_hash_both_ways(db_url: str) -> None:
    store = open_grade_store(db_url)
    with store.writer() as session:
        store_cursor(session, 41, "ab" * 32)
    migrate(store.engine, MIGRATIONS, SCHEMA, "0003", down=True)
    with store.engine.connect() as conn:  # the position survives; only the hash goes
        assert conn.execute(select(ConsumerCursor.seq)).scalar_one() == 41
    migrate(store.engine, MIGRATIONS, SCHEMA)
    with store.sessions() as session:
        cursor = session.get(ConsumerCursor, CURSOR)
        assert cursor is not None and (cursor.seq, cursor.hash) == (41, None)
    store.engine.dispose()


def test_scoring_and_records_may_share_one_sqlite_file(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path}/both.db"
    open_store(url).engine.dispose()
    for _ in range(2):  # a second start finds the schema at head and changes nothing
        store = open_grade_store(url)
        with store.engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM scoring_alembic_version"))
            assert version.scalar_one() == "0005"
            assert conn.execute(text("SELECT count(*) FROM grades")).scalar_one() == 0
        store.engine.dispose()
    open_store(url).engine.dispose()
