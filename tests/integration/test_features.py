"""Scoring features on real SQLite and real PostgreSQL: hand-built credit files checked value by
value (window boundaries at month ends, shields, withdrawals, repairs, objections, commitments,
agency registers), bulk rows against single look-ups on demo data, shards, and labels."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from sqlalchemy import select

from credit.v1 import records_pb2
from models.registry import load_default
from services.common.auth import Principal
from services.common.errors import ServiceError
from services.records import demo, workflows
from services.records.ingest import entity_row, ingest
from services.records.models import Entity, Record
from services.records.queries import credit_file
from services.records.rules.national import add_months
from services.records.store import Store, now, open_store
from services.records.submission import EntityKey, decode_subject, require_ref
from services.scoring.evaluate import Evaluator, Model
from services.scoring.features import (
    FEATURE_NAMES,
    FEATURES,
    feature_rows,
    features_for,
    features_markdown,
    labels,
    whole_months_since,
)
from services.scoring.policy import default_policy
from services.scoring.supervision import default_supervision
from tests.conftest import ADMIN, CREDIT, FIRE, HR, MEDICAL, PII_KEY, TODAY, retype_entity_name
from tests.factories import agency, fire, hr, medical, subject, uscc

AS_OF = date(2025, 2, 28)  # month end: 12 months back is 2024-02-28, 36 months 2022-02-28
SPECIAL = {"months_since_last_listed": -1.0, "agency_reports_filed": -1.0}


def _ok(store: Store, principal: Principal, *subs: records_pb2.RecordSubmission) -> list[int]:
    results = ingest(store, principal, list(subs))
    assert all(r.outcome == "created" for r in results), [r.error for r in results]
    return [r.record_id for r in results if r.record_id is not None]


def _med(rid: str, code: str, amount: str, decided: str) -> records_pb2.RecordSubmission:
    day = date.fromisoformat(decided)
    return medical(rid, code, amount=amount, decided=decided,
                   case_received_on=(day - timedelta(days=90)).isoformat(),
                   evaluation_completed_on=(day - timedelta(days=10)).isoformat())


def _ref(store: Store, code: str, kind: str = "enterprise") -> EntityKey:
    return require_ref(subject(code, kind).ref, "entity", store.protector)


def _bare(store: Store, code: str, kind: str = "enterprise",
          established: str = "2010-01-01") -> None:
    """An entity without any record, created the way UpsertEntity creates one."""
    violations: list[tuple[str, str]] = []
    s = decode_subject(subject(code, kind, established=established), "subject",
                       store.protector, TODAY, violations)
    assert s is not None, violations
    with store.writer() as session:
        new_id = int(session.execute(select(Entity.id).order_by(Entity.id.desc())).scalar() or 0)
        session.add(Entity(**entity_row(s, new_id + 1, now())))


def _get(store: Store, code: str, as_of: date) -> dict[str, float]:
    with store.engine.connect() as conn:
        got = features_for(conn, code, as_of)
    assert got is not None
    return got


def _age(as_of: date, established: date = date(2010, 1, 1)) -> float:
    return (as_of - established).days / 365.25


def _vector(as_of: date, established: date = date(2010, 1, 1), **values: float) -> dict[str, float]:
    """The full expected vector: zeros, the documented special values, the given values."""
    out = {n: SPECIAL.get(n, 0.0) for n in FEATURE_NAMES}
    out["entity_age_years"] = _age(as_of, established)
    unknown = set(values) - set(out)
    assert not unknown, unknown
    return {**out, **{k: float(v) for k, v in values.items()}}


def _pick(got: dict[str, float], **expected: float) -> None:
    assert {k: got[k] for k in expected} == {k: float(v) for k, v in expected.items()}


# ------------------------------------------------------------------------ hand-built files

def test_counts_windows_and_month_end_boundaries(store: Store) -> None:
    a = uscc(1)
    _ok(store, HR,
        hr("a1", a, tier="grave", decided="2024-02-28"),    # 严重; exactly 12 months back
        hr("a2", a, tier="serious", decided="2024-02-29"),  # 一般; one day later: inside
        hr("a3", a, tier="minor", decided="2025-01-15"),    # 轻微, unpublished, in effect
        hr("a4", a, tier="serious", decided="2022-02-28"),  # exactly 36 months back: outside
        hr("a5", a, tier="serious", decided="2022-03-01"),  # one day later: inside
        hr("a6", a, tier="grave", decided="2025-03-01"),    # after as_of: never counts
        hr("np", a, tier="minor", decided="2025-02-01", no_penalty=True))  # not listed
    _ok(store, MEDICAL,
        _med("m1", a, "100000.50", "2024-06-01"),  # 一般, published from 2024-07-01
        _med("m3", a, "250000", "2022-03-01"),     # inside 36 months, expired
        _med("m2", a, "30000", "2022-02-28"))      # exactly 36 months back: amount left out
    _ok(store, FIRE, fire("f1", a, decided="2024-03-01"))  # first offence: 轻微, expired
    assert _get(store, a, AS_OF) == _vector(
        AS_OF,
        # a2's 12 months end with their corresponding day, 2025-02-28 (a2 leaves on 03-01), so
        # a1, a2, a3 and m1 are in force.
        n_active_minor=1, n_active_general=2, n_active_serious=1,
        n_active_hr_penalty=3, n_active_medical_procurement=1, max_active_severity=3,
        n_listed_12m=4,  # a2, a3, m1, f1 (a1 is exactly 12 months back)
        n_listed_36m=7, n_listed_36m_minor=2, n_listed_36m_general=4, n_listed_36m_serious=1,
        months_since_last_listed=1,  # a3 on 2025-01-15 ≤ 2025-01-28 = as_of − 1 month
        medical_amount_36m=350000.5,
        hr_minor_36m=1, hr_serious_36m=2, hr_grave_36m=1)
    # A day later the windows start after 2024-03-01 and 2022-03-01: a2 and f1 leave the
    # 12-month window, a5 and m3 the 36-month one, and a6 is decided that very day.
    _pick(_get(store, a, date(2025, 3, 1)), n_listed_12m=3, n_listed_36m=6,
          n_active_serious=2, months_since_last_listed=0, medical_amount_36m=100000.5)
    # Before m1's publication starts it is decided (in the windows) but pending, not active.
    _pick(_get(store, a, date(2024, 6, 15)), n_active_medical_procurement=0, n_active_general=1,
          n_active_serious=1, n_listed_12m=4, medical_amount_36m=100000.5 + 250000 + 30000)
    # As of the leap day a2 is decided that day and a1 the day before: both 0 months back.
    _pick(_get(store, a, date(2024, 2, 29)), months_since_last_listed=0, n_listed_12m=2)
    _pick(_get(store, a, date(2024, 2, 28)), months_since_last_listed=0, n_listed_12m=1)


def test_active_starts_and_ends_on_the_very_day(store: Store) -> None:
    """The edges of "active": a publication starting today is in force today (pending the
    day before); a 严重 record published for 12 months is in force through the corresponding
    day and no longer the day after; a record decided on a shield's first day is shielded from
    that day."""
    a = uscc(23)
    grave = hr("g12", a, tier="grave", decided="2024-02-28")
    grave.publication_months = 12
    _ok(store, HR, grave)
    _ok(store, MEDICAL, _med("m1", a, "100000", "2024-06-15"))  # 一般, effective 2024-07-01
    _pick(_get(store, a, date(2024, 6, 30)), n_active_serious=1, n_active_general=0)
    _pick(_get(store, a, date(2024, 7, 1)), n_active_serious=1, n_active_general=1)
    _pick(_get(store, a, date(2025, 2, 28)), n_active_serious=1, n_active_general=1)
    _pick(_get(store, a, date(2025, 3, 1)), n_active_serious=0, n_active_general=1)

    b = uscc(24)
    _ok(store, HR, hr("s1", b, tier="grave", decided="2024-05-01"))
    workflows.start_shield(store, HR, _ref(store, b), "（2024）吉01破5号", date(2024, 5, 1))
    _ok(store, HR, hr("s2", b, tier="grave", decided="2024-05-02"))  # after the shield began
    _pick(_get(store, b, date(2024, 4, 30)), n_active_serious=0)  # decided the next day
    _pick(_get(store, b, date(2024, 5, 1)), n_active_serious=0, n_listed_12m=0)
    _pick(_get(store, b, date(2024, 5, 2)), n_active_serious=1, n_listed_12m=1)


def test_agency_findings_and_annual_reports(store: Store) -> None:
    g = uscc(2)
    _ok(store, CREDIT,
        agency("g1", g, item=3, decided="2024-03-01",
               verified_complaint_dates=["2023-05-01", "2024-01-01"]),
        agency("g2", g, item=5, decided="2024-08-01"),   # no reports for 2022, 2023
        agency("g3", g, item=5, decided="2022-02-25"))   # outside 36 months
    ref = _ref(store, g, "credit_service_agency")
    workflows.file_annual_report(store, CREDIT, ref, 2023, date(2024, 9, 1))
    workflows.file_annual_report(store, CREDIT, ref, 2022, date(2025, 3, 15))
    workflows.file_annual_report(store, CREDIT, ref, 2024, date(2025, 5, 1))
    assert _get(store, g, AS_OF) == _vector(
        AS_OF, n_listed_12m=2, n_listed_36m=2, n_listed_36m_minor=2,
        months_since_last_listed=6,  # 2024-08-01 ≤ 2024-08-28 = as_of − 6 months
        agency_complaints_36m=1, agency_missing_reports_36m=1,
        agency_reports_filed=1)  # due years 2022 and 2023; 2022 filed only after as_of
    _pick(_get(store, g, date(2025, 3, 15)), agency_reports_filed=2)
    # From 1 July the due years are 2023 and 2024.
    _pick(_get(store, g, date(2025, 6, 30)), agency_reports_filed=2)
    _pick(_get(store, g, date(2025, 7, 1)), agency_reports_filed=2)
    _pick(_get(store, g, date(2024, 8, 31)), agency_reports_filed=0)


def test_entities_without_records_get_a_row(store: Store) -> None:
    _ok(store, HR, hr("x", uscc(3), tier="grave", decided="2024-01-02"))
    _bare(store, uscc(4))
    _bare(store, uscc(5), "credit_service_agency", established="2020-05-01")
    _bare(store, uscc(6), established="2025-06-01")  # founded after as_of
    _ok(store, HR, hr("np", uscc(7), tier="minor", decided="2024-05-01", no_penalty=True))
    with store.engine.connect() as conn:
        rows = {k: dict(zip(FEATURE_NAMES, row, strict=True))
                for fb in feature_rows(conn, AS_OF) for k, row in
                zip(fb.entity_keys, fb.matrix.tolist(), strict=True)}
        assert features_for(conn, uscc(99), AS_OF) is None
        assert list(feature_rows(conn, AS_OF, entity_ids=[])) == []
        assert list(feature_rows(conn, AS_OF, entity_keys=[uscc(99)])) == []
    assert set(rows) == {uscc(i) for i in (3, 4, 5, 6, 7)}
    assert rows[uscc(4)] == _vector(AS_OF)
    assert rows[uscc(5)] == _vector(AS_OF, date(2020, 5, 1), agency_reports_filed=0)
    assert rows[uscc(6)] == _vector(AS_OF, date(2025, 6, 1))
    assert rows[uscc(6)]["entity_age_years"] < 0
    assert rows[uscc(7)] == _vector(AS_OF)  # a decision without dishonesty is no record
    assert rows[uscc(3)]["n_active_serious"] == 1


def test_repaired_disputed_and_withdrawn(store: Store) -> None:
    d = uscc(20)
    r1, r2, r3 = _ok(store, HR,
                     hr("d1", d, tier="grave", decided="2023-01-02"),
                     hr("d2", d, tier="serious", decided="2024-06-03"),
                     hr("d3", d, tier="serious", decided="2024-06-04"))
    rep = workflows.apply_repair(store, HR, str(r1), "罚款已缴清", True, date(2024, 3, 1))
    workflows.decide_repair(store, HR, str(rep.id), "accept", "", date(2024, 3, 4))
    workflows.decide_repair(store, HR, str(rep.id), "approve", "", date(2024, 3, 8))
    o2 = workflows.file_objection(store, HR, str(r2), "content", "事实有误", date(2024, 7, 1))
    o3 = workflows.file_objection(store, HR, str(r3), "content", "事实有误", date(2024, 7, 1))
    workflows.resolve_objection(store, HR, str(o2.id), "rejected", "查无实据",
                                date(2024, 7, 15), None)
    workflows.resolve_objection(store, HR, str(o3.id), "upheld_withdrawn", "核实有误",
                                date(2024, 8, 1), None)
    _pick(_get(store, d, date(2024, 3, 7)), n_active_serious=1, n_repaired=0)
    _pick(_get(store, d, date(2024, 3, 8)), n_active_serious=0, n_repaired=1,
          max_active_severity=0, n_listed_36m=1, n_listed_36m_serious=1)  # repaired counts
    _pick(_get(store, d, date(2024, 6, 30)), n_disputed=0, n_active_general=2)
    _pick(_get(store, d, date(2024, 7, 1)), n_disputed=2, n_active_general=2)
    _pick(_get(store, d, date(2024, 7, 15)), n_disputed=1, n_active_general=2)
    _pick(_get(store, d, date(2024, 7, 31)), n_disputed=1, n_active_general=2,
          n_listed_12m=2, hr_serious_36m=2)
    # Withdrawn on 2024-08-01: gone from every feature from that day on.
    after = _get(store, d, date(2024, 8, 1))
    _pick(after, n_disputed=0, n_active_general=1, n_listed_12m=1, n_listed_36m=2,
          hr_serious_36m=1, n_repaired=1, months_since_last_listed=1)
    # Today the flag the workflows keep agrees with the objection history.
    with store.sessions() as s:
        flags = s.execute(select(Record.disputed)).scalars().all()
    assert _get(store, d, TODAY)["n_disputed"] == sum(flags) == 0


def test_shielded_records_are_left_out(store: Store) -> None:
    e = uscc(21)
    _ok(store, HR, hr("e1", e, tier="grave", decided="2024-01-10"))
    shield, _ = workflows.start_shield(store, HR, _ref(store, e), "（2024）吉01破3号",
                                       date(2024, 5, 1))
    _ok(store, HR, hr("e2", e, tier="serious", decided="2024-06-01"))  # after the shield
    before = _get(store, e, date(2024, 4, 30))
    _pick(before, n_active_serious=1, n_listed_12m=1, hr_grave_36m=1, max_active_severity=3)
    _pick(_get(store, e, date(2024, 5, 1)), n_active_serious=0, n_listed_12m=0,
          n_listed_36m=0, hr_grave_36m=0, max_active_severity=0, months_since_last_listed=-1)
    _pick(_get(store, e, date(2024, 7, 1)), n_active_serious=0, n_active_general=1,
          n_listed_12m=1, hr_grave_36m=0, hr_serious_36m=1, max_active_severity=2,
          months_since_last_listed=1)
    workflows.lift_shield(store, HR, str(shield.id), date(2024, 9, 2))
    _pick(_get(store, e, date(2024, 9, 1)), n_active_serious=0, n_listed_12m=1)
    _pick(_get(store, e, date(2024, 9, 2)), n_active_serious=1, n_active_general=1,
          n_listed_12m=2, hr_grave_36m=1, max_active_severity=3)


def test_a_shield_covers_its_own_departments_records_and_an_admins_covers_all(
        store: Store) -> None:
    """国办发〔2025〕22号 九: each authority shields its own 失信信息. An HR shield once hid a
    fire department's serious-list record too, and a D entity graded A."""
    e = uscc(22)
    _ok(store, HR, hr("g1", e, tier="grave", decided="2024-06-01"))
    _ok(store, FIRE, fire("f1", e, decided="2024-06-01", serious_list=True))
    ref = _ref(store, e)

    def shielded_sources(as_of: date) -> set[str]:
        with store.sessions() as s:
            file = credit_file(s, e, as_of, include_audit=False)
        assert file is not None
        return {v.record.source for v in file.records if v.shielded}

    _pick(_get(store, e, date(2024, 6, 30)), n_active_serious=2)
    for who, day, left, hidden in ((HR, date(2024, 7, 1), 1, {"hr_penalty"}),
                                   (FIRE, date(2024, 8, 1), 1, {"fire_products"}),
                                   (ADMIN, date(2024, 9, 1), 0, {"hr_penalty", "fire_products"})):
        shield, _ = workflows.start_shield(store, who, ref, "（2024）吉01破4号", day)
        _pick(_get(store, e, day), n_active_serious=left)
        assert shielded_sources(day) == hidden
        workflows.lift_shield(store, who, str(shield.id), day + timedelta(days=10))
        _pick(_get(store, e, day + timedelta(days=10)), n_active_serious=2)
        assert shielded_sources(day + timedelta(days=10)) == set()
    # Two departments' shields at once: each hides its own; one department shields once.
    hr_shield, _ = workflows.start_shield(store, HR, ref, "（2024）吉01破4号", date(2024, 11, 1))
    workflows.start_shield(store, FIRE, ref, "（2024）吉01破4号", date(2024, 11, 2))
    assert shielded_sources(date(2024, 11, 2)) == {"hr_penalty", "fire_products"}
    with pytest.raises(ServiceError, match="already shielded by this department"):
        workflows.start_shield(store, HR, ref, "（2024）吉01破4号", date(2024, 11, 3))
    workflows.lift_shield(store, HR, str(hr_shield.id), date(2024, 11, 4))
    assert shielded_sources(date(2024, 11, 4)) == {"fire_products"}


def test_a_listing_on_the_serious_list_is_graded_d_by_the_list_rule(store: Store) -> None:
    """A fire-products 严重违法失信名单 listing is counted as such and named as the decider with
    its own basis (消防〔2025〕32号 三（四）7); a medical 严重失信 rating is a 严重 record only."""
    listed, rated = uscc(26), uscc(27)
    _ok(store, FIRE, fire("l1", listed, decided="2024-06-01", serious_list=True))
    _ok(store, MEDICAL, _med("r1", rated, "1500000", "2024-06-01"))  # 特别严重失信
    evaluator = Evaluator(Model(*load_default()), default_policy(), default_supervision())
    as_of = date(2024, 8, 1)
    with store.engine.connect() as conn:
        on_list, rating = (evaluator.evaluate(conn, k, as_of) for k in (listed, rated))
    assert on_list is not None and rating is not None
    assert (on_list.features["n_active_serious_list"], on_list.features["n_active_serious"]) == (
        1, 1)
    assert (rating.features["n_active_serious_list"], rating.features["n_active_serious"]) == (
        0, 1)
    assert on_list.decision.grade == rating.decision.grade == "D"
    assert [r[0] for r in on_list.decision.reasons][1:] == ["serious_list",
                                                          "active_serious_record"]
    assert [r[0] for r in rating.decision.reasons][1:] == ["active_serious_record"]
    assert 8 in {b.source_line for b in on_list.legal_basis}
    assert 8 not in {b.source_line for b in rating.legal_basis}


def test_commitments_kept_and_broken(store: Store) -> None:
    c = uscc(25)
    _ok(store, HR, hr("np", c, tier="minor", decided="2024-12-01", no_penalty=True))
    ref = _ref(store, c)
    kept = workflows.register_commitment(store, HR, ref, "hr_penalty", "按期补缴社保",
                                         date(2025, 1, 2), date(2025, 2, 28))
    broken = workflows.register_commitment(store, HR, ref, "hr_penalty", "按期支付工资",
                                           date(2025, 1, 2), date(2025, 3, 31))
    workflows.resolve_commitment(store, HR, str(kept.id), "kept", date(2025, 3, 1), None)
    workflows.resolve_commitment(store, HR, str(broken.id), "broken", date(2025, 4, 2),
                                 hr("broken", c, decided="2025-04-02"))
    _pick(_get(store, c, AS_OF), n_commitments_kept=0, n_commitments_broken=0)
    _pick(_get(store, c, date(2025, 3, 1)), n_commitments_kept=1, n_commitments_broken=0)
    _pick(_get(store, c, date(2025, 4, 2)), n_commitments_kept=1, n_commitments_broken=1,
          n_active_general=1, n_listed_12m=1)


def test_an_amount_postgresql_cannot_cast_does_not_break_the_run(store: Store) -> None:
    a = uscc(30)
    bad = ("1_000_000", " 60000 ", "１０００００", "9" * 400, "1.2.3")
    ids = _ok(store, MEDICAL, *(_med(f"m{i}", a, "100000", f"2024-0{i + 1}-01")
                                for i in range(len(bad))),
              _med("ok", a, "200000.25", "2024-09-01"))
    # Ingestion accepts what Decimal parses (all but the last), stored as sent.
    with store.writer() as s:
        for rid, text in zip(ids, bad, strict=False):
            rec = s.get(Record, rid)
            assert rec is not None
            rec.facts = {**rec.facts, "amount_yuan": text}
    _pick(_get(store, a, AS_OF), medical_amount_36m=200000.25, n_listed_36m=len(bad) + 1)


# ----------------------------------------------------------------------------- labels

def test_labels_mark_new_general_or_serious_records(store: Store) -> None:
    as_of = date(2024, 2, 29)  # horizon end: 2025-02-28
    codes = {i: uscc(40 + i) for i in range(9)}
    _ok(store, HR,
        hr("l0", codes[0], tier="serious", decided="2025-02-28"),  # last day: new
        hr("l1", codes[1], tier="serious", decided="2025-03-01"),  # after the horizon
        hr("l2", codes[2], tier="grave", decided="2024-02-29"),    # on as_of: not new
        hr("l3", codes[3], tier="minor", decided="2024-06-01"),    # 轻微 only
        hr("l4", codes[4], tier="grave", decided="2024-06-01"),    # withdrawn in the horizon
        hr("l5", codes[5], tier="grave", decided="2024-06-01"),    # withdrawn after it
        hr("l6", codes[6], tier="minor", decided="2024-06-01", no_penalty=True))
    _ok(store, MEDICAL, _med("l7", codes[7], "600000", "2024-08-01"))  # 严重, still pending
    _bare(store, codes[8])
    for code, on in ((codes[4], date(2024, 9, 2)), (codes[5], date(2025, 3, 10))):
        with store.sessions() as s:
            rid = s.execute(select(Record.id).join(Entity, Entity.id == Record.entity_id)
                            .where(Entity.entity_key == code)).scalar_one()
        o = workflows.file_objection(store, HR, str(rid), "content", "有误", on)
        workflows.resolve_objection(store, HR, str(o.id), "upheld_withdrawn", "有误", on, None)
    with store.engine.connect() as conn:
        ids = {e.entity_key: e.id for e in conn.execute(select(Entity.entity_key, Entity.id))}
        by_code = {code: labels(conn, as_of)[ids[code]] for code in codes.values()}
        six = labels(conn, as_of, 6)
        some = labels(conn, as_of, entity_ids=[ids[codes[0]], ids[codes[1]]])
        shards = [labels(conn, as_of, shard=(i, 2)) for i in range(2)]
        full = labels(conn, as_of)
    assert by_code == {codes[0]: 1, codes[1]: 0, codes[2]: 0, codes[3]: 0, codes[4]: 0,
                       codes[5]: 1, codes[6]: 0, codes[7]: 1, codes[8]: 0}
    assert six[ids[codes[7]]] == 1 and six[ids[codes[0]]] == 0  # horizon ends 2024-08-29
    assert some == {ids[codes[0]]: 1, ids[codes[1]]: 0}
    assert {**shards[0], **shards[1]} == full and not set(shards[0]) & set(shards[1])
    assert len(full) == 9


# ------------------------------------------------------------------ bulk, single, shards

@pytest.fixture
def demo_store(store: Store) -> Store:
    stats = demo.load(store, 11, 300, today=TODAY)
    assert stats.rejected == 0, stats.errors
    return store


def _by_id(batches: list[Any]) -> dict[int, tuple[str, list[float]]]:
    return {int(i): (k, row) for fb in batches for i, k, row in
            zip(fb.entity_ids.tolist(), fb.entity_keys, fb.matrix.tolist(), strict=True)}


def test_bulk_equals_single_and_shards_cover_once(demo_store: Store) -> None:
    as_of = date(2024, 2, 29)
    with demo_store.engine.connect() as conn:
        bulk = list(feature_rows(conn, as_of, batch=64))
        rows = _by_id(bulk)
        assert [len(b) for b in bulk] == [64] * 4 + [300 - 256]
        ids = np.concatenate([b.entity_ids for b in bulk])
        assert (np.diff(ids) > 0).all() and len(rows) == 300
        assert all(b.matrix.dtype == np.float64 and b.matrix.shape[1] == len(FEATURE_NAMES)
                   for b in bulk)
        for key, row in rows.values():
            single = features_for(conn, key, as_of)
            assert single is not None and list(single.values()) == row, key
        shards = [_by_id(list(feature_rows(conn, as_of, shard=(i, 3)))) for i in range(3)]
        assert sum(len(s) for s in shards) == 300 and {k: v for s in shards
                                                        for k, v in s.items()} == rows
        assert all(i % 3 == n for n, s in enumerate(shards) for i in s)
        chosen = sorted(rows)[::7]
        assert _by_id(list(feature_rows(conn, as_of, entity_ids=chosen))) == {
            i: rows[i] for i in chosen}
        half = _by_id(list(feature_rows(conn, as_of, entity_ids=chosen, shard=(1, 2))))
        assert half == {i: rows[i] for i in chosen if i % 2 == 1}
        keys = [rows[i][0] for i in chosen]
        assert _by_id(list(feature_rows(conn, as_of, entity_keys=keys))) == {
            i: rows[i] for i in chosen}
        if conn.dialect.name == "postgresql":  # in a transaction: for the transaction only
            assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_generic_plan"
    if demo_store.engine.dialect.name == "postgresql":
        with demo_store.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "auto"
        with pytest.raises(ValueError):
            next(feature_rows(conn, as_of, shard=(3, 3)))
    if demo_store.engine.dialect.name == "postgresql":
        # Evaluate's way: outside a transaction, through the prepared statement with its
        # generic plan, past PostgreSQL's first five (custom) plans.
        reader = demo_store.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        with reader as conn:
            for n in (1, 2, 5, 9, 9, 9, 9, 9):
                assert _by_id(list(feature_rows(conn, as_of, entity_keys=keys[:n]))) == {
                    i: rows[i] for i in chosen[:n]}
            assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_generic_plan"
    # Some files are non-trivial, or the comparison above proves little.
    used = Counter(n for _, row in rows.values() for n, v in zip(FEATURE_NAMES, row, strict=True)
                   if v > 0)
    assert used["n_active_serious"] > 5 and used["medical_amount_36m"] > 5
    _check_against_credit_files(demo_store, as_of, rows)


def _check_against_credit_files(store: Store, as_of: date,
                                rows: dict[int, tuple[str, list[float]]]) -> None:
    """Recomputes the record features from each credit file in Python (another path)."""
    m12, m36 = add_months(as_of, -12), add_months(as_of, -36)
    index = {n: i for i, n in enumerate(FEATURE_NAMES)}
    with store.sessions() as s:
        for entity_id, (key, row) in rows.items():
            file = credit_file(s, key, as_of, include_audit=False)
            assert file is not None and file.entity.id == entity_id
            seen = [v for v in file.records
                    if v.record.listed and v.status != "withdrawn" and not v.shielded]
            active = [v.record for v in seen if v.status == "active"]
            in36 = [v.record for v in seen if v.record.decided_on > m36]
            expected = {
                "n_active_serious": sum(r.category == "serious" for r in active),
                "n_active_hr_penalty": sum(r.source == "hr_penalty" for r in active),
                "n_listed_12m": sum(v.record.decided_on > m12 for v in seen),
                "n_listed_36m_general": sum(r.category == "general" for r in in36),
                # A file's record rows carry their facts as JSON text.
                "medical_amount_36m": float(sum(float(json.loads(r.facts).get("amount_yuan", 0))
                                                for r in in36
                                                if r.source == "medical_procurement")),
                "hr_grave_36m": sum(r.source == "hr_penalty"
                                    and json.loads(r.facts)["tier"] == "grave"
                                    for r in in36),
                "months_since_last_listed": max(
                    (m for m in range(200) if seen and add_months(as_of, -m) >= max(
                        v.record.decided_on for v in seen)), default=-1),
            }
            got = {n: row[index[n]] for n in expected}
            assert got == pytest.approx(expected), key


# ------------------------------------------------------------------------- pure parts

def test_whole_months_since_agrees_with_the_windows() -> None:
    for as_of in (date(2025, 2, 28), date(2024, 2, 29), date(2025, 3, 31), date(2025, 7, 15)):
        lasts = [as_of - timedelta(days=d) for d in range(0, 800, 3)]
        got = whole_months_since(np.array([*lasts, None], dtype="datetime64[D]"), as_of)
        want = [max(m for m in range(40) if add_months(as_of, -m) >= d) for d in lasts]
        assert got.tolist() == [*want, -1]
        for n in (1, 12, 36):  # in the N-month window exactly when fewer than N months back
            assert all((d > add_months(as_of, -n)) == (m < n) for d, m in zip(lasts, want,
                                                                              strict=True))


def test_docs_carry_the_feature_table() -> None:
    assert [f.name for f in FEATURES] == list(FEATURE_NAMES)
    assert all(f.zh and f.en and f.meaning and f.unit and f.value_range for f in FEATURES)
    doc = Path(__file__).parents[2] / "docs" / "features.md"
    assert features_markdown() in doc.read_text(encoding="utf-8"), (
        "docs/features.md is stale: paste `python -m services.scoring.features`")


# ------------------------------------------------------------- prepared statement, schema change

@pytest.mark.postgres
def test_the_prepared_feature_query_survives_a_column_type_change(pg_url: str) -> None:
    store = open_store(pg_url, pii_key=PII_KEY, clock=lambda: TODAY)
    code = uscc(91)
    try:
        _ok(store, HR, hr("h-1", code))
        expected = _get(store, code, TODAY)
        # Evaluate's way: one autocommit connection, the statement prepared on it once.
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            assert features_for(conn, code, TODAY) == expected
            retype_entity_name(pg_url, 300)
            # Its result type changed: prepared afresh and run again, unseen by the caller.
            assert features_for(conn, code, TODAY) == expected
            assert features_for(conn, code, TODAY) == expected
        # The change consumer's way: inside a transaction, which the failure aborts; the
        # connection's next transaction prepares afresh instead of failing forever.
        with store.engine.connect() as conn:
            assert features_for(conn, code, TODAY) == expected
            conn.commit()
            retype_entity_name(pg_url, 400)
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                features_for(conn, code, TODAY)
            conn.rollback()
            assert features_for(conn, code, TODAY) == expected
            names = conn.exec_driver_sql("SELECT name FROM pg_prepared_statements").scalars()
            assert len([n for n in names if n.startswith("credit_features_")]) == 1
    finally:
        store.engine.dispose()
