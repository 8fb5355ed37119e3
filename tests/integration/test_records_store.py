"""The records store on real SQLite and real PostgreSQL: ingestion, queries, workflows,
change feed and audit trail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import grpc
import pytest
from sqlalchemy import event, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from credit.v1 import records_pb2
from services.common.errors import ServiceError
from services.records import queries, views, workflows
from services.records.audit import verify_database
from services.records.ingest import ingest
from services.records.models import AuditEntry, Record, RecordVersion, RuleText
from services.records.store import Store, open_store
from services.records.submission import (
    Invalid,
    decode_submission,
    legacy_content_hash,
    require_ref,
)
from tests.conftest import ADMIN, CREDIT, FIRE, HR, MEDICAL, PII_KEY, TODAY, retype_entity_name
from tests.factories import MATERIALS, agency, fire, hr, medical, resident_id, subject, uscc


def _wrong_check(code: str) -> str:
    return code[:-1] + ("1" if code[-1] == "0" else "0")


def _one(store: Store, principal: object, sub: records_pb2.RecordSubmission):  # type: ignore[no-untyped-def]
    return ingest(store, principal, [sub])[0]  # type: ignore[arg-type]


def _count(store: Store, model: type) -> int:
    with store.sessions() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def _file(store: Store, code: str, as_of: date = TODAY) -> queries.CreditFile:
    found = store.snapshot(  # as GetCreditFile reads it
        lambda s: queries.credit_file(s, code, as_of, include_audit=True))
    assert found is not None
    return found


# ----------------------------------------------------------------------------- ingestion

def test_created_record_carries_classification_and_repair_notice(store: Store) -> None:
    r = _one(store, MEDICAL, medical("m-1", uscc(1), amount="600000"))
    assert r.outcome == "created" and r.error is None
    assert r.record is not None
    assert r.record["source_level"] == "严重失信" and r.record["category"] == "serious"
    # Evaluation completed 2025-05-20: effective from the first day of the next quarter.
    assert r.record["publication_start"] == date(2025, 7, 1)
    assert r.record["repair_eligible_from"] == date(2026, 7, 2)  # once the year is over
    assert r.record["publication_end"] == date(2028, 7, 2)  # published through 2028-07-01
    assert r.texts is not None and any("3年" in m for m in r.texts.measures)


def test_identical_record_again_is_a_no_op(store: Store) -> None:
    first = _one(store, MEDICAL, medical("m-1", uscc(1)))
    again = _one(store, MEDICAL, medical("m-1", uscc(1)))
    assert (again.outcome, again.record_id) == ("unchanged", first.record_id)
    assert _count(store, Record) == 1
    assert _count(store, AuditEntry) == 1


def test_a_resend_after_the_entity_was_renamed_is_no_correction(store: Store) -> None:
    first = _one(store, MEDICAL, medical("m-1", uscc(1)))
    renamed = medical("m-1", uscc(1))
    renamed.subject.name, renamed.subject.region_code = "德惠市新名称有限公司", "220182"
    renamed.subject.industry = "C"
    again = _one(store, MEDICAL, renamed)
    assert (again.outcome, again.record_id) == ("unchanged", first.record_id)
    assert _count(store, RecordVersion) == 0 and _count(store, AuditEntry) == 1
    # What the record states still counts: a changed finding is a correction.
    changed = medical("m-1", uscc(1), amount="1200000")
    assert _one(store, MEDICAL, changed).outcome == "corrected"


def test_a_record_stored_with_the_earlier_hash_is_still_recognised(store: Store) -> None:
    pb = medical("m-1", uscc(1))
    first = _one(store, MEDICAL, pb)
    # As stored before subject attributes were left out of the hash.
    old = legacy_content_hash(decode_submission(pb, store.protector, TODAY))
    with store.writer() as s:
        s.execute(update(Record).values(content_hash=old))
    again = _one(store, MEDICAL, pb)
    assert (again.outcome, again.record_id) == ("unchanged", first.record_id)
    assert _count(store, RecordVersion) == 0


def test_correction_by_owner_keeps_history(store: Store) -> None:
    _one(store, MEDICAL, medical("m-1", uscc(1), amount="100000"))
    r = _one(store, MEDICAL, medical("m-1", uscc(1), amount="1200000"))
    assert r.outcome == "corrected"
    with store.sessions() as s:
        rec = s.get(Record, r.record_id)
        assert rec is not None and rec.version == 2 and rec.source_level == "特别严重失信"
        old = s.execute(select(RecordVersion)).scalar_one()
        assert old.version == 1 and old.snapshot["source_level"] == "失信"
        actions = [a for (a,) in s.execute(select(AuditEntry.action).order_by(AuditEntry.seq))]
    assert actions == ["record_created", "record_corrected"]


def test_same_id_for_another_entity_is_already_exists(store: Store) -> None:
    _one(store, MEDICAL, medical("m-1", uscc(1)))
    r = _one(store, MEDICAL, medical("m-1", uscc(2)))
    assert r.error is not None and r.error.code == grpc.StatusCode.ALREADY_EXISTS


def test_other_department_is_denied_and_nothing_written(store: Store) -> None:
    r = _one(store, FIRE, medical("m-1", uscc(1)))
    assert r.error is not None and r.error.code == grpc.StatusCode.PERMISSION_DENIED
    assert _count(store, Record) == 0 and _count(store, AuditEntry) == 0


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: setattr(r.subject.ref, "uscc", _wrong_check(r.subject.ref.uscc)),
         "record.subject.ref.uscc"),
        (lambda r: setattr(r, "source", 99), "record.source"),
        (lambda r: setattr(r.medical_procurement, "amount_yuan", "-1"),
         "record.medical_procurement.amount_yuan"),
        (lambda r: setattr(r.medical_procurement, "amount_yuan", "abc"),
         "record.medical_procurement.amount_yuan"),
        (lambda r: setattr(r.medical_procurement, "amount_yuan", "1_000_000"),
         "record.medical_procurement.amount_yuan"),
        (lambda r: setattr(r.medical_procurement, "amount_yuan", "６００００"),
         "record.medical_procurement.amount_yuan"),
        (lambda r: setattr(r.medical_procurement, "amount_yuan", "100.005"),
         "record.medical_procurement.amount_yuan"),
        (lambda r: setattr(r.medical_procurement, "violation", "jaywalking"),
         "record.medical_procurement.violation"),
        (lambda r: setattr(r, "decided_on", "2099-01-01"), "record.decided_on"),
        (lambda r: setattr(r, "decided_on", "2025-02-30"), "record.decided_on"),
        (lambda r: setattr(r, "decided_on", "2009-12-31"), "record.decided_on"),
        (lambda r: setattr(r.subject, "region_code", "12345"), "record.subject.region_code"),
        (lambda r: setattr(r.subject, "industry", "Z"), "record.subject.industry"),
        (lambda r: setattr(r, "source_record_id", ""), "record.source_record_id"),
        (lambda r: setattr(r, "publication_months", 37), "record.publication_months"),
        # PostgreSQL refuses NUL in text: the whole batch's COPY would fail.
        (lambda r: setattr(r, "summary", "罚款\x00"), "record.summary"),
        (lambda r: setattr(r, "decision_number", "x\x00"), "record.decision_number"),
        (lambda r: setattr(r.subject, "name", "公司\x00"), "record.subject.name"),
    ],
)
def test_bad_fields_are_named_and_nothing_is_written(store: Store, mutate, field) -> None:  # type: ignore[no-untyped-def]
    sub = medical("m-bad", uscc(1))
    mutate(sub)
    r = _one(store, MEDICAL, sub)
    assert r.error is not None and r.error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in [v.field for v in r.error.violations], r.error.violations
    assert _count(store, Record) == 0


def test_unknown_fire_product_is_rejected(store: Store) -> None:
    r = _one(store, FIRE, fire("f-1", uscc(3), product="teapot"))
    assert r.error is not None
    assert [v.field for v in r.error.violations] == ["record.fire_products.product"]


def test_one_bad_record_does_not_abort_the_batch(store: Store) -> None:
    nul = medical("m-4", uscc(1))
    nul.summary = "a\x00b"
    batch = [medical("m-1", uscc(1)), medical("m-2", uscc(1), amount="-3"),
             medical("m-3", uscc(1), amount="2000000"), nul]
    results = ingest(store, MEDICAL, batch)
    assert [r.outcome for r in results] == ["created", "rejected", "created", "rejected"]
    assert _count(store, Record) == 2


def test_a_stale_rule_text_id_is_never_written(store: Store) -> None:
    # On PostgreSQL the bulk path skips the per-row foreign-key triggers and checks the
    # batch's references itself: a cached rule-text id that is gone (a restored database)
    # must be caught, looked up again, and never stored as a dangling reference.
    _one(store, MEDICAL, medical("m-1", uscc(1)))
    assert store.text_ids
    for digest in store.text_ids:
        store.text_ids[digest] = 10**9
    again = _one(store, MEDICAL, medical("m-2", uscc(2)))
    assert again.outcome == "created" and again.error is None
    with store.sessions() as s:
        dangling = s.execute(select(func.count()).select_from(Record)
                             .outerjoin(RuleText, RuleText.id == Record.texts_id)
                             .where(RuleText.id.is_(None))).scalar_one()
    assert dangling == 0 and _count(store, Record) == 2
    assert 10**9 not in store.text_ids.values()


def test_third_shixin_rating_escalates(store: Store) -> None:
    code = uscc(5)
    results = ingest(store, MEDICAL, [
        medical(f"m-{i}", code, decided=f"2025-0{i + 6}-01") for i in range(3)])
    levels = [r.record["source_level"] for r in results if r.record]
    assert levels == ["失信", "失信", "严重失信"]


def test_repeated_fire_offence_is_derived_from_history(store: Store) -> None:
    code = uscc(6)
    first = _one(store, FIRE, fire("f-1", code, decided="2025-03-01"))
    second = _one(store, FIRE, fire("f-2", code, decided="2025-06-01"))
    assert first.record and first.record["category"] == "minor"
    assert second.record and second.record["category"] == "general"


def test_person_id_is_stored_only_hashed_and_masked(store: Store) -> None:
    rid = resident_id(7)
    r = _one(store, HR, hr("h-1", rid, kind="person"))
    assert r.outcome == "created", r.error
    assert r.entity_key.startswith("P") and rid not in r.entity_key
    with store.engine.connect() as conn:
        dump = " ".join(str(row) for table in ("entities", "records", "audit_log")
                        for row in conn.execute(text(f"SELECT * FROM {_table(store, table)}")))
    assert rid not in dump and rid[:6] + "********" + rid[-4:] in dump


def _table(store: Store, name: str) -> str:
    return f"records.{name}" if store.engine.dialect.name == "postgresql" else name


def test_hr_no_penalty_is_accepted_but_not_listed(store: Store) -> None:
    r = _one(store, HR, hr("h-2", uscc(8), tier="minor", no_penalty=True))
    assert r.outcome == "created" and r.record is not None and r.record["listed"] is False
    file = _file(store, uscc(8))
    assert [v.status for v in file.records] == ["not_listed"]


# ------------------------------------------------------------------------------- queries

def test_status_follows_the_date_asked_about(store: Store) -> None:
    code = uscc(9)
    _one(store, HR, hr("h-1", code, tier="serious", decided="2024-01-10"))  # 一般: 12 months
    assert [v.status for v in _file(store, code, date(2024, 6, 1)).records] == ["active"]
    assert [v.status for v in _file(store, code, date(2025, 1, 10)).records] == ["active"]
    assert [v.status for v in _file(store, code, date(2025, 1, 11)).records] == ["expired"]
    assert _file(store, code, date(2023, 6, 1)).records == []


def test_list_filters_and_keyset_pages(store: Store) -> None:
    ingest(store, MEDICAL, [medical(f"m-{i}", uscc(100 + i), amount=str(100000 + i))
                            for i in range(25)])
    ingest(store, HR, [hr(f"h-{i}", uscc(200 + i)) for i in range(5)])
    seen: list[int] = []
    after = 0
    flt = queries.RecordFilter(as_of=TODAY, sources=("medical_procurement",))
    with store.sessions() as s:
        while True:
            rows, last = queries.list_records(s, flt, 10, after)
            seen += [v.record.id for v in rows]
            if last is None:
                break
            after = last
        assert len(seen) == 25 == len(set(seen))
        assert all(v.record.source == "medical_procurement"
                   for v in queries.list_records(s, flt, 100)[0])
        dehui = queries.RecordFilter(as_of=TODAY, region_prefix="220183", industry="F")
        assert len(queries.list_records(s, dehui, 100)[0]) == 30


def test_page_token_is_validated() -> None:
    assert queries.decode_token(queries.encode_token(42)) == 42
    with pytest.raises(Invalid):
        queries.decode_token("not-a-token")


def test_public_view_only_shows_published_active_records(store: Store) -> None:
    _one(store, HR, hr("h-old", uscc(11), decided="2023-01-01"))          # expired
    _one(store, HR, hr("h-new", uscc(12), decided="2025-06-01"))          # active
    _one(store, HR, hr("h-min", uscc(13), tier="minor", decided="2025-11-01"))
    with store.sessions() as s:
        rows, _ = queries.list_records(s, queries.RecordFilter(as_of=TODAY, public=True), 100)
    ids = {v.record.source_record_id for v in rows}
    assert "h-old" not in ids and "h-new" in ids
    assert all(v.record.published for v in rows)


# ----------------------------------------------------------------------------- workflows

def _serious_hr(store: Store, code: str, decided: str = "2024-01-02") -> int:
    r = _one(store, HR, hr("h-r", code, tier="grave", decided=decided))
    assert r.record_id is not None, r.error
    return int(r.record_id)


def test_repair_flow_with_working_day_deadlines(store: Store) -> None:
    rid = _serious_hr(store, uscc(20))
    rep = workflows.apply_repair(store, HR, str(rid), "罚款已缴清", True, date(2025, 9, 26))
    # 3 working days after Fri 2025-09-26: Sun 09-28 is an adjusted working day.
    assert rep.acceptance_due == date(2025, 9, 30)
    rep = workflows.decide_repair(store, HR, str(rep.id), "accept", "", date(2025, 9, 30))
    # 7 working days after 09-30 skip the National Day holidays (10-01..10-08) and count
    # Sat 10-11, an adjusted working day.
    assert rep.decision_due == date(2025, 10, 16)
    rep = workflows.decide_repair(store, HR, str(rep.id), "extend", "需核查", date(2025, 10, 9))
    assert rep.decision_due == date(2025, 10, 30)
    with pytest.raises(ServiceError) as again:
        workflows.decide_repair(store, HR, str(rep.id), "extend", "再延", date(2025, 10, 9))
    assert again.value.code == grpc.StatusCode.FAILED_PRECONDITION
    workflows.decide_repair(store, HR, str(rep.id), "approve", "", date(2025, 10, 20))
    file = _file(store, uscc(20))
    assert [v.status for v in file.records] == ["repaired"]
    assert _file(store, uscc(20), date(2025, 10, 19)).records[0].status == "active"


def test_a_repair_is_extended_before_its_decision_is_due_not_after(store: Store) -> None:
    rid = _serious_hr(store, uscc(30))
    rep = workflows.apply_repair(store, HR, str(rid), "proof", True, date(2025, 9, 26))
    rep = workflows.decide_repair(store, HR, str(rep.id), "accept", "", date(2025, 9, 30))
    assert rep.decision_due == date(2025, 10, 16)
    with pytest.raises(ServiceError) as late:
        workflows.decide_repair(store, HR, str(rep.id), "extend", "需核查", date(2025, 10, 17))
    assert late.value.code == grpc.StatusCode.FAILED_PRECONDITION
    overdue = workflows.list_overdue(store, date(2025, 10, 24), "hr_social_security")
    # Still visible as overdue, as is the applicant's answer (both due 10-16).
    assert [i.kind for i in overdue] == ["repair_decision", "repair_response"]
    rep = workflows.decide_repair(store, HR, str(rep.id), "extend", "需核查", date(2025, 10, 16))
    assert rep.decision_due == date(2025, 10, 30)


def test_repair_before_minimum_period_and_by_other_department(store: Store) -> None:
    rid = _serious_hr(store, uscc(21), decided="2025-06-01")
    for day in (date(2025, 7, 1), date(2026, 6, 1)):  # 严重: not before a year is over
        with pytest.raises(ServiceError) as early:
            workflows.apply_repair(store, HR, str(rid), "proof", True, day)
        assert early.value.code == grpc.StatusCode.FAILED_PRECONDITION
        assert "from 2026-06-02" in early.value.message
    with pytest.raises(Invalid):
        workflows.apply_repair(store, HR, str(rid), "proof", False, date(2026, 7, 1))
    rep = workflows.apply_repair(store, HR, str(rid), "proof", True, date(2026, 6, 2))
    with pytest.raises(ServiceError) as denied:
        workflows.decide_repair(store, MEDICAL, str(rep.id), "accept", "", date(2026, 6, 3))
    assert denied.value.code == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(ServiceError) as admin:
        workflows.decide_repair(store, ADMIN, str(rep.id), "accept", "", date(2026, 6, 3))
    assert admin.value.code == grpc.StatusCode.PERMISSION_DENIED


def test_overdue_repairs_are_listed(store: Store) -> None:
    rid = _serious_hr(store, uscc(22))
    workflows.apply_repair(store, HR, str(rid), "proof", True, date(2025, 9, 26))
    assert workflows.list_overdue(store, date(2025, 9, 30), "hr_social_security") == []
    items = workflows.list_overdue(store, date(2025, 10, 9), "hr_social_security")
    assert [(i.kind, i.working_days_overdue) for i in items] == [("repair_acceptance", 1)]
    assert workflows.list_overdue(store, date(2025, 10, 9), "fire_rescue") == []


def test_objection_upheld_withdraws_and_rejected_keeps(store: Store) -> None:
    rid = _serious_hr(store, uscc(23))
    obj = workflows.file_objection(store, HR, str(rid), "content", "认定事实有误",
                                   date(2025, 3, 3))
    assert _file(store, uscc(23)).records[0].record.disputed
    with pytest.raises(ServiceError):
        workflows.file_objection(store, HR, str(rid), "content", "again", date(2025, 3, 4))
    workflows.resolve_objection(store, HR, str(obj.id), "upheld_withdrawn", "核实有误",
                                date(2025, 3, 10), None)
    view = _file(store, uscc(23)).records[0]
    assert view.status == "withdrawn" and not view.record.disputed


def test_a_withdrawn_record_takes_no_objection_or_repair_and_keeps_its_date(
        store: Store) -> None:
    rid = _serious_hr(store, uscc(26), decided="2023-01-02")
    rep = workflows.apply_repair(store, HR, str(rid), "proof", True, date(2025, 9, 26))
    workflows.decide_repair(store, HR, str(rep.id), "accept", "", date(2025, 9, 30))
    obj = workflows.file_objection(store, HR, str(rid), "content", "认定有误", date(2025, 10, 9))
    workflows.resolve_objection(store, HR, str(obj.id), "upheld_withdrawn", "核实有误",
                                date(2025, 10, 10), None)
    with pytest.raises(ServiceError) as approve:
        workflows.decide_repair(store, HR, str(rep.id), "approve", "", date(2025, 10, 11))
    assert approve.value.code == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(ServiceError) as again:
        workflows.file_objection(store, HR, str(rid), "content", "再议", date(2025, 10, 12))
    assert again.value.code == grpc.StatusCode.FAILED_PRECONDITION
    workflows.decide_repair(store, HR, str(rep.id), "deny", "记录已撤销", date(2025, 10, 13))
    view = _file(store, uscc(26)).records[0]
    assert (view.status, view.record.withdrawn_on, view.record.repaired_on) == (
        "withdrawn", date(2025, 10, 10), None)


def test_a_correction_keeps_what_happened_to_the_finding(store: Store) -> None:
    # Repaired, then corrected by the department: still repaired, on the same date.
    code = uscc(27)
    rid = _serious_hr(store, code, decided="2023-01-02")
    rep = workflows.apply_repair(store, HR, str(rid), "proof", True, date(2025, 9, 26))
    workflows.decide_repair(store, HR, str(rep.id), "accept", "", date(2025, 9, 30))
    workflows.decide_repair(store, HR, str(rep.id), "approve", "", date(2025, 10, 20))
    fixed = hr("h-r", code, tier="grave", decided="2023-01-02")
    fixed.summary = "更正：处罚决定书文号"
    assert _one(store, HR, fixed).outcome == "corrected"
    view = _file(store, code).records[0]
    assert (view.status, view.record.repaired_on, view.record.version) == (
        "repaired", date(2025, 10, 20), 2)
    # Disputed, then corrected while the objection is open: still disputed.
    code = uscc(28)
    rid = _one(store, HR, hr("h-s", code, tier="grave", decided="2024-01-02")).record_id
    workflows.file_objection(store, HR, str(rid), "period", "期限有误", date(2025, 3, 3))
    fixed = hr("h-s", code, tier="grave", decided="2024-01-02")
    fixed.summary = "更正"
    assert _one(store, HR, fixed).outcome == "corrected"
    assert _file(store, code).records[0].record.disputed


def test_a_correction_in_the_batch_of_its_original_is_no_earlier_offence(store: Store) -> None:
    code = uscc(29)
    original, corrected = fire("f-c", code), fire("f-c", code)
    corrected.summary = "更正"
    later = fire("f-d", code, decided="2025-07-01")
    results = ingest(store, FIRE, [original, corrected, later])
    assert [r.outcome for r in results] == ["created", "corrected", "created"]
    by_id = {v.record.source_record_id: v.record for v in _file(store, code).records}
    # Classified as the first offence it is, not against its own earlier version; the next
    # record sees one earlier offence, not two.
    assert by_id["f-c"].source_level == "首次违法" and by_id["f-c"].version == 2
    assert by_id["f-d"].source_level == "多次违法"
    assert any("1 earlier" in n for n in json.loads(by_id["f-d"].notes))  # read as JSON text


def test_objection_upheld_with_correction(store: Store) -> None:
    code = uscc(24)
    rid = _serious_hr(store, code)
    obj = workflows.file_objection(store, HR, str(rid), "content", "情节认定过重",
                                   date(2025, 3, 3))
    corrected = hr("h-r", code, tier="minor", decided="2024-01-02")
    workflows.resolve_objection(store, HR, str(obj.id), "upheld_corrected", "改为情节较轻",
                                date(2025, 3, 10), corrected)
    rec = _file(store, code).records[0].record
    assert rec.version == 2 and rec.category == "minor"


def test_broken_commitment_creates_a_record(store: Store) -> None:
    code = uscc(25)
    _one(store, HR, hr("h-x", code, tier="minor", no_penalty=True))
    with store.sessions():
        ref = require_ref(subject(code).ref, "entity", store.protector)
    c = workflows.register_commitment(store, HR, ref, "hr_penalty", "按期补缴社保",
                                      date(2025, 1, 2), date(2025, 3, 31))
    c = workflows.resolve_commitment(store, HR, str(c.id), "broken", date(2025, 4, 2),
                                     hr("h-broken", code, decided="2025-04-02"))
    assert c.state == "broken" and c.record_id is not None
    statuses = {v.record.source_record_id: v.status for v in _file(store, code).records}
    assert statuses["h-broken"] == "active"


def test_shield_hides_from_public_and_lift_announces(store: Store) -> None:
    code = uscc(26)
    _serious_hr(store, code, decided="2025-06-01")
    ref = require_ref(subject(code).ref, "entity", store.protector)
    shield, _ = workflows.start_shield(store, HR, ref, "（2025）吉01破12号", date(2025, 8, 1))
    view = _file(store, code).records[0]
    assert view.shielded
    with store.sessions() as s:
        rows, _ = queries.list_records(s, queries.RecordFilter(as_of=TODAY, public=True), 100)
    assert rows == []
    workflows.lift_shield(store, HR, str(shield.id), date(2025, 11, 1))
    assert not _file(store, code).records[0].shielded
    with store.sessions() as s:
        kinds = [k for (k,) in s.execute(select(AuditEntry.action).order_by(AuditEntry.seq))]
    assert kinds[-1] == "shield_lifted"


def test_agency_registration_refused_for_listed_principal(store: Store) -> None:
    # 第十条（二）: a listing on a serious dishonesty list, here the market-supervision
    # 严重违法失信名单 (line 8); a grave HR penalty of a principal is none (see
    # test_agency_registration.py). The listed principal here is an organisation.
    listed, boss = uscc(31), resident_id(31)
    _one(store, FIRE, fire("f-boss", listed, serious_list=True, decided="2025-06-01"))
    _one(store, HR, hr("h-boss", boss, tier="grave", kind="person", decided="2025-06-01"))
    agency_subject = subject(uscc(30), "credit_service_agency", industry="L")
    from services.records.submission import decode_subject

    violations: list[tuple[str, str]] = []
    subj = decode_subject(agency_subject, "agency", store.protector, TODAY, violations)
    assert subj is not None
    person = require_ref(subject(boss, "person").ref, "p", store.protector)
    principals = [person, require_ref(subject(listed).ref, "p", store.protector)]
    with pytest.raises(ServiceError) as refused:
        workflows.register_agency(store, CREDIT, subj, principals, MATERIALS, TODAY)
    assert refused.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "第十条" in refused.value.message and listed in refused.value.message
    assert boss[-4:] not in refused.value.message  # the penalised person is not listed
    reg = workflows.register_agency(store, CREDIT, subj, [person], MATERIALS, TODAY)
    assert reg.staff_count == 5


def test_missing_annual_reports_are_checked_against_the_register(store: Store) -> None:
    code = uscc(33)
    ref = require_ref(subject(code, "credit_service_agency").ref, "a", store.protector)
    # Registering the agency through a (一) finding creates the entity.
    assert _one(store, CREDIT, agency("a-1", code, item=1, decided="2025-07-01")).error is None
    r = _one(store, CREDIT, agency("a-5", code, item=5, decided="2025-07-01"))
    assert r.outcome == "created", r.error  # no reports for 2023 and 2024
    workflows.file_annual_report(store, CREDIT, ref, 2024, date(2025, 5, 1))
    again = _one(store, CREDIT, agency("a-5b", code, item=5, decided="2025-07-02"))
    assert again.error is not None and again.error.code == grpc.StatusCode.INVALID_ARGUMENT


def test_credit_file_holds_every_workflow_of_its_entity_only(store: Store) -> None:
    code, other = uscc(34), uscc(35)
    rid = _serious_hr(store, code)
    _one(store, HR, hr("h-other", other, tier="grave", decided="2024-01-02"))
    ref = require_ref(subject(code).ref, "entity", store.protector)
    repair = workflows.apply_repair(store, HR, str(rid), "罚款已缴清", True, date(2025, 9, 26))
    objection = workflows.file_objection(store, HR, str(rid), "period", "公示期有误",
                                         date(2025, 9, 26))
    commitment = workflows.register_commitment(store, HR, ref, "hr_penalty", "按期整改",
                                               date(2025, 1, 2), date(2025, 3, 31))
    shield, _ = workflows.start_shield(store, HR, ref, "（2025）吉01破13号", date(2025, 8, 1))
    file = _file(store, code)
    assert [r.id for r in file.repairs] == [repair.id]
    assert [o.id for o in file.objections] == [objection.id]
    assert [c.id for c in file.commitments] == [commitment.id]
    assert [s.id for s in file.shields] == [shield.id]
    # Before the record was decided, its repair and objection are not part of the file.
    early = _file(store, code, date(2023, 12, 31))
    assert early.records == [] and early.repairs == [] and early.objections == []
    assert [c.id for c in early.commitments] == [commitment.id]
    clean = _file(store, other)
    assert len(clean.records) == 1
    assert (clean.repairs, clean.objections, clean.commitments, clean.shields,
            clean.annual_reports) == ([], [], [], [], [])
    assert [(a.entity_key, a.action) for a in clean.audit] == [(other, "record_created")]
    with store.sessions() as s:
        assert queries.credit_file(s, uscc(36), TODAY, include_audit=False) is None
    agency_code = uscc(37)
    agency_ref = require_ref(subject(agency_code, "credit_service_agency").ref, "a",
                             store.protector)
    assert _one(store, CREDIT, agency("a-9", agency_code, item=1,
                                      decided="2025-07-01")).error is None
    workflows.file_annual_report(store, CREDIT, agency_ref, 2024, date(2025, 5, 1))
    assert [a.year for a in _file(store, agency_code).annual_reports] == [2024]


def test_a_credit_file_is_read_on_one_snapshot(store: Store) -> None:
    code = uscc(38)
    assert _one(store, FIRE, fire("f-s1", code)).error is None

    def read(s: Session) -> tuple[queries.CreditFile | None, queries.CreditFile | None]:
        first = queries.credit_file(s, code, TODAY, include_audit=True)
        # Committed by another connection while the file is being read: not half in it.
        assert _one(store, FIRE, fire("f-s2", code, decided="2025-07-01")).error is None
        return first, queries.credit_file(s, code, TODAY, include_audit=True)

    first, again = store.snapshot(read)
    assert first is not None and again is not None
    assert len(first.records) == len(again.records) == 1
    assert len(again.audit) == 1
    assert len(_file(store, code).records) == 2


def test_a_files_facts_are_one_canonical_json_text_on_every_write_path(store: Store) -> None:
    code = uscc(39)
    first = _one(store, HR, hr("h-j", code, tier="grave", violation="拒不支付劳动报酬"))
    corrected = hr("h-j", code, tier="grave", violation="拒不支付劳动报酬。")
    corrected.summary = "更正"
    again = _one(store, HR, corrected)  # a correction is written by an UPDATE, not COPY
    assert (first.outcome, again.outcome) == ("created", "corrected")
    _one(store, HR, hr("h-k", code, tier="serious", decided="2025-07-01"))
    message = views.credit_file(_file(store, code), store.calendar)
    by_id = {r.source_record_id: r for r in message.records}
    for rid, stored in (("h-j", again.record["facts"]), ("h-k", None)):
        facts = json.loads(by_id[rid].facts_json)
        # Sorted keys, readable UTF-8, whatever the engine stored (its own key order, \u
        # escapes): the same text for the same facts.
        assert by_id[rid].facts_json == json.dumps(facts, ensure_ascii=False, sort_keys=True)
        if stored is not None:
            assert facts == stored
    assert "拒不支付劳动报酬。" in by_id["h-j"].facts_json
    record = by_id["h-j"]
    assert list(record.notes) == again.record["notes"] and record.notes
    assert [b.citation for b in record.legal_basis] == [
        b["citation"] for b in again.texts.legal_basis]
    assert list(record.measures) == again.texts.measures


@pytest.fixture
def one_connection(pg_url: str) -> Iterator[Store]:
    """A PostgreSQL store whose pool holds one connection: every read runs on it."""
    store = open_store(pg_url, pii_key=PII_KEY, clock=lambda: TODAY, pool_size=1)
    yield store
    store.engine.dispose()


def _prepared(store: Store, like: str = "%") -> int:
    """Statements prepared on the store's connection whose text matches `like`."""
    return int(store.snapshot(lambda s: s.execute(text(
        "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :like "
        "AND statement NOT LIKE '%pg_prepared_statements%'"  # not this one
    ), {"like": like}).scalar_one()))


@pytest.mark.postgres
def test_credit_file_statements_stay_prepared_between_reads(one_connection: Store) -> None:
    store, code = one_connection, uscc(40)
    thresholds: list[object] = []
    # Whoever takes a connection from the pool next must find it not preparing.
    event.listen(store.engine, "checkin",
                 lambda dbapi, _rec: thresholds.append(dbapi.prepare_threshold))
    assert _one(store, FIRE, fire("f-p", code)).error is None
    for _ in range(2):
        assert len(_file(store, code).records) == 1
    # Kept past each read's end (a ROLLBACK would have deallocated them all) ...
    assert _prepared(store, "%FROM records.records JOIN records.entities%") >= 1
    # ... and no connection went back to the pool still preparing.
    assert thresholds and all(t is None for t in thresholds)


@pytest.mark.postgres
def test_read_sessions_keep_prepared_statements_and_refuse_writes(one_connection: Store
                                                                  ) -> None:
    store, code = one_connection, uscc(42)
    assert _one(store, FIRE, fire("f-r", code)).error is None
    _file(store, code)  # prepares the file's statements on the one pooled connection
    with store.sessions() as s:  # e.g. a change-feed poll on that connection
        assert s.execute(select(func.count()).select_from(Record)).scalar_one() == 1
    assert _prepared(store) >= 1  # a read session's end did not deallocate them
    with pytest.raises(DBAPIError, match="read-only transaction"), store.sessions() as s:
        s.execute(update(Record).values(summary="bypassing the writer lock"))


@pytest.mark.postgres
def test_a_credit_file_is_read_after_a_column_type_changed_under_it(one_connection: Store,
                                                                    pg_url: str) -> None:
    store, code = one_connection, uscc(41)
    assert _one(store, FIRE, fire("f-m", code)).error is None
    for _ in range(2):  # prepared on the one pooled connection
        assert len(_file(store, code).records) == 1
    retype_entity_name(pg_url, 300)
    # The prepared statement's result type changed: read again, freshly prepared.
    assert len(_file(store, code).records) == 1


# ------------------------------------------------------------------ change feed and audit

def test_publication_end_is_announced_once(store: Store) -> None:
    _one(store, HR, hr("h-1", uscc(40), tier="serious", decided="2024-01-10"))
    assert workflows.sweep_publication_ends(store, date(2025, 1, 10)) == 0  # its last day
    assert workflows.sweep_publication_ends(store, date(2025, 1, 11)) == 1
    assert workflows.sweep_publication_ends(store, date(2025, 1, 12)) == 0
    with store.sessions() as s:
        kinds = [k for (k,) in s.execute(select(AuditEntry.action).order_by(AuditEntry.seq))]
    assert kinds == ["record_created", "publication_ended"]


def test_audit_chain_verifies_and_detects_tampering(store: Store) -> None:
    ingest(store, MEDICAL, [medical(f"m-{i}", uscc(50 + i)) for i in range(5)])
    with store.sessions() as s:
        result = verify_database(s)
    assert result.ok and result.checked == 5
    with store.engine.begin() as conn:
        conn.execute(text(f"UPDATE {_table(store, 'audit_log')} SET actor = 'mallory' "
                          "WHERE seq = 3"))
    with store.sessions() as s:
        broken = verify_database(s)
    assert broken.first_broken == 3 and not broken.ok


def test_rule_texts_are_remembered_per_database(tmp_path: Path) -> None:
    # Rule-text ids are per database; the read side's cache must never answer one database's
    # id with another's text (one process may serve, or test, several).
    medical_first = open_store(f"sqlite:///{tmp_path}/a.db", pii_key=PII_KEY, clock=lambda: TODAY)
    hr_first = open_store(f"sqlite:///{tmp_path}/b.db", pii_key=PII_KEY, clock=lambda: TODAY)
    try:
        _one(medical_first, MEDICAL, medical("m-1", uscc(1)))
        _one(hr_first, HR, hr("h-1", uscc(1)))
        files = [_file(s, uscc(1)) for s in (medical_first, hr_first)]
        assert [f.records[0].record.texts_id for f in files] == [1, 1]
        for store, f in zip((medical_first, hr_first), files, strict=True):
            with store.sessions() as s:
                stored = s.execute(select(RuleText.measures).where(RuleText.id == 1)).scalar()
            assert f.records[0].measures == stored
        assert files[0].records[0].measures != files[1].records[0].measures
    finally:
        medical_first.engine.dispose()
        hr_first.engine.dispose()
