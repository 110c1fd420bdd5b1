"""Analyst views: latest relationship rows, karma returns, funnels, cohorts, ROI."""

from __future__ import annotations

from sinks.spec import View

WON_CHAINS = (  # (workspace, opportunity_id) of the won chains
    "(workspace, opportunity_id) IN (SELECT workspace, opportunity_id "
    "FROM opportunity_chains_latest WHERE status = 'won')"
)


def _one_in_n(comment: str, first_touches: str) -> View:
    """1 in N per channel, from ``first_touches``: (workspace, person_id, first_channel)."""
    return View(
        "one_in_n_by_channel",
        comment,
        f"""
SELECT f.workspace AS workspace, f.first_channel AS channel,
    count() AS first_touches,
    countIf(w.contracts > 0) AS customers,
    sum(w.contracts) AS contracts_won,
    if(contracts_won > 0, round(first_touches / contracts_won, 1), NULL) AS one_in_n
FROM ({first_touches}) AS f
LEFT JOIN (
    SELECT workspace, person_id, countIf(status = 'won') AS contracts
    FROM opportunity_chains_latest GROUP BY workspace, person_id) AS w
    ON f.workspace = w.workspace AND f.person_id = w.person_id
GROUP BY workspace, channel
""",
    )


_VIEWS = (
    View(
        "relationships_latest",
        "Current relationship strength of every live person (merged-away ids left out).",
        "SELECT * FROM relationships FINAL WHERE merged_into = ''",
    ),
    View(
        "karma_ledger_latest",
        "Current row of every give and ask act with its returns.",
        "SELECT * FROM karma_ledger FINAL",
    ),
    View(
        "authenticity_flags_latest",
        "Flags in force: rings, pods and broadcast-only own accounts.",
        "SELECT * FROM authenticity_flags FINAL WHERE flagged",
    ),
    View(
        "karma_returns",
        "Which kinds of giving (and asking) were followed by opportunities, how often and "
        "after how long (days, median and p90).",
        """
SELECT workspace, intent, action, channel,
    count() AS acts,
    countIf(opportunities_after > 0) AS followed_by_opportunity,
    round(followed_by_opportunity / acts, 4) AS opportunity_rate,
    sum(opportunity_value_after) AS opportunity_value,
    quantileIf(0.5)(days_to_opportunity, days_to_opportunity IS NOT NULL) AS median_days,
    quantileIf(0.9)(days_to_opportunity, days_to_opportunity IS NOT NULL) AS p90_days,
    sum(introductions_after) AS introductions,
    sum(recommendations_after) AS recommendations
FROM karma_ledger_latest
GROUP BY workspace, intent, action, channel
""",
    ),
    View(
        "circles_funnel",
        "Circles funnel per workspace: reached (first touch) -> engaged (3+ touches) -> "
        "relationship (both directions, score >= 25) -> opportunity -> customer (won), "
        "with conversion rates and median days between stages.",
        """
WITH persons AS (
    SELECT workspace, person_id, touch_count, score, inbound_count, outbound_count
    FROM relationships_latest),
opps AS (
    SELECT workspace, person_id,
        min(opportunity_created_at) AS opportunity_at,
        minIf(closed_at, status = 'won') AS won_at,
        countIf(status = 'won') > 0 AS won,
        min(first_touch_at) AS first_at
    FROM opportunity_chains_latest GROUP BY workspace, person_id)
SELECT p.workspace AS workspace,
    count() AS reached,
    countIf(p.touch_count >= 3) AS engaged,
    countIf(p.inbound_count > 0 AND p.outbound_count > 0 AND p.score >= 25) AS relationship,
    countIf(o.person_id != '') AS opportunity,
    countIf(o.won) AS customer,
    round(engaged / reached, 4) AS engaged_rate,
    round(relationship / greatest(engaged, 1), 4) AS relationship_rate,
    round(opportunity / greatest(relationship, 1), 4) AS opportunity_rate,
    round(customer / greatest(opportunity, 1), 4) AS customer_rate,
    medianIf(dateDiff('second', o.first_at, o.opportunity_at) / 86400,
        o.person_id != '' AND o.first_at IS NOT NULL) AS median_days_to_opportunity,
    medianIf(dateDiff('second', o.opportunity_at, o.won_at) / 86400, o.won)
        AS median_days_opportunity_to_customer
FROM persons AS p LEFT JOIN opps AS o
    ON p.workspace = o.workspace AND p.person_id = o.person_id
GROUP BY workspace
""",
    ),
    View(
        "cohorts_first_touch_month",
        "Cohorts by month of first touch: persons, how many reached an opportunity and a "
        "contract, and the value won.",
        """
SELECT r.workspace AS workspace, toStartOfMonth(r.first_touch_at) AS cohort_month,
    count() AS persons,
    countIf(o.opportunities > 0) AS with_opportunity,
    countIf(o.won > 0) AS customers,
    sum(o.won_value) AS value_won
FROM relationships_latest AS r
LEFT JOIN (
    SELECT workspace, person_id, count() AS opportunities, countIf(status = 'won') AS won,
        sumIf(value, status = 'won') AS won_value
    FROM opportunity_chains_latest GROUP BY workspace, person_id) AS o
    ON r.workspace = o.workspace AND r.person_id = o.person_id
GROUP BY workspace, cohort_month
""",
    ),
    _one_in_n(
        "The 1-in-N rate: persons first touched on a channel per contract won from them.",
        """
    SELECT workspace, person_id, argMin(channel, (occurred_at, event_id)) AS first_channel
    FROM touchpoints WHERE person_id != '' GROUP BY workspace, person_id""",
    ),
    View(
        "time_to_close_percentiles",
        "Days from first touch to contract, percentiles per workspace and opportunity kind.",
        """
SELECT workspace, kind, count() AS won,
    quantile(0.5)(days_to_close) AS p50_days,
    quantile(0.75)(days_to_close) AS p75_days,
    quantile(0.9)(days_to_close) AS p90_days
FROM opportunity_chains_latest
WHERE status = 'won' AND days_to_close IS NOT NULL
GROUP BY workspace, kind
""",
    ),
    View(
        "account_ltv",
        "Lifetime value per account: revenue recorded, in its currency.",
        """
SELECT workspace, account_id, currency,
    sum(amount) AS lifetime_value, count() AS revenue_events,
    min(occurred_at) AS first_revenue_at, max(occurred_at) AS last_revenue_at
FROM crm_events FINAL
WHERE event_type = 'revenue_recorded'
GROUP BY workspace, account_id, currency
""",
    ),
    View(
        "roi_by_channel_campaign_model",
        "ROI per workspace x attribution model x channel x campaign: won value credited by "
        "the model against cost recorded for that platform and campaign. Amounts are summed "
        "as recorded (one currency per workspace assumed).",
        f"""
SELECT workspace, model, channel, campaign,
    sum(credited) AS credited_value, sum(cost) AS cost_value,
    if(cost_value > 0, round((credited_value - cost_value) / cost_value, 4), NULL) AS roi
FROM (
    SELECT workspace, model, channel, campaign, credit_value AS credited, 0 AS cost
    FROM attribution_credits_latest WHERE {WON_CHAINS}
    UNION ALL
    SELECT c.workspace AS workspace, m.model AS model, c.platform AS channel,
        c.campaign AS campaign, 0 AS credited, c.amount AS cost
    FROM (SELECT * FROM crm_events FINAL WHERE event_type = 'cost_recorded') AS c
    INNER JOIN (SELECT DISTINCT workspace, model FROM attribution_credits) AS m
        ON c.workspace = m.workspace)
GROUP BY workspace, model, channel, campaign
""",
    ),
    View(
        "opportunities_by_kind",
        "Opportunities counted and valued by kind (monetary, social, personal) and type, "
        "so non-monetary opportunities show.",
        """
SELECT workspace, kind, opportunity_type,
    count() AS opportunities, countIf(status = 'won') AS won,
    countIf(status = 'open') AS open, sum(value) AS total_value,
    sumIf(value, status = 'won') AS won_value
FROM opportunity_chains_latest
GROUP BY workspace, kind, opportunity_type
""",
    ),
)


def _ring_engagement_share(
    comment: str,
    touchpoints: str,
    flags: str = "workspace, own_account, subject_key",
    social: str = "platform != ''",
) -> View:
    return View(
        "ring_engagement_share",
        comment,
        f"""
SELECT t.workspace AS workspace,
    count() AS inbound_touches,
    countIf(f.subject_key != '') AS flagged_touches,
    round(flagged_touches / inbound_touches, 4) AS flagged_share
FROM (SELECT workspace, own_account AS own, identity_key
      FROM {touchpoints} WHERE direction = 'inbound' AND {social}) AS t
LEFT JOIN (SELECT {flags} FROM authenticity_flags_latest
           WHERE flag IN ('reciprocity_ring', 'engagement_pod')) AS f
    ON t.workspace = f.workspace AND t.identity_key = f.subject_key
GROUP BY workspace
""",
    )


# As migration 0004 created it (its text is part of that migration's checksum): a raw
# row stored twice (docs/decisions.md section 4) counted twice. 0008 replaces it.
RING_ENGAGEMENT_SHARE_0004 = _ring_engagement_share(
    "Share of inbound engagement coming from flagged rings and pods, per workspace, and "
    "the won value their touches were credited under linear attribution.",
    "touchpoints",
)
# As migration 0008 created it: each event once, but joined to every flag row of the
# handle (one per flag and own account), so a handle flagged twice counted each of its
# touches twice. 0009 replaces it.
RING_ENGAGEMENT_SHARE_0008 = _ring_engagement_share(
    "Share of inbound touches (each event once) coming from handles flagged in "
    "reciprocity rings or engagement pods, per workspace.",
    "touchpoints FINAL",
)
RING_ENGAGEMENT_SHARE = _ring_engagement_share(
    "Share of inbound touches (each event once) coming from handles flagged in "
    "reciprocity rings or engagement pods (for any own account), per workspace.",
    "touchpoints FINAL",
    "DISTINCT workspace, subject_key",
)

# Migration 0010: ``relationships`` has the channel of each live person's oldest touch.
# The latest view is made again (a view lists its columns when created) and 1 in N
# reads it: it grouped ``touchpoints`` by the person id each touch was written with,
# so a person merged later counted as two, first touched on two channels.
RELATIONSHIPS_LATEST = next(v for v in _VIEWS if v.name == "relationships_latest")
ONE_IN_N_BY_CHANNEL = _one_in_n(
    "The 1-in-N rate: persons (as stitched now) first touched on a channel per contract "
    "won from them. Relationship rows written before migration 0010 have no first "
    "channel ('') until the person is touched again.",
    """
    SELECT workspace, person_id, first_channel
    FROM relationships_latest WHERE touch_count > 0""",
)


def _replaced(name: str, comment: str, *edits: tuple[str, str]) -> View:
    """A view of 0004 made again with each (old, new) text replaced in its query."""
    select = next(v for v in _VIEWS if v.name == name).select
    for old, new in edits:
        if old not in select:
            raise ValueError(f"{name}: {old!r} not in its query")
        select = select.replace(old, new)
    return View(name, comment, select)


# Migration 0012: karma rows carry their opportunities' value per currency. The
# latest view is made again to show the new columns, and the returns add values up
# per currency: their one sum mixed currencies.
KARMA_LEDGER_LATEST = next(v for v in _VIEWS if v.name == "karma_ledger_latest")
KARMA_RETURNS = _replaced(
    "karma_returns",
    "Which kinds of giving (and asking) were followed by opportunities, how often, for "
    "how much per currency and after how long (days, median and p90). Values of rows "
    "written before migration 0012 are under the currency '' until the act's row is "
    "written again.",
    (
        "    sum(opportunity_value_after) AS opportunity_value,\n",
        """    sumMap(if(empty(opportunity_currencies) AND opportunities_after > 0,
        map('', opportunity_value_after),
        CAST(mapFromArrays(opportunity_currencies, opportunity_values), 'Map(String, Float64)')
    )) AS opportunity_value_by_currency,
""",
    ),
)

VIEWS_0004 = (*_VIEWS, RING_ENGAGEMENT_SHARE_0004)
_REPLACED = {v.name: v for v in (ONE_IN_N_BY_CHANNEL, KARMA_RETURNS)}
VIEWS = (*(_REPLACED.get(v.name, v) for v in _VIEWS), RING_ENGAGEMENT_SHARE)


# Migration 0013. The funnel's stages were not nested (a single meeting made a
# "relationship" without "engaged"): a person now counts in every stage up to the
# furthest reached, so each rate is at most 1.
_RELATIONSHIP = "p.inbound_count > 0 AND p.outbound_count > 0 AND p.score >= 25"
CIRCLES_FUNNEL = _replaced(
    "circles_funnel",
    "Circles funnel per workspace: reached (first touch) -> engaged (3+ touches) -> "
    "relationship (both directions, score >= 25) -> opportunity -> customer (won). A "
    "person counts in every stage up to the furthest reached; conversion rates between "
    "stages and median days between them.",
    (
        f"""    countIf(p.touch_count >= 3) AS engaged,
    countIf({_RELATIONSHIP}) AS relationship,""",
        f"""    countIf(p.touch_count >= 3 OR ({_RELATIONSHIP}) OR o.person_id != '') AS engaged,
    countIf(({_RELATIONSHIP}) OR o.person_id != '') AS relationship,""",
    ),
)
# Money is added up one currency at a time: a workspace's accounts pay in theirs.
OPPORTUNITIES_BY_KIND = _replaced(
    "opportunities_by_kind",
    "Opportunities counted and valued by kind (monetary, social, personal), type and "
    "currency, so non-monetary opportunities show.",
    (
        "SELECT workspace, kind, opportunity_type,",
        "SELECT workspace, kind, opportunity_type, currency,",
    ),
    (
        "GROUP BY workspace, kind, opportunity_type",
        "GROUP BY workspace, kind, opportunity_type, currency",
    ),
)
COHORTS_FIRST_TOUCH_MONTH = _replaced(
    "cohorts_first_touch_month",
    "Cohorts by month of first touch: persons, how many reached an opportunity and a "
    "contract, and the value won per currency.",
    ("    sum(o.won_value) AS value_won\n", "    sumMap(o.won_value) AS value_won_by_currency\n"),
    (
        "sumIf(value, status = 'won') AS won_value",
        "sumMapIf(map(toString(currency), value), status = 'won') AS won_value",
    ),
)
ROI_BY_CHANNEL_CAMPAIGN_MODEL = _replaced(
    "roi_by_channel_campaign_model",
    "ROI per workspace x attribution model x channel x campaign x currency: won value "
    "credited by the model against cost recorded for that platform and campaign.",
    (
        "SELECT workspace, model, channel, campaign,\n",
        "SELECT workspace, model, channel, campaign, currency,\n",
    ),
    (
        "SELECT workspace, model, channel, campaign, credit_value AS credited, 0 AS cost",
        "SELECT workspace, model, channel, campaign, toString(currency) AS currency,\n"
        "        credit_value AS credited, 0 AS cost",
    ),
    (
        "c.campaign AS campaign, 0 AS credited, c.amount AS cost",
        "c.campaign AS campaign, toString(c.currency) AS currency, 0 AS credited, c.amount AS cost",
    ),
    (
        "GROUP BY workspace, model, channel, campaign\n",
        "GROUP BY workspace, model, channel, campaign, currency\n",
    ),
)
# Inbound engagement is social acts: meetings and introductions carry the person's
# platform and an inbound direction, and were counted as engagement.
RING_ENGAGEMENT_SHARE_0013 = _ring_engagement_share(
    "Share of inbound social acts (each event once) coming from handles flagged in "
    "reciprocity rings or engagement pods (for any own account), per workspace.",
    "touchpoints FINAL",
    "DISTINCT workspace, subject_key",
    social="event_type = 'social_interaction'",
)
VIEWS_0013 = (
    CIRCLES_FUNNEL,
    OPPORTUNITIES_BY_KIND,
    COHORTS_FIRST_TOUCH_MONTH,
    ROI_BY_CHANNEL_CAMPAIGN_MODEL,
    RING_ENGAGEMENT_SHARE_0013,
)
