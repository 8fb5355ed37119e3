from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import chinese_calendar
import pytest

from services.common.workdays import (
    CALENDAR_FILE_ENV,
    CalendarFileError,
    CalendarYearUnknown,
    WorkCalendar,
    default_calendar,
)

# Test fixture with INVENTED 2027 dates (the official schedule was not available); it only
# exercises the file mechanism and must never be deployed.
FIXTURE_2027 = Path(__file__).parent / "data" / "calendar-2027-example.json"


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.load()


def write_calendar(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "calendar.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), "utf-8")
    return path


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# --- package data ---------------------------------------------------------------------------


def test_years_come_from_package_data(cal: WorkCalendar) -> None:
    assert 2004 in cal.years
    assert 2025 in cal.years and 2026 in cal.years
    assert 2027 not in cal.years  # chinesecalendar 1.11 stops at 2026


def test_national_day_2025(cal: WorkCalendar) -> None:
    for d in days(date(2025, 10, 1), date(2025, 10, 8)):
        assert not cal.is_workday(d), d
    assert cal.is_workday(date(2025, 9, 28))  # Sunday, adjusted working day
    assert cal.is_workday(date(2025, 10, 11))  # Saturday, adjusted working day
    assert not cal.is_workday(date(2025, 9, 27))  # ordinary Saturday
    assert cal.is_workday(date(2025, 9, 30))
    assert cal.is_workday(date(2025, 10, 9))
    assert not cal.is_workday(date(2025, 10, 12))


def test_spring_festival_2026(cal: WorkCalendar) -> None:
    for d in days(date(2026, 2, 15), date(2026, 2, 23)):
        assert not cal.is_workday(d), d
    assert cal.is_workday(date(2026, 2, 14))  # Saturday, adjusted working day
    assert cal.is_workday(date(2026, 2, 28))  # Saturday, adjusted working day
    assert cal.is_workday(date(2026, 2, 24))
    assert not cal.is_workday(date(2026, 3, 1))


def test_agrees_with_package_for_every_known_day(cal: WorkCalendar) -> None:
    for d in days(date(2004, 1, 1), date(2026, 12, 31)):
        assert cal.is_workday(d) == chinese_calendar.is_workday(d), d


# --- deadlines ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "deadline"),
    [
        # Tue 30 Sep; 1-8 Oct off; Thu 9, Fri 10, Sat 11 Oct (adjusted) -> the adjusted
        # Saturday is the third working day.
        (date(2025, 9, 30), 3, date(2025, 10, 11)),
        # Fri 26 Sep: Sun 28 (adjusted), 29, 30, Oct 9, 10, 11, Mon 13.
        (date(2025, 9, 26), 7, date(2025, 10, 13)),
        # Thu 12 Feb 2026: 13, Sat 14 (adjusted), 24, 25, 26, 27, Sat 28 (adjusted),
        # Mar 2, 3, 4.
        (date(2026, 2, 12), 10, date(2026, 3, 4)),
        # Starting on a holiday: the first working day after it.
        (date(2025, 10, 3), 1, date(2025, 10, 9)),
        # Ordinary week: Fri + 1 working day = Mon.
        (date(2025, 11, 14), 1, date(2025, 11, 17)),
    ],
)
def test_add_workdays_across_holidays(
    cal: WorkCalendar, start: date, n: int, deadline: date
) -> None:
    assert cal.add_workdays(start, n) == deadline
    assert cal.workdays_between(start, deadline) == n


def test_add_zero_workdays_returns_start(cal: WorkCalendar) -> None:
    assert cal.add_workdays(date(2025, 10, 1), 0) == date(2025, 10, 1)


def test_negative_workdays_rejected(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match=">= 0"):
        cal.add_workdays(date(2025, 10, 1), -1)


def test_add_workdays_matches_package_from_working_days(cal: WorkCalendar) -> None:
    # find_workday(n, d) first rolls a non-working d forward to a working day, so it only
    # means "n-th working day after d" when d is itself a working day.
    for start in days(date(2025, 1, 1), date(2026, 11, 30)):
        if chinese_calendar.is_workday(start):
            for n in (1, 3, 10):
                assert cal.add_workdays(start, n) == chinese_calendar.find_workday(n, start)


def test_workdays_between(cal: WorkCalendar) -> None:
    a, b = date(2025, 9, 30), date(2025, 10, 13)
    assert cal.workdays_between(a, a) == 0
    assert cal.workdays_between(a, b) == 4  # Oct 9, 10, 11 (adjusted), 13
    assert cal.workdays_between(b, a) == -4
    assert cal.workdays_between(date(2025, 10, 1), date(2025, 10, 8)) == 0


def test_datetime_is_rejected(cal: WorkCalendar) -> None:
    with pytest.raises(TypeError, match="not a datetime"):
        cal.is_workday(datetime(2025, 10, 1, 12, 0))


# --- unknown years --------------------------------------------------------------------------


def test_unknown_year_raises_with_instructions(cal: WorkCalendar) -> None:
    with pytest.raises(CalendarYearUnknown) as info:
        cal.is_workday(date(2027, 3, 1))
    message = str(info.value)
    assert info.value.year == 2027
    assert isinstance(info.value, LookupError)
    assert "2027" in message
    assert CALENDAR_FILE_ENV in message
    assert "calendar file" in message
    assert "2004-2026" in message


def test_deadline_running_into_unknown_year_raises(cal: WorkCalendar) -> None:
    # A deadline set in December that reaches into January of an unpublished year must
    # not be computed from weekends alone.
    with pytest.raises(CalendarYearUnknown, match="2027"):
        cal.add_workdays(date(2026, 12, 28), 10)
    with pytest.raises(CalendarYearUnknown, match="2027"):
        cal.workdays_between(date(2026, 12, 28), date(2027, 1, 15))


def test_unknown_year_before_package_data(cal: WorkCalendar) -> None:
    with pytest.raises(CalendarYearUnknown, match="2003"):
        cal.is_workday(date(2003, 6, 2))


# --- calendar file --------------------------------------------------------------------------


def test_fixture_file_extends_into_2027() -> None:
    cal = WorkCalendar.load(FIXTURE_2027)
    assert 2027 in cal.years and 2026 in cal.years
    assert not cal.is_workday(date(2027, 1, 1))
    assert cal.is_workday(date(2027, 1, 4))
    assert cal.is_workday(date(2027, 2, 20))  # Saturday listed as adjusted working day
    # Thu 31 Dec 2026 + 3: Mon 4, Tue 5, Wed 6 Jan 2027 (1-3 Jan are fixture holidays).
    assert cal.add_workdays(date(2026, 12, 31), 3) == date(2027, 1, 6)


def test_known_through_is_the_end_of_the_unbroken_run_of_known_years(tmp_path: Path) -> None:
    package = WorkCalendar.load()
    assert package.known_through(date(2026, 11, 29)) == date(2026, 12, 31)
    assert package.known_through(date(2004, 1, 1)) == date(2026, 12, 31)
    assert package.known_through(date(2027, 1, 4)) is None
    assert WorkCalendar.load(FIXTURE_2027).known_through(date(2026, 11, 29)) == date(2027, 12, 31)
    # 2028 without 2027 leaves a gap: deadlines in 2027 still fail, so it does not count.
    gap = write_calendar(tmp_path, {"2028": {"holidays": ["2028-01-01"], "workdays": []}})
    assert WorkCalendar.load(gap).known_through(date(2026, 11, 29)) == date(2026, 12, 31)


def test_file_overrides_package_year(tmp_path: Path) -> None:
    # Replace 2025 with a schedule in which National Day ends on 7 October.
    holidays = [d.isoformat() for d in days(date(2025, 10, 1), date(2025, 10, 7))]
    path = write_calendar(tmp_path, {"2025": {"holidays": holidays, "workdays": []}})
    cal = WorkCalendar.load(path)
    assert cal.is_workday(date(2025, 10, 8))  # a Wednesday, no longer a holiday
    assert not cal.is_workday(date(2025, 10, 11))  # Saturday, no longer adjusted
    # The whole year is replaced: Spring Festival, not listed in the file, is gone.
    assert cal.is_workday(date(2025, 1, 28))
    assert not WorkCalendar.load().is_workday(date(2025, 1, 28))
    # Other years still come from the package.
    assert not cal.is_workday(date(2026, 2, 16))


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (
            {"2027": {"holidays": ["2027-02-30"], "workdays": []}},
            r"2027\.holidays\[0\].*valid date",
        ),
        ({"2027": {"holidays": ["2027-1-1"], "workdays": []}}, r"2027\.holidays\[0\].*YYYY-MM-DD"),
        ({"2027": {"holidays": [20270101], "workdays": []}}, r"2027\.holidays\[0\]"),
        ({"2027": {"holidays": ["2026-12-31"], "workdays": []}}, r"'2026-12-31'.*not in 2027"),
        (
            {"2027": {"holidays": ["2027-01-01"], "workdays": ["2028-01-01"]}},
            r"2027\.workdays\[0\].*not in 2027",
        ),
        (
            {"2027": {"holidays": ["2027-01-01", "2027-02-20"], "workdays": ["2027-02-20"]}},
            r"'2027-02-20' is listed both",
        ),
        (
            {"2027": {"holidays": ["2027-01-01", "2027-01-01"], "workdays": []}},
            r"2027\.holidays\[1\].*listed twice",
        ),
        (
            {"2027": {"holidays": ["2027-01-01"], "workdays": ["2027-02-22"]}},
            r"2027\.workdays\[0\].*Monday",
        ),
        ({"2027": {"holidays": [], "workdays": []}}, r"2027\.holidays: empty"),
        ({"2027": {"holidays": ["2027-01-01"]}}, r"missing field.*workdays"),
        ({"2027": {"holidays": ["2027-01-01"], "workdays": [], "x": 1}}, "unknown field"),
        ({"2027": {"holidays": "2027-01-01", "workdays": []}}, "expected a list"),
        ({"27": {"holidays": ["2027-01-01"], "workdays": []}}, "four-digit year"),
        ({"2027": ["2027-01-01"]}, "expected an object"),
        (["2027-01-01"], "JSON object keyed by year"),
        ("{not json", "invalid JSON"),
        (
            '{"2027": {"holidays": ["2027-01-01"], "workdays": []},'
            ' "2027": {"holidays": ["2027-01-02"], "workdays": []}}',
            "duplicate key '2027'",
        ),
    ],
)
def test_bad_calendar_file(tmp_path: Path, content: Any, match: str) -> None:
    path = write_calendar(tmp_path, content)
    with pytest.raises(CalendarFileError, match=match) as info:
        WorkCalendar.load(path)
    assert isinstance(info.value, ValueError)
    assert str(path) in str(info.value)


def test_missing_calendar_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        WorkCalendar.load(tmp_path / "absent.json")


# --- default calendar -----------------------------------------------------------------------


@pytest.fixture
def fresh_default() -> Any:
    default_calendar.cache_clear()
    yield
    default_calendar.cache_clear()


def test_default_calendar_without_env(monkeypatch: pytest.MonkeyPatch, fresh_default: Any) -> None:
    monkeypatch.delenv(CALENDAR_FILE_ENV, raising=False)
    cal = default_calendar()
    assert cal is default_calendar()
    assert 2027 not in cal.years


def test_default_calendar_reads_env_file(
    monkeypatch: pytest.MonkeyPatch, fresh_default: Any
) -> None:
    monkeypatch.setenv(CALENDAR_FILE_ENV, str(FIXTURE_2027))
    assert 2027 in default_calendar().years


def test_default_calendar_fails_loudly_on_missing_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fresh_default: Any
) -> None:
    monkeypatch.setenv(CALENDAR_FILE_ENV, str(tmp_path / "absent.json"))
    with pytest.raises(FileNotFoundError):
        default_calendar()
