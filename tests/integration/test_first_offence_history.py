"""第九条's first-offence exemption (吉人社规〔2024〕4号, source line 29) through real ingestion,
on SQLite and PostgreSQL: an earlier 免予处罚 / 不予处罚 record is stored unlisted, and a later
batch must still see it, exactly as the same batch does."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from sqlalchemy import func, select

from credit.v1 import records_pb2
from services.common.errors import FieldViolation
from services.records.ingest import Result, ingest
from services.records.models import Record
from services.records.store import Store
from tests.conftest import FIRE, HR
from tests.factories import fire, hr, uscc

FIELD = "record.hr_penalty.first_minor_exempt"


def _minor(rid: str, code: str, decided: str, **facts: Any) -> records_pb2.RecordSubmission:
    return hr(rid, code, tier="minor", decided=decided, **facts)


def _refusal(result: Result) -> tuple[FieldViolation, ...]:
    assert result.outcome == "rejected" and result.error is not None, result.outcome
    assert result.error.code == grpc.StatusCode.INVALID_ARGUMENT
    return result.error.violations


def _stored(store: Store) -> int:
    with store.sessions() as s:
        return int(s.execute(select(func.count()).select_from(Record)).scalar_one())


@pytest.mark.parametrize("earlier", ["first_minor_exempt", "no_penalty"])
def test_a_second_exemption_in_a_later_batch_is_refused_as_in_the_same_batch(
        store: Store, earlier: str) -> None:
    claim: dict[str, Any] = {earlier: True}
    # The reference: both records in one batch.
    together = ingest(store, HR, [_minor("a-1", uscc(1), "2025-01-10", **claim),
                                  _minor("a-2", uscc(1), "2025-06-10", first_minor_exempt=True)])
    assert together[0].outcome == "created"
    expected = _refusal(together[1])
    assert [v.field for v in expected] == [FIELD]
    assert "2025-01-10" in expected[0].description

    first = ingest(store, HR, [_minor("b-1", uscc(2), "2025-01-10", **claim)])[0]
    assert first.outcome == "created" and first.record is not None
    assert first.record["listed"] is False  # why the persisted history used to miss it
    second = ingest(store, HR, [_minor("b-2", uscc(2), "2025-06-10", first_minor_exempt=True)])
    assert _refusal(second[0]) == expected
    assert _stored(store) == 2  # a-1 and b-1 only


def test_correcting_the_exempted_record_itself_is_no_second_offence(store: Store) -> None:
    code = uscc(3)
    assert ingest(store, HR, [_minor("c-1", code, "2025-01-10", first_minor_exempt=True)]
                  )[0].outcome == "created"
    fixed = _minor("c-1", code, "2025-01-10", first_minor_exempt=True, violation="未按时支付工资")
    again = ingest(store, HR, [fixed])[0]
    assert again.outcome == "corrected", again.error
    assert again.record is not None and again.record["source_level"] == "免予处罚"


def test_an_earlier_exemption_makes_no_fire_repeat(store: Store) -> None:
    # Repeat counting stays per source (消防〔2025〕32号 三（四）7 counts fire violations).
    code = uscc(4)
    ingest(store, HR, [_minor("d-1", code, "2025-01-10", first_minor_exempt=True)])
    later = ingest(store, FIRE, [fire("d-2", code, decided="2025-06-10")])[0]
    assert later.record is not None
    assert (later.record["source_level"], later.record["category"]) == ("首次违法", "minor")
