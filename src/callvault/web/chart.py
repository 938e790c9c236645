"""The statistics charts, drawn on the server as SVG geometry the templates render (no script, so
the Content-Security-Policy stays strict): calls per day stacked by direction, and per direction
calls per day stacked by outcome. Every chart has a title and a description, and the page carries
the same figures as a table."""

from __future__ import annotations

from typing import Any

WIDTH, HEIGHT, PAD = 640, 240, 32
COLOURS = {"inbound": "#1f6feb", "outbound": "#b35900", "internal": "#2b8a3e"}
OUTCOME_COLOURS = {"answered": "#2b8a3e", "no_answer": "#b35900", "busy": "#6f42c1",
                   "failed": "#c92a2a"}  # fmt: skip


def _stacked(cells: list[dict[str, Any]], key: str, colours: dict[str, str],
             days: list[str]) -> dict[str, Any]:  # fmt: skip
    """Bars (x, y, width, height, colour, label) per day, stacked by ``key``."""
    totals: dict[tuple[str, str], int] = {}
    for c in cells:
        totals[(c["bucket"], c[key])] = totals.get((c["bucket"], c[key]), 0) + c["calls"]
    per_day = {d: sum(v for (day, _), v in totals.items() if day == d) for d in days}
    top = max(per_day.values(), default=0) or 1
    step = (WIDTH - 2 * PAD) / max(1, len(days))
    present = {g for (_, g) in totals}
    groups = [g for g in colours if g in present] + sorted(present - set(colours))
    bars = []
    for i, day in enumerate(days):
        base = float(HEIGHT - PAD)
        for group in groups:
            calls = totals.get((day, group), 0)
            height = (HEIGHT - 2 * PAD) * calls / top
            base -= height
            bars.append({"x": round(PAD + i * step + 2, 1), "y": round(base, 1),
                         "w": round(max(step - 4, 1), 1), "h": round(height, 1),
                         "colour": colours.get(group, "#555"), "group": group, "day": day,
                         "calls": calls, "label": f"{day} {group}: {calls}"})  # fmt: skip
    return {"width": WIDTH, "height": HEIGHT, "bars": [b for b in bars if b["calls"]],
            "days": days, "top": top, "pad": PAD,
            "colours": {g: colours.get(g, "#555") for g in groups} or colours}  # fmt: skip


def calls_per_day(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """Calls per day stacked by direction, for the published statistics cells."""
    return _stacked(cells, "direction", COLOURS, sorted({c["bucket"] for c in cells}))


def calls_by_outcome(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One chart per direction: calls per day stacked by outcome (the same days on each, so the
    charts compare), with the direction's total for the description."""
    days = sorted({c["bucket"] for c in cells})
    charts = []
    for direction in sorted({c["direction"] for c in cells}):
        mine = [c for c in cells if c["direction"] == direction]
        chart = _stacked(mine, "outcome", OUTCOME_COLOURS, days)
        chart.update(direction=direction, total=sum(c["calls"] for c in mine))
        charts.append(chart)
    return charts
