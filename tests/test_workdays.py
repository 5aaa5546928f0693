"""Working-day calendar: hand-checked facts of the mainland holiday arrangements, the counting
rule (start day not counted), YAML-declared years, refusal of unknown years and bad YAML, and
agreement of ``working_days_between`` with the cumulative-index table used from SQL.

The facts below are from the State Council General Office's announcements for 2024 and 2025 and
are cross-checked against the ``chinese_calendar`` package itself, so a wrong fact fails loudly.
Fictional years (2096–2099) are only used for the YAML mechanism, never shipped.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar
import pytest

import pipeline.outcomes.workdays
from pipeline.errors import ConfigurationError
from pipeline.outcomes.workdays import (
    HolidayFileInvalid,
    UnknownCalendarYear,
    WorkdayCalendar,
    parse_holidays,
)

D = date


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@pytest.fixture(scope="module")
def cal() -> WorkdayCalendar:
    return WorkdayCalendar()


@pytest.fixture()
def admin_file(tmp_path):
    def write(text: str):
        path = tmp_path / "holidays.yaml"
        path.write_text(text, "utf-8")
        return path

    return write


FUTURE = """\
years:
  2097:
    holidays: [2097-01-01]      # a Tuesday
    workdays: ["2097-01-05"]    # a Saturday, as an ISO string
"""


# --- known years -------------------------------------------------------------------------------


def test_known_years_are_the_package_years(cal):
    known = cal.known_years()
    assert list(known) == sorted(known)
    assert set(range(2004, 2027)) <= set(known)
    for year in known:  # every known year is answerable …
        cal.is_workday(D(year, 6, 1))
    with pytest.raises(UnknownCalendarYear):  # … and the year after the last is not
        cal.is_workday(D(known[-1] + 1, 6, 1))


def test_package_itself_refuses_unknown_years():
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D(2099, 1, 1))


# --- hand-checked facts ------------------------------------------------------------------------


def test_national_day_2024(cal):
    # 10月1日至7日放假调休，共7天；9月29日（周日）、10月12日（周六）上班。
    assert D(2024, 9, 29).weekday() == 6 and D(2024, 10, 12).weekday() == 5
    for day in days(D(2024, 10, 1), D(2024, 10, 7)):
        assert not cal.is_workday(day), day
        assert chinese_calendar.get_holiday_detail(day) == (True, "National Day")
    for day in (D(2024, 9, 29), D(2024, 10, 12)):
        assert cal.is_workday(day), day
        assert chinese_calendar.get_holiday_detail(day) == (False, "National Day")
    assert cal.is_workday(D(2024, 9, 30)) and cal.is_workday(D(2024, 10, 8))
    assert not cal.is_workday(D(2024, 10, 13))  # an ordinary Sunday


def test_spring_festival_2025(cal):
    # 1月28日（除夕、周二）至2月4日（初七、周二）放假调休，共8天；1月26日（周日）、2月8日（周六）上班。
    assert D(2025, 1, 26).weekday() == 6 and D(2025, 2, 8).weekday() == 5
    for day in days(D(2025, 1, 28), D(2025, 2, 4)):
        assert not cal.is_workday(day), day
        assert chinese_calendar.is_holiday(day)
    for day in (D(2025, 1, 26), D(2025, 2, 8)):
        assert cal.is_workday(day), day
        assert chinese_calendar.get_holiday_detail(day) == (False, "Spring Festival")
    assert cal.is_workday(D(2025, 1, 27)) and cal.is_workday(D(2025, 2, 5))


def test_ordinary_week(cal):
    # 2024-03-11 (Mon) … 2024-03-17 (Sun): no holiday that week
    week = days(D(2024, 3, 11), D(2024, 3, 17))
    assert [cal.is_workday(d) for d in week] == [True] * 5 + [False] * 2


def test_datetime_is_taken_as_its_date(cal):
    assert cal.is_workday(datetime(2024, 10, 12, 9, 30)) is True
    assert cal.working_days_between(datetime(2024, 9, 30, 23, 0), D(2024, 10, 8)) == 1


# --- working_days_between -------------------------------------------------------------------------


def test_between_across_national_day_2024(cal):
    # start 09-30 (Mon) not counted; 10-01..10-07 rest (7 days); 10-08 (Tue) works → 1
    assert cal.working_days_between(D(2024, 9, 30), D(2024, 10, 8)) == 1
    # start 09-27 (Fri) not counted:
    #   09-28 Sat rest; 09-29 Sun 调休上班 1; 09-30 Mon 2; 10-01..07 rest;
    #   10-08 Tue 3, 10-09 4, 10-10 5, 10-11 Fri 6; 10-12 Sat 调休上班 7; 10-13 Sun rest; 10-14 Mon 8
    assert cal.working_days_between(D(2024, 9, 27), D(2024, 10, 14)) == 8


def test_between_across_spring_festival_2025_and_new_year(cal):
    # 2024-12-31 (Tue) not counted; 2025-01-01 元旦 rest; 01-02 Thu 1; 01-03 Fri 2 → 2
    assert cal.working_days_between(D(2024, 12, 31), D(2025, 1, 3)) == 2
    # 01-24 (Fri) not counted: 01-25 Sat rest; 01-26 Sun 调休上班 1; 01-27 Mon 2;
    #   01-28..02-04 rest; 02-05 Wed 3; 02-06 4; 02-07 Fri 5; 02-08 Sat 调休上班 6
    assert cal.working_days_between(D(2025, 1, 24), D(2025, 2, 8)) == 6


def test_between_counting_rule(cal):
    monday, friday = D(2024, 3, 11), D(2024, 3, 15)
    assert cal.working_days_between(monday, monday) == 0  # same day: 0
    assert cal.working_days_between(friday, monday) == 0  # end before start: 0
    assert cal.working_days_between(monday, monday + timedelta(days=1)) == 1  # start not counted
    assert cal.working_days_between(friday, D(2024, 3, 18)) == 1  # Sat, Sun rest; Mon counts
    assert cal.working_days_between(friday, D(2024, 3, 17)) == 0  # ends on a rest day


def test_between_over_many_years_matches_day_by_day_count(cal):
    start, end = D(2019, 7, 3), D(2026, 2, 14)
    by_hand = sum(chinese_calendar.is_workday(d) for d in days(start + timedelta(days=1), end))
    assert cal.working_days_between(start, end) == by_hand


# --- add_working_days -------------------------------------------------------------------------------


def test_add_working_days(cal):
    assert cal.add_working_days(D(2024, 9, 30), 1) == D(2024, 10, 8)
    assert cal.add_working_days(D(2024, 9, 27), 8) == D(2024, 10, 14)
    # 01-26 1, 01-27 2, (01-28..02-04 rest), 02-05 3
    assert cal.add_working_days(D(2025, 1, 24), 3) == D(2025, 2, 5)
    # … 02-06 4, 02-07 5, 02-08 Sat 6, 02-10..14 7–11, 02-17..21 12–16, 02-24..27 17–20
    assert cal.add_working_days(D(2025, 1, 24), 20) == D(2025, 2, 27)
    assert cal.add_working_days(D(2024, 10, 1), 0) == D(2024, 10, 1)


def test_add_is_the_first_day_reaching_n(cal):
    for start in days(D(2024, 9, 20), D(2024, 10, 15)):
        for n in range(1, 12):
            due = cal.add_working_days(start, n)
            assert cal.working_days_between(start, due) == n
            assert cal.working_days_between(start, due - timedelta(days=1)) == n - 1
            assert cal.is_workday(due)


def test_add_negative_refused(cal):
    with pytest.raises(ConfigurationError, match="负数"):
        cal.add_working_days(D(2024, 1, 1), -1)


# --- the table used from SQL agrees with the function ------------------------------------------------


@pytest.mark.parametrize(
    "first, last",
    [(D(2024, 9, 1), D(2024, 10, 31)), (D(2024, 12, 15), D(2025, 2, 15))],
)
def test_table_agrees_with_between_on_every_pair(cal, first, last):
    table = cal.workday_table(first, last)
    assert [row[0] for row in table] == days(first, last)  # one row per calendar day
    idx = {day: index for day, _, index in table}
    for (day, working, index), previous in zip(table, [(None, None, 0), *table], strict=False):
        assert working == cal.is_workday(day)
        assert index == previous[2] + working  # idx(d) = working days in [first, d]
    for start, end in itertools.product(idx, repeat=2):
        if start <= end:
            assert idx[end] - idx[start] == cal.working_days_between(start, end), (start, end)


def test_table_edges(cal):
    assert cal.workday_table(D(2024, 10, 2), D(2024, 10, 1)) == []
    assert cal.workday_table(D(2024, 10, 8), D(2024, 10, 8)) == [(D(2024, 10, 8), True, 1)]
    with pytest.raises(UnknownCalendarYear):
        cal.workday_table(D(2003, 12, 30), D(2004, 1, 2))


# --- YAML-declared and unknown years -------------------------------------------------------------


def test_declared_future_year(admin_file):
    cal = WorkdayCalendar(admin_file(FUTURE))
    assert 2097 in cal.known_years()
    assert not cal.is_workday(D(2097, 1, 1))  # listed holiday, a Tuesday
    assert cal.is_workday(D(2097, 1, 5))  # listed workday, a Saturday
    assert not cal.is_workday(D(2097, 1, 6))  # unlisted Sunday rests
    assert cal.is_workday(D(2097, 1, 7))  # unlisted Monday works
    # 01-01 not counted; 01-02 Wed 1, 01-03 2, 01-04 Fri 3, 01-05 Sat (listed) 4, 01-06 Sun rest, 01-07 Mon 5
    assert cal.working_days_between(D(2097, 1, 1), D(2097, 1, 7)) == 5
    assert cal.add_working_days(D(2097, 1, 1), 5) == D(2097, 1, 7)
    cal.require_years(D(2097, 1, 1), D(2097, 12, 31))


def test_undeclared_year_raises_naming_it(admin_file):
    cal = WorkdayCalendar(admin_file(FUTURE))
    with pytest.raises(UnknownCalendarYear) as caught:
        cal.require_years(D(2097, 6, 1), D(2099, 3, 1))
    assert caught.value.years == (2098, 2099)
    message = str(caught.value)
    assert message.startswith(
        "2098、2099 年的节假日安排尚未定义：请在 holidays.yaml 的 years 下添加 2098、2099"
    )
    assert "2097" in message  # the known range is shown
    assert isinstance(caught.value, ConfigurationError)
    with pytest.raises(UnknownCalendarYear, match="2098 年"):
        cal.is_workday(D(2098, 1, 2))
    with pytest.raises(UnknownCalendarYear, match="2096 年"):
        cal.working_days_between(D(2096, 12, 31), D(2097, 1, 2))
    with pytest.raises(UnknownCalendarYear, match="2098 年"):
        cal.add_working_days(D(2097, 12, 20), 30)


def test_year_before_the_package_raises(cal):
    with pytest.raises(UnknownCalendarYear, match="2003 年"):
        cal.is_workday(D(2003, 5, 6))


def test_correcting_a_known_year(admin_file):
    path = admin_file("years:\n  2024:\n    holidays: [2024-10-08]\n    workdays: [2024-10-05]\n")
    cal = WorkdayCalendar(path)
    assert not cal.is_workday(D(2024, 10, 8))
    assert cal.is_workday(D(2024, 10, 5))
    assert cal.is_workday(D(2024, 10, 12))  # the package's other days stay
    # 10-01..04 rest; 10-05 works (corrected) 1; 10-06, 10-07 rest; 10-08 rest (corrected) → 1
    assert cal.working_days_between(D(2024, 9, 30), D(2024, 10, 8)) == 1


def test_shipped_file_is_valid(cal):
    text = Path(pipeline.outcomes.workdays.__file__).with_name("holidays.yaml").read_text("utf-8")
    layer = parse_holidays(text, "pipeline/holidays.yaml")
    package_years = {d.year for d in chinese_calendar.holidays}
    assert set(cal.known_years()) == set(range(min(package_years), max(package_years) + 1)) | set(
        layer
    )


def test_admin_file_wins_over_shipped_file(admin_file, monkeypatch):
    shipped = {2097: {D(2097, 1, 1): False, D(2097, 1, 2): False}}
    monkeypatch.setattr(pipeline.outcomes.workdays, "_load_shipped", lambda: shipped)
    cal = WorkdayCalendar(admin_file("years: {2097: {workdays: [2097-01-02]}}\n"))
    assert not cal.is_workday(D(2097, 1, 1))  # from the shipped layer
    assert cal.is_workday(D(2097, 1, 2))  # corrected by the admin file
    assert WorkdayCalendar().is_workday(D(2097, 1, 2)) is False


# --- bad YAML is refused ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("year: {2097: {holidays: [2097-01-01]}}\n", "顶层只允许键"),
        ("years: {2097: {holidays: [2097-01-01], holiday: [2097-01-02]}}\n", "2097 年下只允许键"),
        ("years: {2097: {holidays: [2097-01-01], makeup: [2097-01-05]}}\n", "只允许键"),
        ("years: {2097: {holidays: [2098-01-01]}}\n", "不属于 2097 年"),
        ("years: {2097: {holidays: [2097-01-01], workdays: [2097-01-01]}}\n", "同时列在"),
        ("years: {2097: {holidays: [2097-02-30]}}\n", "不是有效的 YAML"),
        ("years: {2097: {holidays: [next monday]}}\n", "不是 YYYY-MM-DD 日期"),
        ("years: {2097: {holidays: [2097-01-01 09:00:00]}}\n", "不是 YYYY-MM-DD 日期"),
        ("years: {2097: {holidays: 2097-01-01}}\n", "应为日期列表"),
        ("years: {next: {holidays: [2097-01-01]}}\n", "年份"),
        ("years: [2097]\n", "years 应为"),
        ("years: {2097: {workdays: [2097-01-05]}}\n", "没有列出任何 holidays"),
        ("years: {2097: {holidays: [2097-01-01]\n", "不是有效的 YAML"),
    ],
)
def test_bad_yaml_refused(admin_file, text, fragment):
    with pytest.raises(HolidayFileInvalid, match=fragment) as caught:
        WorkdayCalendar(admin_file(text))
    assert isinstance(caught.value, ConfigurationError)


def test_missing_admin_file_refused(tmp_path):
    with pytest.raises(HolidayFileInvalid, match="找不到节假日文件"):
        WorkdayCalendar(tmp_path / "nope.yaml")


def test_empty_admin_file_changes_nothing(admin_file, cal):
    plain = WorkdayCalendar(admin_file("# nothing yet\n"))
    assert plain.known_years() == cal.known_years()
