"""Working-day calendar for 办结时限: mainland statutory holidays with make-up working days (调休).

Where a day's status comes from, first match wins:

1. an admin YAML file given to :class:`WorkdayCalendar` (its listed days);
2. the shipped ``pipeline/outcomes/holidays.yaml`` (its listed days);
3. the ``chinesecalendar`` package (import name ``chinese_calendar``), for the years it knows;
4. for a year declared in YAML that the package does not know: Monday–Friday work,
   Saturday and Sunday rest.

A year is *known* when the package knows it or a YAML file declares it. Asking about a day of
any other year raises :class:`UnknownCalendarYear` — never a guess.

YAML format (unknown keys are refused)::

    years:
      2027:
        holidays: [2027-01-01, ...]   # rest days, even on a weekday
        workdays: [YYYY-MM-DD, ...]   # working days, even on a weekend (调休上班)

Counting rule (期间开始之日不计算在内, as in 行政许可法): the working days *between* ``start`` and
``end`` are the working days ``d`` with ``start < d <= end``; the day of the start never counts,
the day of the end counts when it is a working day. ``working_days_between`` and the SQL over
``workday_table`` (``idx[end] - idx[start]``) both follow this rule and agree on every pair.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import chinese_calendar
import yaml

from pipeline.errors import ConfigurationError

FILE_KEYS = {"years"}
YEAR_KEYS = {"holidays", "workdays"}
SHIPPED_FILE = "holidays.yaml"
YEAR_RANGE = range(1900, 2101)
ONE_DAY = dt.timedelta(days=1)

# A parsed YAML file: year → {day: is_workday}.
Layer = dict[int, dict[dt.date, bool]]


class UnknownCalendarYear(ConfigurationError):
    """A run needs a year whose holiday arrangement neither the package nor a YAML file defines."""

    def __init__(self, years: list[int], known: tuple[int, ...]):
        self.years = tuple(sorted(years))
        named = "、".join(str(y) for y in self.years)
        first = self.years[0]
        span = _spans(known) or "无"
        super().__init__(
            f"{named} 年的节假日安排尚未定义：请在 holidays.yaml 的 years 下添加 {named}"
            f"（或升级 chinesecalendar 包），按国务院办公厅当年发布的部分节假日安排通知填写，例如 "
            f"years: {{{first}: {{holidays: [{first}-01-01, …], workdays: [调休上班的周末, …]}}}}；"
            f"周六、周日默认休息。当前已定义的年份范围：{span}"
        )


class HolidayFileInvalid(ConfigurationError):
    """A holidays YAML file cannot be read or does not follow the format."""


class WorkdayCalendar:
    """Working days by the mainland holiday calendar, with YAML overrides (see the module doc)."""

    def __init__(self, admin_file: str | Path | None = None):
        """Load the package's years, then ``pipeline/outcomes/holidays.yaml``, then ``admin_file``."""
        self._package_years = _package_years()
        layers = [_load_shipped()]
        if admin_file is not None:
            layers.append(load_holiday_file(admin_file))
        self._overrides: dict[dt.date, bool] = {}
        declared: set[int] = set()
        for layer in layers:
            for year, days in layer.items():
                declared.add(year)
                self._overrides.update(days)
        _check_new_years_have_holidays(declared - self._package_years, self._overrides)
        self._known = tuple(sorted(self._package_years | declared))
        self._flags: dict[int, tuple[bool, ...]] = {}
        self._prefix: dict[int, tuple[int, ...]] = {}

    def known_years(self) -> tuple[int, ...]:
        """Every year this calendar can answer for, ascending."""
        return self._known

    def require_years(self, first: dt.date, last: dt.date) -> None:
        """Raise :class:`UnknownCalendarYear` naming each year from ``first`` to ``last`` that is
        not known (the order of the two dates does not matter)."""
        low, high = sorted((_as_date(first).year, _as_date(last).year))
        missing = [y for y in range(low, high + 1) if y not in self._known]
        if missing:
            raise UnknownCalendarYear(missing, self._known)

    def is_workday(self, day: dt.date) -> bool:
        """True when ``day`` is a working day (调休 included); raises for an unknown year."""
        day = _as_date(day)
        return self._year_flags(day.year)[_day_of_year(day)]

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Number of working days ``d`` with ``start < d <= end`` (the start day is not counted);
        0 when ``end <= start``."""
        start, end = _as_date(start), _as_date(end)
        if end <= start:
            return 0
        self.require_years(start, end)
        full_years = sum(self._year_total(y) for y in range(start.year, end.year))
        return full_years + self._rank(end) - self._rank(start)

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The due date ``n`` working days after ``start``: the first day ``d`` with
        ``working_days_between(start, d) == n`` (``start`` itself when ``n`` is 0)."""
        if n < 0:
            raise ConfigurationError(f"工作日数不能为负数：{n}")
        day = _as_date(start)
        while n:
            day += ONE_DAY
            n -= self.is_workday(day)
        return day

    def workday_table(self, first: dt.date, last: dt.date) -> list[tuple[dt.date, bool, int]]:
        """One row per calendar day from ``first`` to ``last`` inclusive: ``(day, is_workday, idx)``
        where ``idx`` = number of working days in ``[first, day]``. For any two rows,
        ``idx[end] - idx[start] == working_days_between(start, end)`` when ``start <= end``."""
        first, last = _as_date(first), _as_date(last)
        if last < first:
            return []
        self.require_years(first, last)
        rows, index, day = [], 0, first
        while day <= last:
            working = self.is_workday(day)
            index += working
            rows.append((day, working, index))
            day += ONE_DAY
        return rows

    def _decide(self, day: dt.date) -> bool:
        """One day's status from the sources, in the order of the module doc."""
        override = self._overrides.get(day)
        if override is not None:
            return override
        if day.year in self._package_years:
            return bool(chinese_calendar.is_workday(day))
        return day.weekday() < 5

    def _year_flags(self, year: int) -> tuple[bool, ...]:
        """Workday flags for each day of ``year``, index = day of year − 1 (cached)."""
        if year not in self._flags:
            if year not in self._known:
                raise UnknownCalendarYear([year], self._known)
            self._flags[year] = tuple(self._decide(d) for d in _days_of_year(year))
        return self._flags[year]

    def _year_prefix(self, year: int) -> tuple[int, ...]:
        """prefix[i] = working days among the first i + 1 days of ``year`` (cached)."""
        if year not in self._prefix:
            running, prefix = 0, []
            for flag in self._year_flags(year):
                running += flag
                prefix.append(running)
            self._prefix[year] = tuple(prefix)
        return self._prefix[year]

    def _rank(self, day: dt.date) -> int:
        """Working days from 1 January of ``day``'s year through ``day`` inclusive."""
        return self._year_prefix(day.year)[_day_of_year(day)]

    def _year_total(self, year: int) -> int:
        """Working days in the whole of ``year``."""
        return self._year_prefix(year)[-1]


def load_holiday_file(path: str | Path) -> Layer:
    """Read and check an admin holidays YAML file."""
    path = Path(path)
    if not path.is_file():
        raise HolidayFileInvalid(f"找不到节假日文件 {path}")
    return parse_holidays(path.read_text("utf-8"), str(path))


def parse_holidays(text: str, where: str) -> Layer:
    """Parse holidays YAML text; ``where`` names the file in error messages."""
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError) as exc:
        raise HolidayFileInvalid(f"节假日文件 {where} 不是有效的 YAML：{exc}") from exc
    data = {} if data is None else data
    if not isinstance(data, dict) or set(data) - FILE_KEYS:
        raise HolidayFileInvalid(
            f"节假日文件 {where}：顶层只允许键 {sorted(FILE_KEYS)}，得到 {data!r:.120}"
        )
    years = data.get("years") or {}
    if not isinstance(years, dict):
        raise HolidayFileInvalid(
            f"节假日文件 {where}：years 应为“年份: {{holidays: […], workdays: […]}}”的映射"
        )
    return dict(_parse_year(key, entry, where) for key, entry in years.items())


def _parse_year(key: Any, entry: Any, where: str) -> tuple[int, dict[dt.date, bool]]:
    """One ``years`` entry → (year, {day: is_workday})."""
    year = _year_key(key, where)
    entry = {} if entry is None else entry
    if not isinstance(entry, dict) or set(entry) - YEAR_KEYS:
        raise HolidayFileInvalid(
            f"节假日文件 {where}：{year} 年下只允许键 {sorted(YEAR_KEYS)}，得到 {entry!r:.120}"
        )
    rest = _dates(entry.get("holidays"), year, "holidays", where)
    work = _dates(entry.get("workdays"), year, "workdays", where)
    both = sorted(set(rest) & set(work))
    if both:
        named = "、".join(d.isoformat() for d in both)
        raise HolidayFileInvalid(
            f"节假日文件 {where}：{named} 同时列在 {year} 年的 holidays 和 workdays 中"
        )
    return year, {**dict.fromkeys(rest, False), **dict.fromkeys(work, True)}


def _year_key(key: Any, where: str) -> int:
    """A year key: an integer (or digit string) within 1900–2100."""
    if isinstance(key, str) and key.strip().isdigit():
        key = int(key)
    if isinstance(key, bool) or not isinstance(key, int) or key not in YEAR_RANGE:
        raise HolidayFileInvalid(
            f"节假日文件 {where}：years 下的键应为 1900–2100 的年份，得到 {key!r}"
        )
    return key


def _dates(values: Any, year: int, field: str, where: str) -> list[dt.date]:
    """A list of dates (YAML dates or ISO strings), each within ``year``."""
    values = [] if values is None else values
    if not isinstance(values, list):
        raise HolidayFileInvalid(
            f"节假日文件 {where}：{year}.{field} 应为日期列表，得到 {values!r:.120}"
        )
    days = [_date_value(v, year, field, where) for v in values]
    stray = [d for d in days if d.year != year]
    if stray:
        raise HolidayFileInvalid(
            f"节假日文件 {where}：{year}.{field} 中的 {stray[0].isoformat()} 不属于 {year} 年"
        )
    return days


def _date_value(value: Any, year: int, field: str, where: str) -> dt.date:
    """One date: a YAML date (not a timestamp) or an ISO ``YYYY-MM-DD`` string."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise HolidayFileInvalid(
        f"节假日文件 {where}：{year}.{field} 中的 {value!r} 不是 YYYY-MM-DD 日期"
    )


def _check_new_years_have_holidays(new_years: set[int], overrides: dict[dt.date, bool]) -> None:
    """A year the package does not know must list at least one holiday (every year has 元旦)."""
    rest_years = {d.year for d, working in overrides.items() if not working}
    empty = sorted(new_years - rest_years)
    if empty:
        named = "、".join(str(y) for y in empty)
        raise HolidayFileInvalid(
            f"节假日文件中 {named} 年没有列出任何 holidays：新增年份须完整填写当年的法定节假日安排"
        )


def _load_shipped() -> Layer:
    """The overrides shipped with the package as ``pipeline/outcomes/holidays.yaml``."""
    # ``pipeline`` is a namespace package (no __init__.py), which importlib.resources cannot
    # read on Python 3.11; the data file is installed beside this module.
    shipped = Path(__file__).with_name(SHIPPED_FILE)
    if not shipped.is_file():
        raise HolidayFileInvalid(f"随包附带的 pipeline/outcomes/{SHIPPED_FILE} 缺失：安装不完整")
    return parse_holidays(shipped.read_text("utf-8"), f"pipeline/outcomes/{SHIPPED_FILE}")


def _package_years() -> set[int]:
    """Years ``chinese_calendar`` answers for: every year from its first to its last holiday
    entry (outside that range it raises NotImplementedError)."""
    years = [d.year for d in chinese_calendar.holidays]
    return set(range(min(years), max(years) + 1))


def _spans(years: tuple[int, ...]) -> str:
    """(2004, 2005, 2006, 2030) → "2004–2006、2030"."""
    runs: list[list[int]] = []
    for year in years:
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return "、".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def _as_date(value: dt.date) -> dt.date:
    """A ``datetime`` becomes its date; a date stays as it is."""
    return value.date() if isinstance(value, dt.datetime) else value


def _day_of_year(day: dt.date) -> int:
    """0 for 1 January."""
    return day.timetuple().tm_yday - 1


def _days_of_year(year: int) -> list[dt.date]:
    """Every day of ``year``, in order."""
    first, after = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    return [first + dt.timedelta(days=i) for i in range((after - first).days)]
