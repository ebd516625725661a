"""Configuration: the TOML file (what the contact center does) plus the environment (where its
services are and the secrets). Everything is checked up front so a wrong setting stops the program
with one line naming the key, instead of failing later in the middle of a customer's conversation.
"""

from __future__ import annotations

import os
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from contactcenter.numbers import whole_number

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "config" / "default.toml"

Channel = Literal["voice", "sms", "email", "chat", "voicemail"]
CHANNELS: tuple[Channel, ...] = ("voice", "sms", "email", "chat", "voicemail")
SkillLevel = Annotated[int, Field(ge=1, le=10)]


class ConfigError(Exception):
    """A setting that cannot work; `key` is where to look, `problem` says what is wrong."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


class _Strict(BaseModel):
    # Unknown keys are errors: a typo in a setting must not be silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorkspaceConfig(_Strict):
    slug: str = Field(default="default", pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    name: str = "Default workspace"
    default_region: str = "US"
    timezone: str = "UTC"


class ChannelCapacity(_Strict):
    weight: int = Field(ge=1, le=100)
    max: int = Field(ge=1, le=100)
    exclusive: bool = False


# Used for any channel the configuration leaves out, so every channel can always be routed.
DEFAULT_CAPACITY: dict[Channel, ChannelCapacity] = {
    "voice": ChannelCapacity(weight=100, max=1, exclusive=True),
    "chat": ChannelCapacity(weight=33, max=3),
    "sms": ChannelCapacity(weight=25, max=4),
    "email": ChannelCapacity(weight=20, max=5),
    # A voicemail is handled like an email: listened to and answered later, not live.
    "voicemail": ChannelCapacity(weight=20, max=5),
}


class Disposition(_Strict):
    label: str
    action: Literal["none", "open_case", "update_case", "create_lead"] = "none"


class EscalationConfig(_Strict):
    """After `after_seconds` waiting: lower `skill` to `level`, drop `skill`, or overflow to `queue`."""

    after_seconds: int = Field(ge=1)
    lower_skill: str | None = None
    level: SkillLevel = 1
    drop_skill: str | None = None
    overflow_to: str | None = None


ClosedBehaviour = Literal["keep_waiting", "voicemail", "auto_reply", "refuse"]


class QueueConfig(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    label: str = ""
    priority: int = Field(default=0, ge=0, le=100)
    skills: dict[str, SkillLevel] = Field(default_factory=dict)
    strategy: Literal["longest_idle", "least_occupied", "most_skilled", "round_robin"] = (
        "longest_idle")
    aging_per_second: float = Field(default=0.0, ge=0, le=100)
    service_level_seconds: int = Field(default=20, ge=1)
    service_level_target: float = Field(default=0.8, gt=0, le=1)
    max_wait_seconds: int = Field(default=1800, ge=1)
    overflow_queue: str | None = None
    escalation: list[EscalationConfig] = Field(default_factory=list)
    wrapup_seconds: int = Field(default=0, ge=0, le=3600)
    calendar: str | None = None
    closed: dict[Channel, ClosedBehaviour] = Field(default_factory=dict)
    dispositions: list[str] = Field(default_factory=list)


class CalendarConfig(_Strict):
    """Opening hours per weekday ("08:00-12:00, 13:00-18:00"; absent: closed) and holidays."""

    timezone: str = "UTC"
    mon: str = ""
    tue: str = ""
    wed: str = ""
    thu: str = ""
    fri: str = ""
    sat: str = ""
    sun: str = ""
    holidays: list[date] = Field(default_factory=list)


class RoutingConfig(_Strict):
    # An offer needs time to be seen: at least 5 s; a day at most (email, worked later).
    offer_timeout_seconds: dict[Channel, Annotated[int, Field(ge=5, le=86_400)]] = Field(
        default_factory=dict)
    missed_offers_before_away: int = Field(default=3, ge=1, le=100)
    preferred_agent_seconds: int = Field(default=15, ge=0, le=3600)
    reoffer_after_seconds: int = Field(default=10, ge=0, le=3600)
    disconnect_grace_seconds: int = Field(default=30, ge=0, le=3600)
    capacity_budget: int = Field(default=100, ge=1, le=10_000)


class WebchatConfig(_Strict):
    enabled: bool = True
    default_queue: str = ""
    allowed_origins: list[str] = Field(default_factory=list)
    topics: dict[str, str] = Field(default_factory=dict)
    max_message_chars: int = Field(default=4000, ge=1, le=100_000)
    # A token bucket per connection: `burst` messages at once, refilled at `messages_per_second`.
    messages_per_second: float = Field(default=1.0, gt=0, le=1000)
    burst: int = Field(default=5, ge=1, le=1000)
    # Across every socket of one client address, per node: new visitors (each a new customer
    # record) and messages; and new visitors from everywhere together.
    new_visitors_per_minute_per_address: float = Field(default=10, gt=0, le=100_000)
    new_visitors_per_minute: float = Field(default=600, gt=0, le=1_000_000)
    messages_per_second_per_address: float = Field(default=5, gt=0, le=100_000)


class SmsConfig(_Strict):
    enabled: bool = False
    default_queue: str = ""
    numbers: dict[str, str] = Field(default_factory=dict)
    keywords: dict[str, str] = Field(default_factory=dict)
    # The answer to a waiting customer; {position} and {wait} are filled in. Empty: none.
    queue_reply: str = Field(default="", max_length=320)
    # Not repeated to the same conversation more often than this.
    queue_reply_every_seconds: int = Field(default=300, ge=0, le=86_400)
    # The answer to HELP.
    help_reply: str = Field(default="", max_length=320)
    # The answer when the queue is closed and its closed rule for SMS is auto_reply.
    closed_reply: str = Field(default="", max_length=320)


class MenuOption(_Strict):
    """One choice of the phone menu: press `digit` or say one of `words` to reach `queue`."""

    digit: str = Field(pattern=r"^[0-9*#]$")
    words: list[str] = Field(default_factory=list)
    queue: str
    label: str = Field(min_length=1, max_length=100)


class VoiceConfig(_Strict):
    enabled: bool = False
    default_queue: str = ""
    greeting: str = Field(default="Thank you for calling.", max_length=500)
    # Empty: callers go straight to default_queue.
    menu: list[MenuOption] = Field(default_factory=list)
    hold_music_url: str = ""
    # How long a caller hears hold music between announcements of their place in line.
    announce_every_seconds: int = Field(default=45, ge=10, le=600)


class MailboxConfig(_Strict):
    """A mailbox besides CC_IMAP_*'s: its own address, folder and queue. The password stays in
    the environment, in the variable `password_env` names."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    host: str = Field(min_length=1)
    port: int = Field(default=993, ge=1, le=65535)
    tls: Literal["tls", "starttls", "none"] = "tls"
    user: str = Field(min_length=1)
    password_env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]*$")
    address: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    folder: str = Field(default="INBOX", min_length=1)
    queue: str = ""
    move_to: str = ""


class EmailConfig(_Strict):
    enabled: bool = False
    default_queue: str = ""
    # The folder read, and where a message goes once taken in (empty: it stays, marked seen).
    folder: str = Field(default="INBOX", min_length=1)
    move_to: str = ""
    # Sent at once when an email starts a new conversation ({case}: its number); empty: none.
    # Never sent to automatic mail (auto-replies, lists, bounces).
    acknowledge: str = ""
    mailboxes: list[MailboxConfig] = Field(default_factory=list)


class ChannelsConfig(_Strict):
    webchat: WebchatConfig = WebchatConfig()
    sms: SmsConfig = SmsConfig()
    voice: VoiceConfig = VoiceConfig()
    email: EmailConfig = EmailConfig()


class CannedResponse(_Strict):
    """A prepared answer; the agent types `/shortcut` in the reply box to insert `text`.
    `{customer}` and `{agent}` in the text become the customer's and the agent's names."""

    shortcut: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    title: str = Field(min_length=1, max_length=100)
    text: str = Field(min_length=1, max_length=4000)


CasePriority = Literal["low", "normal", "high", "urgent"]
CASE_PRIORITIES: tuple[CasePriority, ...] = ("low", "normal", "high", "urgent")


class SlaTargetsConfig(_Strict):
    """Business minutes (on the SLA calendar) allowed for each target."""

    first_response_minutes: float = Field(gt=0)
    next_response_minutes: float = Field(gt=0)
    resolution_minutes: float = Field(gt=0)


def _default_targets() -> dict[CasePriority, SlaTargetsConfig]:
    hours: dict[CasePriority, tuple[int, int, int]] = {
        "urgent": (1, 2, 8), "high": (2, 4, 16), "normal": (4, 8, 40), "low": (8, 16, 80)}
    return {p: SlaTargetsConfig(first_response_minutes=f * 60, next_response_minutes=n * 60,
                                resolution_minutes=r * 60)
            for p, (f, n, r) in hours.items()}


class SlaConfig(_Strict):
    """Targets per case priority, counted on a business-hours calendar (none: around the clock).
    A case within `warn_before_minutes` of a breach alerts supervisors and raises the routing
    priority of its waiting interactions by `boost_priority`."""

    calendar: str | None = None
    warn_before_minutes: float = Field(default=30, ge=0)
    boost_priority: int = Field(default=10, ge=0, le=100)
    targets: dict[CasePriority, SlaTargetsConfig] = Field(default_factory=_default_targets)


class StageConfig(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    label: str = ""
    probability: int = Field(ge=0, le=100)
    outcome: Literal["won", "lost"] | None = None  # a closing stage


def _default_stages() -> list[StageConfig]:
    return [StageConfig(name="new", label="New", probability=10),
            StageConfig(name="qualified", label="Qualified", probability=25),
            StageConfig(name="proposal", label="Proposal", probability=50),
            StageConfig(name="negotiation", label="Negotiation", probability=75),
            StageConfig(name="won", label="Won", probability=100, outcome="won"),
            StageConfig(name="lost", label="Lost", probability=0, outcome="lost")]


class SalesConfig(_Strict):
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    stages: list[StageConfig] = Field(default_factory=_default_stages, min_length=2)


class AttributeConfig(_Strict):
    """A custom field on every customer of the workspace."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    label: str = ""
    type: Literal["text", "number", "date", "choice"]
    choices: list[str] = Field(default_factory=list)


class WebhookConfig(_Strict):
    """An outside system told of events: POSTed JSON signed with HMAC-SHA256 of the secret."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    url: str
    secret_env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]*$")
    events: list[str] = Field(default_factory=lambda: ["interaction.*", "case.*", "lead.*",
                                                       "opportunity.*"], min_length=1)


class ReportsConfig(_Strict):
    """How the supervisor's figures count (docs/metrics.md)."""

    # A customer who gives up sooner than this counts as a short abandon: not held against the
    # service level or the abandonment rate (they dialled wrong, or changed their mind at once).
    short_abandon_seconds: int = Field(default=5, ge=0, le=600)
    # The arrival rate that staffing is computed from is measured over this recent window.
    arrival_window_minutes: int = Field(default=30, ge=1, le=1440)
    # Handle time assumed for staffing until a queue has handled anything.
    default_handle_seconds: int = Field(default=300, ge=1, le=86_400)


class AccessConfig(_Strict):
    """What agents may do to work that is not theirs (docs/access.md); supervisors and admins
    may do all of it. Centers differ here, so these are settings."""

    # Change (status, amounts, owner...) cases, leads, opportunities and tasks a colleague owns.
    agents_edit_colleagues_records: bool = False
    # Merge two customer records: "own_work" while working an interaction of one of them (the
    # agent is talking to the person), "any", or "never".
    agents_merge: Literal["own_work", "any", "never"] = "own_work"


class FileConfig(_Strict):
    """The TOML file, as typed data."""

    workspace: WorkspaceConfig = WorkspaceConfig()
    skills: list[str] = Field(default_factory=list)
    capacity: dict[Channel, ChannelCapacity] = Field(default_factory=lambda: dict(DEFAULT_CAPACITY))
    routing: RoutingConfig = RoutingConfig()
    calendars: dict[str, CalendarConfig] = Field(default_factory=dict)
    dispositions: dict[str, Disposition] = Field(default_factory=dict)
    queues: list[QueueConfig] = Field(min_length=1)
    channels: ChannelsConfig = ChannelsConfig()
    canned_responses: list[CannedResponse] = Field(default_factory=list)
    sla: SlaConfig = SlaConfig()
    sales: SalesConfig = SalesConfig()
    customer_attributes: list[AttributeConfig] = Field(default_factory=list)
    webhooks: list[WebhookConfig] = Field(default_factory=list)
    reports: ReportsConfig = ReportsConfig()
    access: AccessConfig = AccessConfig()

    @field_validator("capacity")
    @classmethod
    def _every_channel_has_capacity(
        cls, given: dict[Channel, ChannelCapacity]
    ) -> dict[Channel, ChannelCapacity]:
        return {**DEFAULT_CAPACITY, **given}

    def default_queue(self, channel: Channel) -> str:
        """The queue a new interaction on `channel` lands in when nothing more specific applies."""
        by_channel = {
            "chat": self.channels.webchat.default_queue,
            "sms": self.channels.sms.default_queue,
            "voice": self.channels.voice.default_queue,
            "email": self.channels.email.default_queue,
            "voicemail": self.channels.voice.default_queue,
        }
        return by_channel[channel] or self.queues[0].name


@dataclass(frozen=True)
class MailServer:
    host: str
    port: int
    user: str
    password: str
    tls: Literal["tls", "starttls", "none"]


@dataclass(frozen=True)
class Environment:
    """Where the services are and the secrets: read only from environment variables."""

    database_url: str | None
    redis_url: str | None
    data_dir: Path
    public_url: str | None
    config_path: Path
    twilio_account_sid: str | None
    twilio_auth_token: str | None
    # Where the Twilio REST API is: Twilio's own unless a test or a proxy says otherwise.
    twilio_api_url: str | None
    imap: MailServer | None
    smtp: MailServer | None
    email_address: str | None
    # The passwords of the configured mailboxes, by the variable each names (password_env).
    mailbox_passwords: dict[str, str] = field(default_factory=dict)
    # The webhooks' signing secrets, by the variable each names (secret_env).
    webhook_secrets: dict[str, str] = field(default_factory=dict)
    # Set only by `contactcenter demo`: Twilio is the built-in sandbox at /sandbox.
    demo_sandbox: bool = False


@dataclass(frozen=True)
class Settings:
    file: FileConfig
    env: Environment


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check everything; raise ConfigError on the first problem found."""
    environ = os.environ if environ is None else environ
    env = read_environment(environ)
    file = read_config_file(env.config_path)
    env = replace(env, mailbox_passwords={
        box.password_env: environ[box.password_env] for box in file.channels.email.mailboxes
        if box.password_env in environ},
        webhook_secrets={hook.secret_env: environ[hook.secret_env] for hook in file.webhooks
                         if environ.get(hook.secret_env)})
    check_references(file)
    check_channel_secrets(file, env)
    return Settings(file=file, env=env)


def read_config_file(path: Path) -> FileConfig:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("CC_CONFIG", f"file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("CC_CONFIG", f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("CC_CONFIG", f"{path} is not valid TOML: {exc}") from None
    try:
        return FileConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = _dotted(first["loc"]) or "(top level)"
        raise ConfigError(key, f"{first['msg']} (got {first['input']!r})") from None


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def check_references(cfg: FileConfig) -> None:
    """Cross-references the type checker cannot see: every name used must be defined."""
    _check_workspace(cfg.workspace)
    skills = set(cfg.skills)
    names = [q.name for q in cfg.queues]
    queues = set(names)
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise ConfigError(f"queues[{i}].name", f"queue {name!r} is defined twice")

    def need_queue(key: str, name: str) -> None:
        if name not in queues:
            raise ConfigError(key, f"unknown queue {name!r} (defined: {', '.join(sorted(queues))})")

    for i, q in enumerate(cfg.queues):
        for skill in q.skills:
            if skill not in skills:
                raise ConfigError(f"queues[{i}].skills.{skill}", f"unknown skill {skill!r}")
        if q.overflow_queue is not None:
            need_queue(f"queues[{i}].overflow_queue", q.overflow_queue)
            if q.overflow_queue == q.name:
                raise ConfigError(f"queues[{i}].overflow_queue", "a queue cannot overflow to itself")
        for code in q.dispositions:
            if code not in cfg.dispositions:
                raise ConfigError(f"queues[{i}].dispositions", f"unknown disposition {code!r}")
        if q.calendar is not None and q.calendar not in cfg.calendars:
            raise ConfigError(f"queues[{i}].calendar", f"unknown calendar {q.calendar!r}")
        for j, step in enumerate(q.escalation):
            _check_step(f"queues[{i}].escalation[{j}]", step, skills, need_queue)
        after = [step.after_seconds for step in q.escalation]
        if after != sorted(set(after)):
            raise ConfigError(f"queues[{i}].escalation", "steps must have increasing after_seconds")
    for name, cal in cfg.calendars.items():
        _check_calendar(f"calendars.{name}", cal)
    ch = cfg.channels
    for key, name in [
        ("channels.webchat.default_queue", ch.webchat.default_queue),
        ("channels.sms.default_queue", ch.sms.default_queue),
        ("channels.voice.default_queue", ch.voice.default_queue),
        ("channels.email.default_queue", ch.email.default_queue),
        *((f"channels.email.mailboxes[{i}].queue", box.queue)
          for i, box in enumerate(ch.email.mailboxes)),
    ]:
        if name:
            need_queue(key, name)
    boxes = [box.name for box in ch.email.mailboxes]
    for i, name in enumerate(boxes):
        if name == "default" or boxes.index(name) != i:
            raise ConfigError(f"channels.email.mailboxes[{i}].name",
                              f"mailbox {name!r} is taken (by CC_IMAP_* or another mailbox)")
    for topic, name in ch.webchat.topics.items():
        need_queue(f"channels.webchat.topics.{topic}", name)
    for i, option in enumerate(ch.voice.menu):
        need_queue(f"channels.voice.menu[{i}].queue", option.queue)
    digits = [o.digit for o in ch.voice.menu]
    for i, digit in enumerate(digits):
        if digits.index(digit) != i:
            raise ConfigError(f"channels.voice.menu[{i}].digit", f"digit {digit} is used twice")
    if ch.voice.hold_music_url:
        _check_url("channels.voice.hold_music_url", ch.voice.hold_music_url, ("http", "https"))
    for keyword, name in ch.sms.keywords.items():
        need_queue(f"channels.sms.keywords.{keyword}", name)
    for number, name in ch.sms.numbers.items():
        key = f"channels.sms.numbers.{number}"
        need_queue(key, name)
        if not number.startswith("+") or not _is_valid_number(number):
            raise ConfigError(key, "not a valid phone number in E.164 form (+14155550100)")
    shortcuts = [c.shortcut for c in cfg.canned_responses]
    for i, shortcut in enumerate(shortcuts):
        if shortcuts.index(shortcut) != i:
            raise ConfigError(f"canned_responses[{i}].shortcut", f"/{shortcut} is defined twice")
    for origin in ch.webchat.allowed_origins:
        _check_url("channels.webchat.allowed_origins", origin, ("http", "https"))
    _check_crm(cfg)


def _check_crm(cfg: FileConfig) -> None:
    if cfg.sla.calendar is not None and cfg.sla.calendar not in cfg.calendars:
        raise ConfigError("sla.calendar", f"unknown calendar {cfg.sla.calendar!r}")
    for priority in CASE_PRIORITIES:
        if priority not in cfg.sla.targets:
            raise ConfigError("sla.targets", f"no targets for priority {priority!r}")
    stages = [s.name for s in cfg.sales.stages]
    for i, name in enumerate(stages):
        if stages.index(name) != i:
            raise ConfigError(f"sales.stages[{i}].name", f"stage {name!r} is defined twice")
    if all(s.outcome is not None for s in cfg.sales.stages):
        raise ConfigError("sales.stages", "at least one stage must be open (no outcome)")
    names = [a.name for a in cfg.customer_attributes]
    for i, attribute in enumerate(cfg.customer_attributes):
        if names.index(attribute.name) != i:
            raise ConfigError(f"customer_attributes[{i}].name",
                              f"attribute {attribute.name!r} is defined twice")
        if (attribute.type == "choice") != bool(attribute.choices):
            raise ConfigError(f"customer_attributes[{i}].choices",
                              "a choice attribute needs choices; other types take none")
    hooks = [h.name for h in cfg.webhooks]
    for i, hook in enumerate(cfg.webhooks):
        if hooks.index(hook.name) != i:
            raise ConfigError(f"webhooks[{i}].name", f"webhook {hook.name!r} is defined twice")
        _check_url(f"webhooks[{i}].url", hook.url, ("http", "https"))


def _check_step(
    key: str, step: EscalationConfig, skills: set[str], need_queue: Callable[[str, str], None]
) -> None:
    actions = [a for a in (step.lower_skill, step.drop_skill, step.overflow_to) if a is not None]
    if len(actions) != 1:
        raise ConfigError(key, "give exactly one of lower_skill, drop_skill, overflow_to")
    if step.overflow_to is not None:
        need_queue(f"{key}.overflow_to", step.overflow_to)
    for field_name, skill in (("lower_skill", step.lower_skill), ("drop_skill", step.drop_skill)):
        if skill is not None and skill not in skills:
            raise ConfigError(f"{key}.{field_name}", f"unknown skill {skill!r}")


def _check_calendar(key: str, cal: CalendarConfig) -> None:
    from routing.calendar import parse_hours

    try:
        zoneinfo.ZoneInfo(cal.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{key}.timezone", f"unknown time zone {cal.timezone!r}") from None
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        try:
            parse_hours(getattr(cal, day))
        except ValueError as exc:
            raise ConfigError(f"{key}.{day}", str(exc)) from None


def _check_workspace(ws: WorkspaceConfig) -> None:
    if ws.default_region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError("workspace.default_region", f"unknown region code {ws.default_region!r}")
    try:
        zoneinfo.ZoneInfo(ws.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError("workspace.timezone", f"unknown time zone {ws.timezone!r}") from None


def _is_valid_number(number: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return False


def check_channel_secrets(cfg: FileConfig, env: Environment) -> None:
    """An enabled channel without its credentials would fail at the first customer: fail now."""
    for channel, enabled in [("sms", cfg.channels.sms.enabled), ("voice", cfg.channels.voice.enabled)]:
        if enabled and not (env.twilio_account_sid and env.twilio_auth_token):
            raise ConfigError(
                f"channels.{channel}.enabled",
                "needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN in the environment",
            )
    if cfg.channels.email.enabled and not (env.imap and env.smtp and env.email_address):
        raise ConfigError(
            "channels.email.enabled",
            "needs CC_IMAP_HOST, CC_IMAP_USER, CC_IMAP_PASSWORD, CC_SMTP_HOST and "
            "CC_EMAIL_ADDRESS in the environment",
        )
    for i, hook in enumerate(cfg.webhooks):
        if hook.secret_env not in env.webhook_secrets:
            raise ConfigError(f"webhooks[{i}].secret_env",
                              f"{hook.secret_env} is not set in the environment")
    for i, box in enumerate(cfg.channels.email.mailboxes):
        if cfg.channels.email.enabled and box.password_env not in env.mailbox_passwords:
            raise ConfigError(f"channels.email.mailboxes[{i}].password_env",
                              f"{box.password_env} is not set in the environment")


def read_environment(environ: Mapping[str, str]) -> Environment:
    def get(name: str) -> str | None:
        value = environ.get(name, "").strip()
        return value or None

    database_url = get("CC_DATABASE_URL")
    if database_url:
        _check_url("CC_DATABASE_URL", database_url, ("postgres", "postgresql"), need_host=False)
    redis_url = get("CC_REDIS_URL")
    if redis_url:
        _check_url("CC_REDIS_URL", redis_url, ("redis", "rediss", "unix"), need_host=False)
    public_url = get("CC_PUBLIC_URL")
    if public_url:
        _check_url("CC_PUBLIC_URL", public_url, ("http", "https"))
        public_url = public_url.rstrip("/")
    sid = get("TWILIO_ACCOUNT_SID")
    if sid and not (len(sid) == 34 and sid.startswith("AC")):
        raise ConfigError("TWILIO_ACCOUNT_SID", "must be 'AC' followed by 32 characters")
    twilio_api_url = get("CC_TWILIO_API_URL")
    if twilio_api_url:
        _check_url("CC_TWILIO_API_URL", twilio_api_url, ("http", "https"))
        twilio_api_url = twilio_api_url.rstrip("/")
    email_address = get("CC_EMAIL_ADDRESS")
    if email_address and "@" not in email_address:
        raise ConfigError("CC_EMAIL_ADDRESS", f"{email_address!r} is not an email address")
    return Environment(
        database_url=database_url,
        redis_url=redis_url,
        data_dir=Path(get("CC_DATA_DIR") or "./ccdata").expanduser().resolve(),
        public_url=public_url,
        config_path=Path(get("CC_CONFIG") or DEFAULT_CONFIG_PATH),
        twilio_account_sid=sid,
        twilio_auth_token=get("TWILIO_AUTH_TOKEN"),
        twilio_api_url=twilio_api_url,
        imap=_mail_server(environ, "CC_IMAP", default_port=993),
        smtp=_mail_server(environ, "CC_SMTP", default_port=587),
        email_address=email_address,
    )


def _mail_server(environ: Mapping[str, str], prefix: str, default_port: int) -> MailServer | None:
    host = environ.get(f"{prefix}_HOST", "").strip()
    if not host:
        return None
    port_text = environ.get(f"{prefix}_PORT", "").strip() or str(default_port)
    port = whole_number(port_text, max_digits=5)
    if port is None or not 0 < port < 65536:
        raise ConfigError(f"{prefix}_PORT", f"{port_text!r} is not a port number (1-65535)")
    tls = (environ.get(f"{prefix}_TLS", "").strip() or "tls").lower()
    if tls not in ("tls", "starttls", "none"):
        raise ConfigError(f"{prefix}_TLS", f"{tls!r} must be one of tls, starttls, none")
    return MailServer(
        host=host,
        port=port,
        user=environ.get(f"{prefix}_USER", "").strip(),
        password=environ.get(f"{prefix}_PASSWORD", ""),
        tls=tls,  # type: ignore[arg-type]  # checked against the Literal's values just above
    )


def _check_url(key: str, url: str, schemes: tuple[str, ...], need_host: bool = True) -> None:
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a port that is not a number
    except ValueError as exc:
        raise ConfigError(key, f"malformed URL {url!r}: {exc}") from None
    if parts.scheme not in schemes:
        raise ConfigError(key, f"URL {url!r} must start with {' or '.join(s + '://' for s in schemes)}")
    if need_host and not parts.hostname:
        raise ConfigError(key, f"URL {url!r} has no host")
    if not need_host and not (parts.hostname or parts.path or parts.query):
        raise ConfigError(key, f"URL {url!r} names no server")
