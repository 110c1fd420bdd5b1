"""CRM side: leads, opportunities and their fate, revenue after a contract, costs."""

from __future__ import annotations

import random

from oppchain.generator.common import DAY, HOUR, WEEK, money
from oppchain.generator.emit import Emitter, Event
from oppchain.generator.population import Person, Workspace

# kind -> (type, weight, low value, high value)
TYPES: dict[str, tuple[tuple[str, float, float, float], ...]] = {
    "monetary": (
        ("deal", 70.0, 5_000.0, 120_000.0),
        ("partnership", 15.0, 10_000.0, 80_000.0),
        ("investment", 5.0, 50_000.0, 500_000.0),
        ("hire", 10.0, 20_000.0, 60_000.0),
    ),
    "social": (
        ("collaboration", 35.0, 1_000.0, 20_000.0),
        ("press", 25.0, 2_000.0, 15_000.0),
        ("speaking", 20.0, 1_000.0, 8_000.0),
        ("introduction", 20.0, 500.0, 5_000.0),
    ),
    "personal": (
        ("introduction", 35.0, 500.0, 3_000.0),
        ("collaboration", 25.0, 500.0, 5_000.0),
        ("hire", 20.0, 5_000.0, 30_000.0),
        ("speaking", 20.0, 500.0, 3_000.0),
    ),
}
STAGES = {
    "monetary": ("qualified", "discovery", "proposal", "negotiation"),
    "social": ("discussing", "scoping", "agreed_in_principle"),
    "personal": ("discussing", "agreed_in_principle"),
}
LOST_REASONS = ("no_budget", "timing", "competitor", "no_response", "not_a_fit")


def lead(em: Emitter, rng: random.Random, person: Person, ts: int) -> None:
    assert person.contact_id is not None
    ws = em.ws
    body: Event = {"lead_id": f"{ws.name}-l{ws.next_id():07d}", "contact_id": person.contact_id}
    if person.company is not None:
        body["account_id"] = person.company.account_id
    campaigns = [c.name for c in ws.campaigns if c.start <= ts < c.end + 8 * WEEK]
    if campaigns and rng.random() < 0.5:
        body["campaign"] = campaigns[0]
    em.emit(ts, "lead_created", ws.crm_source, body)


def make_contact(person: Person, ts: int) -> None:
    """Plan the person's CRM contact to exist from ``ts`` (emitted by ``emit_identity``)."""
    if person.contact_id is None:
        person.contact_id = person.pid.replace("-p", "-c", 1)
    person.start("c", ts)


def opportunity(
    em: Emitter, rng: random.Random, person: Person, created: int, win: float, lose: float
) -> None:
    """An opportunity from creation through its stages to won, lost or still open."""
    assert person.contact_id is not None
    ws = em.ws
    company = person.company
    if company is not None:
        kind = rng.choices(("monetary", "social", "personal"), (80, 15, 5))[0]
    else:
        kind = rng.choices(("monetary", "social", "personal"), (20, 50, 30))[0]
    options = TYPES[kind]
    kind_type, _, low, high = rng.choices(options, [o[1] for o in options])[0]
    value = money(rng.uniform(low, high))
    currency = company.currency if company is not None else "USD"
    opp_id = f"{ws.name}-o{ws.next_id():07d}"
    body: Event = {
        "opportunity_id": opp_id,
        "contact_id": person.contact_id,
        "kind": kind,
        "opportunity_type": kind_type,
        "amount": value,
        "currency": currency,
    }
    if company is not None:
        body["account_id"] = company.account_id
    src = ws.crm_source
    if em.emit(created, "opportunity_created", src, body) is None:
        return
    ts = created
    stages = STAGES[kind]
    for stage in stages[: rng.randint(1, len(stages))]:
        ts += rng.randint(5, 60) * DAY + rng.randint(0, 8 * HOUR)
        changed = {"opportunity_id": opp_id, "stage": stage}
        if rng.random() < 0.7:
            changed["contact_id"] = person.contact_id
        em.emit(ts, "opportunity_stage_changed", src, changed)
    ts += rng.randint(7, 90) * DAY + rng.randint(0, 8 * HOUR)
    r = rng.random()
    if r < win:
        amount = money(value * rng.uniform(0.85, 1.1))
        signed = {
            "opportunity_id": opp_id,
            "contact_id": person.contact_id,
            "amount": amount,
            "currency": currency,
        }
        emitted = em.emit(ts, "contract_signed", src, signed) is not None
        if emitted and company is not None and kind == "monetary" and kind_type != "hire":
            revenue(em, rng, person, opp_id, ts, amount, currency)
    elif r < win + lose:
        lost: Event = {"opportunity_id": opp_id, "contact_id": person.contact_id}
        if rng.random() < 0.8:
            lost["reason"] = rng.choice(LOST_REASONS)
        em.emit(ts, "opportunity_lost", src, lost)


def revenue(
    em: Emitter,
    rng: random.Random,
    person: Person,
    opp_id: str,
    signed: int,
    amount: float,
    currency: str,
) -> None:
    """Monthly revenue after a contract, for months to years: the lifetime value."""
    assert person.company is not None
    months = rng.randint(3, 36)
    monthly = money(amount / 12 * rng.uniform(0.8, 1.2))
    for m in range(1, months + 1):
        ts = signed + m * 30 * DAY + rng.randint(0, 2 * DAY)
        body: Event = {
            "account_id": person.company.account_id,
            "amount": monthly,
            "currency": currency,
        }
        if rng.random() < 0.6:
            body["opportunity_id"] = opp_id
        if rng.random() < 0.3:
            body["contact_id"] = person.contact_id
        if em.emit(ts, "revenue_recorded", "billing-stripe", body) is None:
            return


def costs(em: Emitter, rng: random.Random, ws: Workspace) -> None:
    """Ad spend per campaign and week; time per platform and month; tooling per month."""
    for campaign in ws.campaigns:
        ts = campaign.start
        while ts < campaign.end:
            body: Event = {
                "cost_kind": "ad_spend",
                "amount": money(rng.uniform(200, 3000)),
                "currency": "USD",
                "platform": campaign.platform,
                "campaign": campaign.name,
            }
            em.emit(ts, "cost_recorded", f"ads-{campaign.platform}", body)
            ts += WEEK
    month = ws.start + 28 * DAY
    while month < ws.end:
        for own in ws.own:
            hours = rng.uniform(2, 30) if own.broadcast_only else rng.uniform(10, 60)
            body = {
                "cost_kind": "time",
                "amount": money(hours * 55),
                "currency": "USD",
                "platform": own.platform,
            }
            em.emit(month, "cost_recorded", "finance-timesheets", body)
        tooling = {"cost_kind": "tooling", "amount": money(rng.uniform(99, 499)), "currency": "USD"}
        em.emit(month + HOUR, "cost_recorded", "finance-invoices", tooling)
        month += 30 * DAY
