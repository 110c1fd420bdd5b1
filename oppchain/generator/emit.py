"""Building event dicts, and keeping a person's identity keys linked.

A person's keys (handles, email, CRM contact) each have a planned first use.
``emit_identity`` links every new key to the ones already in use, one second
before its first use, so any prefix of the stream resolves each simulated
person to exactly one identity component.
"""

from __future__ import annotations

import random
from typing import Any

from orjson import dumps

from oppchain.generator.common import MINUTE, iso
from oppchain.generator.population import Company, OwnAccount, Person, Workspace

Event = dict[str, Any]
# (emit time, workspace index, sequence, event time, JSON, intended intent of an outbound act,
#  whether the event is a touch). Events are kept serialised: a dict costs far more memory.
Entry = tuple[int, int, int, int, bytes, str | None, bool]
TOUCH_TYPES = frozenset(("introduction", "meeting", "email_exchanged", "help_given"))

INBOUND = "inbound"
OUTBOUND = "outbound"


class Emitter:
    def __init__(self, ws: Workspace, rng: random.Random) -> None:
        self.ws = ws
        self.rng = rng
        self.out: list[Entry] = []
        self.seq = 0

    def emit(
        self, ts: int, event_type: str, source: str, body: Event, intended: str | None = None
    ) -> str | None:
        """Append one event; events at or after the end of the world are not emitted."""
        ws = self.ws
        if ts >= ws.end:
            return None
        ts = max(ts, ws.start)
        self.seq += 1
        event_id = f"{ws.name}-{self.seq:09d}"
        event: Event = {
            "event_id": event_id,
            "event_type": event_type,
            "schema_version": 1,
            "occurred_at": iso(ts),
            "source": source,
            "workspace": ws.name,
        }
        event.update(body)
        touch = event_type in TOUCH_TYPES or (
            event_type == "social_interaction" and "handle" in body and body["action"] != "unfollow"
        )
        # orjson leaves a 4 KiB buffer behind each result; a copy keeps only the bytes
        payload = bytes(memoryview(dumps(event)))
        self.out.append((ts, ws.index, self.seq, ts, payload, intended, touch))
        return event_id

    # -- social ------------------------------------------------------------

    def display(self, handle: str) -> str:
        """Handles are case-insensitive: now and then a producer writes one differently."""
        r = self.rng.random()
        if r < 0.01:
            return "@" + handle
        if r < 0.03:
            return handle.lower()
        return handle

    def social(
        self,
        ts: int,
        own: OwnAccount,
        handle: str | None,
        direction: str,
        action: str,
        intended: str | None = None,
        *,
        campaign: str | None = None,
        content_ref: str | None = None,
        hashtags: list[str] | None = None,
    ) -> str | None:
        rng = self.rng
        platform = own.platform
        if platform == "x" and rng.random() < 0.02:
            platform = "twitter"  # the same network; the contract accepts both
        body: Event = {
            "platform": platform,
            "own_account": own.handle,
            "direction": direction,
            "action": action,
        }
        if handle is not None:
            body["handle"] = self.display(handle)
        meta = None
        if intended is not None:
            if direction == OUTBOUND:
                meta = intended
                if rng.random() < 0.6:
                    body["intent"] = intended
            elif rng.random() < 0.25:
                body["intent"] = intended
        if campaign is not None:
            body["campaign"] = campaign
        if content_ref is not None:
            body["content_ref"] = content_ref
        if hashtags:
            body["hashtags"] = hashtags
        return self.emit(ts, "social_interaction", f"collector-{own.platform}", body, meta)

    def latest_post(self, own: OwnAccount, ts: int) -> str | None:
        from bisect import bisect_right

        i = bisect_right(own.posts, ts)
        return own.post_refs[i - 1] if i else None

    # -- identity ----------------------------------------------------------

    def ref(self, person: Person, key: str) -> Event:
        """A PersonRef naming ``person`` by one key id."""
        if key == "c":
            return {"contact_id": person.contact_id}
        if key == "e":
            return {"email": person.email}
        platform = key[2:]
        return {"platform": platform, "handle": self.display(person.handles[platform])}

    def any_ref(self, person: Person, ts: int, prefer: str | None = None) -> Event:
        keys = person.active(ts)
        if prefer is not None and prefer in keys:
            return self.ref(person, prefer)
        keys.sort()
        return self.ref(person, self.rng.choice(keys) if keys else "h:" + person.home)

    def upsert_account(self, company: Company, ts: int) -> None:
        if company.created is not None and company.created <= ts:
            return
        company.created = ts
        body: Event = {"account_id": company.account_id, "name": company.name}
        if self.rng.random() < 0.8:
            body["domain"] = company.domain
        if self.rng.random() < 0.6:
            body["industry"] = company.industry
        self.emit(ts, "account_upserted", self.ws.crm_source, body)

    def _upsert_contact(self, person: Person, ts: int, linked: set[str]) -> None:
        if person.company is not None:
            self.upsert_account(person.company, ts - 10 * MINUTE)
        handles = [
            {"platform": p, "handle": self.display(h)}
            for p, h in person.handles.items()
            if "h:" + p in linked
        ]
        body: Event = {"contact_id": person.contact_id}
        if person.company is not None:
            body["account_id"] = person.company.account_id
        if "e" in linked:
            body["email"] = person.email
        if handles:
            body["handles"] = handles
        self.emit(ts, "contact_upserted", self.ws.crm_source, body)

    def emit_identity(self, person: Person) -> None:
        """Emit the contact and the links that join each key to the keys before it."""
        rng = self.rng
        linked: set[str] = set()
        order = sorted(person.starts.items(), key=lambda kv: (kv[1], kv[0]))
        for key, ts in order:
            if key in linked:
                continue
            if key == "c":
                linked.add("c")
                for platform in person.handles:
                    hk = "h:" + platform
                    if hk in person.starts and hk not in linked and rng.random() < 0.6:
                        linked.add(hk)
                if "e" in person.starts and rng.random() < 0.7:
                    linked.add("e")
                self._upsert_contact(person, ts, linked)
                continue
            if not linked:
                linked.add(key)
                continue
            linked.add(key)
            if "c" in linked and key != "e" and rng.random() < 0.5:
                self._upsert_contact(person, ts - 1, linked)
                continue
            other = "c" if "c" in linked else sorted(linked - {key})[0]
            body = {"a": self.ref(person, key), "b": self.ref(person, other)}
            self.emit(ts - 1, "identity_linked", "identity-resolver", body)
