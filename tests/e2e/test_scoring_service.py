"""Records and scoring as real processes: a record submitted to records changes the grade
the scoring service explains."""

from __future__ import annotations

import contextlib
import random
import sqlite3
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest

from credit.v1 import common_pb2, records_pb2, records_pb2_grpc, scoring_pb2, scoring_pb2_grpc
from models.registry import default_version
from services.common.errors import bad_request_violations
from services.common.stubs import records_stub, scoring_stub
from tests.factories import hr, medical, uscc
from tests.procs import bearer, free_port, records_service, service

pytestmark = pytest.mark.e2e
TODAY = "2025-11-20"


def scoring_service(tmp: Path, records_url: str, records_address: str) -> Any:
    return service("scoring", tmp, SCORING_RECORDS_DATABASE_URL=records_url,
                   SCORING_DATABASE_URL=f"sqlite:///{tmp}/scoring.db",
                   SCORING_RECORDS_ADDRESS=records_address,
                   SCORING_RECORDS_TOKEN="dev-scoring", CREDIT_TODAY=TODAY)


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scoring-e2e")


@pytest.fixture(scope="module")
def platform(tmp: Path) -> Iterator[
        tuple[records_pb2_grpc.RecordsServiceStub, scoring_pb2_grpc.ScoringServiceStub, int]]:
    """Records and scoring stubs, and the scoring service's metrics port."""
    url = f"sqlite:///{tmp}/records.db"
    with records_service(tmp, url, CREDIT_TODAY=TODAY) as (r_addr, _, _), \
            scoring_service(tmp, url, r_addr) as (s_addr, s_metrics, _), \
            grpc.insecure_channel(r_addr) as r_channel, \
            grpc.insecure_channel(s_addr) as s_channel:
        yield (records_stub(r_channel),
               scoring_stub(s_channel), s_metrics)


@pytest.fixture(scope="module")
def stubs(platform: tuple[Any, Any, int]) -> tuple[Any, Any]:
    return platform[0], platform[1]


def stored_grade(db: Path, key: str, timeout: float = 15, want: str | None = None
                 ) -> tuple[str, int] | None:
    """(grade, history rows) of `key` in the scoring database, waiting for `want`."""
    deadline = time.monotonic() + timeout
    found = None
    while time.monotonic() < deadline:
        with contextlib.closing(sqlite3.connect(db)) as conn:
            row = conn.execute("SELECT grade FROM grades WHERE entity_key = ?", (key,)).fetchone()
            n = conn.execute("SELECT count(*) FROM grade_history WHERE entity_key = ?",
                             (key,)).fetchone()[0]
        found = (row[0], n) if row else None
        if found and (want is None or found[0] == want):
            return found
        time.sleep(0.2)
    return found


REG = bearer("dev-regulator")


def _evaluate(scoring: scoring_pb2_grpc.ScoringServiceStub, code: str,
              **kw: Any) -> scoring_pb2.Evaluation:
    evaluation: scoring_pb2.Evaluation = scoring.Evaluate(scoring_pb2.EvaluateRequest(
        entity=common_pb2.EntityRef(uscc=code), **kw), metadata=REG, timeout=10)
    return evaluation


def test_serious_record_caps_the_grade_at_d_with_its_legal_basis(stubs: tuple[Any, Any]) -> None:
    records, scoring = stubs
    code = uscc(10)
    records.SubmitRecord(records_pb2.SubmitRecordRequest(
        record=hr("clean", code, tier="minor", no_penalty=True)),
        metadata=bearer("dev-hr"), timeout=10)
    before = _evaluate(scoring, code)
    assert before.decided_by == "score" and before.grade == before.score_grade
    records.SubmitRecord(records_pb2.SubmitRecordRequest(
        record=medical("serious", code, amount="1500000")), metadata=bearer("dev-medical"),
        timeout=10)
    # Right after one's own write: fresh reads the records database.
    after = _evaluate(scoring, code, fresh=True)
    assert after.grade == "D"
    assert "active_serious_record" in [r.code for r in after.grade_rules]
    # The rule is named as decider only when it lowered the grade the score gave.
    assert after.decided_by == ("score" if after.score_grade == "D" else "active_serious_record")
    assert after.features["n_active_serious"] == 1
    assert after.score < before.score
    assert after.reasons and after.reasons[0].text_zh
    assert any(b.source_line == 10 for b in after.legal_basis)
    assert after.tier.key_supervision and after.tier.grade == "D"
    assert after.model_version == default_version()
    # As of a date before the record took effect the grade was the score's.
    earlier = _evaluate(scoring, code, as_of="2025-06-30")
    assert earlier.decided_by == "score"


def test_answers_kept_in_memory_follow_the_change_feed(platform: tuple[Any, Any, int]) -> None:
    records, scoring, metrics = platform
    code = uscc(12)
    records.SubmitRecord(records_pb2.SubmitRecordRequest(
        record=hr("kept-1", code, tier="minor", no_penalty=True)),
        metadata=bearer("dev-hr"), timeout=10)
    first = _evaluate(scoring, code, fresh=True)
    served_before = _metric(metrics, 'scoring_answer_lookups_total{source="memory"}')
    again = _evaluate(scoring, code)
    assert again == first  # the same answer, from memory
    assert _metric(metrics, 'scoring_answer_lookups_total{source="memory"}') == \
        served_before + 1
    records.SubmitRecord(records_pb2.SubmitRecordRequest(
        record=medical("kept-2", code, amount="1500000")), metadata=bearer("dev-medical"),
        timeout=10)
    # The follower polls the feed five times a second: the kept answer goes within that.
    deadline = time.monotonic() + 5
    while (now := _evaluate(scoring, code)).grade != "D":
        assert time.monotonic() < deadline, f"still {now.grade} from memory"
        time.sleep(0.05)
    assert now == _evaluate(scoring, code, fresh=True)
    assert _metric(metrics, 'scoring_answers_dropped_total{cause="changed"}') >= 1


def test_department_override_changes_the_tier(stubs: tuple[Any, Any]) -> None:
    records, scoring = stubs
    code = uscc(11)
    records.SubmitRecord(records_pb2.SubmitRecordRequest(
        record=medical("serious-2", code, amount="1500000")), metadata=bearer("dev-medical"),
        timeout=10)
    default = _evaluate(scoring, code)
    fire = _evaluate(scoring, code, department="fire_rescue")
    assert fire.tier.sampling_ratio >= default.tier.sampling_ratio
    assert fire.tier.sampling_ratio == 1.0


def test_bad_inputs(stubs: tuple[Any, Any]) -> None:
    _, scoring = stubs
    with pytest.raises(grpc.RpcError) as missing:
        _evaluate(scoring, uscc(999))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]
    with pytest.raises(grpc.RpcError) as bad:
        _evaluate(scoring, uscc(10), as_of="2025-13-01", department="nobody")
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert {f for f, _ in bad_request_violations(bad.value)} == {"as_of", "department"}
    # Years 1 to 3 parse, but their 36-month windows would leave the calendar.
    with pytest.raises(grpc.RpcError) as ancient:
        _evaluate(scoring, uscc(10), as_of="0001-01-01")
    assert [f for f, _ in bad_request_violations(ancient.value)] == ["as_of"]
    replies = list(scoring.EvaluateBatch(iter([
        scoring_pb2.EvaluateBatchRequest(entities=scoring_pb2.EntityBatch(
            entities=[common_pb2.EntityRef(uscc=uscc(10))], as_of="0002-06-01")),
        scoring_pb2.EvaluateBatchRequest(entities=scoring_pb2.EntityBatch(
            entities=[common_pb2.EntityRef(uscc=uscc(10))]))]), metadata=REG, timeout=10))
    assert replies[0].HasField("error") and not replies[1].HasField("error")
    with pytest.raises(grpc.RpcError) as anonymous:
        scoring.Evaluate(scoring_pb2.EvaluateRequest(
            entity=common_pb2.EntityRef(uscc=uscc(10))), timeout=10)
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]


def _metric(port: int, line_prefix: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.decode().splitlines()
               if line.startswith(line_prefix))


def test_concurrent_calls_share_queries_and_each_gets_its_own_answer(
        platform: tuple[Any, Any, int]) -> None:
    records, scoring, metrics = platform
    codes = [uscc(n) for n in (30, 31, 32)]
    records.SubmitRecord(records_pb2.SubmitRecordRequest(
        record=medical("c-serious", codes[0], amount="1500000")),
        metadata=bearer("dev-medical"), timeout=10)
    records.SubmitRecord(records_pb2.SubmitRecordRequest(
        record=hr("c-hr", codes[1], tier="grave")), metadata=bearer("dev-hr"), timeout=10)
    records.SubmitRecord(records_pb2.SubmitRecordRequest(
        record=hr("c-clean", codes[2], tier="minor", no_penalty=True)),
        metadata=bearer("dev-hr"), timeout=10)
    # Entities, dates and departments mixed, and one entity that does not exist.
    asks = [(code, as_of, dept) for code in [*codes, uscc(998)]
            for as_of in ("", "2025-06-30") for dept in ("", "fire_rescue")]

    def ask(a: tuple[str, str, str]) -> scoring_pb2.Evaluation | grpc.StatusCode:
        try:
            return _evaluate(scoring, a[0], as_of=a[1], department=a[2])
        except grpc.RpcError as exc:
            return exc.code()  # type: ignore[attr-defined,no-any-return]

    alone = {a: ask(a) for a in asks}  # one at a time: each call its own query
    assert alone[(uscc(998), "", "")] == grpc.StatusCode.NOT_FOUND
    assert alone[(codes[0], "", "")].grade == "D"  # type: ignore[union-attr]
    assert alone[(codes[0], "2025-06-30", "")].features["n_active_serious"] == 0  # type: ignore[union-attr]
    assert (alone[(codes[0], "", "fire_rescue")].tier.sampling_ratio  # type: ignore[union-attr]
            != alone[(codes[0], "", "")].tier.sampling_ratio)  # type: ignore[union-attr]
    queries, calls = (_metric(metrics, "scoring_coalesced_batch_keys_count"),
                      _metric(metrics, "scoring_coalesced_batch_keys_sum"))
    together = asks * 8
    random.Random(5).shuffle(together)
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(ask, together))
    assert answers == [alone[a] for a in together]
    # Calls that arrived while a query ran shared the next one.
    more_queries = _metric(metrics, "scoring_coalesced_batch_keys_count") - queries
    more_keys = _metric(metrics, "scoring_coalesced_batch_keys_sum") - calls
    assert 0 < more_queries < len(together) and more_keys > more_queries


def test_an_unreachable_records_database_is_unavailable_not_internal(tmp_path: Path) -> None:
    # Nothing listens on the port: every feature read fails to connect.
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/records"
    with scoring_service(tmp_path, dead, "") as (address, _, _), \
            grpc.insecure_channel(address) as channel:
        scoring = scoring_stub(channel)
        with pytest.raises(grpc.RpcError) as down:
            _evaluate(scoring, uscc(10))
        assert down.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
        assert down.value.details() == "database unavailable; retry"  # type: ignore[attr-defined]
        # The service itself stays up and answers what needs no records.
        assert scoring.GetModelCard(scoring_pb2.GetModelCardRequest(), metadata=REG,
                                    timeout=10).version == default_version()


def test_model_card_is_served(stubs: tuple[Any, Any]) -> None:
    _, scoring = stubs
    card = scoring.GetModelCard(scoring_pb2.GetModelCardRequest(), metadata=REG, timeout=10)
    assert card.version == default_version()
    assert "ynthetic" in card.model_card_markdown and card.scorecard_text


def test_a_submitted_record_regrades_within_seconds(tmp: Path, stubs: tuple[Any, Any]) -> None:
    records, scoring = stubs
    code = uscc(20)
    records.SubmitRecord(records_pb2.SubmitRecordRequest(
        record=hr("first", code, tier="minor", no_penalty=True)),
        metadata=bearer("dev-hr"), timeout=10)
    first = stored_grade(tmp / "scoring.db", code)
    assert first is not None
    records.SubmitRecord(records_pb2.SubmitRecordRequest(
        record=medical("grave", code, amount="1500000")), metadata=bearer("dev-medical"),
        timeout=10)
    assert stored_grade(tmp / "scoring.db", code, want="D") is not None
    # The stored grade is the one Evaluate explains.
    assert _evaluate(scoring, code).grade == "D"


def test_consumer_resumes_from_its_cursor_after_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/records.db"
    code_a, code_b = uscc(30), uscc(31)
    with records_service(tmp_path, url, CREDIT_TODAY=TODAY) as (r_addr, _, _), \
            grpc.insecure_channel(r_addr) as channel:
        records = records_stub(channel)
        with scoring_service(tmp_path, url, r_addr):
            records.SubmitRecord(records_pb2.SubmitRecordRequest(
                record=medical("a", code_a, amount="1500000")),
                metadata=bearer("dev-medical"), timeout=10)
            assert stored_grade(tmp_path / "scoring.db", code_a, want="D") is not None
        # Scoring is down while B's record arrives; it must catch up from its cursor.
        records.SubmitRecord(records_pb2.SubmitRecordRequest(
            record=medical("b", code_b, amount="1500000")), metadata=bearer("dev-medical"),
            timeout=10)
        with scoring_service(tmp_path, url, r_addr):
            assert stored_grade(tmp_path / "scoring.db", code_b, want="D") is not None
            grade_a = stored_grade(tmp_path / "scoring.db", code_a)
    assert grade_a == ("D", 1)  # A was not graded twice into history
