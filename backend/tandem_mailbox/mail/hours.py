"""Business hours: a mailbox's working days and hours in its time zone, and time counted in
business minutes across nights, weekends and daylight-saving changes.

A business minute is a minute of real time inside a working window: a window is
[start, end) of a working day, in local time, converted to instants through the zone, so a
day whose window holds a daylight-saving change has that many real minutes more or fewer.
A window may run to midnight (end 24:00); it never runs past it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)|24:00")
_HORIZON = 10 * 366  # days an addition may walk before it calls the policy empty
SHORTEST = 30  # minutes: a working window shorter than this is a mistake, not a policy


class PolicyError(ValueError):
    """Business hours that can't be: no day, an end before its start, an unknown zone."""


@dataclass(frozen=True)
class BusinessHours:
    """Working days (0 Monday to 6 Sunday), a daily window in minutes of the local day, a zone."""

    days: frozenset[int]
    start: int  # minutes after local midnight
    end: int  # minutes after local midnight, at most 24 x 60
    zone: str

    def __post_init__(self) -> None:
        if not self.days or not self.days <= set(range(7)):
            raise PolicyError("days must name at least one day of the week")
        if not 0 <= self.start < self.end <= 24 * 60:
            raise PolicyError("end must come after start, within one day")
        if self.end - self.start < SHORTEST:
            raise PolicyError(f"the working day must last at least {SHORTEST} minutes")
        try:
            ZoneInfo(self.zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise PolicyError(
                f"{self.zone[:60]!r} is not a time zone (try Europe/London)"
            ) from None

    @classmethod
    def around_the_clock(cls, zone: str = "UTC") -> BusinessHours:
        """Every day, all day."""
        return cls(frozenset(range(7)), 0, 24 * 60, zone)

    @classmethod
    def parse(cls, value: Any) -> BusinessHours:
        """{"days": ["mon", ...], "start": "09:00", "end": "17:00", "timeZone": "Europe/London"}."""
        if not isinstance(value, dict):
            raise PolicyError("businessHours is {days, start, end, timeZone}")
        days = value.get("days")
        if not isinstance(days, list) or not all(
            isinstance(d, str) and d.lower() in DAY_NAMES for d in days
        ):
            raise PolicyError(f"days is a list of {', '.join(DAY_NAMES)}")
        zone = value.get("timeZone")
        if not isinstance(zone, str) or not 0 < len(zone) <= 64:
            raise PolicyError("timeZone is an IANA time zone, such as Europe/London")
        return cls(
            frozenset(DAY_NAMES.index(d.lower()) for d in days),
            _minutes(value.get("start"), "start"),
            _minutes(value.get("end"), "end"),
            zone,
        )

    def shown(self) -> dict[str, Any]:
        """As the API answers it."""
        return {
            "days": [DAY_NAMES[d] for d in sorted(self.days)],
            "start": _clock(self.start),
            "end": _clock(self.end),
            "timeZone": self.zone,
        }

    # -- arithmetic -------------------------------------------------------------------------
    def windows(self, since: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """The working windows, as UTC instants, from the one holding or following `since`."""
        zone = ZoneInfo(self.zone)
        day = since.astimezone(zone).date() - dt.timedelta(days=1)  # a window may start before
        for _ in range(_HORIZON):
            if day.weekday() in self.days:
                opens = _instant(day, self.start, zone)
                closes = _instant(day, self.end, zone)
                if closes > opens:
                    yield opens, closes
            day += dt.timedelta(days=1)

    def minutes_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Business minutes in [start, end) (0 when end is not after start)."""
        if end <= start:
            return 0.0
        total = 0.0
        for opens, closes in self.windows(start):
            if opens >= end:
                break
            low, high = max(opens, start), min(closes, end)
            if high > low:
                total += (high - low).total_seconds() / 60
        return total

    def add(self, start: dt.datetime, minutes: float) -> dt.datetime:
        """The instant `minutes` business minutes after `start`."""
        left = max(0.0, minutes)
        for opens, closes in self.windows(start):
            if closes <= start:
                continue
            low = max(opens, start)
            room = (closes - low).total_seconds() / 60
            if left <= room:
                return low + dt.timedelta(minutes=left)
            left -= room
        raise PolicyError("the business hours leave no time to count in")


def _minutes(value: Any, name: str) -> int:
    if not isinstance(value, str) or not _CLOCK.fullmatch(value):
        raise PolicyError(f"{name} is a time of day, HH:MM (24:00 for midnight at the end)")
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _instant(day: dt.date, minutes: int, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant of a local day's minute (24:00 is the next day's midnight). A local
    time that doesn't exist (the hour the clocks skip) is taken as the offset before it."""
    if minutes >= 24 * 60:
        local = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    else:
        local = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=zone)
    return local.astimezone(dt.UTC)
