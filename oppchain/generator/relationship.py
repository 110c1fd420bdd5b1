"""Relationships: conversation across platforms, emails, meetings, gives, introductions.

These are the people opportunities come from. Relationship strength grows over
months to years; the CRM learns of the person (contact, lead), opportunities
follow, and some of them close.
"""

from __future__ import annotations

import random

from oppchain.generator.behaviour import CONVERSATION_MIX, FOLLOWER_MIX, converse
from oppchain.generator.common import DAY, HOUR, MINUTE, poisson
from oppchain.generator.crm import lead, make_contact, opportunity
from oppchain.generator.emit import INBOUND, OUTBOUND, Emitter, Event
from oppchain.generator.population import (
    ASKED,
    COLLEAGUE,
    INTRODUCED,
    RELATIONSHIP,
    Company,
    Person,
    Workspace,
    home_platform,
    new_company,
    new_person,
)

MEETING_KINDS = ("in_person", "tweetup", "conference_meal", "call", "video")
HELP_KINDS = ("advice", "gift", "introduction", "referral", "help")
EMAIL_INTENTS = ("give", "ask", "neutral")
EMAIL_WEIGHTS = (30.0, 15.0, 55.0)

# Chances that shape conversion: an opportunity at all, then won / lost (else open).
P_OPP = {RELATIONSHIP: 0.36, INTRODUCED: 0.42, COLLEAGUE: 0.2, ASKED: 0.04}
P_WIN = {RELATIONSHIP: 0.55, INTRODUCED: 0.5, COLLEAGUE: 0.45, ASKED: 0.15}
P_LOSE = {RELATIONSHIP: 0.3, INTRODUCED: 0.35, COLLEAGUE: 0.4, ASKED: 0.75}


def _company(rng: random.Random, ws: Workspace, chance: float) -> Company | None:
    if rng.random() >= chance:
        return None
    if ws.companies and rng.random() < 0.2:
        return rng.choice(ws.companies)
    return new_company(rng, ws)


def _email(em: Emitter, rng: random.Random, person: Person, ts: int, intended: str | None) -> None:
    direction = OUTBOUND if intended is not None else INBOUND
    key = "c" if rng.random() < 0.2 else "e"
    body: Event = {"person": em.any_ref(person, ts, prefer=key), "direction": direction}
    if intended is not None and rng.random() < 0.6:
        body["intent"] = intended
    em.emit(ts, "email_exchanged", "mail-gmail", body, intended)


def offline(
    em: Emitter, rng: random.Random, person: Person, start: int, stop: int, pace: float = 1.0
) -> None:
    """Emails (once the address is in use), meetings, and help in both directions."""
    email_from = max(start, person.starts.get("e", stop) + MINUTE)
    for ts in poisson(rng, email_from, min(stop, em.ws.end), 40 * DAY / pace, cap=50):
        if rng.random() < 0.5:
            _email(em, rng, person, ts, rng.choices(EMAIL_INTENTS, EMAIL_WEIGHTS)[0])
        else:
            _email(em, rng, person, ts, None)
    span = max(stop - start, HOUR)
    for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4))):
        ts = start + int(rng.random() * span)
        body: Event = {"person": em.any_ref(person, ts), "meeting_kind": rng.choice(MEETING_KINDS)}
        if rng.random() < 0.7:
            body["duration_minutes"] = rng.choice((20, 30, 45, 60, 90, 120))
        em.emit(ts, "meeting", "calendar-google", body)
    for direction, count in ((OUTBOUND, rng.randint(1, 3)), (INBOUND, rng.randint(0, 2))):
        for _ in range(count):
            ts = start + int(rng.random() * span)
            body = {
                "person": em.any_ref(person, ts),
                "direction": direction,
                "help_kind": rng.choice(HELP_KINDS),
            }
            intended = "give" if direction == OUTBOUND else None
            em.emit(ts, "help_given", em.ws.crm_source, body, intended)


def _crm(em: Emitter, rng: random.Random, person: Person, contact: int, role: str) -> None:
    """Contact, lead, and perhaps one or two opportunities."""
    make_contact(person, contact)
    lead(em, rng, person, contact + rng.randint(HOUR, 30 * DAY))
    created = contact + rng.randint(14, 200) * DAY
    for _ in range(2):
        if rng.random() >= P_OPP[role]:
            break
        opportunity(em, rng, person, created, P_WIN[role], P_LOSE[role])
        created += rng.randint(60, 500) * DAY


def _introductions(
    em: Emitter, rng: random.Random, person: Person, start: int, stop: int, depth: int
) -> None:
    if depth > 2:
        return
    span = max(stop - start, HOUR)
    count = rng.choices((0, 1, 2), (62, 30, 8))[0]
    for _ in range(count):
        introduced(em, rng, person, start + int(rng.random() * span), INTRODUCED, depth + 1)
    if person.company is not None and rng.random() < 0.3:
        introduced(em, rng, person, start + int(rng.random() * span), COLLEAGUE, depth + 1)


def relationship(em: Emitter, rng: random.Random, ws: Workspace, arrival: int) -> Person:
    """A stranger who becomes a relationship: the people opportunities come from."""
    home = home_platform(rng, ws, social_only=True)
    company = _company(rng, ws, 0.55)
    extra = rng.choice((0, 1, 1, 2))
    person = new_person(
        rng,
        ws,
        RELATIONSHIP,
        arrival,
        home=home,
        extra_platforms=extra,
        email=True,
        company=company,
    )
    own = ws.own_on(home)
    engaged = rng.randint(14, 150) * DAY
    deep = arrival + engaged
    stop = deep + rng.randint(180, 900) * DAY
    person.start("h:" + home, arrival)
    first = rng.choice(("follow", "reply", "mention", "share"))
    ref = em.latest_post(own, arrival) if first in ("reply", "share") else None
    em.social(arrival, own, person.handles[home], INBOUND, first, content_ref=ref)
    converse(em, rng, person, home, arrival + MINUTE, deep, FOLLOWER_MIX, 1.5)
    converse(em, rng, person, home, deep, stop, CONVERSATION_MIX)
    for platform in list(person.handles)[1:]:
        converse(
            em,
            rng,
            person,
            platform,
            arrival + int(engaged * rng.uniform(0.3, 1.5)),
            stop,
            CONVERSATION_MIX,
            0.6,
        )
    person.start("e", deep + rng.randint(0, 90) * DAY)
    _crm(em, rng, person, deep + rng.randint(10, 120) * DAY, RELATIONSHIP)
    offline(em, rng, person, deep, stop)
    _introductions(em, rng, person, deep, stop, 0)
    em.emit_identity(person)
    return person


def introduced(
    em: Emitter, rng: random.Random, introducer: Person, ts: int, role: str, depth: int
) -> Person:
    """Someone an existing contact introduces to us: first touch on channel ``referral``."""
    ws = em.ws
    company = introducer.company if role == COLLEAGUE else _company(rng, ws, 0.5)
    home = home_platform(rng, ws, social_only=True)
    person = new_person(
        rng,
        ws,
        role,
        ts,
        home=home,
        extra_platforms=rng.choice((0, 1)),
        email=True,
        company=company,
    )
    key = "e" if rng.random() < 0.4 else "h:" + home
    person.start(key, ts)
    body: Event = {"introducer": em.any_ref(introducer, ts), "person": em.ref(person, key)}
    em.emit(ts, "introduction", "mail-gmail" if key == "e" else ws.crm_source, body)
    stop = ts + rng.randint(120, 700) * DAY
    person.start("e", ts + rng.randint(HOUR, 5 * DAY))
    converse(em, rng, person, home, ts + rng.randint(1, 30) * DAY, stop, CONVERSATION_MIX, 0.4)
    for platform in list(person.handles)[1:]:
        converse(
            em, rng, person, platform, ts + rng.randint(30, 200) * DAY, stop, CONVERSATION_MIX, 0.3
        )
    _crm(em, rng, person, ts + rng.randint(2, 60) * DAY, role)
    offline(em, rng, person, ts + HOUR, stop, 1.5)
    if rng.random() < 0.15:
        _introductions(em, rng, person, ts + 30 * DAY, stop, depth)
    em.emit_identity(person)
    return person


def asked(em: Emitter, rng: random.Random, ws: Workspace, arrival: int) -> Person:
    """Someone we mostly ask things of: follows and DMs that ask, few gives, little back."""
    home = home_platform(rng, ws, social_only=True)
    company = _company(rng, ws, 0.4)
    person = new_person(
        rng, ws, ASKED, arrival, home=home, email=rng.random() < 0.5, company=company
    )
    own = ws.own_on(home)
    handle = person.handles[home]
    prospect = rng.random() < 0.4
    first = arrival + (HOUR if prospect else 0)
    person.start("h:" + home, first)
    em.social(first, own, handle, OUTBOUND, "follow", "neutral")
    stop = arrival + rng.randint(30, 400) * DAY
    span = stop - first
    for _ in range(rng.randint(1, 4)):
        ts = first + MINUTE + int(rng.random() * span)
        em.social(ts, own, handle, OUTBOUND, "dm", "ask")
        if rng.random() < 0.25:
            em.social(ts + rng.randint(HOUR, 3 * DAY), own, handle, INBOUND, "dm")
    if rng.random() < 0.15:
        ref = f"{home}/{handle}/status/{rng.randrange(10**9)}"
        em.social(
            first + int(rng.random() * span),
            own,
            handle,
            OUTBOUND,
            "like",
            "neutral",
            content_ref=ref,
        )
    if person.email is not None:
        person.start("e", first + DAY)
        if rng.random() < 0.5:
            _email(em, rng, person, first + DAY + int(rng.random() * span), "ask")
    if prospect:
        _crm(em, rng, person, arrival, ASKED)
    em.emit_identity(person)
    return person
