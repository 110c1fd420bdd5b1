"""The event contract: pydantic v2 models of every event producers may send.

Models know nothing of Kafka or ClickHouse. They are frozen, reject unknown
fields, and are told apart by ``event_type`` (a discriminated union), so one
``TypeAdapter`` validates any event in a single call.
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

SCHEMA_VERSION: Final = 1

Id = Annotated[str, Field(min_length=1, max_length=128)]
# A handle names somebody only with a character besides "@" and spaces: keys drop
# both, and "@" or " " alone would make one key of unrelated people.
Handle = Annotated[str, Field(min_length=1, max_length=256, pattern=r"[^@\s]")]
# Strict: JSON true or "100" is not an amount (lax validation read them as 1.0, 100.0).
Money = Annotated[float, Field(ge=0, le=1e13, allow_inf_nan=False, strict=True)]
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+$"
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class Platform(StrEnum):
    x = "x"
    linkedin = "linkedin"
    instagram = "instagram"
    facebook = "facebook"
    youtube = "youtube"
    tiktok = "tiktok"
    mastodon = "mastodon"
    bluesky = "bluesky"
    other = "other"


class Direction(StrEnum):
    inbound = "inbound"  # they act on us
    outbound = "outbound"  # we act on them


class Action(StrEnum):
    follow = "follow"
    unfollow = "unfollow"
    like = "like"
    share = "share"
    mention = "mention"
    reply = "reply"
    dm = "dm"
    post = "post"
    recommend = "recommend"  # e.g. #followfriday


class Intent(StrEnum):
    give = "give"
    ask = "ask"
    neutral = "neutral"


class OpportunityKind(StrEnum):
    social = "social"
    personal = "personal"
    monetary = "monetary"


class OpportunityType(StrEnum):
    deal = "deal"
    collaboration = "collaboration"
    press = "press"
    speaking = "speaking"
    partnership = "partnership"
    hire = "hire"
    investment = "investment"
    introduction = "introduction"


class MeetingKind(StrEnum):
    in_person = "in_person"
    tweetup = "tweetup"
    conference_meal = "conference_meal"
    call = "call"
    video = "video"


class HelpKind(StrEnum):
    advice = "advice"
    gift = "gift"
    introduction = "introduction"
    referral = "referral"
    help = "help"


class CostKind(StrEnum):
    ad_spend = "ad_spend"
    time = "time"
    tooling = "tooling"
    other = "other"


def plain(member: StrEnum) -> str:
    """An enum member's value as an interned plain str (``.value`` is slow in 3.11)."""
    return _PLAIN[member]


def normalize_platform(value: object) -> object:
    """``twitter`` is the same network as ``x``; accept both, store one."""
    if isinstance(value, str) and value.lower() == "twitter":
        return "x"
    return value


_PLAIN: dict[StrEnum, str] = {
    member: sys.intern(member.value)
    for enum in (Platform, Direction, Action, Intent, OpportunityKind, OpportunityType)
    for member in enum
}


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


class SocialHandle(Model):
    platform: Platform
    handle: Handle

    _platform = field_validator("platform", mode="before")(normalize_platform)


class PersonRef(Model):
    """Who an event is about: any one identity key of a person.

    ``email`` is accepted from producers but replaced by ``email_hash`` at
    ingest (see ``schemas.privacy``), so it is never stored in clear.
    """

    platform: Platform | None = None
    handle: Handle | None = None
    contact_id: Id | None = None
    email: Annotated[str, Field(max_length=320, pattern=EMAIL_PATTERN)] | None = None
    email_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None

    _platform = field_validator("platform", mode="before")(normalize_platform)

    @model_validator(mode="after")
    def _one_key(self) -> PersonRef:
        if (self.platform is None) != (self.handle is None):
            raise ValueError("platform and handle go together")
        if not (self.handle or self.contact_id or self.email or self.email_hash):
            raise ValueError("a person needs a handle, a contact_id or an email")
        return self


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]")
_LAX_TIME: TypeAdapter[datetime] = TypeAdapter(AwareDatetime)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
END = datetime(2100, 1, 1, tzinfo=UTC)


class Envelope(Model):
    event_id: Id
    schema_version: Literal[1] = SCHEMA_VERSION
    occurred_at: Annotated[
        AwareDatetime,
        Field(description="When it happened, with a timezone; from 1970 to 2099 (UTC)"),
    ]
    source: Annotated[str, Field(min_length=1, max_length=64)]
    workspace: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]

    @field_validator("schema_version", mode="before")
    @classmethod
    def _not_a_bool(cls, value: object) -> object:
        if isinstance(value, bool):  # lax validation takes true for 1
            raise ValueError("must be the number 1")
        return value

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _iso_text(cls, value: object) -> object:
        # pydantic reads "1700000000" as Unix seconds, and a longer run of digits as
        # milliseconds: the ambiguity that decision 7 keeps out of the contract.
        if not isinstance(value, str):
            return value
        if not _ISO_DATE.match(value):
            raise ValueError("must be ISO-8601 text with a timezone")
        # Parsed here: the strict JSON route (codec._direct) would hand the str on to
        # strict datetime validation, which refuses a str that is not JSON any more.
        try:
            return _LAX_TIME.validate_python(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise PydanticCustomError(first["type"], first["msg"]) from None

    @field_validator("occurred_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        # Day-based storage (rollups, partitions) covers 1970-2149; a time outside
        # these years is a producer's bug, not an event.
        utc = value.astimezone(UTC)
        if not EARLIEST <= utc < END:
            raise ValueError("must be from 1970 to 2099 (UTC)")
        return utc


# -- social family ---------------------------------------------------------


class SocialInteraction(Envelope):
    """One act on a social platform between one of our accounts and a person."""

    event_type: Literal["social_interaction"] = "social_interaction"
    platform: Platform
    own_account: Handle
    handle: Handle | None = Field(
        default=None, description="the other party; absent only for a broadcast post"
    )
    direction: Direction
    action: Action
    intent: Intent | None = Field(
        default=None, description="give / ask / neutral; inferred at ingest when absent"
    )
    campaign: Annotated[str, Field(max_length=128)] | None = None
    content_ref: Annotated[str, Field(max_length=512)] | None = None
    hashtags: tuple[Annotated[str, Field(max_length=128)], ...] = Field(default=(), max_length=64)

    _platform = field_validator("platform", mode="before")(normalize_platform)

    @model_validator(mode="after")
    def _party(self) -> SocialInteraction:
        if self.handle is None and self.action is not Action.post:
            raise ValueError("handle is required for every action but post")
        return self


# -- relationship family ---------------------------------------------------


class Introduction(Envelope):
    """``introducer`` opens the door to ``person`` for us."""

    event_type: Literal["introduction"] = "introduction"
    introducer: PersonRef
    person: PersonRef
    campaign: Annotated[str, Field(max_length=128)] | None = None


class Meeting(Envelope):
    event_type: Literal["meeting"] = "meeting"
    person: PersonRef
    meeting_kind: MeetingKind
    duration_minutes: Annotated[int, Field(ge=0, le=24 * 60, strict=True)] | None = None
    campaign: Annotated[str, Field(max_length=128)] | None = None


class EmailExchanged(Envelope):
    event_type: Literal["email_exchanged"] = "email_exchanged"
    person: PersonRef
    direction: Direction
    intent: Intent | None = None
    campaign: Annotated[str, Field(max_length=128)] | None = None


class HelpGiven(Envelope):
    """A gift, advice or help: outbound when we give, inbound when they do."""

    event_type: Literal["help_given"] = "help_given"
    person: PersonRef
    direction: Direction
    help_kind: HelpKind
    campaign: Annotated[str, Field(max_length=128)] | None = None


class IdentityLinked(Envelope):
    """An explicit statement that two identity keys are the same person."""

    event_type: Literal["identity_linked"] = "identity_linked"
    a: PersonRef
    b: PersonRef


# -- CRM family ------------------------------------------------------------


class ContactUpserted(Envelope):
    event_type: Literal["contact_upserted"] = "contact_upserted"
    contact_id: Id
    account_id: Id | None = None
    email: Annotated[str, Field(max_length=320, pattern=EMAIL_PATTERN)] | None = None
    email_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    handles: tuple[SocialHandle, ...] = Field(default=(), max_length=64)


class AccountUpserted(Envelope):
    event_type: Literal["account_upserted"] = "account_upserted"
    account_id: Id
    name: Annotated[str, Field(max_length=256)]
    domain: Annotated[str, Field(max_length=256)] | None = None
    industry: Annotated[str, Field(max_length=128)] | None = None


class LeadCreated(Envelope):
    event_type: Literal["lead_created"] = "lead_created"
    lead_id: Id
    contact_id: Id
    account_id: Id | None = None
    campaign: Annotated[str, Field(max_length=128)] | None = None


class OpportunityCreated(Envelope):
    event_type: Literal["opportunity_created"] = "opportunity_created"
    opportunity_id: Id
    contact_id: Id
    account_id: Id | None = None
    kind: OpportunityKind
    opportunity_type: OpportunityType
    amount: Money = Field(description="value: the amount, or an estimate for non-monetary")
    currency: Currency = "USD"


class OpportunityStageChanged(Envelope):
    event_type: Literal["opportunity_stage_changed"] = "opportunity_stage_changed"
    opportunity_id: Id
    contact_id: Id | None = None
    stage: Annotated[str, Field(min_length=1, max_length=64)]


class ContractSigned(Envelope):
    """Closed won."""

    event_type: Literal["contract_signed"] = "contract_signed"
    opportunity_id: Id
    contact_id: Id | None = None
    amount: Money
    currency: Currency | None = Field(
        None, description="currency of the amount; the opportunity's when left out"
    )


class OpportunityLost(Envelope):
    event_type: Literal["opportunity_lost"] = "opportunity_lost"
    opportunity_id: Id
    contact_id: Id | None = None
    reason: Annotated[str, Field(max_length=256)] | None = None


class RevenueRecorded(Envelope):
    event_type: Literal["revenue_recorded"] = "revenue_recorded"
    account_id: Id
    contact_id: Id | None = None
    opportunity_id: Id | None = None
    amount: Money
    currency: Currency = "USD"


class CostRecorded(Envelope):
    event_type: Literal["cost_recorded"] = "cost_recorded"
    cost_kind: CostKind
    amount: Money
    currency: Currency = "USD"
    platform: Platform | None = None
    campaign: Annotated[str, Field(max_length=128)] | None = None

    _platform = field_validator("platform", mode="before")(normalize_platform)


SOCIAL_TYPES = (SocialInteraction,)
RELATIONSHIP_TYPES = (Introduction, Meeting, EmailExchanged, HelpGiven, IdentityLinked)
CRM_TYPES = (
    ContactUpserted,
    AccountUpserted,
    LeadCreated,
    OpportunityCreated,
    OpportunityStageChanged,
    ContractSigned,
    OpportunityLost,
    RevenueRecorded,
    CostRecorded,
)
ALL_TYPES: tuple[type[Envelope], ...] = SOCIAL_TYPES + RELATIONSHIP_TYPES + CRM_TYPES

Event = Annotated[
    (
        SocialInteraction
        | Introduction
        | Meeting
        | EmailExchanged
        | HelpGiven
        | IdentityLinked
        | ContactUpserted
        | AccountUpserted
        | LeadCreated
        | OpportunityCreated
        | OpportunityStageChanged
        | ContractSigned
        | OpportunityLost
        | RevenueRecorded
        | CostRecorded
    ),
    Field(discriminator="event_type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENTS_ADAPTER: TypeAdapter[list[Event]] = TypeAdapter(list[Event])

EVENT_TYPES: dict[str, type[Envelope]] = {
    t.model_fields["event_type"].default: t for t in ALL_TYPES
}


def family_of(event_type: str) -> str:
    """The topic family an event type travels on: social, relationship or crm."""
    cls = EVENT_TYPES[event_type]
    if cls in SOCIAL_TYPES:
        return "social"
    if cls in RELATIONSHIP_TYPES:
        return "relationship"
    return "crm"
