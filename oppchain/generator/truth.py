"""The truth of a generated world, computed from the events actually emitted.

Identity resolution and chains follow the pipeline's definitions: keys are
linked by ``contact_upserted`` and ``identity_linked``; an opportunity's
scope is its account's persons (or its contact's person); its path is every
touch within 730 days before its end, newest 200, ordered by
``(occurred_at, event_id)``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from orjson import loads

from oppchain.generator.common import LOOKBACK, MAX_PATH, iso
from oppchain.generator.emit import Entry, Event
from oppchain.generator.population import POD, RING, Workspace
from schemas.keys import contact_key, handle_key

TOUCH_CHANNEL = {
    "introduction": "referral",
    "meeting": "offline",
    "email_exchanged": "email",
    "help_given": "direct",
}
_ACCOUNT_FACTS = frozenset(("contact_upserted", "lead_created", "opportunity_created"))
CLEAR_EMAIL = "email-clear:"  # truth names emails in clear; the pipeline sees a salted hash


def _platform(value: str) -> str:
    return "x" if value.lower() == "twitter" else value


def ref_key(ref: dict[str, Any]) -> str:
    """The one key a generated PersonRef names."""
    if "contact_id" in ref:
        return contact_key(ref["contact_id"])
    if "email" in ref:
        return CLEAR_EMAIL + str(ref["email"]).strip().lower()
    return handle_key(_platform(ref["platform"]), ref["handle"])


def event_keys(event: Event) -> list[str]:
    """Every identity key an event names."""
    kind = event["event_type"]
    if kind == "social_interaction":
        handle = event.get("handle")
        return [handle_key(_platform(event["platform"]), handle)] if handle else []
    if kind == "contact_upserted":
        keys = [contact_key(event["contact_id"])]
        keys += [
            handle_key(_platform(h["platform"]), h["handle"]) for h in event.get("handles", ())
        ]
        if "email" in event:
            keys.append(CLEAR_EMAIL + event["email"].strip().lower())
        return keys
    if kind == "identity_linked":
        return [ref_key(event["a"]), ref_key(event["b"])]
    if kind == "introduction":
        return [ref_key(event["introducer"]), ref_key(event["person"])]
    if "person" in event:
        return [ref_key(event["person"])]
    if "contact_id" in event:
        return [contact_key(event["contact_id"])]
    return []


def touch_channel(event: Event) -> str | None:
    kind = event["event_type"]
    if kind == "social_interaction":
        if event.get("handle") and event["action"] not in ("post", "unfollow"):
            return _platform(event["platform"])
        return None
    return TOUCH_CHANNEL.get(kind)


class _Links:
    """Union-find over identity keys."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        parent = self.parent
        root = key
        while parent.get(root, root) != root:
            root = parent[root]
        while key != root:
            key, parent[key] = parent[key], root
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _money(values: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 2) for k, v in sorted(values.items())}


def compute(
    entries: list[Entry], workspaces: list[Workspace], params: dict[str, Any]
) -> dict[str, Any]:
    """Truth from the emitted valid events (stream order); bad and late parts are added later."""
    links = {ws.name: _Links() for ws in workspaces}
    owner: dict[tuple[str, str], str] = {}
    persons = {p.pid: p for ws in workspaces for p in ws.persons}
    ws_of = {p.pid: ws.name for ws in workspaces for p in ws.persons}
    for ws in workspaces:
        for p in ws.persons:
            for platform, handle in p.handles.items():
                owner[ws.name, handle_key(platform, handle)] = p.pid
            if p.contact_id is not None:
                owner[ws.name, contact_key(p.contact_id)] = p.pid
            if p.email is not None:
                owner[ws.name, CLEAR_EMAIL + p.email.lower()] = p.pid
    seen: dict[str, set[str]] = defaultdict(set)
    # (workspace, key) -> touches (time, event id, channel), in stream order
    touches: dict[tuple[str, str], list[tuple[int, str, str]]] = defaultdict(list)
    members: dict[tuple[str, str], set[str]] = defaultdict(set)
    opps: dict[str, dict[str, Any]] = {}
    milestones: dict[str, list[int]] = defaultdict(list)
    revenue: dict[str, dict[str, Any]] = {}
    cost: dict[str, dict[str, Any]] = {}
    intended_counts: Counter[tuple[str, str]] = Counter()
    explicit_counts: Counter[tuple[str, str]] = Counter()
    by_type: Counter[str] = Counter()
    by_ws: Counter[str] = Counter()
    for _, _, _, ts, payload, intended, _ in entries:
        event = loads(payload)
        kind = event["event_type"]
        wsn = event["workspace"]
        by_type[kind] += 1
        by_ws[wsn] += 1
        if intended is not None:
            intended_counts[wsn, intended] += 1
        if kind == "social_interaction":  # the bulk: one handle, maybe a touch
            if "handle" not in event:
                continue
            handle = event["handle"]
            platform = event["platform"]
            key = handle_key("x" if platform == "twitter" else platform, handle)
            if event["action"] != "unfollow":
                touches[wsn, key].append((ts, event["event_id"], key[: key.index(":")]))
            else:
                pid = owner.get((wsn, key))
                if pid is not None:
                    seen[pid].add(key)
            if "intent" in event and event["direction"] == "outbound":
                explicit_counts[wsn, event["intent"]] += 1
            continue
        keys = event_keys(event)
        for key in keys:
            pid = owner.get((wsn, key))
            if pid is not None:
                seen[pid].add(key)
        if kind in ("contact_upserted", "identity_linked"):
            for key in keys[1:]:
                links[wsn].union(keys[0], key)
        if "account_id" in event and kind in _ACCOUNT_FACTS:  # the contact is at the account
            members[wsn, event["account_id"]].add(contact_key(event["contact_id"]))
        channel = TOUCH_CHANNEL.get(kind)
        if channel is not None:
            touches[wsn, keys[-1]].append((ts, event["event_id"], channel))
        if event.get("direction") == "outbound":
            if "intent" in event:
                explicit_counts[wsn, event["intent"]] += 1
            elif kind == "help_given":
                explicit_counts[wsn, "give"] += 1
        if kind == "opportunity_created":
            opps[event["opportunity_id"]] = {
                "workspace": wsn,
                "contact_id": event["contact_id"],
                "person": owner.get((wsn, contact_key(event["contact_id"]))),
                "account_id": event.get("account_id"),
                "kind": event["kind"],
                "type": event["opportunity_type"],
                "value": event["amount"],
                "currency": event["currency"],
                "status": "open",
                "created_at": event["occurred_at"],
                "closed_at": None,
                "won_amount": None,
                "stages": [],
            }
            milestones[event["opportunity_id"]].append(ts)
        elif kind == "opportunity_stage_changed":
            opps[event["opportunity_id"]]["stages"].append(event["stage"])
            milestones[event["opportunity_id"]].append(ts)
        elif kind in ("contract_signed", "opportunity_lost"):
            opp = opps[event["opportunity_id"]]
            opp["status"] = "won" if kind == "contract_signed" else "lost"
            opp["closed_at"] = event["occurred_at"]
            opp["won_amount"] = event.get("amount")
            opp["_end"] = ts
        elif kind == "revenue_recorded":
            acct = revenue.setdefault(
                event["account_id"],
                {"workspace": wsn, "currency": event["currency"], "amount": 0.0, "events": 0},
            )
            acct["amount"] += event["amount"]
            acct["events"] += 1
        elif kind == "cost_recorded":
            c = cost.setdefault(
                wsn, {"total": 0.0, "by_platform": {}, "by_campaign": {}, "by_kind": {}}
            )
            amount = event["amount"]
            c["total"] += amount
            for field, name in (
                ("by_kind", event["cost_kind"]),
                ("by_platform", event.get("platform")),
                ("by_campaign", event.get("campaign")),
            ):
                if name is not None:
                    c[field][name] = c[field].get(name, 0.0) + amount

    groups: dict[tuple[str, str], list[tuple[int, str, str]]] = defaultdict(list)
    first_touch: dict[str, tuple[int, str, str]] = {}
    for (wsn, key), found in touches.items():
        groups[wsn, links[wsn].find(key)].extend(found)
        pid = owner.get((wsn, key))
        if pid is not None:
            seen[pid].add(key)
            first = min(found)
            if pid not in first_touch or first < first_touch[pid]:
                first_touch[pid] = first

    for opp_id, opp in opps.items():
        wsn = opp["workspace"]
        scope = {contact_key(opp["contact_id"])}
        if opp["account_id"] is not None:
            scope |= members.get((wsn, opp["account_id"]), set())
        roots = sorted({links[wsn].find(k) for k in scope})
        end = opp.pop("_end", None) or max(milestones[opp_id])
        path = sorted(
            t for r in roots for t in groups.get((wsn, r), ()) if end - LOOKBACK <= t[0] <= end
        )
        path = path[-MAX_PATH:]
        opp["chain"] = [t[1] for t in path]
        opp["channels"] = [t[2] for t in path]

    truth_persons: dict[str, Any] = {}
    split = 0
    for pid in sorted(seen):
        p = persons[pid]
        keys = sorted(seen[pid])
        if len({links[ws_of[pid]].find(k) for k in keys}) > 1:
            split += 1
        truth_persons[pid] = {
            "workspace": ws_of[pid],
            "role": p.role,
            "keys": [k for k in keys if not k.startswith(CLEAR_EMAIL)],
            "emails": [k[len(CLEAR_EMAIL) :] for k in keys if k.startswith(CLEAR_EMAIL)],
            "contact_id": p.contact_id if contact_key(p.contact_id or "") in seen[pid] else None,
            "account_id": p.company.account_id if p.company is not None else None,
            "first_touch": first_touch[pid][1] if pid in first_touch else None,
            "first_touch_at": iso(first_touch[pid][0]) if pid in first_touch else None,
        }

    def member_keys(pids: list[str]) -> list[str]:
        out = []
        for pid in pids:
            if pid in seen:
                p = persons[pid]
                out.append(handle_key(p.home, p.handles[p.home]))
        return out

    rings: dict[str, list[dict[str, Any]]] = {}
    pods: dict[str, list[dict[str, Any]]] = {}
    for ws in workspaces:
        for target, groups_of, role in ((rings, ws.rings, RING), (pods, ws.pods, POD)):
            target[ws.name] = []
            for own_handle, pids in groups_of:
                keys = member_keys(pids)
                if keys:
                    own = next(a for a in ws.own if a.handle == own_handle)
                    target[ws.name].append(
                        {"own_account": handle_key(own.platform, own.handle), "members": keys}
                    )
            assert all(persons[pid].role == role for _, pids in groups_of for pid in pids)

    contracts = by_type["contract_signed"]
    first_touches = len(first_touch)
    ft_by_ws = Counter(truth_persons[pid]["workspace"] for pid in first_touch)
    won_by_ws = Counter(o["workspace"] for o in opps.values() if o["status"] == "won")
    return {
        "params": params,
        "counts": {"by_event_type": dict(sorted(by_type.items())), "valid": len(entries)},
        "workspaces": {
            ws.name: {
                "events": by_ws[ws.name],
                "crm_source": ws.crm_source,
                "own_accounts": [
                    {
                        "platform": a.platform,
                        "handle": a.handle,
                        "key": handle_key(a.platform, a.handle),
                        "broadcast_only": a.broadcast_only,
                    }
                    for a in ws.own
                ],
                "campaigns": [c.name for c in ws.campaigns],
                "first_touches": ft_by_ws[ws.name],
                "contracts": won_by_ws[ws.name],
            }
            for ws in workspaces
        },
        "persons": truth_persons,
        "split_persons": split,
        "opportunities": dict(sorted(opps.items())),
        "rings": rings,
        "pods": pods,
        "broadcast_only_accounts": {
            ws.name: [handle_key(a.platform, a.handle) for a in ws.own if a.broadcast_only]
            for ws in workspaces
        },
        "gives": {
            ws.name: {
                "explicit": explicit_counts[ws.name, "give"],
                "intended": intended_counts[ws.name, "give"],
            }
            for ws in workspaces
        },
        "asks": {
            ws.name: {
                "explicit": explicit_counts[ws.name, "ask"],
                "intended": intended_counts[ws.name, "ask"],
            }
            for ws in workspaces
        },
        "first_touches": first_touches,
        "contracts": contracts,
        "conversion_one_in": round(first_touches / contracts, 1) if contracts else None,
        "revenue": {a: {**v, "amount": round(v["amount"], 2)} for a, v in sorted(revenue.items())},
        "cost": {
            w: {
                "total": round(c["total"], 2),
                **{f: _money(c[f]) for f in ("by_platform", "by_campaign", "by_kind")},
            }
            for w, c in sorted(cost.items())
        },
    }
