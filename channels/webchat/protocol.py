"""The chat socket's frames and limits, without I/O (the adapter only moves them).

Frames are JSON objects with a "type". Anything else is answered with an error frame naming
what is wrong; the connection stays open, because a widget with a bug should still be able to
talk to us. docs/live-protocol.md describes the whole exchange.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from contactcenter.web.frames import ProtocolError, parse_frame

# A frame larger than this closes the socket with 1009 (message too big) before it is parsed.
MAX_FRAME_BYTES = 64 * 1024


class Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Hello(Frame):
    """First frame: who I am (if I was here before) and the last event I saw."""

    type: Literal["hello"]
    # The widget's data-workspace: a page pointing at the wrong server is told so at once.
    workspace: str | None = Field(default=None, max_length=64)
    token: str | None = Field(default=None, max_length=100)
    last_event_id: str | None = Field(default=None, max_length=40)


class Start(Frame):
    """The pre-chat form."""

    type: Literal["start"]
    name: str = Field(max_length=200)
    email: str = Field(default="", max_length=320)
    topic: str = Field(default="", max_length=100)


class Message(Frame):
    type: Literal["message"]
    client_id: str = Field(min_length=1, max_length=64)
    body: str


class Typing(Frame):
    type: Literal["typing"]


class Read(Frame):
    type: Literal["read"]
    up_to: int = Field(ge=0)


class Leave(Frame):
    """The customer ends the conversation."""

    type: Literal["leave"]


class Ping(Frame):
    type: Literal["ping"]


class SendCode(Frame):
    """Mail (again) the one-time code that proves the email typed in the form."""

    type: Literal["send_code"]


class VerifyEmail(Frame):
    """The code the visitor received at the email they typed."""

    type: Literal["verify_email"]
    code: str = Field(min_length=1, max_length=12)


ClientFrame = Annotated[Hello | Start | Message | Typing | Read | Leave | Ping | SendCode
                        | VerifyEmail,
                        Field(discriminator="type")]
_CLIENT_FRAME: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)


def parse_client_frame(text: str) -> ClientFrame:
    return parse_frame(text, _CLIENT_FRAME)


def check_body(body: str, max_chars: int) -> str:
    body = body.strip()
    if not body:
        raise ProtocolError("empty_message", "the message is empty")
    if len(body) > max_chars:
        raise ProtocolError("message_too_long", f"a message has at most {max_chars} characters")
    return body


@dataclass
class TokenBucket:
    """`burst` messages at once, refilled at `rate` per second. The caller passes the time."""

    rate: float
    burst: int
    tokens: float = field(init=False)
    updated: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)

    def take(self, now: float) -> bool:
        if self.updated:
            self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def retry_after(self) -> float:
        return max(0.0, (1 - self.tokens) / self.rate)


class KeyedBuckets:
    """A token bucket per key (a client address), pure like TokenBucket. Keys whose bucket has
    refilled are forgotten once there are more than `max_keys`, so a flood of addresses cannot
    grow it without bound."""

    def __init__(self, rate: float, burst: int, max_keys: int = 10_000) -> None:
        self.rate, self.burst, self.max_keys = rate, burst, max_keys
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, key: str, now: float) -> TokenBucket | None:
        """None when `key` may go on; else its bucket (to say how long to wait)."""
        if len(self._buckets) > self.max_keys:
            self._buckets = {k: b for k, b in self._buckets.items()
                             if b.tokens + (now - b.updated) * b.rate < b.burst}
        bucket = self._buckets.setdefault(key, TokenBucket(self.rate, self.burst))
        return None if bucket.take(now) else bucket
