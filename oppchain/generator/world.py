"""``generate``: a whole synthetic world, its event stream and its truth."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate
from pathlib import Path
from typing import Any

import orjson

from oppchain.collector import collector_paused
from oppchain.generator import bad as bad_events
from oppchain.generator.behaviour import follower, passerby, pod, posts, ring
from oppchain.generator.common import DAY, DEFAULT_START, HOUR, MINUTE, epoch, iso
from oppchain.generator.crm import costs
from oppchain.generator.emit import Emitter, Entry
from oppchain.generator.population import Workspace, build_workspace
from oppchain.generator.relationship import asked, relationship
from oppchain.generator.truth import compute

DEFAULT_SCALE = 4.0  # first touches per day and workspace when no event count is asked for
EVENTS_PER_PERSON = 13.0  # rough events per simulated stranger, to size our own posting
ROLE_MIX = (("passerby", 0.56), ("follower", 0.27), ("relationship", 0.1), ("asked", 0.07))
ROLES = (passerby, follower, relationship, asked)


@dataclass(frozen=True, slots=True)
class World:
    events: list[bytes]  # one JSON document per event, in production order
    truth: dict[str, Any]


def _simulate(
    seed: int,
    workspaces: int,
    start: int,
    end: int,
    scale: float,
    target: int | None,
) -> tuple[list[Workspace], list[Entry], int]:
    """Simulate; strangers arrive until ``target`` events exist (or ``scale`` per day each).

    Each stranger draws from a generator of its own, seeded in arrival order,
    so a bigger world contains a smaller one with the same seed.
    """
    spaces: list[Workspace] = []
    emitters: list[Emitter] = []
    for index in range(workspaces):
        rng = random.Random(f"oppchain-world:{seed}:{index}")
        ws = build_workspace(rng, index, start, end)
        em = Emitter(ws, rng)
        posts(em, rng, ws, 0.1 + 0.1 * scale)
        costs(em, rng, ws)
        for _ in range(rng.randint(1, 3)):
            ring(em, rng, ws)
        for _ in range(rng.randint(1, 2)):
            pod(em, rng, ws)
        spaces.append(ws)
        emitters.append(em)
    thresholds = list(accumulate(share for _, share in ROLE_MIX))
    strangers = round(scale * (end - start) / DAY) * workspaces
    seeds = random.Random(f"oppchain-strangers:{seed}")
    span = max(end - start - HOUR, 1)
    total = sum(len(em.out) for em in emitters)
    n = 0
    while total < target if target is not None else n < strangers:
        em = emitters[n % workspaces]
        em.rng = rng = random.Random(seeds.getrandbits(64))
        before = len(em.out)
        arrival = start + HOUR + int(rng.random() * span)
        r = rng.random()
        role = next((f for f, t in zip(ROLES, thresholds, strict=True) if r < t), asked)
        role(em, rng, em.ws, arrival)
        total += len(em.out) - before
        n += 1
    entries = [entry for em in emitters for entry in em.out]
    return spaces, entries, n


def _make_late(rng: random.Random, entries: list[Entry], fraction: float) -> dict[str, int]:
    """Hold back a few touches: emitted later in the stream than their event time."""
    touches = [i for i, e in enumerate(entries) if e[6]]
    late: dict[str, int] = {}
    for i in rng.sample(touches, min(len(touches), round(fraction * len(touches)))):
        emit_ts, ws_index, seq, ts, payload, intended, touch = entries[i]
        r = rng.random()
        if r < 0.4:
            delay = rng.randint(HOUR, 12 * HOUR)
        elif r < 0.8:
            delay = rng.randint(DAY, 14 * DAY)
        else:
            delay = rng.randint(14 * DAY, 90 * DAY)
        entries[i] = (emit_ts + delay, ws_index, seq, ts, payload, intended, touch)
        late[orjson.loads(payload)["event_id"]] = delay
    return late


def generate(
    seed: int,
    days: int = 730,
    *,
    events: int | None = None,
    workspaces: int = 3,
    bad_fraction: float = 0.0,
    late_fraction: float = 0.01,
    start: datetime | None = None,
) -> World:
    """A deterministic world: same arguments, byte-identical events and truth."""
    with collector_paused():
        return _generate(seed, days, events, workspaces, bad_fraction, late_fraction, start)


def _generate(
    seed: int,
    days: int,
    events: int | None,
    workspaces: int,
    bad_fraction: float,
    late_fraction: float,
    start: datetime | None,
) -> World:
    if days < 1 or workspaces < 1:
        raise ValueError("days and workspaces must be at least 1")
    if not 0.0 <= bad_fraction <= 1.0 or not 0.0 <= late_fraction <= 1.0:
        raise ValueError("fractions must lie in [0, 1]")
    if events is not None and events < 0:
        raise ValueError("events must not be negative")
    t0 = epoch(start or DEFAULT_START)
    end = t0 + days * DAY
    if events is None:
        if bad_fraction >= 1.0:
            raise ValueError("bad_fraction 1 needs an explicit event count")
        scale = DEFAULT_SCALE
        spaces, entries, strangers = _simulate(seed, workspaces, t0, end, scale, None)
        valid = len(entries)
        bad = round(valid * bad_fraction / (1.0 - bad_fraction))
    else:
        bad = round(events * bad_fraction)
        valid = events - bad
        scale = valid / (EVENTS_PER_PERSON * days * workspaces)
        spaces, entries, strangers = _simulate(seed, workspaces, t0, end, scale, valid)

    stream_rng = random.Random(f"oppchain-stream:{seed}")
    late = _make_late(stream_rng, entries, late_fraction)
    entries.sort()
    kept = entries[:valid]
    fallback = orjson.loads(entries[0][4]) if entries else _placeholder(t0)
    lines, bad_records = bad_events.place(
        stream_rng, valid + bad, bad, [e[4] for e in kept], fallback
    )
    params = {
        "seed": seed,
        "days": days,
        "events": events,
        "workspaces": workspaces,
        "bad_fraction": bad_fraction,
        "late_fraction": late_fraction,
        "start": iso(t0),
        "end": iso(end),
        "strangers": strangers,
    }
    truth = compute(kept, spaces, params)
    late_kept = [
        i for i in (orjson.loads(e[4])["event_id"] for e in kept if e[0] != e[3]) if i in late
    ]
    truth["counts"].update(
        events=len(lines),
        bad=len(bad_records),
        bad_by_kind=dict(sorted(Counter(r["kind"] for r in bad_records).items())),
        late=len(late_kept),
    )
    truth["bad"] = bad_records
    truth["late"] = late_kept
    return World(lines, truth)


def _placeholder(ts: int) -> dict[str, Any]:
    return {
        "event_id": "placeholder-000000001",
        "event_type": "cost_recorded",
        "schema_version": 1,
        "occurred_at": iso(ts + MINUTE),
        "source": "finance-invoices",
        "workspace": "acme",
        "cost_kind": "other",
        "amount": 1.0,
        "currency": "USD",
    }


def write(world: World, events_path: str | Path, truth_path: str | Path) -> None:
    """Events as JSON lines, truth as one JSON document."""
    with open(events_path, "wb") as out:
        for line in world.events:
            out.write(line)
            out.write(b"\n")
    Path(truth_path).write_bytes(
        orjson.dumps(world.truth, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    )
