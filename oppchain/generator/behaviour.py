"""Social behaviour: our posts, strangers, followers, rings and pods."""

from __future__ import annotations

import random

from oppchain.generator.common import DAY, HASHTAGS, HOUR, MINUTE, daytime, next_friday, poisson
from oppchain.generator.emit import INBOUND, OUTBOUND, Emitter
from oppchain.generator.population import (
    FOLLOWER,
    PASSERBY,
    POD,
    RING,
    OwnAccount,
    Person,
    Workspace,
    home_platform,
    new_person,
)

# (direction, action, intended intent, mean days between two such acts)
Mix = tuple[tuple[str, str, str | None, float], ...]
FOLLOWER_MIX: Mix = (
    (INBOUND, "like", None, 36.0),
    (INBOUND, "reply", None, 180.0),
    (INBOUND, "share", "give", 280.0),
    (INBOUND, "mention", None, 440.0),
    (INBOUND, "dm", "ask", 1200.0),
    (OUTBOUND, "reply", "give", 220.0),
    (OUTBOUND, "like", "neutral", 160.0),
    (OUTBOUND, "share", "give", 440.0),
    (OUTBOUND, "recommend", "give", 800.0),
    (OUTBOUND, "dm", "ask", 2000.0),
)
CONVERSATION_MIX: Mix = (
    (INBOUND, "like", None, 40.0),
    (INBOUND, "reply", None, 72.0),
    (INBOUND, "dm", None, 120.0),
    (INBOUND, "mention", "give", 240.0),
    (INBOUND, "share", "give", 200.0),
    (INBOUND, "recommend", "give", 960.0),
    (OUTBOUND, "reply", "give", 80.0),
    (OUTBOUND, "dm", "neutral", 120.0),
    (OUTBOUND, "like", "neutral", 80.0),
    (OUTBOUND, "share", "give", 180.0),
    (OUTBOUND, "recommend", "give", 480.0),
    (OUTBOUND, "mention", "give", 360.0),
    (OUTBOUND, "dm", "ask", 960.0),
)


def active_campaign(ws: Workspace, platform: str, ts: int) -> str | None:
    for campaign in ws.campaigns:
        if campaign.platform == platform and campaign.start <= ts < campaign.end:
            return campaign.name
    return None


def posts(em: Emitter, rng: random.Random, ws: Workspace, per_day: float) -> None:
    """Our own posts; a broadcast-only account posts several times as often."""
    for own in ws.own:
        rate = per_day * (3.0 if own.broadcast_only else 1.0)
        for k, ts in enumerate(poisson(rng, ws.start, ws.end, DAY / rate, cap=10**7)):
            ts = daytime(rng, ts)
            if own.posts and ts < own.posts[-1]:
                ts = own.posts[-1] + 7 * MINUTE
            ref = f"{own.platform}/{own.handle}/posts/{k + 1}"
            own.posts.append(ts)
            own.post_refs.append(ref)
            tags = rng.sample(HASHTAGS, rng.randint(0, 3))
            campaign = active_campaign(ws, own.platform, ts)
            if campaign is not None and rng.random() < 0.5:
                tags.append(campaign)
            em.social(ts, own, None, OUTBOUND, "post", content_ref=ref, hashtags=tags)


def act(
    em: Emitter,
    rng: random.Random,
    person: Person,
    own: OwnAccount,
    ts: int,
    direction: str,
    action: str,
    intended: str | None,
) -> None:
    """One social act between ``person`` and our account ``own``."""
    handle = person.handles[own.platform]
    ref: str | None = None
    tags: list[str] | None = None
    if direction == INBOUND and action in ("like", "share", "reply"):
        ref = em.latest_post(own, ts)
    elif direction == OUTBOUND and action in ("like", "share", "reply"):
        ref = f"{own.platform}/{handle}/status/{rng.randrange(10**9)}"
    elif action == "recommend":
        tags = ["followfriday"] if own.platform == "x" else ["recommended"]
    em.social(ts, own, handle, direction, action, intended, content_ref=ref, hashtags=tags)


def converse(
    em: Emitter,
    rng: random.Random,
    person: Person,
    platform: str,
    start: int,
    end: int,
    mix: Mix,
    factor: float = 1.0,
) -> None:
    """A stretch of back-and-forth on one platform, at ``factor`` times the mix's pace."""
    own = em.ws.own_on(platform)
    person.start("h:" + platform, start)
    end = min(end, em.ws.end)
    for direction, action, intended, gap in mix:
        if own.broadcast_only and (direction == OUTBOUND or action == "dm"):
            continue
        for ts in poisson(rng, start, end, gap * DAY / factor, cap=60):
            if action == "recommend":
                ts = max(start, next_friday(rng, ts))
            act(em, rng, person, own, ts, direction, action, intended)


def passerby(em: Emitter, rng: random.Random, ws: Workspace, arrival: int) -> Person:
    """A first touch and maybe a few more: most strangers never come back."""
    person = new_person(rng, ws, PASSERBY, arrival)
    own = ws.own_on(person.home)
    person.start("h:" + own.platform, arrival)
    action = rng.choices(("follow", "like", "share", "mention"), (35, 45, 10, 10))[0]
    campaign = active_campaign(ws, own.platform, arrival)
    handle = person.handles[own.platform]
    ref = em.latest_post(own, arrival) if action in ("like", "share") else None
    em.social(
        arrival,
        own,
        handle,
        INBOUND,
        action,
        campaign=campaign if rng.random() < 0.6 else None,
        content_ref=ref,
    )
    for _ in range(rng.choice((0, 0, 0, 1, 1, 2, 3))):
        ts = arrival + int(rng.expovariate(1 / (20 * DAY))) + MINUTE
        act(em, rng, person, own, ts, INBOUND, "like", None)
    if not own.broadcast_only and rng.random() < 0.25:
        back = "follow" if action == "follow" else "like"
        act(em, rng, person, own, arrival + rng.randint(HOUR, 3 * DAY), OUTBOUND, back, "neutral")
    if action == "follow" and rng.random() < 0.06:
        ts = arrival + rng.randint(DAY, 180 * DAY)
        em.social(ts, own, handle, INBOUND, "unfollow")
    return person


def follower(em: Emitter, rng: random.Random, ws: Workspace, arrival: int) -> Person:
    """The third circle: follows, likes and talks for months; sometimes on two platforms."""
    cross = rng.random() < 0.12
    home = home_platform(rng, ws, social_only=True)
    person = new_person(rng, ws, FOLLOWER, arrival, home=home, extra_platforms=int(cross))
    own = ws.own_on(home)
    stop = arrival + rng.randint(60, 540) * DAY
    person.start("h:" + home, arrival)
    campaign = active_campaign(ws, home, arrival)
    em.social(
        arrival,
        own,
        person.handles[home],
        INBOUND,
        "follow",
        campaign=campaign if rng.random() < 0.5 else None,
    )
    if rng.random() < 0.5:
        act(
            em,
            rng,
            person,
            own,
            arrival + rng.randint(DAY, 10 * DAY),
            OUTBOUND,
            "follow",
            "neutral",
        )
    converse(em, rng, person, home, arrival + MINUTE, stop, FOLLOWER_MIX)
    for platform in list(person.handles)[1:]:
        second = arrival + rng.randint(20, 200) * DAY
        converse(em, rng, person, platform, second, stop, FOLLOWER_MIX, 0.5)
    if rng.random() < 0.1:
        em.social(stop, own, person.handles[home], INBOUND, "unfollow")
    em.emit_identity(person)
    return person


def ring(em: Emitter, rng: random.Random, ws: Workspace) -> None:
    """Follow-for-follow: they follow and like, we follow back within hours, then silence."""
    choices = [a for a in ws.conversational if a.platform in ("linkedin", "instagram", "x")]
    own = rng.choice(choices)
    formed = ws.start + int(rng.random() * (ws.end - ws.start) * 0.9)
    members: list[str] = []
    for _ in range(rng.randint(8, 24)):
        ts = formed + rng.randint(0, 3 * DAY)
        person = new_person(rng, ws, RING, ts, home=own.platform)
        members.append(person.pid)
        person.start("h:" + own.platform, ts)
        handle = person.handles[own.platform]
        em.social(ts, own, handle, INBOUND, "follow")
        for k in range(rng.randint(1, 2)):
            like = ts + (k + 1) * rng.randint(MINUTE, 20 * MINUTE)
            em.social(like, own, handle, INBOUND, "like", content_ref=em.latest_post(own, like))
        back = ts + rng.randint(5 * MINUTE, 6 * HOUR)
        em.social(back, own, handle, OUTBOUND, "follow", "neutral")
    ws.rings.append((own.handle, members))


def pod(em: Emitter, rng: random.Random, ws: Workspace) -> None:
    """An engagement pod: the same handles like (and share) each of our posts within minutes."""
    choices = [a for a in ws.conversational if a.platform in ("instagram", "linkedin")]
    own = rng.choice(choices)
    joined = ws.start + int(rng.random() * (ws.end - ws.start) * 0.5)
    left = joined + rng.randint(90, 540) * DAY
    members = [
        new_person(rng, ws, POD, joined, home=own.platform) for _ in range(rng.randint(5, 10))
    ]
    for person in members:
        person.start("h:" + own.platform, joined)
    for post_ts, ref in zip(own.posts, own.post_refs, strict=True):
        if not joined <= post_ts < left:
            continue
        for person in members:
            handle = person.handles[own.platform]
            if rng.random() < 0.95:
                like = post_ts + rng.randint(MINUTE, 15 * MINUTE)
                em.social(like, own, handle, INBOUND, "like", content_ref=ref)
            if rng.random() < 0.4:
                share = post_ts + rng.randint(2 * MINUTE, 30 * MINUTE)
                em.social(share, own, handle, INBOUND, "share", content_ref=ref)
    ws.pods.append((own.handle, [p.pid for p in members]))
