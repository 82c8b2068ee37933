"""Business minutes: across nights, weekends and daylight-saving changes, by example and by
property (Hypothesis)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tandem_mailbox.mail.hours import DAY_NAMES, BusinessHours, PolicyError

UTC = dt.UTC
OFFICE = BusinessHours(frozenset(range(5)), 9 * 60, 17 * 60, "Europe/London")  # Mon-Fri 9-17


def test_across_a_weekend():
    friday = dt.datetime(2026, 12, 4, 16, 0, tzinfo=UTC)  # Friday 16:00 in London (GMT)
    monday = dt.datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    assert OFFICE.minutes_between(friday, monday) == 120  # Friday's last hour, Monday's first
    assert OFFICE.add(friday, 90) == dt.datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


def test_a_message_at_night_counts_from_the_morning():
    night = dt.datetime(2026, 12, 8, 23, 30, tzinfo=UTC)  # Tuesday night
    assert OFFICE.add(night, 60) == dt.datetime(2026, 12, 9, 10, 0, tzinfo=UTC)


def test_the_day_the_clocks_go_forward_is_an_hour_shorter():
    always = BusinessHours.around_the_clock("Europe/London")
    saturday_noon = dt.datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    sunday_noon_local = dt.datetime(2026, 3, 29, 11, 0, tzinfo=UTC)  # 12:00 BST
    assert always.minutes_between(saturday_noon, sunday_noon_local) == 23 * 60
    office_hours_in_summer = OFFICE.add(dt.datetime(2026, 3, 30, 8, 0, tzinfo=UTC), 0)
    assert office_hours_in_summer == dt.datetime(2026, 3, 30, 8, 0, tzinfo=UTC)  # 09:00 BST


def test_the_day_the_clocks_go_back_is_an_hour_longer():
    always = BusinessHours.around_the_clock("America/New_York")
    before = dt.datetime(2026, 10, 31, 16, 0, tzinfo=UTC)  # Saturday 12:00 EDT
    after = dt.datetime(2026, 11, 1, 17, 0, tzinfo=UTC)  # Sunday 12:00 EST
    assert always.minutes_between(before, after) == 25 * 60


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ({"days": [], "start": "09:00", "end": "17:00", "timeZone": "UTC"}, "at least one day"),
        ({"days": ["mon"], "start": "17:00", "end": "09:00", "timeZone": "UTC"}, "after start"),
        ({"days": ["mon"], "start": "09:00", "end": "09:10", "timeZone": "UTC"}, "at least 30"),
        ({"days": ["mon"], "start": "9am", "end": "17:00", "timeZone": "UTC"}, "HH:MM"),
        ({"days": ["mon"], "start": "09:00", "end": "17:00", "timeZone": "Mars/Base"}, "zone"),
        ({"days": ["someday"], "start": "09:00", "end": "17:00", "timeZone": "UTC"}, "days"),
        ("weekdays", "businessHours"),
    ],
)
def test_impossible_hours_are_refused(value, why: str):
    with pytest.raises(PolicyError, match=why):
        BusinessHours.parse(value)


ZONES = st.sampled_from(
    [
        "UTC",
        "Europe/London",
        "America/New_York",
        "Australia/Sydney",
        "Asia/Kolkata",
        "Pacific/Chatham",
    ]
)


@st.composite
def policies(draw: st.DrawFn) -> BusinessHours:
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    start = draw(st.integers(0, 23 * 60 + 30))
    end = draw(st.integers(start + 30, 24 * 60))
    return BusinessHours(days, start, end, draw(ZONES))


# Instants over 2026, whose daylight-saving changes every zone above takes part in.
INSTANTS = st.datetimes(
    min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(policies(), INSTANTS, st.floats(0, 5000, allow_nan=False))
def test_adding_then_counting_gives_the_minutes_back(hours: BusinessHours, start, minutes):
    due = hours.add(start, minutes)
    assert due >= start
    assert hours.minutes_between(start, due) == pytest.approx(minutes, abs=1e-6)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(policies(), INSTANTS, st.integers(0, 20_000), st.integers(0, 20_000))
def test_counting_adds_up(hours: BusinessHours, start, one, two):
    middle = start + dt.timedelta(minutes=one)
    end = middle + dt.timedelta(minutes=two)
    whole = hours.minutes_between(start, end)
    parts = hours.minutes_between(start, middle) + hours.minutes_between(middle, end)
    assert whole == pytest.approx(parts, abs=1e-6)
    assert 0 <= whole <= one + two


@settings(max_examples=200, deadline=None, derandomize=True)
@given(policies(), INSTANTS, st.floats(1, 5000, allow_nan=False))
def test_a_due_time_falls_in_working_hours(hours: BusinessHours, start, minutes):
    due = hours.add(start, minutes)
    inside = any(opens < due <= closes for opens, closes in _windows_around(hours, due))
    assert inside


def _windows_around(hours: BusinessHours, moment: dt.datetime) -> list:
    found = []
    for opens, closes in hours.windows(moment - dt.timedelta(days=2)):
        if opens > moment + dt.timedelta(days=2):
            break
        found.append((opens, closes))
    return found


def test_the_policy_reads_and_says_itself_back():
    value = {"days": ["mon", "wed"], "start": "08:30", "end": "24:00", "timeZone": "Asia/Tokyo"}
    assert BusinessHours.parse(value).shown() == value
    assert set(DAY_NAMES) == {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
