"""How every view writes times, durations, costs and percentages (CLI, canvas, replay, stats).

One place, so a duration reads "123 ms" wherever it is shown. ``None`` reads "-".
"""

from __future__ import annotations

import time


def duration(seconds: float | None) -> str:
    """``"0.4 ms"``, ``"123 ms"``, ``"1.23 s"``; ``"-"`` for None."""
    if seconds is None:
        return "-"
    if abs(seconds) >= 1:
        return f"{seconds:.2f} s"
    ms = seconds * 1000
    return f"{ms:.1f} ms" if abs(ms) < 10 else f"{ms:.0f} ms"


def offset(seconds: float) -> str:
    """Time since a run started: ``"+123 ms"``."""
    return f"+{duration(max(seconds, 0.0))}"


def clock(at: float) -> str:
    """Local wall-clock time of day with milliseconds: ``"14:03:07.123"``."""
    return time.strftime("%H:%M:%S", time.localtime(at)) + f".{int(at % 1 * 1000):03d}"


def moment(at: float, ref: float) -> str:
    """``clock(at)`` when ``at`` falls on ``ref``'s local day, else the date too
    (``"2026-12-19 14:03:07"``): a due time two weeks away must not read as today's."""
    if time.localtime(at)[:3] == time.localtime(ref)[:3]:
        return clock(at)
    return when(at)


def when(at: float | None, *, seconds: bool = True) -> str:
    """Local date and time: ``"2026-12-03 14:03:07"``; ``"-"`` for None or 0."""
    if not at:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M", time.localtime(at))


def cost(value: float | None) -> str:
    """``"0.0123"``; ``"0"`` for nothing spent."""
    if value is None:
        return "-"
    return f"{value:.4f}" if value else "0"


def percent(rate: float | None) -> str:
    """A rate in 0..1 as ``"97%"``; never "100%" for a rate below 1 (one failure in 1,000 shows)."""
    if rate is None:
        return "-"
    shown = round(rate * 100)
    return f"{min(shown, 99) if rate < 1 else shown}%"


def age(seconds: float | None) -> str:
    """How long something has waited, coarsely: ``"42 s"``, ``"5 min"``, ``"3 h 20 min"``, ``"2 d 4 h"``."""
    if seconds is None:
        return "-"
    s = int(max(seconds, 0.0))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86_400:
        hours, minutes = divmod(s // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(s // 3600, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
