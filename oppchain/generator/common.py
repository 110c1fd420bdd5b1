"""Shared pieces of the generator: time, names, small random helpers.

Time inside the generator is integer seconds since the Unix epoch (UTC); it
becomes ISO-8601 with a ``Z`` only when an event dict is built.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

MINUTE = 60
HOUR = 3600
DAY = 86400
WEEK = 7 * DAY
YEAR = 365 * DAY
LOOKBACK = 730 * DAY  # the chain window, as the pipeline computes it
MAX_PATH = 200  # touches kept per chain, newest first

DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)

_DAY_PREFIX: dict[int, str] = {}
_CLOCK: list[str] = []  # "HH:MM:SSZ" for every second of a day, built on first use


def iso(ts: int) -> str:
    """``ts`` (epoch seconds) as ``YYYY-MM-DDTHH:MM:SSZ``."""
    day, second = divmod(ts, DAY)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        prefix = datetime.fromtimestamp(day * DAY, UTC).strftime("%Y-%m-%dT")
        _DAY_PREFIX[day] = prefix
    if not _CLOCK:
        _CLOCK.extend(
            f"{h:02d}:{m:02d}:{s:02d}Z" for h in range(24) for m in range(60) for s in range(60)
        )
    return prefix + _CLOCK[second]


def epoch(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    return int(moment.timestamp())


def poisson(rng: random.Random, start: int, end: int, mean_gap: float, cap: int = 400) -> list[int]:
    """Times of a Poisson process on ``[start, end)`` with the given mean gap (seconds)."""
    out: list[int] = []
    if mean_gap <= 0 or end <= start:
        return out
    t = start + rng.expovariate(1.0 / mean_gap)
    while t < end and len(out) < cap:
        out.append(int(t))
        t += rng.expovariate(1.0 / mean_gap)
    return out


def daytime(rng: random.Random, ts: int) -> int:
    """Move ``ts`` to a working-hours moment of the same UTC day."""
    day = ts - ts % DAY
    return day + rng.randint(7 * HOUR, 21 * HOUR)


def next_friday(rng: random.Random, ts: int) -> int:
    """A moment on the first Friday at or after ``ts`` (``#followfriday``)."""
    weekday = datetime.fromtimestamp(ts, UTC).weekday()
    return daytime(rng, ts + ((4 - weekday) % 7) * DAY)


def money(value: float) -> float:
    return round(value, 2)


FIRST_NAMES = (
    "Ada", "Ben", "Cara", "Dev", "Elif", "Femi", "Gus", "Hana", "Ivan", "Jade",
    "Kofi", "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tariq",
    "Uma", "Vik", "Wren", "Xiu", "Yara", "Zeke", "Anouk", "Bram", "Chloe", "Diego",
    "Esme", "Farah", "Gael", "Hugo", "Ines", "Jonas", "Kira", "Luca", "Maya", "Noor",
)  # fmt: skip
LAST_NAMES = (
    "Adams", "Bauer", "Chen", "Dubois", "Eze", "Fischer", "Garcia", "Haddad", "Ito",
    "Jensen", "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Quint",
    "Rossi", "Silva", "Tanaka", "Ueda", "Varga", "Weber", "Xu", "Yilmaz", "Zhou",
    "Novak", "Moss", "Lind", "Kaur",
)  # fmt: skip
COMPANY_WORDS = (
    "Blue", "North", "Bright", "Open", "River", "Stone", "Cloud", "Pixel", "Green",
    "Iron", "Silver", "Maple", "Orbit", "Quartz", "Harbor", "Summit", "Lumen", "Vector",
)  # fmt: skip
COMPANY_SUFFIXES = ("Labs", "Works", "Systems", "Media", "Health", "Logistics", "Capital")
INDUSTRIES = ("software", "media", "health", "logistics", "finance", "retail", "education")
WORKSPACES = ("acme", "northwind", "globex", "initech", "umbrella", "hooli", "wayne", "stark")
HASHTAGS = (
    "marketing", "socialmedia", "community", "growth", "b2b", "startups", "events",
    "webinar", "product", "leadership", "ux", "data",
)  # fmt: skip
WEBMAIL = ("gmail.com", "outlook.com", "proton.me", "fastmail.com", "yahoo.com")
