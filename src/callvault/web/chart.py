"""The calls-per-day chart, drawn on the server as SVG geometry the template renders (no script, so
the Content-Security-Policy stays strict). Bars are stacked by direction."""

from __future__ import annotations

from typing import Any

WIDTH, HEIGHT, PAD = 640, 240, 32
COLOURS = {"inbound": "#1f6feb", "outbound": "#b35900", "internal": "#2b8a3e"}


def calls_per_day(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """Bars (x, y, width, height, colour, label) for the published statistics cells."""
    days = sorted({c["bucket"] for c in cells})
    totals: dict[tuple[str, str], int] = {}
    for c in cells:
        key = (c["bucket"], c["direction"])
        totals[key] = totals.get(key, 0) + c["calls"]
    per_day = {d: sum(v for (day, _), v in totals.items() if day == d) for d in days}
    top = max(per_day.values(), default=0) or 1
    step = (WIDTH - 2 * PAD) / max(1, len(days))
    bars = []
    for i, day in enumerate(days):
        base = float(HEIGHT - PAD)
        for direction in sorted({d for (_, d) in totals}):
            calls = totals.get((day, direction), 0)
            height = (HEIGHT - 2 * PAD) * calls / top
            base -= height
            bars.append({"x": round(PAD + i * step + 2, 1), "y": round(base, 1),
                         "w": round(max(step - 4, 1), 1), "h": round(height, 1),
                         "colour": COLOURS.get(direction, "#555"),
                         "label": f"{day} {direction}: {calls}"})  # fmt: skip
    return {"width": WIDTH, "height": HEIGHT, "bars": bars, "days": days, "top": top,
            "pad": PAD, "colours": COLOURS}  # fmt: skip
