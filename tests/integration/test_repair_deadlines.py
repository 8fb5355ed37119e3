"""Working-day deadlines of repairs and objections (国办发〔2025〕22号 六, 八): the applicant's
answer within 10 working days of the application, and when each item becomes overdue.

Dates are in the 2025 calendar: Sun 09-28 and Sat 10-11 are adjusted working days, 10-01 to
10-08 the National Day holidays.
"""

from __future__ import annotations

import json
from datetime import date

from services.common.workdays import WorkCalendar
from services.records import queries, views, workflows
from services.records.ingest import ingest
from services.records.store import Store
from tests.conftest import HR, TODAY
from tests.factories import hr, uscc

APPLIED = date(2025, 9, 26)  # a Friday


def _record(store: Store, code: str, decided: str = "2024-01-02") -> str:
    result = ingest(store, HR, [hr("h-d", code, tier="grave", decided=decided)])[0]
    assert result.record_id is not None, result.error
    return str(result.record_id)


def _overdue(store: Store, as_of: date) -> list[tuple[str, int, date, int]]:
    return [(i.kind, i.item_id, i.due, i.working_days_overdue)
            for i in workflows.list_overdue(store, as_of, "hr_social_security")]


def test_a_late_acceptance_does_not_move_the_answer(store: Store) -> None:
    rep = workflows.apply_repair(store, HR, _record(store, uscc(60)), "罚款已缴清", True, APPLIED)
    assert workflows.response_due(store.calendar, rep) == date(2025, 10, 16)
    assert views.repair(rep, store.calendar).response_due == "2025-10-16"
    rep = workflows.decide_repair(store, HR, str(rep.id), "accept", "", date(2025, 10, 9))
    assert rep.decision_due == date(2025, 10, 17)  # the decision may still be on time...
    assert _overdue(store, date(2025, 10, 16)) == []
    # ...but the applicant was due the answer the day before.
    assert _overdue(store, date(2025, 10, 17)) == [
        ("repair_response", rep.id, date(2025, 10, 16), 1)]


def test_an_extension_moves_the_answer_by_10_working_days(store: Store) -> None:
    rep = workflows.apply_repair(store, HR, _record(store, uscc(61)), "proof", True, APPLIED)
    workflows.decide_repair(store, HR, str(rep.id), "accept", "", date(2025, 10, 9))
    rep = workflows.decide_repair(store, HR, str(rep.id), "extend", "需核查", date(2025, 10, 16))
    assert rep.decision_due == date(2025, 10, 31)
    assert views.repair(rep, store.calendar).response_due == "2025-10-30"
    assert _overdue(store, date(2025, 10, 30)) == []
    assert _overdue(store, date(2025, 10, 31)) == [
        ("repair_response", rep.id, date(2025, 10, 30), 1)]


def test_an_unaccepted_repair_is_overdue_on_both_deadlines(store: Store) -> None:
    rep = workflows.apply_repair(store, HR, _record(store, uscc(62)), "proof", True, APPLIED)
    assert _overdue(store, date(2025, 10, 17)) == [
        ("repair_acceptance", rep.id, date(2025, 9, 30), 8),
        ("repair_response", rep.id, date(2025, 10, 16), 1)]


def test_an_answered_repair_is_not_overdue(store: Store) -> None:
    rep = workflows.apply_repair(store, HR, _record(store, uscc(63)), "proof", True, APPLIED)
    workflows.decide_repair(store, HR, str(rep.id), "accept", "", date(2025, 10, 9))
    workflows.decide_repair(store, HR, str(rep.id), "approve", "", date(2025, 10, 17))
    assert _overdue(store, date(2025, 10, 20)) == []


def test_the_answer_is_due_in_the_file_and_the_audit_trail(store: Store) -> None:
    code = uscc(64)
    rep = workflows.apply_repair(store, HR, _record(store, code), "proof", True, APPLIED)
    workflows.decide_repair(store, HR, str(rep.id), "accept", "", date(2025, 9, 30))
    workflows.decide_repair(store, HR, str(rep.id), "extend", "需核查", date(2025, 10, 9))
    found = store.snapshot(lambda s: queries.credit_file(s, code, TODAY, include_audit=True))
    assert found is not None
    assert [r.response_due for r in views.credit_file(found, store.calendar).repairs] == [
        "2025-10-30"]
    dues = [json.loads(a.detail).get("response_due") for a in found.audit
            if a.action in ("repair_applied", "repair_extended")]
    assert dues == ["2025-10-16", "2025-10-30"]


def test_a_file_still_reads_when_the_calendar_no_longer_knows_the_answers_year(
        store: Store) -> None:
    """The answer date is computed on read: a calendar that lost the year (its file removed)
    blanks that date instead of failing the whole credit file."""
    code = uscc(66)
    workflows.apply_repair(store, HR, _record(store, code), "proof", True, APPLIED)
    found = store.snapshot(lambda s: queries.credit_file(s, code, TODAY, include_audit=False))
    assert found is not None
    forgetful = WorkCalendar({y: r for y, r in store.calendar._years.items() if y != 2025})
    file = views.credit_file(found, forgetful)
    assert [(r.applied_on, r.response_due) for r in file.repairs] == [("2025-09-26", "")]


def test_an_answer_due_in_an_unknown_calendar_year_does_not_hold_up_the_application(
        store: Store) -> None:
    # The shipped calendar ends with 2026 (as tests/e2e assume): acceptance is due on
    # 2026-12-23, the answer in 2027. The answer date only informs; the application stands.
    assert 2027 not in store.calendar.years
    code = uscc(65)
    rep = workflows.apply_repair(store, HR, _record(store, code, decided="2025-06-01"), "proof",
                                 True, date(2026, 12, 18))
    assert rep.acceptance_due == date(2026, 12, 23)
    found = store.snapshot(lambda s: queries.credit_file(s, code, date(2026, 12, 18),
                                                         include_audit=True))
    assert found is not None
    assert [r.response_due for r in views.credit_file(found, store.calendar).repairs] == [""]
    applied = [json.loads(a.detail) for a in found.audit if a.action == "repair_applied"]
    assert applied == [{"applied_on": "2026-12-18"}]


def test_an_objection_is_overdue_after_10_working_days(store: Store) -> None:
    obj = workflows.file_objection(store, HR, _record(store, uscc(66)), "content",
                                   "认定事实有误", date(2025, 3, 3))
    assert obj.due == date(2025, 3, 17)  # Mon 03-03 + two working weeks
    assert views.objection(obj).due == "2025-03-17"
    assert _overdue(store, date(2025, 3, 17)) == []
    assert _overdue(store, date(2025, 3, 18)) == [("objection", obj.id, date(2025, 3, 17), 1)]
