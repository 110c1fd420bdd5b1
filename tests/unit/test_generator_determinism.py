"""The synthetic-world generator: determinism, exact sizes and parameters."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from oppchain.generator import generate, write
from schemas.codec import decode_batch
from tests.unit.generator_worlds import SECRET


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    a = generate(3, events=3000, bad_fraction=0.05)
    b = generate(3, events=3000, bad_fraction=0.05)
    assert a.events == b.events
    assert orjson.dumps(a.truth) == orjson.dumps(b.truth)
    write(a, tmp_path / "a.jsonl", tmp_path / "a.json")
    write(b, tmp_path / "b.jsonl", tmp_path / "b.json")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_output_does_not_depend_on_hash_randomisation() -> None:
    script = (
        "import hashlib, orjson; from oppchain.generator import generate; "
        "w = generate(8, events=1500, bad_fraction=0.05); "
        "print(hashlib.sha256(b''.join(w.events) + orjson.dumps(w.truth)).hexdigest())"
    )
    root = Path(__file__).resolve().parents[2]
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(root)}
        run = subprocess.run(
            [sys.executable, "-c", script], env=env, cwd=root, capture_output=True, check=True
        )
        digests.add(run.stdout.strip())
    assert len(digests) == 1


def test_different_seeds_differ() -> None:
    assert generate(1, events=2000).events != generate(2, events=2000).events


@pytest.mark.parametrize(
    ("events", "bad_fraction"),
    [(0, 0.0), (1, 0.0), (1, 1.0), (7, 0.5), (999, 0.1), (5000, 0.0), (12_345, 0.03)],
)
def test_exactly_the_requested_number_of_lines(events: int, bad_fraction: float) -> None:
    w = generate(9, events=events, bad_fraction=bad_fraction)
    counts = w.truth["counts"]
    assert len(w.events) == events == counts["events"]
    assert counts["bad"] == round(events * bad_fraction)
    assert counts["valid"] + counts["bad"] == events
    assert sum(counts["by_event_type"].values()) == counts["valid"]


def test_default_size_and_custom_start(tmp_path: Path) -> None:
    start = datetime(2022, 6, 1, tzinfo=UTC)
    w = generate(4, days=45, start=start, bad_fraction=0.1)
    counts = w.truth["counts"]
    assert counts["events"] == len(w.events) > 1000
    assert abs(counts["bad"] / counts["events"] - 0.1) < 0.01
    decoded, _ = decode_batch(w.events, secret=SECRET)
    times = [event.occurred_at for _, event in decoded]
    assert min(times) >= start
    assert w.truth["params"]["start"] == "2022-06-01T00:00:00Z"
    write(w, tmp_path / "e.jsonl", tmp_path / "t.json")
    assert (tmp_path / "e.jsonl").read_bytes().count(b"\n") == len(w.events)
    assert orjson.loads((tmp_path / "t.json").read_bytes())["counts"] == counts


def test_rejects_a_naive_start() -> None:
    with pytest.raises(ValueError):
        generate(1, events=10, start=datetime(2024, 1, 1))


def test_a_large_world_has_exactly_the_events_asked_for() -> None:
    # Generation speed is a benchmark figure (benchmarks/run.py), not asserted here.
    w = generate(21, events=100_000, bad_fraction=0.01)
    assert len(w.events) == 100_000
