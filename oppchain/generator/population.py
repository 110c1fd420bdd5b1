"""Who lives in a simulated workspace: own accounts, campaigns, companies, persons."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from oppchain.generator.common import (
    COMPANY_SUFFIXES,
    COMPANY_WORDS,
    DAY,
    FIRST_NAMES,
    INDUSTRIES,
    LAST_NAMES,
    WEBMAIL,
    WEEK,
    WORKSPACES,
)

CONVERSATIONAL = ("instagram", "mastodon", "bluesky", "tiktok")
BROADCAST = ("facebook", "youtube")
HOME_WEIGHT = {
    "x": 30.0,
    "linkedin": 30.0,
    "instagram": 14.0,
    "mastodon": 6.0,
    "bluesky": 8.0,
    "tiktok": 5.0,
    "facebook": 5.0,
    "youtube": 4.0,
}

# Roles of simulated persons.
PASSERBY = "passerby"  # a first touch or a few likes, then gone
FOLLOWER = "follower"  # the third circle: engaged over months, rarely more
RELATIONSHIP = "relationship"  # conversation across platforms, meetings, gives
ASKED = "asked"  # someone we mostly ask things of
INTRODUCED = "introduced"  # met through an introduction (channel referral)
COLLEAGUE = "colleague"  # introduced by a contact from the same company
RING = "ring"  # follow-for-follow ring member
POD = "pod"  # engagement pod member


@dataclass(slots=True)
class OwnAccount:
    platform: str
    handle: str
    broadcast_only: bool
    posts: list[int] = field(default_factory=list)  # post times, ascending
    post_refs: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Campaign:
    name: str
    platform: str
    start: int
    end: int


@dataclass(slots=True)
class Company:
    account_id: str
    name: str
    domain: str
    industry: str
    currency: str
    created: int | None = None  # when account_upserted was emitted


@dataclass(slots=True)
class Person:
    pid: str
    role: str
    handles: dict[str, str]  # platform -> canonical handle, home platform first
    email: str | None
    company: Company | None
    arrival: int
    starts: dict[str, int] = field(default_factory=dict)  # key id -> first use
    contact_id: str | None = None
    contact_listing: float = 0.6  # chance the CRM lists a not yet used handle

    @property
    def home(self) -> str:
        return next(iter(self.handles))

    def active(self, ts: int) -> list[str]:
        """Key ids usable at ``ts`` (``h:<platform>``, ``e``, ``c``): linked before ``ts``."""
        return [k for k, start in self.starts.items() if start < ts]

    def start(self, key: str, ts: int) -> int:
        """Plan ``key`` to be usable from ``ts`` (earliest wins); return the start."""
        current = self.starts.get(key)
        if current is None or ts < current:
            self.starts[key] = ts
            return ts
        return current


@dataclass(slots=True)
class Workspace:
    name: str
    index: int
    crm_source: str
    start: int
    end: int
    own: list[OwnAccount]
    campaigns: list[Campaign]
    persons: list[Person] = field(default_factory=list)
    companies: list[Company] = field(default_factory=list)
    rings: list[tuple[str, list[str]]] = field(default_factory=list)  # own handle, pids
    pods: list[tuple[str, list[str]]] = field(default_factory=list)
    counter: int = 0

    @property
    def conversational(self) -> list[OwnAccount]:
        return [a for a in self.own if not a.broadcast_only]

    def own_on(self, platform: str) -> OwnAccount:
        for account in self.own:
            if account.platform == platform:
                return account
        raise KeyError(platform)

    def next_id(self) -> int:
        self.counter += 1
        return self.counter


_OWN_STYLE = {
    "x": "{B}HQ",
    "linkedin": "{b}-inc",
    "instagram": "{b}.official",
    "mastodon": "{b}@mastodon.social",
    "bluesky": "{b}.bsky.social",
    "tiktok": "{b}_tok",
    "facebook": "{B}Page",
    "youtube": "{B}TV",
}


def workspace_name(index: int) -> str:
    if index < len(WORKSPACES):
        return WORKSPACES[index]
    return f"brand{index}"


def build_workspace(rng: random.Random, index: int, start: int, end: int) -> Workspace:
    name = workspace_name(index)
    platforms = ["x", "linkedin", *rng.sample(CONVERSATIONAL, rng.randint(1, 3))]
    broadcast = index == 0 or rng.random() < 0.5
    own = [
        OwnAccount(p, _OWN_STYLE[p].format(b=name, B=name.capitalize()), False) for p in platforms
    ]
    if broadcast:
        p = rng.choice(BROADCAST)
        own.append(OwnAccount(p, _OWN_STYLE[p].format(b=name, B=name.capitalize()), True))
    campaigns = []
    span = max(end - start, DAY)
    for k in range(rng.randint(3, 6)):
        c_start = start + int(rng.random() * span * 0.9)
        length = rng.randint(2, 16) * WEEK
        platform = rng.choice(platforms[:3])
        campaigns.append(
            Campaign(f"{name}-{platform}-c{k + 1}", platform, c_start, c_start + length)
        )
    campaigns.sort(key=lambda c: (c.start, c.name))
    crm = "crm-hubspot" if index % 2 == 0 else "crm-salesforce"
    return Workspace(name, index, crm, start, end, own, campaigns)


def _suffix(ws: Workspace, n: int) -> str:
    return f"{n}{chr(ord('a') + ws.index % 26)}{ws.index // 26 or ''}"


def _handle(rng: random.Random, platform: str, first: str, last: str, tag: str) -> str:
    style = rng.randrange(4)
    if style == 0:
        base = f"{first}{last}{tag}"
    elif style == 1:
        base = f"{first.lower()}_{last.lower()}{tag}"
    elif style == 2:
        base = f"{first[0]}{last}{tag}"
    else:
        base = f"{first.lower()}.{last.lower()}{tag}"
    if platform == "mastodon":
        return f"{base.replace('.', '_')}@{rng.choice(('mastodon.social', 'fosstodon.org'))}"
    if platform == "bluesky":
        return f"{base.replace('_', '-').replace('.', '-')}.bsky.social"
    return base


def home_platform(rng: random.Random, ws: Workspace, social_only: bool = False) -> str:
    accounts = ws.conversational if social_only else ws.own
    weights = [HOME_WEIGHT[a.platform] for a in accounts]
    return rng.choices([a.platform for a in accounts], weights)[0]


def new_person(
    rng: random.Random,
    ws: Workspace,
    role: str,
    arrival: int,
    *,
    home: str | None = None,
    extra_platforms: int = 0,
    email: bool = False,
    company: Company | None = None,
) -> Person:
    n = ws.next_id()
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    tag = _suffix(ws, n)
    home = home or home_platform(rng, ws)
    platforms = [home]
    others = [a.platform for a in ws.conversational if a.platform != home]
    rng.shuffle(others)
    platforms += others[:extra_platforms]
    handles = {p: _handle(rng, p, first, last, tag) for p in platforms}
    address = None
    if email:
        domain = company.domain if company is not None else rng.choice(WEBMAIL)
        address = f"{first.lower()}.{last.lower()}{tag}@{domain}"
    person = Person(f"{ws.name}-p{n:07d}", role, handles, address, company, arrival)
    ws.persons.append(person)
    return person


def new_company(rng: random.Random, ws: Workspace) -> Company:
    n = len(ws.companies) + 1
    name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_SUFFIXES)}"
    slug = name.lower().replace(" ", "")
    currency = rng.choices(("USD", "EUR", "GBP"), (0.75, 0.18, 0.07))[0]
    company = Company(
        f"{ws.name}-a{n:05d}",
        name,
        f"{slug}{n}.example",
        rng.choice(INDUSTRIES),
        currency,
    )
    ws.companies.append(company)
    return company
