"""Grades follow the credit file with real processes: a repair and the end of a publication
period each re-grade the entity through the change feed; a new model artifact is picked up
without a restart, and a corrupt one is refused while the previous model keeps serving."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import grpc
import psycopg
import pytest

from credit.v1 import common_pb2, records_pb2, records_pb2_grpc, scoring_pb2, scoring_pb2_grpc
from models.registry import ARTIFACTS_DIR, default_version
from services.common.db import SessionLock, make_engine
from services.common.stubs import records_stub, scoring_stub
from services.scoring.server import REGRADE_LOCK
from tests.factories import hr, uscc
from tests.procs import bearer, records_service, service, sqlite_restore

pytestmark = pytest.mark.e2e
REG, HR, APPLICANT = bearer("dev-regulator"), bearer("dev-hr"), bearer("dev-applicant")
RULE = "active_serious_record"


class Platform(NamedTuple):
    records: records_pb2_grpc.RecordsServiceStub
    scoring: scoring_pb2_grpc.ScoringServiceStub
    metrics: int  # scoring's metrics port


@contextmanager
def _platform(tmp: Path, today: str, **scoring_env: str) -> Iterator[Platform]:
    """Records and scoring as processes on `tmp`'s databases, as of `today`."""
    url = f"sqlite:///{tmp}/records.db"
    with records_service(tmp, url, CREDIT_TODAY=today,
                         RECORDS_SWEEP_SECONDS="0.2") as (r_addr, _, _), \
            service("scoring", tmp, SCORING_RECORDS_DATABASE_URL=url,
                    SCORING_DATABASE_URL=f"sqlite:///{tmp}/scoring.db",
                    SCORING_RECORDS_ADDRESS=r_addr, SCORING_RECORDS_TOKEN="dev-scoring",
                    CREDIT_TODAY=today, **scoring_env) as (s_addr, s_metrics, _), \
            grpc.insecure_channel(r_addr) as r_channel, \
            grpc.insecure_channel(s_addr) as s_channel:
        yield Platform(records_stub(r_channel),
                       scoring_stub(s_channel), s_metrics)


def _wait(fetch: Callable[[], Any], ok: Callable[[Any], bool], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            got = fetch()
            if ok(got):
                return got
        except grpc.RpcError:
            got = None
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached in {timeout}s; last: {got}")
        time.sleep(0.2)


def _grade(scoring: Any, code: str) -> scoring_pb2.GradeRecord:
    grade: scoring_pb2.GradeRecord = scoring.GetGrade(scoring_pb2.GetGradeRequest(
        entity=common_pb2.EntityRef(uscc=code)), metadata=REG, timeout=10)
    return grade


def _rules(scoring: Any, code: str) -> list[str]:
    """The hard rules that fire for the entity now (Evaluate lists every one)."""
    got = scoring.Evaluate(scoring_pb2.EvaluateRequest(entity=common_pb2.EntityRef(uscc=code)),
                           metadata=REG, timeout=10)
    return [r.code for r in got.grade_rules]


def _submit(records: Any, record: records_pb2.RecordSubmission) -> records_pb2.SubmitResult:
    result: records_pb2.SubmitResult = records.SubmitRecord(
        records_pb2.SubmitRecordRequest(record=record), metadata=HR, timeout=10)
    assert result.listed
    return result


def test_a_repair_regrades_the_entity(tmp_path: Path) -> None:
    code = uscc(61)
    with _platform(tmp_path, "2025-11-20") as p:
        # 情节严重: a 严重 record, repairable after its 12-month minimum.
        result = _submit(p.records, hr("repair-1", code, tier="grave", decided="2024-10-01"))
        capped = _wait(lambda: _grade(p.scoring, code), lambda g: g.history)
        # The active 严重 record caps the grade at D, whatever the score.
        assert capped.grade.grade == "D" and RULE in _rules(p.scoring, code)

        repair = p.records.ApplyRepair(records_pb2.ApplyRepairRequest(
            record_id=result.record_id, proof="罚款已缴清", commitment_letter=True),
            metadata=APPLICANT, timeout=10)
        for action in ("accept", "approve"):
            p.records.DecideRepair(records_pb2.DecideRepairRequest(
                repair_id=repair.repair_id, action=action), metadata=HR, timeout=10)
        # The feed may deliver the application alone and the consumer read the file after the
        # approval committed: the new grade then names the event that woke it (repair_applied)
        # and the approval's re-grade changes nothing, so no further history row.
        repaired = _wait(lambda: _grade(p.scoring, code),
                         lambda g: g.grade.score > capped.grade.score)
        assert repaired.history[0].cause in ("event:repair_applied", "event:repair_accepted",
                                             "event:record_repaired")
        assert repaired.history[1].score == capped.grade.score  # the old grade is kept
        # Evaluate's answer from before, kept in memory, goes as soon as its follower of the
        # feed reads the repair (within a poll; the stored grade may come first or after).
        _wait(lambda: _rules(p.scoring, code), lambda rules: RULE not in rules)
        fresh = p.scoring.Evaluate(scoring_pb2.EvaluateRequest(
            entity=common_pb2.EntityRef(uscc=code), fresh=True), metadata=REG, timeout=10)
        assert (fresh.grade, fresh.score) == (repaired.grade.grade, repaired.grade.score)


def test_the_end_of_a_publication_period_regrades_the_entity(tmp_path: Path) -> None:
    code = uscc(62)
    with _platform(tmp_path, "2025-11-20") as p:
        record = hr("expiry-1", code, tier="grave", decided="2024-12-01")
        record.publication_months = 12  # published through 2025-12-01
        result = _submit(p.records, record)
        assert result.repair_notice.publication_end == "2025-12-02"  # exclusive
        assert "至2025-12-01。" in result.repair_notice.text
        before = _wait(lambda: _grade(p.scoring, code), lambda g: g.history)
        assert before.grade.grade == "D" and RULE in _rules(p.scoring, code)
    # Ten days later the sweeper announces the end; scoring re-grades as of the new day.
    with _platform(tmp_path, "2025-12-10") as p:
        after = _wait(lambda: _grade(p.scoring, code),
                      lambda g: g.history[0].cause == "event:publication_ended")
        assert after.grade.as_of == "2025-12-10" and RULE not in _rules(p.scoring, code)
        assert after.history[1].score == before.grade.score


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Path]:
    """A copy of the shipped model registry the test may change."""
    root = tmp_path / "registry"
    version = default_version()
    shutil.copytree(ARTIFACTS_DIR / version, root / version)
    (root / "DEFAULT").write_text(version + "\n")
    yield root


def _metric(metrics_port: int, name: str) -> float:
    """The value of an unlabelled metric on a service's Prometheus endpoint."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                  timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no {name} metric")


def _reload_failures(metrics_port: int) -> float:
    return _metric(metrics_port, "scoring_model_reload_failures_total")


def test_a_new_model_is_served_and_a_corrupt_one_refused(tmp_path: Path,
                                                          registry: Path) -> None:
    code = uscc(63)
    first = default_version()
    with _platform(tmp_path, "2025-11-20", SCORING_MODEL_REGISTRY=str(registry),
                   SCORING_MODEL_POLL_SECONDS="0.2") as p:
        _submit(p.records, hr("model-1", code))

        def card() -> str:
            return str(p.scoring.GetModelCard(scoring_pb2.GetModelCardRequest(),
                                              metadata=REG, timeout=10).version)

        assert card() == first
        # A new version whose scorecard does not match its checksum: refused.
        second = "scorecard-test-v2"
        shutil.copytree(registry / first, registry / second)
        meta = json.loads((registry / second / "metadata.json").read_text())
        meta["version"] = second
        (registry / second / "metadata.json").write_text(json.dumps(meta))
        good = (registry / second / "scorecard.json").read_text()
        (registry / second / "scorecard.json").write_text(good.replace("0", "1", 1))
        (registry / "DEFAULT").write_text(second + "\n")
        _wait(lambda: _reload_failures(p.metrics), lambda n: n >= 1)
        assert card() == first
        served = p.scoring.Evaluate(scoring_pb2.EvaluateRequest(
            entity=common_pb2.EntityRef(uscc=code)), metadata=REG, timeout=10)
        assert served.model_version == first

        # Repaired on disk, it loads and serves.
        (registry / second / "scorecard.json").write_text(good)
        _wait(card, lambda v: v == second)
        served = p.scoring.Evaluate(scoring_pb2.EvaluateRequest(
            entity=common_pb2.EntityRef(uscc=code)), metadata=REG, timeout=10)
        assert served.model_version == second

        # Half copied (no model card): refused like any incomplete artifact, and the
        # reloading goes on.
        third = "scorecard-test-v3"
        shutil.copytree(registry / second, registry / third)
        meta["version"] = third
        (registry / third / "metadata.json").write_text(json.dumps(meta))
        card_text = (registry / third / "model_card.md").read_text()
        (registry / third / "model_card.md").unlink()
        refused = _reload_failures(p.metrics)
        (registry / "DEFAULT").write_text(third + "\n")
        _wait(lambda: _reload_failures(p.metrics), lambda n: n >= refused + 1)
        assert card() == second and _model_info(p.metrics) == [second]
        # A DEFAULT naming no valid version is refused once, not at every poll.
        (registry / "DEFAULT").write_text("../etc\n")
        _wait(lambda: _reload_failures(p.metrics), lambda n: n >= refused + 2)
        time.sleep(1.5)  # several polls
        assert _reload_failures(p.metrics) == refused + 2
        (registry / third / "model_card.md").write_text(card_text)
        (registry / "DEFAULT").write_text(third + "\n")
        _wait(card, lambda v: v == third)
        assert _model_info(p.metrics) == [third]


def _model_info(metrics_port: int) -> list[str]:
    """The versions `scoring_model_info` says are serving."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                  timeout=5).read().decode()
    return [line.split('version="', 1)[1].split('"', 1)[0] for line in text.splitlines()
            if line.startswith("scoring_model_info{") and line.endswith(" 1.0")]


def _followers(tmp: Path, *addresses: str) -> list[str]:
    """The scoring processes (by address) whose log says they follow the change feed."""
    def follows(address: str) -> bool:
        log = tmp / f"scoring-{address.rsplit(':', 1)[1]}.log"
        return "following the change feed" in log.read_text()
    return [a for a in addresses if follows(a)]


@pytest.mark.postgres
def test_one_replica_follows_the_feed_and_a_standby_takes_over(tmp_path: Path,
                                                               pg_url: str) -> None:
    today, records_url = "2025-11-20", f"sqlite:///{tmp_path}/records.db"
    with records_service(tmp_path, records_url, CREDIT_TODAY=today) as (r_addr, _, _), \
            grpc.insecure_channel(r_addr) as r_channel:
        records = records_stub(r_channel)
        env = {"SCORING_RECORDS_DATABASE_URL": records_url, "SCORING_DATABASE_URL": pg_url,
               "SCORING_RECORDS_ADDRESS": r_addr, "SCORING_RECORDS_TOKEN": "dev-scoring",
               "CREDIT_TODAY": today}
        with service("scoring", tmp_path, **env) as (a, _, a_proc), \
                service("scoring", tmp_path, **env) as (b, _, b_proc):
            # The two replicas share one grade store: exactly one of them follows the feed.
            leader = _wait(lambda: _followers(tmp_path, a, b), lambda f: len(f) == 1)[0]
            standby, leader_proc = (b, a_proc) if leader == a else (a, b_proc)
            with grpc.insecure_channel(standby) as channel:
                scoring = scoring_stub(channel)
                _submit(records, hr("replica-1", uscc(64), tier="grave", decided="2025-06-01"))
                _wait(lambda: _grade(scoring, uscc(64)), lambda g: g.grade.grade == "D")
                assert _followers(tmp_path, a, b) == [leader]
                # The leader dies without a word; its lock goes with its connection.
                leader_proc.kill()
                leader_proc.wait()
                _submit(records, hr("replica-2", uscc(65), tier="grave", decided="2025-06-01"))
                taken = _wait(lambda: _grade(scoring, uscc(65)), lambda g: g.history)
                assert taken.history[0].cause == "event:record_created"
                assert standby in _followers(tmp_path, a, b)
                # The database drops every connection (a restart, a failover): the new
                # follower notices, takes the lock again on a fresh connection and goes on.
                with psycopg.connect(pg_url, autocommit=True) as admin:
                    admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = current_database() "
                                  "AND pid <> pg_backend_pid()")
                _submit(records, hr("replica-3", uscc(66), tier="grave", decided="2025-06-01"))
                _wait(lambda: _grade(scoring, uscc(66)), lambda g: g.history, timeout=60)


def _refused(metrics_port: int) -> float:
    return _metric(metrics_port, "scoring_feed_cursor_refused")


@pytest.mark.parametrize("grown_past", [False, True], ids=["behind", "grown-past"])
def test_after_a_records_restore_the_consumer_stops_until_a_regrade_resets_its_cursor(
        tmp_path: Path, grown_past: bool) -> None:
    today, a, b, c, d = "2025-11-20", uscc(71), uscc(72), uscc(73), uscc(74)
    records_url = f"sqlite:///{tmp_path}/records.db"
    with _platform(tmp_path, today) as p:
        _submit(p.records, hr("restore-a", a, tier="grave"))
        _wait(lambda: _grade(p.scoring, a), lambda g: g.history)
    sqlite_restore(tmp_path / "records.db", tmp_path / "backup.db")  # last night's backup
    with _platform(tmp_path, today) as p:
        for i in range(3):
            _submit(p.records, hr(f"restore-b{i}", b, tier="grave", decided=f"2025-0{i + 1}-01"))
        _wait(lambda: _grade(p.scoring, b), lambda g: g.history)
    # The records database is restored from the backup: the feed now ends before the cursor.
    sqlite_restore(tmp_path / "backup.db", tmp_path / "records.db")
    # Before scoring reconnects, the restored feed gets one new event, or (grown past) more
    # than it lost, so that the cursor's position exists again, holding another event.
    with records_service(tmp_path, records_url, CREDIT_TODAY=today) as (r_addr, _, _), \
            grpc.insecure_channel(r_addr) as r_channel:
        records = records_stub(r_channel)
        for i in range(6 if grown_past else 1):
            _submit(records, hr(f"restore-c{i}", c, tier="grave", decided=f"2025-0{i + 1}-01"))
    with _platform(tmp_path, today) as p:
        # The consumer says so and re-grades nothing rather than skip C's events unseen.
        _wait(lambda: _refused(p.metrics), lambda v: v == 1.0)
        time.sleep(1.5)
        with pytest.raises(grpc.RpcError) as missing:
            _grade(p.scoring, c)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        logs = " ".join(log.read_text() for log in tmp_path.glob("scoring-*.log"))
        assert "--reset-feed-cursor" in logs
        assert ("FAILED_PRECONDITION" if grown_past else "OUT_OF_RANGE") in logs

        # The remedy: a full re-grade that then moves the cursor to the feed's tip.
        done = subprocess.run(
            [sys.executable, "-m", "services.scoring.regrade", "--reset-feed-cursor",
             "--records-database-url", records_url,
             "--scoring-database-url", f"sqlite:///{tmp_path}/scoring.db", "--as-of", today],
            cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True,
            timeout=120)
        assert done.returncode == 0, done.stderr
        assert "change-feed cursor set to" in done.stderr
        assert _grade(p.scoring, c).grade.grade == "D"  # graded by the re-grade
        # The consumer follows again: a new record re-grades its entity within seconds.
        _wait(lambda: _refused(p.metrics), lambda v: v == 0.0, timeout=30)
        _submit(p.records, hr("restore-d", d, tier="grave"))
        followed = _wait(lambda: _grade(p.scoring, d), lambda g: g.history, timeout=30)
        assert followed.history[0].cause == "event:record_created"


def test_a_reset_of_the_feed_cursor_needs_every_entity() -> None:
    shard = subprocess.run(
        [sys.executable, "-m", "services.scoring.regrade", "--reset-feed-cursor",
         "--shard", "0/2"], cwd=Path(__file__).resolve().parents[2], capture_output=True,
        text=True, timeout=60)
    assert shard.returncode == 2 and "not with --shard" in shard.stderr


@pytest.mark.postgres
def test_a_regrade_runs_on_one_scoring_replica_at_a_time(tmp_path: Path, pg_url: str) -> None:
    today, records_url = "2025-11-20", f"sqlite:///{tmp_path}/records.db"
    admin = bearer("dev-admin")
    with records_service(tmp_path, records_url, CREDIT_TODAY=today) as (r_addr, _, _), \
            service("scoring", tmp_path, SCORING_RECORDS_DATABASE_URL=records_url,
                    SCORING_DATABASE_URL=pg_url, SCORING_RECORDS_ADDRESS=r_addr,
                    SCORING_RECORDS_TOKEN="dev-scoring", CREDIT_TODAY=today) as (addr, _, _), \
            grpc.insecure_channel(addr) as channel:
        scoring = scoring_stub(channel)
        # Another replica sharing the grade store runs one: it holds the advisory lock.
        engine = make_engine(pg_url, "scoring")
        other = SessionLock(engine, REGRADE_LOCK)
        try:
            assert other.try_acquire()
            with pytest.raises(grpc.RpcError) as busy:
                list(scoring.Regrade(scoring_pb2.RegradeRequest(), metadata=admin, timeout=30))
            assert busy.value.code() == grpc.StatusCode.ABORTED
            assert "another scoring replica" in (busy.value.details() or "")
            other.release()
            progress = list(scoring.Regrade(scoring_pb2.RegradeRequest(), metadata=admin,
                                            timeout=60))
            assert progress and progress[-1].done_all
        finally:
            other.release()
            engine.dispose()
