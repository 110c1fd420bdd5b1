"""The Python producer library: validate, key, route, send, report.

Services that emit events use ``EventProducer.send``: an event that breaks the
contract is refused before it reaches Kafka, with the reason. ``send_raw``
skips validation (for replaying files as they are, bad lines included, so the
pipeline's own dead-lettering can be exercised).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from kafka import KafkaProducer
from kafka.errors import KafkaError

from oppchain.settings import Settings
from schemas.codec import decode_batch, encode
from schemas.events import EVENT_TYPES, Envelope, family_of
from schemas.privacy import mask_emails, pseudonymize, redact_emails
from streams.routing import message_key, partition_for


class InvalidEvent(ValueError):
    """The event breaks the contract; it was not sent."""


@dataclass
class ProduceReport:
    sent: int = 0
    invalid: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.invalid and not self.failed


class EventProducer:
    def __init__(self, settings: Settings, bootstrap: str, **kafka_options: Any) -> None:
        self.settings = settings
        self.secret = settings.secret_bytes()
        options: dict[str, Any] = {
            "bootstrap_servers": bootstrap,
            "acks": "all",
            "linger_ms": 5,
            "batch_size": 256 * 1024,
            "max_request_size": 4 * 1024 * 1024,
            "client_id": "oppchain-producer",
        }
        options.update(kafka_options)
        self._producer = KafkaProducer(**options)
        self._partitions: dict[str, int] = {}

    def _partition_count(self, topic: str) -> int:
        count = self._partitions.get(topic)
        if count is None:
            found = self._producer.partitions_for(topic)
            count = len(found) if found else self.settings.partitions
            self._partitions[topic] = count
        return count

    def _topic_for(self, event_type: Any) -> str:
        known = isinstance(event_type, str) and event_type in EVENT_TYPES  # JSON may hold a list
        family = family_of(event_type) if known else "social"
        return self.settings.topics[family]

    def send(self, event: Envelope | dict[str, Any]) -> Any:
        """Validate (hashing clear emails) and send one event; raise InvalidEvent."""
        raw = event if isinstance(event, dict) else event.model_dump(mode="json")
        try:
            payload = orjson.dumps(raw)
        except TypeError as exc:  # a value JSON cannot hold (a set, an object)
            raise InvalidEvent(f"not_json: {exc}") from exc
        return self.send_json(payload)

    def send_json(self, payload: bytes) -> Any:
        """``send`` for an event as JSON bytes; anything but a valid event object
        raises InvalidEvent."""
        limit = self.settings.max_message_bytes
        decoded, failures = decode_batch([payload], max_bytes=limit, secret=self.secret)
        if failures:
            raise InvalidEvent(f"{failures[0].reason}: {failures[0].detail}")
        valid = decoded[0][1]
        value = encode(valid)  # defaults and hashed emails can make it longer
        if len(value) > limit:
            raise InvalidEvent(f"oversized: {len(value)} bytes once encoded > limit {limit}")
        topic = self._topic_for(valid.event_type)
        partition = partition_for(valid.workspace, self._partition_count(topic))
        return self._producer.send(topic, value=value, key=message_key(valid), partition=partition)

    def send_raw(self, payload: bytes) -> Any:
        """Send bytes unvalidated, routed by what can be read of them; clear emails
        are hashed (or, where the bytes cannot be read as an event, masked) first."""
        payload, raw = raw_payload(payload, self.secret)
        if raw is not None:
            workspace = raw.get("workspace")
            topic = self._topic_for(raw.get("event_type"))
        else:
            workspace, topic = None, self.settings.topics["social"]
        count = self._partition_count(topic)
        if isinstance(workspace, str):
            partition = partition_for(workspace, count)
        else:
            partition = zlib.crc32(payload) % count
        return self._producer.send(topic, value=payload, partition=partition)

    def send_lines(self, lines: Iterable[bytes], *, validate: bool = True) -> ProduceReport:
        """Send JSON lines; with ``validate`` invalid lines are reported, not sent."""
        report = ProduceReport()
        pending = []
        for number, line in enumerate(lines, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                future = self.send_json(line) if validate else self.send_raw(line)
            except InvalidEvent as exc:
                report.invalid.append((number, str(exc)[:300]))
                continue
            except KafkaError as exc:  # refused before sending: too large, no metadata...
                report.failed.append((number, f"{type(exc).__name__}: {exc}"[:300]))
                continue
            pending.append((number, future))
        self._producer.flush()
        for number, future in pending:
            try:
                future.get(timeout=30)
                report.sent += 1
            except Exception as exc:
                report.failed.append((number, str(exc)[:300]))
        return report

    def flush(self) -> None:
        self._producer.flush()

    def close(self) -> None:
        self._producer.close()


def raw_payload(payload: bytes, secret: bytes) -> tuple[bytes, dict[str, Any] | None]:
    """The bytes ``send_raw`` sends, and the JSON object read from them (None if
    there is none). An object is re-encoded only when an email was hashed in it;
    other bytes keep their form, with anything like an email masked (hashing
    needs the workspace's salt)."""
    try:
        raw = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raw = None
    if not isinstance(raw, dict):
        return redact_emails(payload), None
    if not isinstance(raw.get("workspace"), str):  # no salt to hash with
        if mask_emails(raw):
            payload = orjson.dumps(raw)
        return redact_emails(payload), raw
    # Not only when the bytes hold "@": JSON may write it "\u0040".
    before = orjson.dumps(raw)
    after = orjson.dumps(pseudonymize(raw, secret))
    return (after if after != before else payload), raw
