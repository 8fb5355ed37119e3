"""The ingestion hot path's shortcuts give exactly what the plain code would."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from credit.v1 import records_pb2
from services.common.codes import PersonalIdProtector
from services.common.db import _json_text
from services.records import views
from services.records.audit import GENESIS, canonical_json, link_hash
from services.records.ingest import record_detail, rule_texts
from services.records.rules import Category, LegalBasis
from services.records.submission import Invalid, decode_submission
from tests.conftest import PII_KEY, TODAY
from tests.factories import agency, hr, medical, subject, uscc

PROTECTOR = PersonalIdProtector(PII_KEY)


@pytest.mark.parametrize("category, level", [
    ("serious", "严重失信"), ("general", "情节较重"), (None, "不予处罚"), ("minor", 'a"b\\c')])
def test_record_detail_is_the_canonical_json(category: str | None, level: str) -> None:
    sub = decode_submission(hr("RS-1/a:b.c_d-e", uscc(1)), PROTECTOR, TODAY)
    row = {"category": category, "source_level": level}
    built = record_detail(sub, row, None)
    assert built == canonical_json({
        "source": sub.source, "source_record_id": sub.source_record_id,
        "content_hash": sub.content_hash, "category": category, "source_level": level})
    assert record_detail(sub, row, "fixed by objection 7") == {
        "source": sub.source, "source_record_id": sub.source_record_id,
        "content_hash": sub.content_hash, "category": category, "source_level": level,
        "note": "fixed by objection 7"}


def test_a_repeated_subject_is_decoded_from_the_cache_per_day() -> None:
    first = decode_submission(hr("a", uscc(2)), PROTECTOR, TODAY)
    again = decode_submission(hr("b", uscc(2)), PROTECTOR, TODAY)
    assert again.subject is first.subject
    # The cache is keyed by day: a subject established "tomorrow" is refused today even after
    # it was accepted on a later day.
    late = records_pb2.RecordSubmission()
    late.CopyFrom(hr("c", uscc(3), decided="2025-11-21"))
    late.subject.CopyFrom(subject(uscc(3), established="2025-11-21"))
    assert decode_submission(late, PROTECTOR, date(2025, 11, 22)).subject.established_on == (
        date(2025, 11, 21))
    with pytest.raises(Invalid) as exc:
        decode_submission(late, PROTECTOR, TODAY)
    assert ("record.subject.established_on", "2025-11-21 is in the future") in (
        exc.value.violations)


def test_an_invalid_subject_still_reports_every_violation_in_order() -> None:
    bad = hr("", uscc(4))
    bad.subject.region_code = "99"
    bad.subject.ref.uscc = uscc(4)[:-1] + ("0" if uscc(4)[-1] != "0" else "1")
    for _ in range(2):  # the second time as well: failures are not cached
        with pytest.raises(Invalid) as exc:
            decode_submission(bad, PROTECTOR, TODAY)
        assert [f for f, _ in exc.value.violations] == [
            "record.source_record_id", "record.subject.ref.uscc", "record.subject.region_code"]


def test_stored_facts_hold_dates_as_text() -> None:
    sub = decode_submission(medical("m-1", uscc(5)), PROTECTOR, TODAY)
    assert sub.facts["case_received_on"] == date(2025, 3, 1)
    assert sub.stored_facts["case_received_on"] == "2025-03-01"
    assert {k: v for k, v in sub.stored_facts.items() if "_on" not in k} == {
        k: v for k, v in sub.facts.items() if "_on" not in k}
    listed = decode_submission(agency("a-1", uscc(6), item=8,
                                      verified_complaint_dates=["2025-01-02", "2025-03-04"]),
                               PROTECTOR, TODAY)
    assert listed.stored_facts["verified_complaint_dates"] == ["2025-01-02", "2025-03-04"]
    plain = decode_submission(hr("h-1", uscc(7)), PROTECTOR, TODAY)
    assert plain.stored_facts is plain.facts  # nothing to convert, nothing copied


def _notice(row: dict[str, Any], texts: Any) -> records_pb2.RepairNotice:
    """The notice spelled out without the shared parts (the pre-cache code)."""
    end = row["publication_end"] if row["published"] else None
    last = end - timedelta(days=1) if end else None  # the notice states the last day
    period = f"自{row['publication_start']}起公示至{last}" if end else "不予公示"
    return records_pb2.RepairNotice(
        category=views.CATEGORY_ENUM[row["category"]], source_level=row["source_level"],
        published=row["published"], publication_start=row["publication_start"].isoformat(),
        publication_end=end.isoformat() if end else "",
        repair_eligible_from=row["repair_eligible_from"].isoformat(),
        requirements=texts.requirements, measures=texts.measures,
        legal_basis=views.legal_basis(texts.legal_basis),
        text=f"信用修复告知书：你（单位）的失信信息已认定为{views.CATEGORY_CN[row['category']]}"
             f"失信信息（{row['source_level']}），{period}。自{row['repair_eligible_from']}起可"
             f"申请信用修复，申请材料：{'、'.join(texts.requirements)}。修复申请由认定部门办理"
             "（谁认定、谁修复），可通过“信用中国”网站或直接向认定部门提出。")


def test_repair_notices_sharing_texts_differ_in_their_own_fields() -> None:
    texts = rule_texts(("限制参加政府采购",), (LegalBasis("某规定", "第一条", 1),),
                       ("信用承诺书",))
    rows = [
        {"category": "serious", "source_level": "严重失信", "published": True,
         "publication_start": date(2025, 7, 1), "publication_end": date(2028, 7, 1),
         "repair_eligible_from": date(2026, 7, 1)},
        {"category": "serious", "source_level": "特别严重失信", "published": True,
         "publication_start": date(2024, 1, 1), "publication_end": date(2027, 1, 1),
         "repair_eligible_from": date(2025, 1, 1)},
        {"category": "minor", "source_level": "情节较轻", "published": False,
         "publication_start": date(2025, 2, 3), "publication_end": date(2025, 5, 3),
         "repair_eligible_from": date(2025, 2, 3)},
    ]
    for _ in range(2):  # built, then from the cache
        for row in rows:
            assert views.repair_notice(row, texts) == _notice(row, texts)


def test_rule_texts_are_shared_by_equal_citations() -> None:
    a = rule_texts(("m",), (LegalBasis("D", "第一条", 3, "N"),), ("r",))
    b = rule_texts(("m",), (LegalBasis("D", "第一条", 3, "N"),), ("r",))
    c = rule_texts(("m",), (LegalBasis("D", "第二条", 3, "N"),), ("r",))
    assert a is b and a.digest != c.digest
    assert a.legal_basis[0]["citation"] == "《D》（N）第一条（source line 3）"


def test_audit_link_of_prebuilt_detail_matches_the_dict_form() -> None:
    at = datetime(2025, 11, 20, 8, 0)
    detail = {"category": Category.SERIOUS.value, "source": "hr_penalty"}
    assert link_hash(GENESIS, 1, at, "k", "a", "record_created", "record", "1",
                     canonical_json(detail)) == link_hash(
        GENESIS, 1, at, "k", "a", "record_created", "record", "1",
        '{"category":"serious","source":"hr_penalty"}')


def test_json_texts_remembered_by_content_keep_value_types() -> None:
    for value in ({"a": True}, {"a": 1}, {"a": 1.0}, {"a": "1"}, {"a": [1]}, {"a": {"b": 1}},
                  {"a": True}, {"a": 1}, ["x"], {"名": "吉林"}):
        assert _json_text(value) == json.dumps(value, ensure_ascii=False)
