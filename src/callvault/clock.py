"""Time: every instant in callvault is timezone-aware UTC; user input is ISO 8601."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from callvault.errors import InvalidInput


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_instant(text: str, *, field: str, end_of_day: bool = False) -> datetime:
    """An ISO 8601 date or date-time; a bare date means its start (or end) in UTC."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        # never the text: it may be any value of a source (an e-mail address in the wrong column)
        raise InvalidInput("not an ISO 8601 date", pointer=field) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
