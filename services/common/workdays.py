"""Chinese working-day calendar for statutory deadlines.

Deadlines in credit procedures (objections, repair requests, publication periods) are counted
in working days: public holidays are off, and some weekends are adjusted working days (调休).
Both are fixed each year by a State Council notice, so they cannot be computed; they come from
the `chinese_calendar` package for the years it ships, and from an operator-maintained JSON
calendar file for later years.  A date in a year neither source covers raises
`CalendarYearUnknown` rather than falling back to a weekend-only guess, which would silently
produce wrong legal deadlines.

Calendar file format (one entry per calendar year; a listed year replaces the package data)::

    {"2027": {"holidays": ["2027-01-01", ...],
              "workdays": ["2027-02-20", ...],
              "source": "https://www.gov.cn/..."}}

"workdays" lists only weekend days that are adjusted working days; "source" is optional.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from chinese_calendar import constants as _cc_constants

__all__ = [
    "CALENDAR_FILE_ENV",
    "CalendarFileError",
    "CalendarYearUnknown",
    "WorkCalendar",
    "default_calendar",
]

CALENDAR_FILE_ENV: Final = "CREDIT_CALENDAR_FILE"

_ISO_DATE_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_YEAR_RE: Final = re.compile(r"[0-9]{4}")
_YEAR_KEYS: Final = frozenset({"holidays", "workdays", "source"})
# Not strftime("%A"): that follows the process locale.
_WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _year_ranges(years: Iterable[int]) -> str:
    """Render {2004, ..., 2026, 2028} as "2004-2026, 2028" for error messages."""
    ordered = sorted(set(years))
    if not ordered:
        return "none"
    parts: list[str] = []
    first = prev = ordered[0]
    for y in [*ordered[1:], None]:
        if y is not None and y == prev + 1:
            prev = y
            continue
        parts.append(str(first) if first == prev else f"{first}-{prev}")
        if y is not None:
            first = prev = y
    return ", ".join(parts)


class CalendarYearUnknown(LookupError):
    """No holiday schedule is known for `year`, so working days cannot be determined."""

    def __init__(self, year: int, known_years: Iterable[int] = ()) -> None:
        self.year = year
        super().__init__(
            f"no working-day calendar for {year} (known years: {_year_ranges(known_years)}). "
            f"Add the State Council holiday schedule for {year} to a JSON calendar file, "
            f'e.g. {{"{year}": {{"holidays": ["{year}-01-01", ...], "workdays": [...]}}}}, '
            f"and set the environment variable {CALENDAR_FILE_ENV} to its path."
        )


class CalendarFileError(ValueError):
    """The calendar file is malformed; the message names the file and the offending entry."""


@dataclass(frozen=True, slots=True)
class _YearRules:
    holidays: frozenset[date]
    # Weekend days that are adjusted working days.
    workdays: frozenset[date]


def _package_years() -> dict[int, _YearRules]:
    # Years are detected from the package's own tables so that upgrading chinesecalendar
    # extends coverage without a code change.
    holidays: dict[int, set[date]] = {}
    workdays: dict[int, set[date]] = {}
    for d in _cc_constants.holidays:
        holidays.setdefault(d.year, set()).add(d)
    for d in _cc_constants.workdays:
        workdays.setdefault(d.year, set()).add(d)
    return {
        year: _YearRules(frozenset(holidays.get(year, ())), frozenset(workdays.get(year, ())))
        for year in holidays.keys() | workdays.keys()
    }


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads would silently keep the last of two "2027" entries.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise CalendarFileError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _parse_dates(where: str, year: int, raw: object) -> list[date]:
    if not isinstance(raw, list):
        raise CalendarFileError(f"{where}: expected a list of YYYY-MM-DD strings")
    parsed: list[date] = []
    for i, item in enumerate(raw):
        entry = f"{where}[{i}] = {item!r}"
        if not isinstance(item, str) or not _ISO_DATE_RE.fullmatch(item):
            raise CalendarFileError(f"{entry}: not a YYYY-MM-DD date")
        try:
            d = date.fromisoformat(item)
        except ValueError:
            raise CalendarFileError(f"{entry}: not a valid date") from None
        if d.year != year:
            raise CalendarFileError(f"{entry}: date is not in {year}")
        if d in parsed:
            raise CalendarFileError(f"{entry}: listed twice")
        parsed.append(d)
    return parsed


def _parse_year(key: str, raw: object) -> tuple[int, _YearRules]:
    if not _YEAR_RE.fullmatch(key):
        raise CalendarFileError(f"key {key!r}: expected a four-digit year")
    year = int(key)
    if not isinstance(raw, dict):
        raise CalendarFileError(f"{key}: expected an object with 'holidays' and 'workdays'")
    unknown = raw.keys() - _YEAR_KEYS
    if unknown:
        raise CalendarFileError(f"{key}: unknown field(s) {sorted(unknown)}")
    missing = {"holidays", "workdays"} - raw.keys()
    if missing:
        raise CalendarFileError(f"{key}: missing field(s) {sorted(missing)}")
    if "source" in raw and not isinstance(raw["source"], str):
        raise CalendarFileError(f"{key}.source: expected a string")
    holidays = _parse_dates(f"{key}.holidays", year, raw["holidays"])
    if not holidays:
        # Every real schedule has holidays; an empty list is a placeholder that would make
        # the year look known while counting only weekends.
        raise CalendarFileError(f"{key}.holidays: empty; list the year's public holidays")
    workdays = _parse_dates(f"{key}.workdays", year, raw["workdays"])
    for i, d in enumerate(workdays):
        if d.weekday() < 5:
            raise CalendarFileError(
                f"{key}.workdays[{i}] = {d.isoformat()!r}: a {_WEEKDAYS[d.weekday()]} is a "
                "working day anyway; list only weekend days that are adjusted working days"
            )
    both = sorted(set(holidays) & set(workdays))
    if both:
        raise CalendarFileError(
            f"{key}: {both[0].isoformat()!r} is listed both as holiday and as workday"
        )
    return year, _YearRules(frozenset(holidays), frozenset(workdays))


def _read_calendar_file(path: Path) -> dict[int, _YearRules]:
    try:
        data = json.loads(
            path.read_text(encoding="utf-8"), object_pairs_hook=_reject_duplicate_keys
        )
        if not isinstance(data, dict):
            raise CalendarFileError("expected a JSON object keyed by year")
        return dict(_parse_year(key, value) for key, value in data.items())
    except CalendarFileError as exc:
        raise CalendarFileError(f"calendar file {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise CalendarFileError(f"calendar file {path}: invalid JSON: {exc}") from None


def _require_date(d: date) -> None:
    if isinstance(d, datetime):
        # A UTC timestamp's date can be the previous day in China; make callers choose.
        raise TypeError("pass a date (the local date in China), not a datetime")


class WorkCalendar:
    """Working days in mainland China for the years with a known holiday schedule."""

    def __init__(self, years: Mapping[int, _YearRules]) -> None:
        self._years = dict(years)

    @classmethod
    def load(cls, extra_file: Path | None = None) -> WorkCalendar:
        """Package data, with the years listed in `extra_file` added or replaced."""
        years = _package_years()
        if extra_file is not None:
            years.update(_read_calendar_file(extra_file))
        return cls(years)

    @property
    def years(self) -> tuple[int, ...]:
        """The calendar years this calendar can answer for, ascending."""
        return tuple(sorted(self._years))

    def known_through(self, today: date) -> date | None:
        """The last day of the unbroken run of known years from `today`'s year on (deadlines
        up to it can be set); None when `today`'s own year is unknown."""
        _require_date(today)
        year = today.year
        if year not in self._years:
            return None
        while year + 1 in self._years:
            year += 1
        return date(year, 12, 31)

    def _rules(self, d: date) -> _YearRules:
        _require_date(d)
        rules = self._years.get(d.year)
        if rules is None:
            raise CalendarYearUnknown(d.year, self._years)
        return rules

    def is_workday(self, d: date) -> bool:
        rules = self._rules(d)
        if d in rules.workdays:
            return True
        return d.weekday() < 5 and d not in rules.holidays

    def add_workdays(self, start: date, n: int) -> date:
        """The date of the n-th working day after `start` (`start` itself is not counted).

        This is the deadline of a period of n working days beginning the day after `start`;
        n = 0 returns `start`.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        # Only the days after start are looked up, so start's own year need not be known.
        _require_date(start)
        d = start
        while n:
            d += timedelta(days=1)
            if self.is_workday(d):
                n -= 1
        return d

    def workdays_between(self, a: date, b: date) -> int:
        """Working days in (a, b]: after `a`, up to and including `b`; negative if b < a.

        Inverse of `add_workdays` for n >= 1: workdays_between(a, add_workdays(a, n)) == n.
        """
        if b < a:
            return -self.workdays_between(b, a)
        _require_date(a)
        _require_date(b)
        count = 0
        d = a
        while d < b:
            d += timedelta(days=1)
            count += self.is_workday(d)
        return count


@functools.cache
def default_calendar() -> WorkCalendar:
    """The process-wide calendar: package data plus the file named by CREDIT_CALENDAR_FILE.

    Cached, so the file is read once; a missing or malformed file fails loudly at first use.
    """
    configured = os.environ.get(CALENDAR_FILE_ENV, "").strip()
    return WorkCalendar.load(Path(configured) if configured else None)
