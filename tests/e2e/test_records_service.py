"""The records service as a real process, spoken to over real gRPC on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from credit.v1 import common_pb2, records_pb2, records_pb2_grpc
from services.common.errors import bad_request_violations
from services.common.stubs import records_stub
from services.records.config import DEFAULT_MAX_BATCH
from tests.factories import hr, medical, resident_id, subject, uscc
from tests.procs import bearer, records_service, sqlite_restore

pytestmark = pytest.mark.e2e
MED, FIRE, REG, PUBLIC = (bearer(t) for t in ("dev-medical", "dev-fire", "dev-regulator",
                                                "dev-public"))


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, object]]:
    tmp = tmp_path_factory.mktemp("records-e2e")
    with records_service(tmp, f"sqlite:///{tmp}/records.db", RECORDS_MAX_BATCH="50",
                         CREDIT_TODAY="2025-11-20") as svc:
        yield svc


@pytest.fixture(scope="module")
def stub(service: tuple[str, int, object]) -> Iterator[records_pb2_grpc.RecordsServiceStub]:
    with grpc.insecure_channel(service[0]) as channel:
        yield records_stub(channel)


def _code(exc: pytest.ExceptionInfo[grpc.RpcError]) -> grpc.StatusCode:
    return exc.value.code()  # type: ignore[attr-defined, no-any-return]


def _details(error: grpc.RpcError) -> str:
    return str(error.details())  # type: ignore[attr-defined]


def test_reflection_lists_the_service(service: tuple[str, int, object]) -> None:
    with grpc.insecure_channel(service[0]) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        replies = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(
            list_services="")]), timeout=5)
        names = {s.name for r in replies for s in r.list_services_response.service}
    assert {"credit.v1.RecordsService", "grpc.health.v1.Health"} <= names


def test_submit_returns_the_repair_notice(stub: records_pb2_grpc.RecordsServiceStub) -> None:
    reply = stub.SubmitRecord(records_pb2.SubmitRecordRequest(
        record=medical("e2e-1", uscc(1), amount="600000")), metadata=MED, timeout=10)
    assert reply.outcome == records_pb2.OUTCOME_CREATED
    notice = reply.repair_notice
    assert notice.category == common_pb2.CATEGORY_SERIOUS and notice.source_level == "严重失信"
    assert notice.publication_start == "2025-07-01" and "信用修复告知书" in notice.text
    again = stub.SubmitRecord(records_pb2.SubmitRecordRequest(
        record=medical("e2e-1", uscc(1), amount="600000")), metadata=MED, timeout=10)
    assert (again.outcome, again.record_id) == (records_pb2.OUTCOME_UNCHANGED, reply.record_id)


def test_authentication_and_department_scope(stub: records_pb2_grpc.RecordsServiceStub) -> None:
    req = records_pb2.SubmitRecordRequest(record=medical("e2e-2", uscc(2)))
    with pytest.raises(grpc.RpcError) as none:
        stub.SubmitRecord(req, timeout=10)
    assert _code(none) == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as wrong:
        stub.SubmitRecord(req, metadata=bearer("not-a-token"), timeout=10)
    assert _code(wrong) == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as other:
        stub.SubmitRecord(req, metadata=FIRE, timeout=10)
    assert _code(other) == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as public:
        stub.SubmitRecord(req, metadata=PUBLIC, timeout=10)
    assert _code(public) == grpc.StatusCode.PERMISSION_DENIED


def test_bad_field_is_invalid_argument_with_violation(
        stub: records_pb2_grpc.RecordsServiceStub) -> None:
    bad = medical("e2e-3", uscc(3), amount="12abc")
    with pytest.raises(grpc.RpcError) as exc:
        stub.SubmitRecord(records_pb2.SubmitRecordRequest(record=bad), metadata=MED, timeout=10)
    assert _code(exc) == grpc.StatusCode.INVALID_ARGUMENT
    fields = [f for f, _ in bad_request_violations(exc.value)]
    assert fields == ["record.medical_procurement.amount_yuan"]
    assert "Traceback" not in str(exc.value.details())  # type: ignore[attr-defined]


def test_stream_acknowledges_each_batch(stub: records_pb2_grpc.RecordsServiceStub) -> None:
    batches = [
        [medical(f"s-{i}", uscc(100 + i)) for i in range(20)],
        [medical("s-bad", uscc(200), amount="-1"), medical("s-ok", uscc(201))],
        [medical(f"big-{i}", uscc(300 + i)) for i in range(51)],  # over RECORDS_MAX_BATCH
        [medical("s-0", uscc(100))],  # identical again
    ]
    replies = list(stub.SubmitRecords(
        iter(records_pb2.SubmitRecordsRequest(records=b) for b in batches),
        metadata=MED, timeout=30))
    assert [r.batch for r in replies] == [0, 1, 2, 3]
    assert [(r.accepted, r.rejected) for r in replies] == [(20, 0), (1, 1), (0, 51), (1, 0)]
    bad = replies[1].results[0]
    assert bad.outcome == records_pb2.OUTCOME_REJECTED
    assert bad.error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert replies[2].results[0].error.message.startswith("invalid argument: records:")
    assert replies[3].results[0].outcome == records_pb2.OUTCOME_UNCHANGED


def test_a_brief_acknowledgement_leaves_out_measures_and_legal_basis(
        stub: records_pb2_grpc.RecordsServiceStub) -> None:
    views = [records_pb2.RESULT_VIEW_BRIEF, records_pb2.RESULT_VIEW_UNSPECIFIED, 9,
             records_pb2.RESULT_VIEW_FULL]
    replies = list(stub.SubmitRecords(iter(
        records_pb2.SubmitRecordsRequest(records=[medical(f"v-{i}", uscc(600 + i))],
                                         result_view=view)  # type: ignore[arg-type]
        for i, view in enumerate(views)), metadata=MED, timeout=30))
    assert [(r.accepted, r.rejected) for r in replies] == [(1, 0), (1, 0), (0, 1), (1, 0)]
    brief, default, unknown, full = (r.results[0] for r in replies)
    notice = brief.repair_notice
    # What the department delivers with its decision stays; the rule texts are left out.
    assert notice.category == common_pb2.CATEGORY_GENERAL and notice.publication_start
    assert notice.repair_eligible_from and notice.requirements and "信用修复告知书" in notice.text
    assert not notice.measures and not notice.legal_basis
    for whole in (default.repair_notice, full.repair_notice):
        assert whole.measures and whole.legal_basis
        assert (whole.text, whole.requirements) == (notice.text, notice.requirements)
    assert unknown.outcome == records_pb2.OUTCOME_REJECTED
    assert unknown.error.message == "invalid argument: result_view: unknown view 9"
    # The stored record keeps both: the credit file shows them.
    file = stub.GetCreditFile(records_pb2.GetCreditFileRequest(
        entity=common_pb2.EntityRef(uscc=uscc(600))), metadata=REG, timeout=10)
    assert file.records[0].measures and file.records[0].legal_basis


def test_a_default_client_receives_the_acknowledgement_of_a_full_message(
        tmp_path: Path) -> None:
    # The default RECORDS_MAX_BATCH and gRPC's default 4 MiB receive limit: every result
    # carries its repair notice, and the acknowledgement of a full message must still arrive.
    with records_service(tmp_path, f"sqlite:///{tmp_path}/records.db",
                         CREDIT_TODAY="2025-11-20") as (address, _, _), \
            grpc.insecure_channel(address) as channel:
        full = [hr(f"full-{i}", uscc(5000 + i)) for i in range(DEFAULT_MAX_BATCH)]
        acks = list(records_stub(channel).SubmitRecords(
            iter([records_pb2.SubmitRecordsRequest(records=full)]), metadata=bearer("dev-hr"),
            timeout=60))
    assert [(a.accepted, a.rejected) for a in acks] == [(DEFAULT_MAX_BATCH, 0)]
    assert all(r.repair_notice.text for r in acks[0].results if r.listed)


def test_credit_file_and_lists(stub: records_pb2_grpc.RecordsServiceStub) -> None:
    stub.SubmitRecord(records_pb2.SubmitRecordRequest(record=hr("h-1", uscc(400))),
                      metadata=bearer("dev-hr"), timeout=10)
    file = stub.GetCreditFile(records_pb2.GetCreditFileRequest(
        entity=common_pb2.EntityRef(uscc=uscc(400)), include_audit=True), metadata=REG,
        timeout=10)
    assert [r.status for r in file.records] == [records_pb2.RECORD_STATUS_ACTIVE]
    assert file.audit[0].action == "record_created"
    with pytest.raises(grpc.RpcError) as missing:
        stub.GetCreditFile(records_pb2.GetCreditFileRequest(
            entity=common_pb2.EntityRef(uscc=uscc(999))), metadata=REG, timeout=10)
    assert _code(missing) == grpc.StatusCode.NOT_FOUND
    page = stub.ListRecords(records_pb2.ListRecordsRequest(page_size=5), metadata=REG,
                            timeout=10)
    assert len(page.records) == 5 and page.next_page_token
    with pytest.raises(grpc.RpcError) as bad_token:
        stub.ListRecords(records_pb2.ListRecordsRequest(page_token="xyz"), metadata=REG,
                         timeout=10)
    assert [f for f, _ in bad_request_violations(bad_token.value)] == ["page_token"]
    public = stub.ListPublicRecords(records_pb2.ListRecordsRequest(page_size=100),
                                    metadata=PUBLIC, timeout=10)
    assert public.records and all(not r.facts_json for r in public.records)


def test_persons_are_shown_by_region_only_to_the_public_and_in_audit_details(
        stub: records_pb2_grpc.RecordsServiceStub) -> None:
    rid, principal = resident_id(71), resident_id(72)
    person = hr("pii-1", rid, kind="person", tier="grave")
    created = stub.SubmitRecord(records_pb2.SubmitRecordRequest(record=person),
                                metadata=bearer("dev-hr"), timeout=10)
    public = stub.ListPublicRecords(records_pb2.ListRecordsRequest(page_size=100),
                                    metadata=PUBLIC, timeout=10)
    shown = [r.entity_display_id for r in public.records
             if r.source_record_id == "pii-1"]
    assert shown == [rid[:6] + "*" * 12]
    assert created.entity_key not in str(public)  # persons' keys are blanked too
    agency_code = uscc(820)
    stub.RegisterAgency(records_pb2.RegisterAgencyRequest(
        agency=subject(agency_code, "credit_service_agency", industry="L"),
        principal_ids=[principal], staff_count=3, commitment_letter=True,
        credit_services_in_scope=True, annual_report=True),
        metadata=bearer("dev-credit"), timeout=10)
    file = stub.GetCreditFile(records_pb2.GetCreditFileRequest(
        entity=common_pb2.EntityRef(uscc=agency_code), include_audit=True), metadata=REG,
        timeout=10)
    details = " ".join(a.detail_json for a in file.audit)
    assert principal[:6] + "*" * 12 in details and principal[-4:] not in details


def test_a_cursor_beyond_the_feed_is_out_of_range(
        stub: records_pb2_grpc.RecordsServiceStub) -> None:
    events = list(stub.WatchChanges(records_pb2.WatchChangesRequest(after_seq=0),
                                    metadata=bearer("dev-scoring"), timeout=10))
    tip = events[-1].seq if events else 0
    for after in (tip + 3, 2**63 - 1):
        with pytest.raises(grpc.RpcError) as exc:
            list(stub.WatchChanges(records_pb2.WatchChangesRequest(after_seq=after, follow=True),
                                   metadata=bearer("dev-scoring"), timeout=10))
        assert _code(exc) == grpc.StatusCode.OUT_OF_RANGE
    assert list(stub.WatchChanges(records_pb2.WatchChangesRequest(after_seq=tip),
                                  metadata=bearer("dev-scoring"), timeout=10)) == []
    # An accepted call says so at once, with the tip, before any event (a follower at the
    # tip would otherwise hear nothing until the next change).
    call = stub.WatchChanges(records_pb2.WatchChangesRequest(after_seq=tip, follow=True),
                             metadata=bearer("dev-scoring"), timeout=10)
    assert dict(call.initial_metadata())["credit-feed-tip"] == str(tip)
    call.cancel()


def test_a_cursor_is_checked_against_its_events_hash(
        stub: records_pb2_grpc.RecordsServiceStub) -> None:
    feed = bearer("dev-scoring")
    events = list(stub.WatchChanges(records_pb2.WatchChangesRequest(after_seq=0),
                                    metadata=feed, timeout=10))
    assert len(events) >= 2 and all(len(e.hash) == 64 for e in events)
    assert len({e.hash for e in events}) == len(events)
    mid = events[-2]
    tail = list(stub.WatchChanges(records_pb2.WatchChangesRequest(
        after_seq=mid.seq, after_hash=mid.hash), metadata=feed, timeout=10))
    assert [e.seq for e in tail] == [events[-1].seq]
    # Another event's hash at that position: the feed is not the one the cursor was taken on.
    with pytest.raises(grpc.RpcError) as exc:
        list(stub.WatchChanges(records_pb2.WatchChangesRequest(
            after_seq=mid.seq, after_hash=events[-1].hash), metadata=feed, timeout=10))
    assert _code(exc) == grpc.StatusCode.FAILED_PRECONDITION
    assert "restored" in _details(exc.value)
    for seq, bad in ((mid.seq, "XYZ"), (mid.seq, mid.hash.upper()), (0, mid.hash)):
        with pytest.raises(grpc.RpcError) as exc:
            list(stub.WatchChanges(records_pb2.WatchChangesRequest(
                after_seq=seq, after_hash=bad), metadata=feed, timeout=10))
        assert _code(exc) == grpc.StatusCode.INVALID_ARGUMENT


def test_a_restore_under_a_running_service_ends_an_open_stream(tmp_path: Path) -> None:
    """A follower's stream is checked as it goes, not only when it starts: each new event
    must chain from the last one sent (or, the feed quiet, the event at the cursor must still
    be there), else the stream ends with FAILED_PRECONDITION instead of skipping events."""
    hr_md, feed = bearer("dev-hr"), bearer("dev-scoring")
    with records_service(tmp_path, f"sqlite:///{tmp_path}/records.db",
                         CREDIT_TODAY="2025-11-20") as (address, _, _), \
            grpc.insecure_channel(address) as channel:
        stub = records_stub(channel)

        def submit(rid: str, code: str, decided: str) -> None:
            stub.SubmitRecord(records_pb2.SubmitRecordRequest(
                record=hr(rid, code, tier="grave", decided=decided)), metadata=hr_md, timeout=10)

        submit("live-a", uscc(81), "2025-01-01")
        sqlite_restore(tmp_path / "records.db", tmp_path / "backup.db")
        for i in range(3):
            submit(f"live-b{i}", uscc(82), f"2025-0{i + 1}-01")
        last = list(stub.WatchChanges(records_pb2.WatchChangesRequest(after_seq=0),
                                      metadata=feed, timeout=10))[-1]
        call = stub.WatchChanges(records_pb2.WatchChangesRequest(
            after_seq=last.seq, after_hash=last.hash, follow=True), metadata=feed, timeout=30)
        assert dict(call.initial_metadata())["credit-feed-tip"] == str(last.seq)
        received: list[records_pb2.ChangeEvent] = []
        failure: list[grpc.RpcError] = []

        def follow() -> None:
            try:
                received.extend(call)
            except grpc.RpcError as exc:
                failure.append(exc)

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
        sqlite_restore(tmp_path / "backup.db", tmp_path / "records.db")
        for i in range(6):  # the restored feed grows past the follower's cursor
            submit(f"live-c{i}", uscc(83), f"2025-0{i + 1}-01")
        follower.join(timeout=20)
        assert not follower.is_alive()
        assert received == []  # nothing of the renumbered feed passed for what came next
        assert failure and failure[0].code() == grpc.StatusCode.FAILED_PRECONDITION  # type: ignore[attr-defined]
        assert "restored" in _details(failure[0])


def test_watch_changes_resumes_from_cursor(stub: records_pb2_grpc.RecordsServiceStub) -> None:
    events = list(stub.WatchChanges(records_pb2.WatchChangesRequest(after_seq=0),
                                    metadata=REG, timeout=10))
    assert events and [e.seq for e in events] == sorted(e.seq for e in events)
    tail = list(stub.WatchChanges(records_pb2.WatchChangesRequest(after_seq=events[-2].seq),
                                  metadata=REG, timeout=10))
    assert [e.seq for e in tail] == [events[-1].seq]
    follow = stub.WatchChanges(records_pb2.WatchChangesRequest(
        after_seq=events[-1].seq, follow=True), metadata=REG, timeout=10)
    stub.SubmitRecord(records_pb2.SubmitRecordRequest(record=medical("w-1", uscc(500))),
                      metadata=MED, timeout=10)
    new = next(follow)
    follow.cancel()
    assert new.kind == "record_created" and new.entity_key == uscc(500)


def test_metrics_count_codes(service: tuple[str, int, object]) -> None:
    text = urllib.request.urlopen(f"http://127.0.0.1:{service[1]}/metrics", timeout=5).read()
    body = text.decode()
    assert 'grpc_server_handled_total{grpc_code="INVALID_ARGUMENT"' in body or (
        'grpc_code="INVALID_ARGUMENT"' in body and "grpc_server_handled_total" in body)
    assert "grpc_server_handling_seconds_bucket" in body


def test_sigterm_drains_and_exits_zero(tmp_path: Path) -> None:
    with records_service(tmp_path, f"sqlite:///{tmp_path}/r.db") as (_, _, proc):
        proc.send_signal(signal.SIGTERM)  # type: ignore[attr-defined]
        assert proc.wait(timeout=30) == 0  # type: ignore[attr-defined]


def test_audit_verify_command_reports_first_broken_link(tmp_path: Path) -> None:
    import sqlite3
    import subprocess
    import sys

    from services.records.ingest import ingest
    from services.records.store import open_store
    from tests.conftest import MEDICAL, PII_KEY, TODAY

    url = f"sqlite:///{tmp_path}/audit.db"
    store = open_store(url, pii_key=PII_KEY, clock=lambda: TODAY)
    ingest(store, MEDICAL, [medical(f"a-{i}", uscc(700 + i)) for i in range(4)])
    store.engine.dispose()
    cmd = [sys.executable, "-m", "services.records.audit", "verify", "--database-url", url]
    ok = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "4 entries verified" in ok.stdout
    with sqlite3.connect(tmp_path / "audit.db") as conn:
        conn.execute("UPDATE audit_log SET detail = '{}' WHERE seq = 2")
    broken = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert broken.returncode == 1 and "BROKEN at entry 2" in broken.stdout


def test_workflows_over_grpc(stub: records_pb2_grpc.RecordsServiceStub) -> None:
    hr_md = bearer("dev-hr")
    created = stub.SubmitRecord(records_pb2.SubmitRecordRequest(
        record=hr("wf-1", uscc(800), tier="grave", decided="2024-01-02")), metadata=hr_md,
        timeout=10)
    repair = stub.ApplyRepair(records_pb2.ApplyRepairRequest(
        record_id=created.record_id, proof="罚款缴纳凭证", commitment_letter=True,
        applied_on="2025-09-26"), metadata=hr_md, timeout=10)
    assert (repair.state, repair.acceptance_due) == ("applied", "2025-09-30")
    with pytest.raises(grpc.RpcError) as other:
        stub.DecideRepair(records_pb2.DecideRepairRequest(
            repair_id=repair.repair_id, action="accept"), metadata=MED, timeout=10)
    assert _code(other) == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as future:
        stub.DecideRepair(records_pb2.DecideRepairRequest(
            repair_id=repair.repair_id, action="accept", on="2030-01-01"), metadata=hr_md,
            timeout=10)
    assert [f for f, _ in bad_request_violations(future.value)] == ["on"]
    overdue = stub.ListOverdue(records_pb2.ListOverdueRequest(), metadata=hr_md, timeout=10)
    # Applied 2025-09-26 and still not accepted: late to accept, and its answer (due 10-16).
    assert [(i.kind, i.item_id) for i in overdue.items] == [
        ("repair_acceptance", repair.repair_id), ("repair_response", repair.repair_id)]
    with pytest.raises(grpc.RpcError) as bad_id:
        stub.RegisterAgency(records_pb2.RegisterAgencyRequest(
            agency=subject(uscc(801), "credit_service_agency", industry="L"),
            principal_ids=["220183198001010011"], staff_count=3, commitment_letter=True,
            credit_services_in_scope=True, annual_report=True),
            metadata=bearer("dev-credit"), timeout=10)
    assert _code(bad_id) == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in bad_request_violations(bad_id.value)] == [
        "principal_ids[0].resident_id"]
    # Whether the articles' scope includes credit services must be stated (第十条（一）), and
    # the annual report is among the materials of an agency older than a year (第八条（四）).
    registration = records_pb2.RegisterAgencyRequest(
        agency=subject(uscc(802), "credit_service_agency", industry="L"),
        principal_ids=[resident_id(802)], staff_count=3, commitment_letter=True)
    with pytest.raises(grpc.RpcError) as unstated:
        stub.RegisterAgency(registration, metadata=bearer("dev-credit"), timeout=10)
    assert _code(unstated) == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in bad_request_violations(unstated.value)] == [
        "credit_services_in_scope", "annual_report"]
    registration.credit_services_in_scope, registration.annual_report = False, True
    with pytest.raises(grpc.RpcError) as out_of_scope:
        stub.RegisterAgency(registration, metadata=bearer("dev-credit"), timeout=10)
    assert _code(out_of_scope) == grpc.StatusCode.FAILED_PRECONDITION
    assert "第十条第（一）项" in str(out_of_scope.value.details())  # type: ignore[attr-defined]


def test_hostile_ids_filters_texts_and_retries(stub: records_pb2_grpc.RecordsServiceStub) -> None:
    hr_md = bearer("dev-hr")

    def code_of(call: Any, request: Any, md: Any = hr_md) -> grpc.StatusCode:
        with pytest.raises(grpc.RpcError) as exc:
            call(request, metadata=md, timeout=10)
        return _code(exc)

    # Ids: superscript and Arabic-Indic digits pass str.isdigit; beyond BIGINT overflows.
    for bad in ("²", "٣", "9" * 19, "99999999999999999999"):
        assert code_of(stub.ApplyRepair, records_pb2.ApplyRepairRequest(
            record_id=bad, proof="p", commitment_letter=True)) == grpc.StatusCode.NOT_FOUND
        assert code_of(stub.DecideRepair, records_pb2.DecideRepairRequest(
            repair_id=bad, action="accept")) == grpc.StatusCode.NOT_FOUND
    # Filters: one section letter, ASCII digits.
    for request, field in ((records_pb2.ListRecordsRequest(industry="ABC"), "industry"),
                           (records_pb2.ListRecordsRequest(region_prefix="٢٢"), "region_prefix")):
        with pytest.raises(grpc.RpcError) as exc:
            stub.ListRecords(request, metadata=bearer("dev-regulator"), timeout=10)
        assert [f for f, _ in bad_request_violations(exc.value)] == [field]
    # A principal of no department sees no department's overdue items.
    assert code_of(stub.ListOverdue, records_pb2.ListOverdueRequest(),
                   bearer("dev-planner")) == grpc.StatusCode.PERMISSION_DENIED
    # Control characters (PostgreSQL refuses NUL outright) are refused, field by field.
    bad_text = hr("nul-1", uscc(810))
    bad_text.summary, bad_text.subject.name = "a\x00b", "公司\x07"
    with pytest.raises(grpc.RpcError) as exc:
        stub.SubmitRecord(records_pb2.SubmitRecordRequest(record=bad_text), metadata=hr_md,
                          timeout=10)
    assert sorted(f for f, _ in bad_request_violations(exc.value)) == [
        "record.subject.name", "record.summary"]
    # Registering the same commitment again (a retry) returns the first.
    stub.SubmitRecord(records_pb2.SubmitRecordRequest(record=hr("cm-1", uscc(811))),
                      metadata=hr_md, timeout=10)
    ask = records_pb2.RegisterCommitmentRequest(
        entity=common_pb2.EntityRef(uscc=uscc(811)), content="按期足额支付工资",
        registered_on="2025-11-20", due_on="2025-12-31",
        source=common_pb2.SOURCE_HR_PENALTY)
    first = stub.RegisterCommitment(ask, metadata=hr_md, timeout=10)
    again = stub.RegisterCommitment(ask, metadata=hr_md, timeout=10)
    assert again.commitment_id == first.commitment_id


@pytest.mark.parametrize("service", ["records", "scoring", "gateway"])
def test_a_refused_setting_is_one_json_line_and_exit_status_2(tmp_path: Path,
                                                               service: str) -> None:
    env = {**os.environ, "CREDIT_AUTH_MODE": "dev", "CREDIT_DATA_DIR": str(tmp_path),
           f"{service.upper()}_GRPC_ADDRESS": "0.0.0.0:0"}  # dev mode beyond loopback
    done = subprocess.run([sys.executable, "-m", f"services.{service}"], env=env,
                          cwd=Path(__file__).resolve().parents[2], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    entry = json.loads(lines[0])
    assert entry["variable"] == "CREDIT_AUTH_MODE" and "loopback" in entry["reason"]


# An example 2027 schedule for tests only (see tests/unit/test_workdays.py).
FIXTURE_2027 = Path(__file__).resolve().parents[1] / "unit" / "data" / "calendar-2027-example.json"


@pytest.mark.parametrize(("today", "calendar", "days"), [
    ("2026-11-29", None, 32),          # the shipped calendar ends with 2026: warned
    ("2026-11-29", FIXTURE_2027, 397),  # next year's schedule given: no warning
    ("2025-11-20", None, 406),
])
def test_the_calendar_horizon_is_a_metric_and_a_warning_before_it_runs_out(
        tmp_path: Path, today: str, calendar: Path | None, days: int) -> None:
    with records_service(tmp_path, f"sqlite:///{tmp_path}/r.db", CREDIT_TODAY=today,
                         CREDIT_CALENDAR_FILE=str(calendar or "")) as (_, metrics, _):
        deadline = time.monotonic() + 20
        while True:  # the sweeper sets the gauge and warns as it starts, right after SERVING
            body = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics",
                                          timeout=5).read().decode()
            log = "".join(p.read_text() for p in tmp_path.glob("records-*.log"))
            ready = "records_calendar_known_days" in body
            if (ready and ("calendar_known_days" in log or days >= 60)) \
                    or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert f"records_calendar_known_days {days:.1f}" in body
    warnings = [json.loads(line) for line in log.splitlines()
                if line.startswith("{") and "calendar_known_days" in line]
    if days < 60:
        assert warnings and warnings[0]["calendar_known_days"] == days
        assert warnings[0]["level"] == "WARNING" and "CREDIT_CALENDAR_FILE" in warnings[0]["msg"]
    else:
        assert not warnings


def test_deadline_in_an_unknown_calendar_year_is_an_explicit_error(tmp_path: Path) -> None:
    with records_service(tmp_path, f"sqlite:///{tmp_path}/r.db",
                         CREDIT_TODAY="2026-12-30") as (address, _, _), \
            grpc.insecure_channel(address) as channel:
        stub = records_stub(channel)
        created = stub.SubmitRecord(records_pb2.SubmitRecordRequest(
            record=hr("cal-1", uscc(900), tier="grave", decided="2025-01-02")),
            metadata=bearer("dev-hr"), timeout=10)
        with pytest.raises(grpc.RpcError) as exc:
            stub.ApplyRepair(records_pb2.ApplyRepairRequest(
                record_id=created.record_id, proof="凭证", commitment_letter=True),
                metadata=bearer("dev-hr"), timeout=10)
    assert _code(exc) == grpc.StatusCode.FAILED_PRECONDITION
    assert "2027" in _details(exc.value)


def test_repeated_bad_tokens_lock_the_client_out(tmp_path: Path) -> None:
    with records_service(tmp_path, f"sqlite:///{tmp_path}/records.db",
                         CREDIT_AUTH_FAILURES_ALLOWED="3",
                         CREDIT_AUTH_FAILURE_WINDOW_SECONDS="600") as (address, _, _), \
            grpc.insecure_channel(address) as channel:
        stub = records_stub(channel)
        request = records_pb2.ListRecordsRequest(page_size=1)
        for _ in range(3):
            with pytest.raises(grpc.RpcError) as bad:
                stub.ListRecords(request, metadata=bearer("guess"), timeout=5)
            assert _code(bad) == grpc.StatusCode.UNAUTHENTICATED
        # Past the limit even a valid token waits: guessing is throttled, not just counted.
        with pytest.raises(grpc.RpcError) as locked:
            stub.ListRecords(request, metadata=bearer("dev-regulator"), timeout=5)
        assert _code(locked) == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "retry in" in (locked.value.details() or "")
