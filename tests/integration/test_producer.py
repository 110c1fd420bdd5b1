"""The producer reports every line: sent, invalid or failed, and never stops midway."""

from __future__ import annotations

import orjson

from oppchain.deadletters import read_topic
from oppchain.generator import generate
from oppchain.producer import EventProducer
from oppchain.settings import Settings


def test_lines_that_are_not_events_or_too_large_are_reported_and_the_rest_sent(
    settings: Settings,
) -> None:
    good = generate(5, 30, events=20).events[:3]
    too_large = orjson.dumps({"workspace": "acme", "note": "x" * (2 * 1024 * 1024)})
    lines = [good[0], b"[1, 2]", b"3", good[1], too_large, b'"x"', good[2]]
    producer = EventProducer(settings, settings.brokers, max_request_size=1024 * 1024)
    try:
        validated = producer.send_lines(lines)
        raw = producer.send_lines(lines, validate=False)
    finally:
        producer.close()
    assert validated.sent == 3
    assert [n for n, _ in validated.invalid] == [2, 3, 5, 6]
    assert all("not_an_object" in why for n, why in validated.invalid if n != 5)
    assert validated.failed == []
    assert raw.sent == 6 and raw.invalid == []
    assert [n for n, _ in raw.failed] == [5]
    assert "MessageSizeTooLarge" in raw.failed[0][1]
    sent = [m.value for t in settings.input_topics for m in read_topic(settings.brokers, t)]
    assert len(sent) == 9
