"""The Jilin demo data set, loaded into real databases through the real ingestion path."""

from __future__ import annotations

import csv
import os
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select

from credit.v1 import records_pb2
from services.common.codes import (
    PersonalIdProtector,
    validate_region_code,
    validate_resident_id,
    validate_uscc,
)
from services.records import demo
from services.records.models import AnnualReport, Entity, Record
from services.records.rules.national import add_months
from services.records.store import Store, open_store

TODAY = date(2025, 11, 20)
SEED = 7
N = 1_000
PII_KEY = b"demo-test-key-" + b"k" * 32
PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
JILIN = {r.code for r in demo.REGIONS}


@dataclass
class Loaded:
    store: Store
    stats: demo.LoadStats


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    path = tmp_path_factory.mktemp("demo") / "records.db"
    store = open_store(f"sqlite:///{path}", pii_key=PII_KEY, clock=lambda: TODAY)
    stats = demo.load(store, SEED, N, today=TODAY)
    yield Loaded(store, stats)
    store.engine.dispose()


def _records(store: Store) -> list[Record]:
    with store.sessions() as s:
        return list(s.execute(select(Record)).scalars())


def test_every_record_is_accepted(loaded: Loaded) -> None:
    stats = loaded.stats
    assert stats.rejected == 0, stats.errors
    assert stats.entities == stats.entities_created == N
    assert stats.created == stats.records > 2 * N
    with loaded.store.sessions() as s:
        assert s.execute(select(func.count()).select_from(Record)).scalar() == stats.records


def test_all_sources_and_national_categories_appear(loaded: Loaded) -> None:
    records = _records(loaded.store)
    assert {r.source for r in records} == {"medical_procurement", "fire_products",
                                          "credit_service_agency", "hr_penalty"}
    assert {r.category for r in records if r.listed} == {"minor", "general", "serious"}
    levels = Counter((r.source, r.source_level) for r in records)
    # Every medical level, first and repeated fire offences, every HR tier and exemptions.
    for level in ("失信", "严重失信", "特别严重失信"):
        assert levels["medical_procurement", level], level
    for level in ("首次违法", "多次违法", "情形恶劣"):
        assert levels["fire_products", level], level
    for level in ("情节较轻", "情节较重", "情节严重", "不予处罚", "免予处罚"):
        assert levels["hr_penalty", level], level
    items = {r.facts["article16_item"] for r in records if r.source == "credit_service_agency"}
    assert {3, 5} <= items  # complaints, and two missing annual reports in the register


def test_entities_have_valid_codes_and_only_pseudonymised_ids(loaded: Loaded) -> None:
    protector = PersonalIdProtector(PII_KEY)
    generated = list(demo.entities(SEED, N, today=TODAY))
    kinds = Counter(e.kind for e in generated)
    assert kinds["enterprise"] > 750 and kinds["person"] > 40
    assert kinds["credit_service_agency"] > 5 and kinds["institution"] > 20
    expected = set()
    for e in generated:
        assert e.region_code in JILIN and validate_region_code(e.region_code)
        assert e.established_on < TODAY
        if e.kind == "person":
            assert validate_resident_id(e.resident_id, today=TODAY) == e.resident_id
            assert e.resident_id[:6] == e.region_code
            expected.add("P" + protector.hash(e.resident_id))
        else:
            assert validate_uscc(e.uscc) == e.uscc
            assert e.uscc[2:8] == e.region_code
            assert e.uscc[:2] == ("91" if e.kind in ("enterprise", "credit_service_agency")
                                  else e.uscc[:2])
            expected.add(e.uscc)
    assert len(expected) == N  # codes are unique
    with loaded.store.sessions() as s:
        rows = s.execute(select(Entity.entity_key, Entity.kind, Entity.display_id)).all()
    assert {r.entity_key for r in rows} == expected
    for key, kind, display in rows:
        if kind == "person":
            assert re.fullmatch(r"P[0-9a-f]{64}", key)
            assert re.fullmatch(r"22\d{4}\*{8}\d{3}[0-9X]", display)
        else:
            assert validate_uscc(key) == key == display
    assert Counter(r.region_code for r in generated).most_common(1)[0][0] == "220183"


def test_same_seed_same_bytes_other_seed_differs() -> None:
    def blob(seed: int) -> list[bytes]:
        return [s.SerializeToString(deterministic=True)
                for s in demo.generate(seed, 300, today=TODAY)]

    first = blob(SEED)
    assert first == blob(SEED)
    assert first != blob(SEED + 1)
    assert list(demo.annual_reports(SEED, N, today=TODAY)) == list(
        demo.annual_reports(SEED, N, today=TODAY))
    # Chunks are drawn from their own streams: a larger run starts with the smaller one.
    assert list(demo.entities(SEED, 300, today=TODAY)) == list(
        demo.entities(SEED, N, today=TODAY))[:300]


def test_nothing_lies_in_the_future_or_before_the_entity(loaded: Loaded) -> None:
    start = add_months(TODAY, -12 * demo.YEARS)
    with loaded.store.sessions() as s:
        established = {i: d for i, d in s.execute(select(Entity.id, Entity.established_on))}
        reports = list(s.execute(select(AnnualReport)).scalars())
    for r in _records(loaded.store):
        assert established[r.entity_id] <= r.decided_on <= TODAY
        assert r.decided_on > start
        if r.source == "medical_procurement":
            received = date.fromisoformat(r.facts["case_received_on"])
            completed = date.fromisoformat(r.facts["evaluation_completed_on"])
            assert received <= completed <= r.decided_on
    assert reports and all(r.year < r.filed_on.year and r.filed_on <= TODAY for r in reports)
    assert len(reports) == loaded.stats.annual_reports == len(
        list(demo.annual_reports(SEED, N, today=TODAY)))


def test_past_records_predict_future_ones(loaded: Loaded) -> None:
    start = add_months(TODAY, -12 * demo.YEARS)
    middle = start + (TODAY - start) / 2
    with loaded.store.sessions() as s:
        ids = [i for i, kind, founded in s.execute(
            select(Entity.id, Entity.kind, Entity.established_on))
            if kind != "person" and founded <= start]
    early, late = Counter[int](), Counter[int]()
    for r in _records(loaded.store):
        (early if r.decided_on <= middle else late)[r.entity_id] += 1
    with_past = [late[i] for i in ids if early[i]]
    without = [late[i] for i in ids if not early[i]]
    assert len(with_past) > 100 and len(without) > 100
    ratio = (sum(with_past) / len(with_past)) / (sum(without) / len(without))
    assert ratio > 1.5, ratio


def test_reload_is_idempotent(loaded: Loaded) -> None:
    again = demo.load(loaded.store, SEED, N, today=TODAY)
    assert again.entities_created == again.annual_reports == again.created == 0
    assert again.unchanged == loaded.stats.records and again.rejected == 0


def test_cli_writes_truth_and_respects_if_empty(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "pii.key"
    key_file.write_text(PII_KEY.hex())
    monkeypatch.setenv("CREDIT_AUTH_MODE", "dev")
    monkeypatch.setenv("CREDIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CREDIT_PII_KEY_FILE", str(key_file))
    monkeypatch.setenv("CREDIT_TODAY", TODAY.isoformat())
    monkeypatch.setenv("RECORDS_DATABASE_URL", f"sqlite:///{tmp_path}/records.db")
    truth = tmp_path / "truth.csv"
    assert demo.main(["--entities", "200", "--seed", "3", "--truth", str(truth)]) == 0
    with truth.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["entity_key", "propensity"] and len(rows) == 201
    store = open_store(f"sqlite:///{tmp_path}/records.db", pii_key=PII_KEY)
    try:
        with store.sessions() as s:
            keys = set(s.execute(select(Entity.entity_key)).scalars())
            records = s.execute(select(func.count()).select_from(Record)).scalar()
        assert {k for k, _ in rows[1:]} == keys
        assert all(float(p) >= 0 for _, p in rows[1:])
        # --if-empty leaves a populated database alone, even for another seed.
        assert demo.main(["--entities", "50", "--seed", "4", "--if-empty"]) == 0
        with store.sessions() as s:
            assert s.execute(select(func.count()).select_from(Entity)).scalar() == 200
            assert s.execute(select(func.count()).select_from(Record)).scalar() == records
    finally:
        store.engine.dispose()


def test_cli_without_service_settings_fails_cleanly(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CREDIT_AUTH_MODE", "CREDIT_TOKENS_FILE", "CREDIT_PII_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RECORDS_DATABASE_URL", f"sqlite:///{tmp_path}/records.db")
    assert demo.main(["--entities", "10"]) == 2
    assert not (tmp_path / "records.db").exists()


# ---------------------------------------------------------------------------- PostgreSQL


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh database (the records schema name is fixed, so a schema cannot isolate)."""
    base, _, _ = PG_URL.rpartition("/")
    try:
        admin = psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but unreachable at {base}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {base}")
    name = f"demo_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{base}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_postgres_load(pg_database: str, loaded: Loaded) -> None:
    store = open_store(pg_database, pii_key=PII_KEY, clock=lambda: TODAY)
    try:
        stats = demo.load(store, SEED, N, today=TODAY, batch_size=1_000)
        assert stats.rejected == 0, stats.errors
        # Same data, same classification as on SQLite (batch size does not matter).
        assert stats.by_source == loaded.stats.by_source
        assert stats.by_category == loaded.stats.by_category
        assert stats.annual_reports == loaded.stats.annual_reports
        with store.sessions() as s:
            assert s.execute(select(func.count()).select_from(Entity)).scalar() == N
            latest = s.execute(select(func.max(Record.decided_on))).scalar()
        assert latest is not None and latest <= TODAY
        assert latest > TODAY - timedelta(days=60)
    finally:
        store.engine.dispose()


def _listed_entities(subs: list[records_pb2.RecordSubmission]) -> int:
    return len({s.subject.SerializeToString(deterministic=True) for s in subs})


def test_a_compliant_majority_never_earns_a_record() -> None:
    # Same number of records either way; with the compliant majority they sit on few
    # entities, so most entities have a clean file (and the shipped model grades them A).
    default = list(demo.generate(SEED, N, today=TODAY))
    at_risk = list(demo.generate(SEED, N, today=TODAY, compliant_share=0.0))
    # The mean is calibrated on a pilot sample: a 1,000-entity draw lands near it.
    assert 0.75 < len(default) / len(at_risk) < 1.33
    assert _listed_entities(default) < 0.3 * N < 0.5 * N < _listed_entities(at_risk)
    with pytest.raises(ValueError, match="compliant_share"):
        list(demo.generate(SEED, 10, today=TODAY, compliant_share=1.0))
