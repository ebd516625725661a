"""The demo workspace: agents with skills and languages, a supervisor, a few customers waiting.

Seeding is idempotent (users are upserted, messages carry provider ids), so the demo can be
restarted any number of times on the same data directory.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from contactcenter.actions import add_user, receive_inbound
from contactcenter.actions.users import NewUser, Role
from contactcenter.core import Core, connect_redis
from contactcenter.models import InboundMessage
from contactcenter.settings import Channel, Settings
from contactcenter.store.db import create_pool

DEMO_PASSWORD = "demo-password"


@dataclass(frozen=True)
class DemoUser:
    name: str
    email: str
    role: Role
    skills: dict[str, int]


DEMO_USERS = [
    DemoUser("Ana Alvarez", "ana@demo.example", "agent", {"sales": 7, "english": 9, "spanish": 10}),
    DemoUser("Ben Brooks", "ben@demo.example", "agent", {"sales": 5, "support": 4, "english": 10}),
    DemoUser("Chloé Martin", "chloe@demo.example", "agent",
             {"support": 8, "french": 10, "english": 7}),
    DemoUser("Dev Patel", "dev@demo.example", "agent", {"support": 6, "billing": 7, "english": 10}),
    DemoUser("Eva Schmidt", "eva@demo.example", "agent", {"billing": 8, "german": 10, "english": 8}),
    DemoUser("Felix Ortega", "felix@demo.example", "agent",
             {"support": 5, "spanish": 9, "english": 6}),
    DemoUser("Grace Kim", "grace@demo.example", "agent", {"sales": 6, "billing": 5, "english": 10}),
    DemoUser("Hugo Laurent", "hugo@demo.example", "agent",
             {"support": 7, "sales": 3, "french": 9, "english": 8}),
    DemoUser("Sam Rivera", "sam@demo.example", "supervisor", {}),
    DemoUser("Alex Admin", "admin@demo.example", "admin", {}),
]

# (channel, sender, name, subject, body, queue, provider id)
DEMO_MESSAGES: list[tuple[Channel, str, str, str, str, str, str]] = [
    ("sms", "+1 (415) 555-0100", "Maria Lopez", "", "Hola, I was charged twice this month.",
     "billing", "demo-sms-1"),
    ("email", "Jordan.Lee@Example.com", "Jordan Lee", "Upgrade to the team plan",
     "Hi, we'd like a quote for 25 seats on the team plan.", "sales", "<demo-email-1@example.com>"),
    ("chat", "demo-visitor-1", "Priya N.", "", "My router keeps dropping the connection.",
     "support", "demo-chat-1"),
]


async def seed_demo(settings: Settings, database_url: str, redis_url: str, workspace_id: int) -> None:
    pool = await create_pool(database_url, max_size=2)
    redis = connect_redis(redis_url)
    try:
        core = Core(pool=pool, redis=redis, config=settings.file)
        for u in DEMO_USERS:
            await add_user(core, workspace_id,
                           NewUser(u.email, u.name, u.role, DEMO_PASSWORD, u.skills), replace=True)
        for channel, sender, name, subject, body, queue, provider_id in DEMO_MESSAGES:
            await receive_inbound(core, InboundMessage(
                workspace_id=workspace_id, channel=channel, sender=sender, sender_name=name,
                subject=subject, body=body, queue=queue, provider_message_id=provider_id))
    finally:
        await redis.aclose()
        await pool.close()


SANDBOX_ACCOUNT_SID = "AC" + "de" * 16
SANDBOX_AUTH_TOKEN = "demo-sandbox-auth-token"
SANDBOX_NUMBER = "+14155550199"


def demo_settings(settings: Settings, base_url: str) -> Settings:
    """The demo plays Twilio itself: SMS and voice are on, webhooks are signed with a sandbox
    token, and the REST client talks to the sandbox's stand-in for Twilio's API, so a person can
    text and call as a customer at /sandbox without a Twilio account."""
    channels = settings.file.channels
    sms = channels.sms.model_copy(update={
        "enabled": True,
        "numbers": {**channels.sms.numbers, SANDBOX_NUMBER: settings.file.default_queue("sms")}})
    voice = channels.voice.model_copy(update={"enabled": True})
    file = settings.file.model_copy(update={
        "channels": channels.model_copy(update={"sms": sms, "voice": voice})})
    env = replace(settings.env, twilio_account_sid=SANDBOX_ACCOUNT_SID,
                  twilio_auth_token=SANDBOX_AUTH_TOKEN, public_url=base_url,
                  twilio_api_url=f"{base_url}/sandbox/twilio", demo_sandbox=True)
    return Settings(file=file, env=env)


def demo_banner(base_url: str) -> str:
    width = max(len(u.name) for u in DEMO_USERS)
    lines = [
        "",
        "The contact-center demo is running.",
        f"  Home:        {base_url}/",
        f"  Console:     {base_url}/console     (agents; log in below)",
        f"  Chat demo:   {base_url}/chat/demo   (a customer's view; open it in another window)",
        f"  Sandbox:     {base_url}/sandbox     (text or call as a customer, no Twilio account;"
        " to Support: ben@demo.example answers)",
        f"  Supervisor:  {base_url}/supervisor  (queues and agents live, reports; sam@demo.example)",
        f"  Health:      {base_url}/healthz",
        f"  Metrics:     {base_url}/metrics     (Prometheus)",
        f"  API:         {base_url}/api/openapi.json",
        "",
        f"Demo logins (password: {DEMO_PASSWORD}):",
    ]
    for u in DEMO_USERS:
        skills = ", ".join(f"{k} {v}" for k, v in u.skills.items()) or "-"
        lines.append(f"  {u.name:<{width}}  {u.email:<20} {u.role:<10} {skills}")
    lines += ["", "Stop with Ctrl-C; the data stays in CC_DATA_DIR for the next run.", ""]
    return "\n".join(lines)
