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


def test_an_event_that_grows_past_the_limit_once_encoded_is_refused(settings: Settings) -> None:
    """Encoding adds what the message left out (``schema_version``) and hashes emails:
    a message just under the limit can grow past it, and the pipeline would then
    dead-letter it as oversized. The producer refuses it before it is sent."""
    event = orjson.loads(generate(5, 30, events=20).events[0])
    del event["schema_version"]
    limit = 2048
    event["hashtags"] = []
    while len(orjson.dumps(event)) < limit - 150:
        event["hashtags"].append("x" * 100)
    pad = limit - len(orjson.dumps(event)) - len(',"campaign":""')
    event["campaign"] = "c" * pad
    line = orjson.dumps(event)
    assert len(line) == limit
    settings = settings.model_copy(update={"max_message_bytes": limit})
    producer = EventProducer(settings, settings.brokers)
    try:
        report = producer.send_lines([line])
    finally:
        producer.close()
    assert report.sent == 0
    [(index, why)] = report.invalid
    assert index == 1 and why.startswith("oversized: ") and f"> limit {limit}" in why
