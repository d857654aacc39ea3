"""Tests for govmedia.workdays; only the schedule's error messages need an app (their language)."""
from datetime import date, datetime

import chinese_calendar
import flask_babel
import pytest
from lunar_python import Lunar

from govmedia.workdays import (
    ScheduleError,
    WorkCalendar,
    library_knows,
    parse_schedule,
    statutory_holidays,
)

D = date


# ---------------------------------------------------------------- library facts relied on below

def test_library_years():
    assert library_knows(2004)
    assert library_knows(2026)
    assert not library_knows(2027)
    assert not library_knows(2003)


def test_2026_schedule_facts_from_library():
    # 国办发明电〔2025〕7号 as carried by chinese_calendar 1.11.0
    for d in (D(2026, 10, day) for day in range(1, 8)):
        assert not chinese_calendar.is_workday(d)
    assert chinese_calendar.is_workday(D(2026, 9, 20))   # Sunday 调休
    assert chinese_calendar.is_workday(D(2026, 10, 10))  # Saturday 调休
    for day in range(15, 24):
        assert not chinese_calendar.is_workday(D(2026, 2, day))
    assert chinese_calendar.is_workday(D(2026, 2, 14))   # Saturday 调休
    assert chinese_calendar.is_workday(D(2026, 2, 28))   # Saturday 调休
    assert chinese_calendar.is_workday(D(2026, 1, 4))    # Sunday 调休


# ---------------------------------------------------------------- deadlines in a library year

def test_national_day_2026_from_sep_30():
    cal = WorkCalendar()
    assert cal.add_workdays(D(2026, 9, 30), 1) == (D(2026, 10, 8), False)
    assert cal.add_workdays(D(2026, 9, 30), 2) == (D(2026, 10, 9), False)
    assert cal.add_workdays(D(2026, 9, 30), 3) == (D(2026, 10, 10), False)  # 调休 Saturday counts
    assert cal.add_workdays(D(2026, 9, 30), 5) == (D(2026, 10, 13), False)


def test_national_day_2026_from_sep_29():
    cal = WorkCalendar()
    assert cal.add_workdays(D(2026, 9, 29), 1) == (D(2026, 9, 30), False)
    assert cal.add_workdays(D(2026, 9, 29), 2) == (D(2026, 10, 8), False)
    assert cal.add_workdays(D(2026, 9, 29), 4) == (D(2026, 10, 10), False)
    assert cal.add_workdays(D(2026, 9, 29), 5) == (D(2026, 10, 12), False)


def test_spring_festival_2026():
    cal = WorkCalendar()
    # Friday 2026-02-13: next working day is 调休 Saturday 02-14, then the 15th-23rd holiday.
    assert cal.add_workdays(D(2026, 2, 13), 1) == (D(2026, 2, 14), False)
    assert cal.add_workdays(D(2026, 2, 13), 2) == (D(2026, 2, 24), False)
    assert cal.add_workdays(D(2026, 2, 13), 5) == (D(2026, 2, 27), False)
    assert cal.add_workdays(D(2026, 2, 13), 6) == (D(2026, 2, 28), False)  # 调休 Saturday


def test_event_on_tiaoxiu_weekend_counts_from_it():
    cal = WorkCalendar()
    assert D(2026, 1, 4).weekday() == 6 and cal.is_workday(D(2026, 1, 4))
    assert cal.add_workdays(D(2026, 1, 4), 1) == (D(2026, 1, 5), False)
    assert D(2026, 9, 20).weekday() == 6 and cal.is_workday(D(2026, 9, 20))
    assert cal.add_workdays(D(2026, 9, 20), 1) == (D(2026, 9, 21), False)
    assert cal.add_workdays(D(2026, 9, 20), 4) == (D(2026, 9, 24), False)
    assert cal.add_workdays(D(2026, 9, 20), 5) == (D(2026, 9, 28), False)  # 9-25 is 中秋


def test_is_workday_2026():
    cal = WorkCalendar()
    assert not cal.is_workday(D(2026, 10, 1))
    assert cal.is_workday(D(2026, 10, 10))
    assert not cal.is_workday(D(2026, 10, 11))
    assert cal.is_workday(datetime(2026, 10, 9, 15, 30))


def test_workdays_between():
    cal = WorkCalendar()
    assert cal.workdays_between(D(2026, 9, 30), D(2026, 10, 12)) == 4  # 10-8, 10-9, 10-10, 10-12
    assert cal.workdays_between(D(2026, 9, 30), D(2026, 10, 7)) == 0
    assert cal.workdays_between(D(2026, 9, 30), D(2026, 9, 30)) == 0
    assert cal.workdays_between(D(2026, 10, 12), D(2026, 9, 30)) == 0
    # across the year boundary: 12-29, 12-30, 12-31, then 2027-01-04 (01-01 元旦 fallback)
    assert cal.workdays_between(D(2026, 12, 28), D(2027, 1, 4)) == 4
    # consistency with add_workdays
    for n in (1, 7, 30, 300):
        end, _ = cal.add_workdays(D(2026, 2, 10), n)
        assert cal.workdays_between(D(2026, 2, 10), end) == n


def test_add_workdays_rejects_n_below_one():
    with pytest.raises(ValueError):
        WorkCalendar().add_workdays(D(2026, 1, 5), 0)


# ---------------------------------------------------------------- provisional fallback years

def test_year_end_2026_runs_into_provisional_2027():
    cal = WorkCalendar()
    assert cal.add_workdays(D(2026, 12, 28), 3) == (D(2026, 12, 31), False)
    assert cal.add_workdays(D(2026, 12, 28), 4) == (D(2027, 1, 4), True)  # skips 元旦 2027-01-01
    assert cal.add_workdays(D(2026, 12, 31), 1) == (D(2027, 1, 4), True)
    assert not cal.is_workday(D(2027, 1, 1))
    assert cal.is_provisional(D(2027, 1, 4))
    assert not cal.is_provisional(D(2026, 12, 31))


def test_early_november_2026_not_provisional():
    cal = WorkCalendar()
    assert cal.add_workdays(D(2026, 11, 2), 5) == (D(2026, 11, 9), False)
    assert cal.add_workdays(D(2026, 11, 2), 15) == (D(2026, 11, 23), False)


def test_statutory_holidays_2027():
    # verified with lunar_python: 正月初一 2027 = 2027-02-06, 五月初五 = 06-09, 八月十五 = 09-15
    assert Lunar.fromYmd(2027, 1, 1).getSolar().toYmd() == "2027-02-06"
    assert Lunar.fromYmd(2026, 12, 29).getSolar().toYmd() == "2027-02-05"  # 腊月 has 29 days
    assert Lunar.fromYmd(2027, 1, 1).getJieQiTable()["清明"].toYmd() == "2027-04-05"
    assert statutory_holidays(2027) == {
        D(2027, 1, 1): "元旦",
        D(2027, 2, 5): "春节", D(2027, 2, 6): "春节", D(2027, 2, 7): "春节", D(2027, 2, 8): "春节",
        D(2027, 4, 5): "清明节",
        D(2027, 5, 1): "劳动节", D(2027, 5, 2): "劳动节",
        D(2027, 6, 9): "端午节",
        D(2027, 9, 15): "中秋节",
        D(2027, 10, 1): "国庆节", D(2027, 10, 2): "国庆节", D(2027, 10, 3): "国庆节",
    }


def test_statutory_holidays_2026_match_library_core_days():
    # the fallback rule must agree with the official 2026 schedule on the statutory days
    for d, name in statutory_holidays(2026).items():
        assert not chinese_calendar.is_workday(d), (d, name)
    assert statutory_holidays(2026)[D(2026, 2, 16)] == "春节"  # 除夕 2026 (腊月 29 days)


def test_statutory_holidays_returns_copy_and_merges_coinciding_days():
    statutory_holidays(2027).clear()
    assert len(statutory_holidays(2027)) == 13
    assert statutory_holidays(2020)[D(2020, 10, 1)] == "国庆节、中秋节"  # 中秋 fell on 10-01


def test_2027_fallback_workdays():
    cal = WorkCalendar()
    assert not cal.is_workday(D(2027, 2, 5))   # 除夕, Friday
    assert not cal.is_workday(D(2027, 2, 8))   # 初三, Monday
    assert cal.is_workday(D(2027, 2, 9))
    assert not cal.is_workday(D(2027, 4, 5))   # 清明, Monday
    assert not cal.is_workday(D(2027, 6, 9))   # 端午, Wednesday
    assert not cal.is_workday(D(2027, 9, 15))  # 中秋, Wednesday
    assert cal.is_workday(D(2027, 10, 4))      # only Oct 1-3 are statutory
    assert not cal.is_workday(D(2027, 2, 13))  # plain Saturday


# ---------------------------------------------------------------- admin overrides

def test_override_working_sunday_2027_counts():
    assert D(2027, 1, 10).weekday() == 6
    cal = WorkCalendar({D(2027, 1, 10): True})
    assert cal.is_workday(D(2027, 1, 10))
    assert cal.add_workdays(D(2027, 1, 8), 1) == (D(2027, 1, 10), True)
    assert WorkCalendar().add_workdays(D(2027, 1, 8), 1) == (D(2027, 1, 11), True)


def test_override_holiday_removes_weekday():
    cal = WorkCalendar([(D(2027, 1, 4), False)])
    assert not cal.is_workday(D(2027, 1, 4))
    assert cal.add_workdays(D(2026, 12, 31), 1) == (D(2027, 1, 5), True)


def test_confirmed_year_is_not_provisional():
    cal = WorkCalendar({D(2027, 1, 4): False}, confirmed_years=[2027])
    assert not cal.is_provisional(D(2027, 1, 4))
    assert cal.add_workdays(D(2026, 12, 28), 4) == (D(2027, 1, 5), False)
    assert cal.is_provisional(D(2028, 1, 3))


def test_override_beats_library():
    assert not chinese_calendar.is_workday(D(2026, 10, 7))
    assert chinese_calendar.is_workday(D(2026, 10, 9))
    cal = WorkCalendar({D(2026, 10, 7): True, D(2026, 10, 9): False})
    assert cal.is_workday(D(2026, 10, 7))
    assert not cal.is_workday(D(2026, 10, 9))
    assert cal.add_workdays(D(2026, 9, 30), 1) == (D(2026, 10, 7), False)
    assert cal.add_workdays(D(2026, 9, 30), 3) == (D(2026, 10, 10), False)


def test_parse_schedule_output_feeds_calendar():
    entries = parse_schedule("2027-01-01~2027-01-03,休,元旦\n2027-01-10,班,元旦")
    cal = WorkCalendar(entries, confirmed_years=[2027])
    assert cal.is_workday(D(2027, 1, 10))
    assert not cal.is_workday(D(2027, 1, 1))


# ---------------------------------------------------------------- parse_schedule

def test_parse_schedule_good_lines():
    text = """\
date,kind,name
# 2027 年放假安排
2027-01-01,holiday,元旦

2027-02-05~2027-02-07,休,春节
2027-02-08..2027-02-09，假，春节
2027-02-10至2027-02-11,holiday
2027-02-20,班,春节
2027-01-10，上班
2027-10-09,workday,国庆节
"""
    assert parse_schedule(text) == [
        (D(2027, 1, 1), False, "元旦"),
        (D(2027, 1, 10), True, ""),
        (D(2027, 2, 5), False, "春节"),
        (D(2027, 2, 6), False, "春节"),
        (D(2027, 2, 7), False, "春节"),
        (D(2027, 2, 8), False, "春节"),
        (D(2027, 2, 9), False, "春节"),
        (D(2027, 2, 10), False, ""),
        (D(2027, 2, 11), False, ""),
        (D(2027, 2, 20), True, "春节"),
        (D(2027, 10, 9), True, "国庆节"),
    ]


def test_parse_schedule_chinese_header_and_empty():
    assert parse_schedule("日期,类型,名称\n\n# nothing\n") == []
    assert parse_schedule("") == []


@pytest.mark.parametrize("text, line, fragment", [
    ("2027-01-01,holiday\n2027/01/02,holiday\n", 2, "YYYY-MM-DD"),
    ("# c\n\n2027-02-30,休\n", 3, "日期"),
    ("2027-01-01\n", 1, "类型"),
    ("2027-01-01,maybe\n", 1, "maybe"),
    ("2027-02-07~2027-02-05,休\n", 1, "结束日期"),
    ("2027-01-01~2027-03-01,休\n", 1, "范围"),
    ("2027-01-01,休\n2027-01-01,班\n", 2, "冲突"),
])
def test_parse_schedule_bad_line(app, text, line, fragment):
    with pytest.raises(ScheduleError) as info:
        parse_schedule(text)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.line == line
    assert err.message.startswith(f"第{line}行：")
    assert fragment in err.message
    assert str(err) == err.message


def test_schedule_error_message_example(app):
    err = ScheduleError(3, "日期格式应为 YYYY-MM-DD")
    assert err.line == 3 and err.message == "第3行：日期格式应为 YYYY-MM-DD"


def test_schedule_errors_read_as_before_in_chinese(app):
    cases = {
        "2027/01/02,holiday": "第1行：日期格式应为 YYYY-MM-DD（收到“2027/01/02”）",
        "2027-02-30,休": "第1行：日期不存在：2027-02-30",
        "2027-01-01": "第1行：缺少类型，应为 holiday/休/假 或 workday/班/上班",
        "2027-01-01,maybe": "第1行：类型“maybe”无法识别，应为 holiday/休/假 或 workday/班/上班",
        "2027-01-01,休," + "名" * 81: "第1行：名称不能超过 80 个字符（收到 81 个）",
        "2027-02-07~2027-02-05,休": "第1行：日期范围的结束日期早于开始日期",
        "2027-01-01~2027-03-01,休": "第1行：日期范围超过 31 天，请检查",
        "2027-01-01~2027-01-02~2027-01-03,休": "第1行：日期范围格式应为 YYYY-MM-DD~YYYY-MM-DD",
        "2027-01-01,休\n2027-01-01,班": "第2行：2027-01-01 与第1行的类型冲突",
    }
    for text, message in cases.items():
        with pytest.raises(ScheduleError) as info:
            parse_schedule(text)
        assert info.value.message == message, text


def test_schedule_errors_speak_english_on_request(app):
    with app.test_request_context("/?lang=en"):
        flask_babel.refresh()   # the app context outlives the request: forget the locale
        with pytest.raises(ScheduleError) as info:
            parse_schedule("2027-02-07~2027-02-05,休")
    assert info.value.message == "Line 1: The range ends before it begins"
