"""The scoring service's grade, batch and supervision RPCs over real gRPC, on a demo data set
loaded into a real records database: batch evaluation, re-grade progress, tiered lists,
grade changes, the policy, and 双随机 plans from draw to published result."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, cast

import grpc
import pytest

from credit.v1 import common_pb2, records_pb2, scoring_pb2
from services.common.config import pii_key
from services.common.errors import bad_request_violations, rich_status
from services.common.stubs import records_stub, scoring_stub
from services.records import demo
from services.records.store import open_store
from services.scoring.features import FEATURE_NAMES
from services.scoring.server import INLINE_MATRIX_VALUES, MAX_MATRIX_COLUMNS
from tests.factories import fire, uscc
from tests.procs import ROOT, TEST_PII_KEY_HEX, bearer, records_service, service

pytestmark = pytest.mark.e2e
TODAY = "2025-11-20"
N = 300
ADMIN, REG, PLANNER = bearer("dev-admin"), bearer("dev-regulator"), bearer("dev-planner")
FIRE, MEDICAL, PUBLIC = bearer("dev-fire"), bearer("dev-medical"), bearer("dev-public")
F = scoring_pb2.GradeFilter


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("supervision-e2e")


@pytest.fixture(scope="module")
def stubs(tmp: Path) -> Iterator[tuple[Any, Any, str]]:
    url = f"sqlite:///{tmp}/records.db"
    (tmp / "pii.key").write_text(TEST_PII_KEY_HEX)
    key = pii_key({"CREDIT_PII_KEY_FILE": str(tmp / "pii.key")}, tmp, dev=False)
    store = open_store(url, pii_key=key, clock=lambda: date.fromisoformat(TODAY))
    demo.load(store, 11, N, today=date.fromisoformat(TODAY))
    store.engine.dispose()
    with records_service(tmp, url, CREDIT_TODAY=TODAY) as (r_addr, _, _), \
            service("scoring", tmp, SCORING_RECORDS_DATABASE_URL=url,
                    SCORING_DATABASE_URL=f"sqlite:///{tmp}/scoring.db",
                    SCORING_RECORDS_ADDRESS=r_addr, SCORING_RECORDS_TOKEN="dev-scoring",
                    # One entity per committed batch: a Regrade takes long enough to cancel.
                    SCORING_REGRADE_BATCH="1", CREDIT_TODAY=TODAY) as (s_addr, _, _), \
            grpc.insecure_channel(r_addr) as r_channel, \
            grpc.insecure_channel(s_addr) as s_channel:
        scoring = scoring_stub(s_channel)
        progress = list(scoring.Regrade(scoring_pb2.RegradeRequest(), metadata=ADMIN,
                                        timeout=60))
        assert progress[-1].done_all and progress[-1].done == N
        yield records_stub(r_channel), scoring, s_addr


def _code(call: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value.code()  # type: ignore[no-any-return]


def _all_grades(scoring: Any, flt: scoring_pb2.GradeFilter, page_size: int = 37) -> list[Any]:
    out, token = [], ""
    while True:
        page = scoring.ListGrades(scoring_pb2.ListGradesRequest(
            filter=flt, page_size=page_size, page_token=token), metadata=REG, timeout=10)
        out += page.grades
        token = page.next_page_token
        if not token:
            return out


# ----------------------------------------------------------------------------- re-grade


def test_regrade_streams_progress_and_is_admin_only(stubs: tuple[Any, Any, str]) -> None:
    _, scoring, _ = stubs
    progress = list(scoring.Regrade(scoring_pb2.RegradeRequest(shard_index=0, shard_count=2),
                                    metadata=ADMIN, timeout=60))
    last = progress[-1]
    assert last.done_all and 0 < last.done == last.total < N
    assert last.written == 0  # nothing changed since the first run
    assert sum(last.by_grade.values()) == last.done
    assert _code(lambda: list(scoring.Regrade(scoring_pb2.RegradeRequest(), metadata=REG,
                                              timeout=10))) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: list(scoring.Regrade(scoring_pb2.RegradeRequest(
        shard_index=3, shard_count=2), metadata=ADMIN, timeout=10))
    ) == grpc.StatusCode.INVALID_ARGUMENT
    assert _code(lambda: list(scoring.Regrade(scoring_pb2.RegradeRequest(
        as_of="2030-01-01"), metadata=ADMIN, timeout=10))) == grpc.StatusCode.INVALID_ARGUMENT


def test_a_cancelled_regrade_stops_before_another_may_start(stubs: tuple[Any, Any, str],
                                                              tmp: Path) -> None:
    _, scoring, _ = stubs
    call = scoring.Regrade(scoring_pb2.RegradeRequest(), metadata=ADMIN, timeout=60)
    first = next(call)
    assert not first.done_all and first.done < N
    call.cancel()
    # Until its thread has stopped after the batch in hand, another Regrade is refused.
    deadline = time.monotonic() + 30
    while True:
        try:
            progress = list(scoring.Regrade(scoring_pb2.RegradeRequest(), metadata=ADMIN,
                                            timeout=60))
            break
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.ABORTED and time.monotonic() < deadline
            time.sleep(0.05)
    assert progress[-1].done_all and progress[-1].done == N
    logged = [json.loads(line) for path in tmp.glob("scoring-*.log")
              for line in path.read_text().splitlines() if "re-grade cancelled" in line]
    assert len(logged) == 1 and 0 < logged[0]["entities_done"] < N


# ----------------------------------------------------------------------------- lists


def test_tiered_list_pages_cover_the_filter_exactly_once(stubs: tuple[Any, Any, str]) -> None:
    _, scoring, _ = stubs
    everything = _all_grades(scoring, F(), page_size=1000)
    assert len(everything) == N
    keys = [(g.grade, g.region_code, g.entity_key) for g in everything]
    assert keys == sorted(keys)  # A first, then B, C, D; by region and key within a grade
    paged = _all_grades(scoring, F())
    assert [g.entity_key for g in paged] == [g.entity_key for g in everything]

    dehui = F(grades=["C", "D"], region_prefix="220183")
    got = _all_grades(scoring, dehui)
    assert got and all(g.grade in "CD" and g.region_code.startswith("220183") for g in got)
    assert len(got) == sum(1 for g in everything
                           if g.grade in "CD" and g.region_code == "220183")
    fire_listed = _all_grades(scoring, F(sources=[common_pb2.SOURCE_FIRE_PRODUCTS]))
    assert fire_listed and all(common_pb2.SOURCE_FIRE_PRODUCTS in g.sources
                               for g in fire_listed)
    persons = _all_grades(scoring, F(kinds=[common_pb2.ENTITY_KIND_PERSON]))
    # Persons are listed by masked ID, never the number itself.
    assert all("*" in g.display_id for g in persons)


def test_bad_filters_name_their_fields(stubs: tuple[Any, Any, str]) -> None:
    _, scoring, _ = stubs
    with pytest.raises(grpc.RpcError) as err:
        scoring.ListGrades(scoring_pb2.ListGradesRequest(
            filter=F(grades=["E"], region_prefix="22x", industries=["Z"], sources=[cast(Any, 9)]),
            page_size=5000, page_token="nope"), metadata=REG, timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = {f for f, _ in bad_request_violations(err.value)}
    assert fields == {"filter.grades", "filter.region_prefix", "filter.industries",
                      "filter.sources", "page_size", "page_token"}
    assert _code(lambda: scoring.ListGrades(scoring_pb2.ListGradesRequest(), metadata=PUBLIC,
                                            timeout=10)) == grpc.StatusCode.PERMISSION_DENIED


def test_counts_by_region_add_up_to_the_list(stubs: tuple[Any, Any, str]) -> None:
    _, scoring, _ = stubs
    counts = scoring.CountGrades(scoring_pb2.CountGradesRequest(group_by="city"),
                                 metadata=REG, timeout=10)
    assert counts.total == N == sum(c.count for c in counts.counts)
    assert all(len(c.group) == 4 and c.grade in "ABCD" for c in counts.counts)
    by_industry = scoring.CountGrades(scoring_pb2.CountGradesRequest(
        group_by="industry", filter=F(grades=["D"])), metadata=REG, timeout=10)
    assert by_industry.total == len(_all_grades(scoring, F(grades=["D"])))
    assert _code(lambda: scoring.CountGrades(scoring_pb2.CountGradesRequest(group_by="planet"),
                                             metadata=REG, timeout=10)
                 ) == grpc.StatusCode.INVALID_ARGUMENT


def test_get_grade_explains_the_stored_grade(stubs: tuple[Any, Any, str]) -> None:
    _, scoring, _ = stubs
    d = _all_grades(scoring, F(grades=["D"]))[0]
    got = scoring.GetGrade(scoring_pb2.GetGradeRequest(
        entity=common_pb2.EntityRef(entity_key=d.entity_key)), metadata=REG, timeout=10)
    assert got.grade.grade == "D" and got.history[0].grade == "D"
    # The score's own statement first, then the rule that decided, if one did.
    assert got.grade_rules[0].code == "score" and "D" in got.grade_rules[0].text_en
    assert [r.code for r in got.grade_rules[1:]] == (
        [] if d.decided_by == "score" else [d.decided_by])
    assert got.tier.key_supervision and got.legal_basis
    assert [r.code for r in got.reasons] == list(d.reasons)
    assert all(r.text_zh for r in got.reasons)
    assert _code(lambda: scoring.GetGrade(scoring_pb2.GetGradeRequest(
        entity=common_pb2.EntityRef(uscc=uscc(999_999))), metadata=REG, timeout=10)
    ) == grpc.StatusCode.NOT_FOUND


def test_grade_changes_resume_from_a_cursor(stubs: tuple[Any, Any, str]) -> None:
    records, scoring, _ = stubs
    changes = list(scoring.WatchGradeChanges(scoring_pb2.WatchGradeChangesRequest(),
                                             metadata=REG, timeout=10))
    assert len(changes) >= N and [c.id for c in changes] == sorted(c.id for c in changes)
    cursor = changes[-1].id
    code = uscc(4242)
    records.SubmitRecord(records_pb2.SubmitRecordRequest(record=fire("watch-1", code)),
                         metadata=FIRE, timeout=10)
    follow = scoring.WatchGradeChanges(scoring_pb2.WatchGradeChangesRequest(
        after_id=cursor, follow=True), metadata=REG, timeout=20)
    first = next(iter(follow))
    follow.cancel()
    assert first.id > cursor and first.entity_key == code and first.previous_grade == ""
    assert first.cause.startswith("event:")


# ----------------------------------------------------------------------------- batch


def _with(matrix: scoring_pb2.FeatureMatrix, name: str, value: float) -> list[float]:
    """The matrix's values with column `name` of the first row set to `value`."""
    values = list(matrix.values)
    values[list(matrix.columns).index(name)] = value
    return values


def test_batch_evaluation_matches_single_evaluations(stubs: tuple[Any, Any, str]) -> None:
    _, scoring, _ = stubs
    keys = [g.entity_key for g in _all_grades(scoring, F(), page_size=1000)[:20]]
    refs = [common_pb2.EntityRef(entity_key=k) for k in keys]
    refs.insert(3, common_pb2.EntityRef(uscc="91220183MA00000000"))  # bad check character
    refs.insert(5, common_pb2.EntityRef(uscc=uscc(999_998)))  # unknown
    singles = [scoring.Evaluate(scoring_pb2.EvaluateRequest(entity=r), metadata=REG, timeout=10)
               for r in refs[:3]]
    matrix = scoring_pb2.FeatureMatrix(
        columns=list(FEATURE_NAMES),
        values=[singles[i].features[n] for i in range(3) for n in FEATURE_NAMES])
    big_copies = INLINE_MATRIX_VALUES // len(matrix.values) + 1
    requests = [
        scoring_pb2.EvaluateBatchRequest(entities=scoring_pb2.EntityBatch(entities=refs)),
        scoring_pb2.EvaluateBatchRequest(entities=scoring_pb2.EntityBatch(
            entities=[refs[0]] * 1001)),
        scoring_pb2.EvaluateBatchRequest(features=matrix, with_reasons=True),
        scoring_pb2.EvaluateBatchRequest(features=scoring_pb2.FeatureMatrix(
            columns=["n_active_serious"], values=[1.0])),
        # Past INLINE_MATRIX_VALUES: scored in a worker thread instead of on the loop.
        scoring_pb2.EvaluateBatchRequest(features=scoring_pb2.FeatureMatrix(
            columns=matrix.columns, values=list(matrix.values) * big_copies)),
        scoring_pb2.EvaluateBatchRequest(features=scoring_pb2.FeatureMatrix(
            columns=[f"c{i}" for i in range(MAX_MATRIX_COLUMNS + 1)])),
        # Outside a feature's range (a negative count, a fractional one): refused, naming it,
        # not binned into the lowest bin and scored.
        scoring_pb2.EvaluateBatchRequest(features=scoring_pb2.FeatureMatrix(
            columns=matrix.columns, values=_with(matrix, "n_listed_36m", -1.0))),
        scoring_pb2.EvaluateBatchRequest(features=scoring_pb2.FeatureMatrix(
            columns=matrix.columns, values=_with(matrix, "n_listed_12m", 0.5))),
        # A missing (NaN) model characteristic is its missing bin, scored as before.
        scoring_pb2.EvaluateBatchRequest(features=scoring_pb2.FeatureMatrix(
            columns=matrix.columns, values=_with(matrix, "months_since_last_listed",
                                                 float("nan")))),
    ]
    answers = list(scoring.EvaluateBatch(iter(requests), metadata=REG, timeout=30))
    assert len(answers) == 9
    for answer, name in ((answers[6], "n_listed_36m"), (answers[7], "n_listed_12m")):
        assert answer.error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
        assert f"{name} takes 0, 1, 2" in answer.error.message
    assert len(answers[8].rows.scores) == 3
    items = answers[0].items
    assert len(items) == 22
    assert items[3].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert items[5].error.code == grpc.StatusCode.NOT_FOUND.value[0]
    ok = [i.evaluation for i in items if not i.HasField("error")]
    assert [e.entity_key for e in ok] == keys
    assert [(e.grade, e.score) for e in ok[:3]] == [(s.grade, s.score) for s in singles]
    # An oversized message is refused on its own; the stream goes on.
    assert answers[1].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    rows = answers[2].rows
    assert list(rows.scores) == [s.score for s in singles]
    assert rows.grades == "".join(s.grade for s in singles)
    assert [r.split(",") if r else [] for r in rows.reasons] == [
        [x.code for x in s.reasons] for s in singles]
    assert answers[3].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "missing" in answers[3].error.message
    big = answers[4].rows
    assert list(big.scores) == [s.score for s in singles] * big_copies
    assert big.grades == rows.grades * big_copies
    assert answers[5].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert f"at most {MAX_MATRIX_COLUMNS} columns" in answers[5].error.message


# ----------------------------------------------------------------------------- supervision


def _inspectors(n: int, capacity: int = 50, recuse: str = "") -> list[Any]:
    return [scoring_pb2.Inspector(id=f"insp-{i}", name=f"检查员{i}", capacity=capacity,
                                  recusals=[recuse] if recuse and i == 0 else [])
            for i in range(n)]


def _draw(scoring: Any, request_id: str, who: Any = PLANNER, **kw: Any) -> Any:
    kw.setdefault("inspectors", _inspectors(8))
    return scoring.DrawInspectionPlan(scoring_pb2.DrawInspectionPlanRequest(
        request_id=request_id, department="fire_rescue", task_name="2025年消防产品双随机抽查",
        task_date=TODAY, seed="20251120", **kw), metadata=who, timeout=30)


def test_policy_lists_thresholds_rules_and_department_tiers(
        stubs: tuple[Any, Any, str]) -> None:
    _, scoring, _ = stubs
    policy = scoring.GetPolicy(scoring_pb2.GetPolicyRequest(department="fire_rescue"),
                               metadata=REG, timeout=10)
    assert list(policy.thresholds) == sorted(policy.thresholds, reverse=True)
    assert [t.grade for t in policy.tiers] == list("ABCD")
    assert not policy.tiers[0].proactive_inspection and policy.tiers[3].key_supervision
    assert json.loads(policy.supervision_policy_json)["version"] == policy.supervision_version
    assert _code(lambda: scoring.GetPolicy(scoring_pb2.GetPolicyRequest(department="mars"),
                                           metadata=REG, timeout=10)
                 ) == grpc.StatusCode.INVALID_ARGUMENT


def test_a_plan_is_drawn_once_verified_and_excludes_the_previous_draw(
        stubs: tuple[Any, Any, str], tmp: Path) -> None:
    _, scoring, _ = stubs
    plan = _draw(scoring, "task-1")
    assert plan.entities and plan.plan_id.startswith("plan-")
    assert all(len(e.inspector_ids) >= 2 and len(set(e.inspector_ids)) == len(e.inspector_ids)
               for e in plan.entities)
    assert all(e.grade != "A" for e in plan.entities)  # 无事不扰
    # A retry of the same request returns the same plan; other inputs under it are refused.
    assert _draw(scoring, "task-1").plan_id == plan.plan_id
    assert _code(lambda: _draw(scoring, "task-1", inspectors=_inspectors(9))
                 ) == grpc.StatusCode.ALREADY_EXISTS

    stored = scoring.GetInspectionPlan(scoring_pb2.GetInspectionPlanRequest(
        plan_id=plan.plan_id, include_document=True), metadata=REG, timeout=10)
    assert [e.entity_key for e in stored.entities] == [e.entity_key for e in plan.entities]
    verdict = scoring.VerifyInspectionPlan(scoring_pb2.VerifyInspectionPlanRequest(
        plan_id=plan.plan_id), metadata=PUBLIC, timeout=10)
    assert verdict.valid and verdict.plan_hash == plan.plan_hash

    # Anyone can recompute the published document offline; a tampered one fails.
    doc = tmp / "plan.json"
    doc.write_text(stored.published_json, encoding="utf-8")
    cli = [sys.executable, "-m", "services.scoring.draws", "verify-published", str(doc)]
    ok = subprocess.run(cli, cwd=ROOT, capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and ok.stdout.startswith(f"OK {plan.plan_hash}")
    tampered = json.loads(stored.published_json)
    drawn = {e["key"] for e in tampered["plan"]["entities"]}
    swap = next(c for c in tampered["candidates"]
                if c["key"] not in drawn and c["grade"] == tampered["plan"]["entities"][0]["grade"])
    tampered["plan"]["entities"][0]["key"] = swap["key"]
    bad = scoring.VerifyInspectionPlan(scoring_pb2.VerifyInspectionPlanRequest(
        published_json=json.dumps(tampered, ensure_ascii=False)), metadata=PUBLIC, timeout=10)
    assert not bad.valid and any(swap["key"] in p for p in bad.problems)
    doc.write_text(json.dumps(tampered, ensure_ascii=False), encoding="utf-8")
    failed = subprocess.run(cli, cwd=ROOT, capture_output=True, text=True, check=False)
    assert failed.returncode == 1 and "FAIL" in failed.stdout

    # The next plan of the department does not draw again whom this one drew (D excepted).
    second = _draw(scoring, "task-2")
    assert second.previous_plan_id == plan.plan_id
    again = {e.entity_key for e in second.entities if e.grade != "D"}
    assert not again & {e.entity_key for e in plan.entities}
    listed = scoring.ListInspectionPlans(scoring_pb2.ListInspectionPlansRequest(
        department="fire_rescue", page_size=1), metadata=REG, timeout=10)
    assert [p.plan_id for p in listed.plans] == [second.plan_id] and listed.next_page_token


def test_an_unstaffable_draw_fails_and_stores_nothing(stubs: tuple[Any, Any, str]) -> None:
    _, scoring, _ = stubs
    before = scoring.ListInspectionPlans(scoring_pb2.ListInspectionPlansRequest(),
                                         metadata=REG, timeout=10)
    assert _code(lambda: _draw(scoring, "thin", inspectors=_inspectors(1))
                 ) == grpc.StatusCode.FAILED_PRECONDITION
    assert _code(lambda: _draw(scoring, "tiny", inspectors=_inspectors(3, capacity=1))
                 ) == grpc.StatusCode.FAILED_PRECONDITION
    after = scoring.ListInspectionPlans(scoring_pb2.ListInspectionPlansRequest(),
                                        metadata=REG, timeout=10)
    assert [p.plan_id for p in after.plans] == [p.plan_id for p in before.plans]


def test_draw_inputs_and_roles_are_checked(stubs: tuple[Any, Any, str]) -> None:
    _, scoring, _ = stubs
    with pytest.raises(grpc.RpcError) as err:
        scoring.DrawInspectionPlan(scoring_pb2.DrawInspectionPlanRequest(
            request_id="bad id", department="fire_rescue", task_name="",
            task_date="2025-13-01", seed="12x",
            inspectors=[scoring_pb2.Inspector(id="a", name="", capacity=0)],
            triggered=[common_pb2.EntityRef(uscc="123")]), metadata=PLANNER, timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = {f for f, _ in bad_request_violations(err.value)}
    assert {"request_id", "task_name", "task_date", "seed", "inspectors[0].name",
            "inspectors[0].capacity", "triggered[0].uscc"} <= fields
    # A department draws for itself only; regulators read plans but do not draw them.
    assert _code(lambda: _draw(scoring, "m-1", who=MEDICAL)) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: _draw(scoring, "r-1", who=REG)) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: scoring.GetInspectionPlan(scoring_pb2.GetInspectionPlanRequest(
        plan_id="plan-nope"), metadata=REG, timeout=10)) == grpc.StatusCode.NOT_FOUND


def test_results_are_published_once_and_a_finding_creates_a_record(
        stubs: tuple[Any, Any, str]) -> None:
    records, scoring, _ = stubs
    plan = _draw(scoring, "task-results", filter=F(grades=["B", "C", "D"]))
    first = plan.entities[0]

    def record(key: str, outcome: scoring_pb2.InspectionOutcome, who: Any = FIRE,
               **kw: Any) -> Any:
        return scoring.RecordInspectionResult(scoring_pb2.RecordInspectionResultRequest(
            plan_id=plan.plan_id, entity_key=key, outcome=outcome,
            summary="现场检查未发现问题", inspected_on=TODAY, **kw), metadata=who, timeout=20)

    clear = record(first.entity_key, scoring_pb2.INSPECTION_OUTCOME_CLEAR)
    assert clear.outcome == scoring_pb2.INSPECTION_OUTCOME_CLEAR and not clear.record_id
    assert record(first.entity_key, scoring_pb2.INSPECTION_OUTCOME_CLEAR) == clear
    assert _code(lambda: record(first.entity_key, scoring_pb2.INSPECTION_OUTCOME_CORRECTED)
                 ) == grpc.StatusCode.ALREADY_EXISTS
    assert _code(lambda: record(first.entity_key, scoring_pb2.INSPECTION_OUTCOME_CLEAR,
                                who=MEDICAL)) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: record(uscc(777_777), scoring_pb2.INSPECTION_OUTCOME_CLEAR)
                 ) == grpc.StatusCode.NOT_FOUND

    target = next(e.entity_key for e in plan.entities[1:] if not e.entity_key.startswith("P"))
    finding = fire(f"insp-{plan.plan_id}", target, decided=TODAY)
    # The record's subject must be the inspected entity; its violations come back prefixed.
    assert _code(lambda: record(target, scoring_pb2.INSPECTION_OUTCOME_FINDING,
                                record=fire("x-1", uscc(5), decided=TODAY))
                 ) == grpc.StatusCode.INVALID_ARGUMENT
    broken = fire("x-2", target, decided="2099-01-01")
    with pytest.raises(grpc.RpcError) as err:
        record(target, scoring_pb2.INSPECTION_OUTCOME_FINDING, record=broken)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert any(f.startswith("record.decided_on") for f, _ in bad_request_violations(err.value))
    assert rich_status(err.value) is not None

    result = record(target, scoring_pb2.INSPECTION_OUTCOME_FINDING, record=finding)
    assert result.record_id
    file = records.GetCreditFile(records_pb2.GetCreditFileRequest(
        entity=common_pb2.EntityRef(entity_key=target)), metadata=REG, timeout=10)
    assert result.record_id in {r.record_id for r in file.records}
    shown = scoring.GetInspectionPlan(scoring_pb2.GetInspectionPlanRequest(
        plan_id=plan.plan_id), metadata=REG, timeout=10)
    published = {e.entity_key: e.result for e in shown.entities if e.HasField("result")}
    assert published[first.entity_key].outcome == scoring_pb2.INSPECTION_OUTCOME_CLEAR
    assert published[target].record_id == result.record_id
    # A page of plans (their names and results read together) holds each plan as
    # GetInspectionPlan shows it, results included.
    page = scoring.ListInspectionPlans(scoring_pb2.ListInspectionPlansRequest(page_size=200),
                                       metadata=REG, timeout=10)
    assert len(page.plans) >= 3 and page.plans[0] == shown
    for p in page.plans:
        assert p == scoring.GetInspectionPlan(scoring_pb2.GetInspectionPlanRequest(
            plan_id=p.plan_id), metadata=REG, timeout=10)
        assert all(e.name for e in p.entities)
