"""The shapes that cross package boundaries: what channels hand to the core, what it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from contactcenter.settings import Channel

InteractionState = Literal["queued", "offered", "assigned", "wrapup", "closed", "abandoned"]
OPEN_STATES: tuple[InteractionState, ...] = ("queued", "offered", "assigned", "wrapup")


@dataclass(frozen=True)
class Attachment:
    """Media that came with a message: at the provider's `url`, or its `content` here."""

    content_type: str
    url: str | None = None
    filename: str = ""
    content: bytes | None = None


@dataclass(frozen=True)
class InboundMessage:
    """One customer message as every channel adapter hands it over, whatever the channel.

    `provider_message_id` is the delivery's idempotency key (Twilio MessageSid, email
    Message-ID, chat client message id). `queue` is the adapter's hint (a chat topic, the
    number an SMS was sent to), already resolved to a queue name; None means the channel default.
    `client_id` is the id the sender's own client gave the message (the chat widget's), echoed
    back so the client can match the stored message to the one it already shows.
    `our_address` is where the customer wrote to (our Twilio number): replies go out from it.
    """

    workspace_id: int
    channel: Channel
    sender: str
    body: str
    provider_message_id: str | None = None
    sender_name: str = ""
    subject: str = ""
    queue: str | None = None
    received_at: datetime | None = None
    client_id: str | None = None
    our_address: str | None = None
    attachments: tuple[Attachment, ...] = ()
    raw: dict[str, Any] | None = field(default=None, compare=False)
    # A channel that threads its own messages (email) says which interaction a message answers:
    # `thread`, when still open; else (or with None) the message starts a new interaction.
    threaded: bool = False
    thread: int | None = None


@dataclass(frozen=True)
class InboundResult:
    customer_id: int
    interaction_id: int
    message_id: int
    new_customer: bool
    new_interaction: bool
    duplicate: bool
    # The customer's place in line, when asked for and due to be told (SMS auto-reply).
    place: dict[str, Any] | None = None
