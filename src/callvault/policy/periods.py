"""ISO 8601 durations (``P90D``, ``P5Y``) as exact calendar periods.

A year is not 365 days: the Danish Bookkeeping Act's five years end on a calendar date, so periods keep
years and months apart from days (``isodate`` parses them) and are applied to a date, never to a count
of seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

import isodate
from pydantic import BeforeValidator, PlainSerializer

from callvault.errors import InvalidInput

# Comparing two periods means comparing where they end from one fixed start (a non-leap year).
_REFERENCE = datetime(2001, 1, 1)


@dataclass(frozen=True, order=False)
class Period:
    years: int = 0
    months: int = 0
    days: int = 0
    seconds: int = 0

    @classmethod
    def parse(cls, text: Any) -> Period:
        if isinstance(text, Period):
            return text
        if not isinstance(text, str):
            raise ValueError(f"expected an ISO 8601 duration such as P90D, got {text!r}")
        try:
            parsed = isodate.parse_duration(text.strip())
        except (isodate.ISO8601Error, ValueError) as exc:
            raise ValueError(f"not an ISO 8601 duration: {text!r}") from exc
        if isinstance(parsed, timedelta):
            return cls(days=parsed.days, seconds=parsed.seconds)
        td = parsed.tdelta
        return cls(int(parsed.years), int(parsed.months), td.days, td.seconds)

    def after(self, start: datetime) -> datetime:
        """The moment this period ends when it starts at ``start``."""
        moved = isodate.Duration(years=self.years, months=self.months) + start
        return moved + timedelta(days=self.days, seconds=self.seconds)

    def before(self, end: datetime) -> datetime:
        """The start of a period of this length that ends at ``end`` (the retention cut-off)."""
        moved = end - isodate.Duration(years=self.years, months=self.months)
        return moved - timedelta(days=self.days, seconds=self.seconds)

    def _end(self) -> datetime:
        return self.after(_REFERENCE)

    def __le__(self, other: Period) -> bool:
        return self._end() <= other._end()

    def __lt__(self, other: Period) -> bool:
        return self._end() < other._end()

    def __str__(self) -> str:
        date = "".join(
            f"{n}{u}" for n, u in ((self.years, "Y"), (self.months, "M"), (self.days, "D")) if n
        )
        time = f"T{self.seconds}S" if self.seconds else ""
        return "P" + (date or ("" if time else "0D")) + time


def parse_period(text: str, *, field: str) -> Period:
    """Parse a period from user input, naming the field on error."""
    try:
        return Period.parse(text)
    except ValueError as exc:
        raise InvalidInput(str(exc), pointer=field) from exc


PeriodField = Annotated[Period, BeforeValidator(Period.parse), PlainSerializer(str)]
