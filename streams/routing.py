"""Where a message goes: partition by workspace, key by subject.

Identity stitching needs every event of a workspace in one place, so the
partition is chosen from the workspace alone, with Kafka's own murmur2 (a Java
producer gets the same partition with a three-line custom partitioner). The
message key is ``<workspace>/<subject identity key>`` so keys stay meaningful.
"""

from __future__ import annotations

from kafka.partitioner.default import murmur2

from schemas.events import Envelope
from schemas.keys import subject_key


def partition_for(workspace: str, partitions: int) -> int:
    hashed: int = murmur2(workspace.encode())
    return (hashed & 0x7FFFFFFF) % partitions


def message_key(event: Envelope) -> bytes:
    return f"{event.workspace}/{subject_key(event)}".encode()
