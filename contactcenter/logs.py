"""The server's log, set up once for the CLI and each worker: our business events at INFO, and
libraries' chatter (the Twilio library dumps every request it makes; pgserver every initdb and
pg_ctl line) only when it is a problem."""

from __future__ import annotations

import logging

_QUIET = ("pgserver", "twilio.http_client", "aioimaplib")


def configure() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
