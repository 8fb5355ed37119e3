"""The gateway against real records and scoring processes: HTTP endpoints, masking,
department scope, error mapping, the gRPC façade and the metrics."""

from __future__ import annotations

import base64
import csv
import io
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import httpx
import pytest
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from credit.v1 import (
    common_pb2,
    records_pb2,
    scoring_pb2,
)
from services.common.stubs import gateway_stub, records_stub
from tests.factories import hr, uscc
from tests.gateway_platform import Platform, gateway, platform
from tests.procs import bearer, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def plat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with platform(tmp_path_factory.mktemp("gateway-e2e")) as p:
        yield p


def test_department_record_regrades_and_planner_sees_the_new_grade(plat: Platform) -> None:
    code = uscc(1)
    with plat.client("planner") as planner:
        before = planner.get(f"/api/v1/entities/{code}/grade").json()
        assert before["grade"]["entity_key"] == code and before["grade"]["grade"] != "D"
        with grpc.insecure_channel(plat.records) as channel:
            records_stub(channel).SubmitRecord(
                records_pb2.SubmitRecordRequest(record=hr("turns-d", code, tier="serious")),
                metadata=bearer("dev-hr"), timeout=20)
        deadline = time.monotonic() + 30
        after = before
        while time.monotonic() < deadline and after["grade"]["grade"] != "D":
            time.sleep(0.3)
            after = planner.get(f"/api/v1/entities/{code}/grade").json()
        assert after["grade"]["grade"] == "D"
        assert after["grade"]["cause"].startswith("event")
        assert after["legal_basis"]
        listed = planner.get("/api/v1/grades", params={"grade": "D", "region": "220183"}).json()
        assert code in [g["entity_key"] for g in listed["grades"]]


def test_tiered_list_filters_and_keyset_pages(plat: Platform) -> None:
    with plat.client("regulator") as c:
        everything = c.get("/api/v1/grades", params={"page_size": 1000}).json()["grades"]
        keys: list[str] = []
        token = None
        while True:
            params: dict[str, str | int] = {"page_size": 3}
            if token:
                params["page_token"] = token
            page = c.get("/api/v1/grades", params=params).json()
            keys += [g["entity_key"] for g in page["grades"]]
            token = page["next_page_token"]
            if not token:
                break
        assert keys == [g["entity_key"] for g in everything] and len(keys) >= 13
        changchun = c.get("/api/v1/grades", params={"region": "220102"}).json()["grades"]
        assert {g["entity_key"] for g in changchun} == {uscc(7, "220102"), uscc(8, "220102")}
        assert all(g["industry"] == "C" for g in c.get(
            "/api/v1/grades", params={"industry": "C", "region": "220102"}).json()["grades"])
        medical = c.get("/api/v1/grades",
                        params={"source": "medical_procurement"}).json()["grades"]
        assert [g["entity_key"] for g in medical] == [plat.seeded["medical"]]
        assert medical[0]["sources"] == ["SOURCE_MEDICAL_PROCUREMENT"]


def test_csv_export_streams_every_row_with_chinese_headers(plat: Platform) -> None:
    with plat.client("planner") as c:
        total = c.get("/api/v1/grades/counts").json()["total"]
        en = c.get("/api/v1/grades/export.csv")
        assert en.status_code == 200 and en.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(en.text)))
        assert rows[0][:3] == ["entity_key", "display_id", "name"] and len(rows) == total + 1
        zh = c.get("/api/v1/grades/export.csv", params={"headers": "zh", "grade": "D"})
        text = zh.content.decode("utf-8")
        assert text.startswith("\ufeff")
        zh_rows = list(csv.reader(io.StringIO(text[1:])))
        assert zh_rows[0][:3] == ["主体标识", "统一社会信用代码/证件号", "名称"]
        assert {r[6] for r in zh_rows[1:]} == {"D"}


def test_person_ids_are_masked_for_all_but_the_owning_department(plat: Platform) -> None:
    key = plat.seeded["person_key"]
    with plat.client("hr") as owner, plat.client("regulator") as reg, \
            plat.client("medical") as other:
        own = owner.get(f"/api/v1/entities/{key}/credit-file").json()
        assert own["entity"]["display_id"] == "220183********001" + own["entity"]["display_id"][-1]
        for c in (reg, other):
            file = c.get(f"/api/v1/entities/{key}/credit-file").json()
            assert file["entity"]["display_id"] == "220183" + "*" * 12
            assert all(r["entity_display_id"] == "220183" + "*" * 12 for r in file["records"])
        listed = reg.get("/api/v1/grades", params={"kind": "person"}).json()["grades"]
        assert [g["display_id"] for g in listed] == ["220183" + "*" * 12]
        own_list = owner.get("/api/v1/grades", params={"kind": "person"}).json()["grades"]
        assert own_list[0]["display_id"].endswith(own["entity"]["display_id"][-4:])


def test_public_serious_list_needs_no_token_and_holds_only_records_in_force(
        plat: Platform) -> None:
    with plat.client() as anonymous:
        reply = anonymous.get("/api/v1/public/serious-dishonesty")
    assert reply.status_code == 200
    listed = reply.json()["records"]
    assert listed and all(r["category"] == "CATEGORY_SERIOUS" and r["published"]
                          and r["status"] == "RECORD_STATUS_ACTIVE" for r in listed)
    keys = {r["entity_key"] for r in listed}
    # 情节严重 is 严重失信 and listed; 情节较重 (一般) is not.
    assert plat.seeded["grave"] in keys and plat.seeded["serious"] not in keys
    persons = [r for r in listed if not r["entity_key"]]
    assert persons and all(r["entity_display_id"].endswith("*" * 12) for r in persons)


def test_repairs_are_decided_by_the_owning_department_only(plat: Platform) -> None:
    with plat.client("hr") as owner, plat.client("medical") as other, \
            plat.client("admin") as admin:
        repair = owner.post("/api/v1/repairs", json={
            "record_id": plat.seeded["graded_record"], "proof": "罚款缴纳凭证",
            "commitment_letter": True, "applied_on": "2025-09-26"})
        assert repair.status_code == 200, repair.text
        repair_id = repair.json()["repair_id"]
        stranger = other.post(f"/api/v1/repairs/{repair_id}/decision", json={"action": "accept"})
        missing = other.post("/api/v1/repairs/999999/decision", json={"action": "accept"})
        # 403 says nothing about whether the repair exists.
        assert stranger.status_code == missing.status_code == 403
        assert stranger.json() == missing.json()
        assert admin.post("/api/v1/repairs/999999/decision",
                          json={"action": "accept"}).status_code == 404
        overdue = owner.get("/api/v1/overdue").json()["items"]
        assert ("repair_acceptance", repair_id) in [(i["kind"], i["item_id"]) for i in overdue]
        accepted = owner.post(f"/api/v1/repairs/{repair_id}/decision",
                              json={"action": "accept", "on": "2025-09-29"})
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["state"] == "accepted"
        again = owner.post(f"/api/v1/repairs/{repair_id}/decision",
                           json={"action": "accept", "on": "2025-09-29"})
        assert again.status_code == 400 and again.json()["status"] == "FAILED_PRECONDITION"


def test_objection_filed_by_applicant_and_rejected_by_owner(plat: Platform) -> None:
    with plat.client("applicant") as applicant, plat.client("hr") as owner, \
            plat.client("fire") as other:
        filed = applicant.post("/api/v1/objections", json={
            "record_id": plat.seeded["person_record"], "target": "content",
            "grounds": "处罚决定已被撤销"})
        assert filed.status_code == 200, filed.text
        oid = filed.json()["objection_id"]
        assert other.post(f"/api/v1/objections/{oid}/resolution",
                          json={"resolution": "rejected", "reason": "x"}).status_code == 403
        done = owner.post(f"/api/v1/objections/{oid}/resolution",
                          json={"resolution": "rejected", "reason": "证据不足"})
        assert done.status_code == 200, done.text


def test_errors_are_mapped_with_field_violations(plat: Platform) -> None:
    with plat.client("regulator") as c:
        bad = c.get("/api/v1/entities/91220183MA00000010/grade")
        assert bad.status_code == 400
        body = bad.json()
        assert body["status"] == "INVALID_ARGUMENT"
        assert body["details"][0]["field_violations"][0]["field"] == "entity"
        unknown = c.get(f"/api/v1/entities/{uscc(9999)}/credit-file")
        assert unknown.status_code == 404 and unknown.json()["status"] == "NOT_FOUND"
        page = c.get("/api/v1/grades", params={"page_token": "garbage"})
        assert page.status_code == 400
        query = c.get("/api/v1/grades", params={"page_size": 5000, "region": "2x"})
        assert query.status_code == 400
        fields = {v["field"] for v in query.json()["details"][0]["field_violations"]}
        assert fields == {"page_size", "region"}
        assert "Traceback" not in query.text
        body_error = c.post("/api/v1/inspection-plans/verify", json={"published_json": 5})
        assert body_error.status_code == 400
        assert body_error.json()["details"][0]["field_violations"][0]["field"] == "published_json"
        not_json = c.post("/api/v1/inspection-plans/verify", json={"published_json": "{x"})
        assert not_json.status_code == 400
        broken = c.post("/api/v1/inspection-plans/verify", content=b'{"published_json": ',
                        headers={"content-type": "application/json"})
        assert broken.status_code == 400
        assert broken.json()["details"][0]["field_violations"] == [
            {"field": "body", "description": "not valid JSON (at character 19)"}]


def test_hostile_ids_tokens_and_documents_are_client_errors(plat: Platform) -> None:
    huge = "9" * 19  # digits, but beyond any BIGINT id
    with plat.client("applicant") as applicant:
        for path, body in (("/api/v1/repairs", {"record_id": huge, "proof": "p",
                                                "commitment_letter": True}),
                           ("/api/v1/objections", {"record_id": huge, "target": "content",
                                                   "grounds": "g"})):
            r = applicant.post(path, json=body)
            assert r.status_code == 404, (path, r.text)
        target = applicant.post("/api/v1/objections", json={
            "record_id": "1", "target": "repair", "grounds": "g"})
        assert target.status_code == 400 and "repair_result" in target.text
    with plat.client("hr") as hr_dept:
        r = hr_dept.post(f"/api/v1/repairs/{huge}/decision", json={"action": "accept"})
        assert r.status_code in (403, 404), r.text  # never 500
    with plat.client() as anonymous:
        forged = base64.urlsafe_b64encode(b"r1:" + b"9" * 23).decode()
        r = anonymous.get("/api/v1/public/serious-dishonesty", params={"page_token": forged})
        assert r.status_code == 400 and "page_token" in r.text
        unissued = base64.urlsafe_b64encode(b"-5").decode()
        r = anonymous.get("/api/v1/public/serious-dishonesty", params={"page_token": unissued})
        assert r.status_code == 400
        for doc in ("[" * 100_000 + "]" * 100_000, '{"plan": ' + "1" * 5000 + "}"):
            r = anonymous.post("/api/v1/inspection-plans/verify", json={"published_json": doc})
            assert r.status_code == 400 and "Traceback" not in r.text, r.text[:200]
    with plat.client("planner") as planner:
        forged = base64.urlsafe_b64encode(b"p1:" + b"9" * 23).decode()
        r = planner.get("/api/v1/inspection-plans", params={"page_token": forged})
        assert r.status_code == 400 and "page_token" in r.text


def test_every_answer_carries_the_security_headers(plat: Platform) -> None:
    with plat.client("planner") as c:
        page, api, refused = (c.get("/dashboard/"), c.get("/api/v1/grades"),
                              c.post("/api/v1/inspection-plans/verify",
                                     content=b"x" * (70 << 20)))
    for r in (page, api, refused):
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
    assert (page.status_code, api.status_code, refused.status_code) == (200, 200, 413)
    # Grades and personal data are kept by no browser or proxy; the dashboard's files may be.
    assert api.headers["cache-control"] == "no-store"
    assert page.headers.get("cache-control") != "no-store"


def test_authentication_failures_are_rate_limited(plat: Platform) -> None:
    client = {"x-forwarded-for": "203.0.113.7"}
    with plat.client() as c:
        assert c.get("/api/v1/grades", headers=client).status_code == 401
        statuses = [c.get("/api/v1/grades", headers={
            **client, "authorization": f"Bearer wrong-{i}"}).status_code for i in range(12)]
        assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
        limited = c.get("/api/v1/grades", headers={**client,
                                                   "authorization": "Bearer dev-planner"})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        elsewhere = c.get("/api/v1/grades", headers={"x-forwarded-for": "203.0.113.8",
                                                      "authorization": "Bearer dev-planner"})
        assert elsewhere.status_code == 200


def test_every_grpc_service_describes_itself_by_reflection(plat: Platform) -> None:
    """What grpcurl needs: each service's file descriptor, not only its name."""
    for address, service in ((plat.records, "credit.v1.RecordsService"),
                             (plat.scoring, "credit.v1.ScoringService"),
                             (plat.grpc, "credit.v1.GatewayService")):
        with grpc.insecure_channel(address) as channel:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            reply = next(iter(stub.ServerReflectionInfo(iter([
                reflection_pb2.ServerReflectionRequest(file_containing_symbol=service)]),
                timeout=10)))
        assert reply.WhichOneof("message_response") == "file_descriptor_response", (
            service, reply)
        files = [descriptor_pb2.FileDescriptorProto.FromString(raw)
                 for raw in reply.file_descriptor_response.file_descriptor_proto]
        assert service.rsplit(".", 1)[1] in [s.name for f in files for s in f.service]


def test_grpc_facade_serves_regulators_and_resumes_the_watch(plat: Platform) -> None:
    reg = bearer("dev-regulator")
    with grpc.insecure_channel(plat.grpc) as channel:
        stub = gateway_stub(channel)
        page = stub.ListGrades(scoring_pb2.ListGradesRequest(page_size=5), metadata=reg,
                               timeout=10)
        assert len(page.grades) == 5 and page.next_page_token
        record = stub.GetGrade(scoring_pb2.GetGradeRequest(
            entity=common_pb2.EntityRef(uscc=plat.seeded["grave"])), metadata=reg, timeout=10)
        assert record.grade.grade == "D"
        person = stub.GetCreditFile(records_pb2.GetCreditFileRequest(
            entity=common_pb2.EntityRef(entity_key=plat.seeded["person_key"])), metadata=reg,
            timeout=10)
        assert person.entity.display_id == "220183" + "*" * 12
        first = list(stub.WatchGradeChanges(scoring_pb2.WatchGradeChangesRequest(),
                                            metadata=reg, timeout=10))
        assert len(first) >= 13
        resumed = list(stub.WatchGradeChanges(scoring_pb2.WatchGradeChangesRequest(
            after_id=first[4].id), metadata=reg, timeout=10))
        assert [c.id for c in resumed] == [c.id for c in first[5:]][:len(resumed)]
        with pytest.raises(grpc.RpcError) as denied:
            stub.ListGrades(scoring_pb2.ListGradesRequest(), metadata=bearer("dev-public"),
                            timeout=10)
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.RpcError) as missing:
            stub.GetGrade(scoring_pb2.GetGradeRequest(
                entity=common_pb2.EntityRef(uscc=uscc(9999))), metadata=reg, timeout=10)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND


def test_health_and_metrics(plat: Platform) -> None:
    with plat.client() as c:
        assert c.get("/readyz").json()["downstream"] == {"records": "SERVING",
                                                         "scoring": "SERVING"}
        assert c.get("/healthz").status_code == 200
        text = httpx.get(f"http://127.0.0.1:{plat.metrics}/metrics").text
    assert 'http_requests_total{method="GET",route="/api/v1/grades",status="200"}' in text
    assert "http_request_duration_seconds_bucket" in text
    assert "grpc_server_handled_total" in text


def test_downstream_down_is_503_with_retry_after_and_readiness_names_it_and_bodies_are_capped(
        tmp_path: Path) -> None:
    dead = f"127.0.0.1:{free_port()}"
    with gateway(tmp_path, dead, dead, GATEWAY_DEADLINE_SECONDS="1",
                 GATEWAY_MAX_BODY_BYTES="2048") as (_, _, _, http), \
            httpx.Client(base_url=http, headers={"authorization": "Bearer dev-planner"},
                         timeout=10) as c:
        started = time.monotonic()
        reply = c.get("/api/v1/grades")
        assert time.monotonic() - started < 5
        assert reply.status_code == 503 and reply.headers["retry-after"]
        assert reply.json()["message"] == "the scoring service is unavailable; try again later"
        file = c.get(f"/api/v1/entities/{uscc(1)}/credit-file")
        assert file.status_code == 503 and "records" in file.json()["message"]
        ready = c.get("/readyz")
        assert ready.status_code == 503 and ready.headers["retry-after"]
        assert ready.json()["downstream"] == {"records": "UNAVAILABLE", "scoring": "UNAVAILABLE"}
        assert ready.json()["message"] == "records and scoring are unavailable"
        big = {"published_json": "x" * 5000}
        declared = c.post("/api/v1/inspection-plans/verify", json=big)
        chunked = c.post("/api/v1/inspection-plans/verify",
                         content=iter([b'{"published_json": "', b"x" * 5000, b'"}']),
                         headers={"content-type": "application/json"})
        for reply in (declared, chunked):
            assert reply.status_code == 413
            assert reply.json()["details"][0]["field_violations"][0]["field"] == "body"


def test_a_downstream_that_never_answers_is_504(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections, never speaks HTTP/2
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        with gateway(tmp_path, address, address, GATEWAY_DEADLINE_SECONDS="0.5") as (
                _, _, _, http):
            started = time.monotonic()
            reply = httpx.get(f"{http}/api/v1/grades",
                              headers={"authorization": "Bearer dev-planner"}, timeout=10)
            assert time.monotonic() - started < 5
    assert reply.status_code == 504, reply.text
    assert reply.json()["status"] == "DEADLINE_EXCEEDED"


def test_inspection_plan_is_drawn_viewed_verified_and_its_results_published(
        plat: Platform) -> None:
    draw = {"request_id": "plan-e2e-1", "task_name": "2025年第四季度劳动保障抽查",
            "filter": {"region": "2201"}, "seed": "20251120",
            "inspectors": [{"id": f"I{n}", "name": f"检查员{n}", "capacity": 20}
                           for n in range(1, 5)]}
    with plat.client("hr") as dept, plat.client("planner") as planner, \
            plat.client("public") as public:
        # A planner names the department it draws for; a department draws for itself.
        unnamed = planner.post("/api/v1/inspection-plans", json=draw)
        assert unnamed.status_code == 400, unnamed.text
        assert unnamed.json()["details"][0]["field_violations"][0]["field"] == "department"
        # A field the API does not define is refused, never ignored: the gRPC name
        # `region_prefix` sent here would otherwise have drawn from the whole province.
        for wrong in ({**draw, "filter": {"region_prefix": "2201"}}, {**draw, "sead": "1"}):
            refused = dept.post("/api/v1/inspection-plans", json=wrong)
            assert refused.status_code == 400, refused.text
            violation = refused.json()["details"][0]["field_violations"][0]
            assert violation["field"] in ("filter.region_prefix", "sead"), violation
        drawn = dept.post("/api/v1/inspection-plans", json=draw)
        assert drawn.status_code == 200, drawn.text
        plan = drawn.json()
        assert plan["department"] == "hr_social_security" and plan["plan_hash"]
        assert dept.post("/api/v1/inspection-plans", json=draw).json()["plan_id"] == plan["plan_id"]
        changed = dept.post("/api/v1/inspection-plans", json={**draw, "seed": "1"})
        assert changed.status_code == 409
        shown = planner.get(f"/api/v1/inspection-plans/{plan['plan_id']}").json()
        assert shown["plan_hash"] == plan["plan_hash"]
        listed = planner.get("/api/v1/inspection-plans").json()["plans"]
        assert plan["plan_id"] in [p["plan_id"] for p in listed]
        verified = public.post(f"/api/v1/inspection-plans/{plan['plan_id']}/verify").json()
        assert verified == {"valid": True, "problems": [], "plan_hash": plan["plan_hash"]}
        document = planner.get(f"/api/v1/inspection-plans/{plan['plan_id']}",
                               params={"include_document": "true"}).json()["published_json"]
        assert public.post("/api/v1/inspection-plans/verify",
                           json={"published_json": document}).json()["valid"] is True
        if plan["entities"]:
            key = plan["entities"][0]["entity_key"]
            result = {"entity_key": key, "outcome": "clear", "summary": "未发现问题",
                      "inspected_on": "2025-11-20"}
            with plat.client("medical") as other:  # not the plan's department
                assert other.post(f"/api/v1/inspection-plans/{plan['plan_id']}/results",
                                  json=result).status_code == 403
            published = dept.post(f"/api/v1/inspection-plans/{plan['plan_id']}/results",
                                  json=result)
            assert published.status_code == 200, published.text
            # The planner publishing the same result again changes nothing.
            same = planner.post(f"/api/v1/inspection-plans/{plan['plan_id']}/results",
                                json=result)
            assert same.status_code == 200 and same.json() == published.json()
            again = planner.get(f"/api/v1/inspection-plans/{plan['plan_id']}").json()
            assert again["entities"][0]["result"]["summary"] == "未发现问题"
        missing = planner.get("/api/v1/inspection-plans/no-such-plan")
        assert missing.status_code == 404


def test_workers_share_one_metrics_endpoint_and_sigterm_stops_them_all(tmp_path: Path) -> None:
    dead = f"127.0.0.1:{free_port()}"
    with gateway(tmp_path, dead, dead, GATEWAY_HTTP_WORKERS="3") as (_, metrics, proc, http):
        with httpx.Client(base_url=http, headers={"authorization": "Bearer dev-planner"}) as c:
            for _ in range(30):
                # A new connection each time, so the kernel spreads them over the workers.
                assert c.get("/api/v1/me", headers={"connection": "close"}).status_code == 200
        text = httpx.get(f"http://127.0.0.1:{metrics}/metrics").text
        line = next(x for x in text.splitlines()
                    if x.startswith('http_requests_total{method="GET",route="/api/v1/me"'))
        assert float(line.split()[-1]) == 30
        workers = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                 text=True).stdout.split()
        assert len(workers) == 3
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        for pid in workers:
            assert not Path(f"/proc/{pid}").exists() or "Z" in Path(
                f"/proc/{pid}/stat").read_text().split()[2]


def test_followed_watch_pushes_a_new_grade_change(plat: Platform) -> None:
    reg = bearer("dev-regulator")
    with grpc.insecure_channel(plat.grpc) as channel:
        stub = gateway_stub(channel)
        last = list(stub.WatchGradeChanges(scoring_pb2.WatchGradeChangesRequest(),
                                           metadata=reg, timeout=10))[-1].id
        stream = stub.WatchGradeChanges(scoring_pb2.WatchGradeChangesRequest(
            after_id=last, follow=True), metadata=reg, timeout=30)
        with grpc.insecure_channel(plat.records) as records:
            records_stub(records).SubmitRecord(
                records_pb2.SubmitRecordRequest(record=hr("watched", uscc(3), tier="grave")),
                metadata=bearer("dev-hr"), timeout=20)
        change = next(iter(stream))
        stream.cancel()
    assert change.id > last and change.entity_key == uscc(3) and change.grade == "D"


def test_an_export_that_fails_midway_never_looks_complete(tmp_path: Path) -> None:
    """A scoring stand-in serves one full page, then fails: the CSV body must break (the
    client sees an incomplete transfer), never end cleanly as if the list were all there."""
    page = scoring_pb2.ListGradesResponse(
        grades=[scoring_pb2.GradeSummary(entity_key=uscc(900 + i), grade="C")
                for i in range(3)], next_page_token="more")
    pages: list[str] = []

    def list_grades(request: bytes, context: grpc.ServicerContext) -> bytes:
        token = scoring_pb2.ListGradesRequest.FromString(request).page_token
        pages.append(token)
        if token:
            context.abort(grpc.StatusCode.UNAVAILABLE, "scoring went away")
        return page.SerializeToString()

    server = grpc.server(ThreadPoolExecutor(4))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        "credit.v1.ScoringService", {"ListGrades": grpc.unary_unary_rpc_method_handler(
            list_grades)}),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        address = f"127.0.0.1:{port}"
        with gateway(tmp_path, address, address) as (_, _, _, http), httpx.Client(
                base_url=http, headers={"authorization": "Bearer dev-planner"},
                timeout=30) as c, c.stream("GET", "/api/v1/grades/export.csv") as reply:
            assert reply.status_code == 200
            received = []
            with pytest.raises(httpx.RemoteProtocolError):
                for chunk in reply.iter_text():
                    received.append(chunk)
    finally:
        server.stop(None)
    assert pages == ["", "more"]
    # The first page arrived; the failure showed as a broken body, not as the end of the list.
    assert all(uscc(900 + i) in "".join(received) for i in range(3))
