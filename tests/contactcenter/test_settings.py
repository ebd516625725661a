"""A wrong configuration stops the program with exit code 2 and one line naming the key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from channels.email.imap_reader import mailboxes
from contactcenter.settings import DEFAULT_CONFIG_PATH, ConfigError, load_settings

DEFAULT = DEFAULT_CONFIG_PATH.read_text()
TWILIO = {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "token"}


def test_default_configuration_loads() -> None:
    settings = load_settings({})
    assert [q.name for q in settings.file.queues] == ["sales", "support", "billing"]
    assert settings.env.database_url is None
    assert settings.env.data_dir == Path("./ccdata").resolve()


def test_channels_left_out_of_capacity_get_defaults(tmp_path: Path) -> None:
    path = tmp_path / "cc.toml"
    path.write_text('skills = ["support"]\n[capacity.chat]\nweight = 50\nmax = 2\n'
                    '[[queues]]\nname = "support"\nskills = { support = 1 }\n')
    capacity = load_settings({"CC_CONFIG": str(path)}).file.capacity
    assert set(capacity) == {"voice", "chat", "sms", "email", "voicemail"}
    assert (capacity["chat"].weight, capacity["chat"].max) == (50, 2)
    assert capacity["voice"].exclusive


def test_environment_overrides(tmp_path: Path) -> None:
    settings = load_settings({
        "CC_DATABASE_URL": "postgresql://u:p@db:5432/cc", "CC_REDIS_URL": "redis://cache:6379/0",
        "CC_DATA_DIR": str(tmp_path), "CC_PUBLIC_URL": "https://cc.example.com/",
        "CC_SMTP_HOST": "smtp.example.com", "CC_SMTP_TLS": "STARTTLS",
    })
    assert settings.env.public_url == "https://cc.example.com"
    assert settings.env.smtp is not None
    assert (settings.env.smtp.port, settings.env.smtp.tls) == (587, "starttls")


def test_sms_enabled_with_its_secrets_loads(tmp_path: Path) -> None:
    path = tmp_path / "cc.toml"
    path.write_text(DEFAULT.replace("[channels.sms]\nenabled = false", "[channels.sms]\nenabled = true"))
    settings = load_settings({"CC_CONFIG": str(path), **TWILIO})
    assert settings.file.channels.sms.enabled


# (name, change to the default file, extra environment, expected key, words in the problem)
BAD_CONFIGS = [
    ("unknown queue in a rule", ('overflow_queue = "support"', 'overflow_queue = "retention"', 1),
     {}, "queues[0].overflow_queue", "unknown queue 'retention'"),
    ("unknown queue in a topic", ('"Billing" = "billing"', '"Billing" = "invoices"', 1),
     {}, "channels.webchat.topics.Billing", "unknown queue 'invoices'"),
    ("skill level out of range", ("skills = { sales = 1 }", "skills = { sales = 11 }", 1),
     {}, "queues[0].skills.sales", "less than or equal to 10"),
    ("unknown skill", ("skills = { sales = 1 }", "skills = { juggling = 3 }", 1),
     {}, "queues[0].skills.juggling", "unknown skill"),
    ("sms enabled without its secret",
     ("[channels.sms]\nenabled = false", "[channels.sms]\nenabled = true", 1),
     {}, "channels.sms.enabled", "TWILIO_AUTH_TOKEN"),
    ("email enabled without its secret",
     ("[channels.email]\nenabled = false", "[channels.email]\nenabled = true", 1),
     {}, "channels.email.enabled", "CC_IMAP_HOST"),
    ("malformed database URL", None, {"CC_DATABASE_URL": "postgresql://db:notaport/cc"},
     "CC_DATABASE_URL", "malformed URL"),
    ("wrong scheme for Redis", None, {"CC_REDIS_URL": "http://cache:6379"},
     "CC_REDIS_URL", "must start with redis://"),
    ("public URL without host", None, {"CC_PUBLIC_URL": "https://"}, "CC_PUBLIC_URL", "no host"),
    ("a typo in a key", ("priority = 5", "priorty = 5", 1), {}, "queues[0].priorty",
     "Extra inputs are not permitted"),
    ("invalid TOML", ("[workspace]", "[workspace", 1), {}, "CC_CONFIG", "not valid TOML"),
    ("unknown region", ('default_region = "US"', 'default_region = "XX"', 1), {},
     "workspace.default_region", "unknown region"),
    ("bad port", None, {"CC_IMAP_HOST": "imap.example.com", "CC_IMAP_PORT": "99999"},
     "CC_IMAP_PORT", "not a port number"),
    ("escalation naming an unknown skill",
     ('drop_skill = "spanish"', 'drop_skill = "klingon"', 1), {},
     "queues[0].escalation[0].drop_skill", "unknown skill 'klingon'"),
    ("queue naming an unknown calendar", ('calendar = "office"', 'calendar = "offce"', 1), {},
     "queues[2].calendar", "unknown calendar"),
    ("opening hours that close before they open", ('mon = "08:00-20:00"', 'mon = "20:00-08:00"', 1),
     {}, "calendars.office.mon", "closes before it opens"),
    ("bad number in an SMS rule", ("numbers = {}", 'numbers = { "+1415" = "sales" }', 1), {},
     "channels.sms.numbers.+1415", "E.164"),
    ("SLA on an unknown calendar", ('[sla]\ncalendar = "office"', '[sla]\ncalendar = "ofice"', 1),
     {}, "sla.calendar", "unknown calendar 'ofice'"),
    ("a choice attribute without choices",
     ('choices = ["free", "team", "enterprise"]', "choices = []", 1), {},
     "customer_attributes[0].choices", "needs choices"),
    ("a webhook without its secret",
     ('# [[webhooks]]\n# name = "erp"\n# url = "https://erp.example.com/hooks/contact-center"\n'
      '# secret_env = "CC_WEBHOOK_ERP_SECRET"',
      '[[webhooks]]\nname = "erp"\nurl = "https://erp.example.com/hooks/contact-center"\n'
      'secret_env = "CC_WEBHOOK_ERP_SECRET"', 1), {},
     "webhooks[0].secret_env", "CC_WEBHOOK_ERP_SECRET is not set"),
    ("an offer that times out before it is seen",
     ("offer_timeout_seconds = { voice = 20", "offer_timeout_seconds = { voice = -20", 1), {},
     "routing.offer_timeout_seconds.voice", "greater than or equal to 5"),
    ("IMAP over something unknown", None,
     {"CC_IMAP_HOST": "imap.example.com", "CC_IMAP_TLS": "ssl3"}, "CC_IMAP_TLS",
     "must be one of tls, starttls, none"),
]


def _write(tmp_path: Path, change: tuple[str, str, int] | None) -> Path:
    path = tmp_path / "cc.toml"
    text = DEFAULT
    if change is not None:
        old, new, count = change
        assert old in text, f"test setup: {old!r} not in the default config"
        text = text.replace(old, new, count)
    path.write_text(text)
    return path


@pytest.mark.parametrize(("change", "env", "key", "words"),
                         [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS])
def test_bad_configuration_is_refused_with_its_key(
    tmp_path: Path, change: tuple[str, str, int] | None, env: dict[str, str], key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"CC_CONFIG": str(_write(tmp_path, change)), **env})
    assert caught.value.key == key
    assert words in caught.value.problem


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist") as caught:
        load_settings({"CC_CONFIG": str(tmp_path / "nope.toml")})
    assert caught.value.key == "CC_CONFIG"


@pytest.mark.parametrize(("change", "env", "key", "words"),
                         [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS])
def test_cli_exits_2_with_one_line(
    tmp_path: Path, change: tuple[str, str, int] | None, env: dict[str, str], key: str, words: str
) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("CC_", "TWILIO_"))}
    environ |= {"CC_CONFIG": str(_write(tmp_path, change)), "CC_DATA_DIR": str(tmp_path), **env}
    proc = subprocess.run(
        [sys.executable, "-m", "contactcenter", "serve"], env=environ, capture_output=True,
        text=True, timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"contactcenter: configuration error: {key}: ")
    assert words in lines[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "postgres").exists(), "nothing may start before the config is checked"


MAILBOX = '''
[[channels.email.mailboxes]]
name = "billing"
host = "imap.example.com"
user = "billing@example.com"
password_env = "CC_IMAP_BILLING_PASSWORD"
address = "billing@example.com"
queue = "billing"
'''
EMAIL_ENV = {"CC_IMAP_HOST": "imap.example.com", "CC_IMAP_USER": "support@example.com",
             "CC_IMAP_PASSWORD": "x", "CC_SMTP_HOST": "smtp.example.com",
             "CC_EMAIL_ADDRESS": "support@example.com"}


def _with_mailbox(tmp_path: Path, mailbox: str = MAILBOX) -> Path:
    path = tmp_path / "cc.toml"
    path.write_text(DEFAULT.replace("[channels.email]\nenabled = false",
                                    "[channels.email]\nenabled = true") + mailbox)
    return path


def test_more_mailboxes_keep_their_passwords_in_the_environment(tmp_path: Path) -> None:
    settings = load_settings({"CC_CONFIG": str(_with_mailbox(tmp_path)), **EMAIL_ENV,
                              "CC_IMAP_BILLING_PASSWORD": "s3cret"})
    default, billing = mailboxes(settings)
    assert (default.name, default.address, default.queue) == ("default", "support@example.com", None)
    assert (billing.name, billing.address, billing.queue, billing.folder) == (
        "billing", "billing@example.com", "billing", "INBOX")
    assert (billing.server.host, billing.server.port, billing.server.password) == (
        "imap.example.com", 993, "s3cret")


def test_a_mailbox_without_its_password_or_queue_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as missing:
        load_settings({"CC_CONFIG": str(_with_mailbox(tmp_path)), **EMAIL_ENV})
    assert missing.value.key == "channels.email.mailboxes[0].password_env"
    assert "CC_IMAP_BILLING_PASSWORD is not set" in missing.value.problem
    with pytest.raises(ConfigError) as unknown:
        load_settings({"CC_CONFIG": str(_with_mailbox(tmp_path, MAILBOX.replace(
            'queue = "billing"', 'queue = "nowhere"'))), **EMAIL_ENV})
    assert unknown.value.key == "channels.email.mailboxes[0].queue"
    with pytest.raises(ConfigError) as taken:
        load_settings({"CC_CONFIG": str(_with_mailbox(tmp_path, MAILBOX.replace(
            'name = "billing"', 'name = "default"'))), **EMAIL_ENV})
    assert taken.value.key == "channels.email.mailboxes[0].name"
