"""What the SMS sender and the call bridger share: the REST client, and a worker that claims
work from PostgreSQL and acts on it through Twilio, running for as long as the app runs.

Every node runs each worker; a row is claimed by one node (FOR UPDATE SKIP LOCKED), so
nothing is done twice and a node that dies leaves its unclaimed work to the others.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from contactcenter.core import Core
from contactcenter.polling import ClaimingWorker, running
from contactcenter.settings import FileConfig, Settings
from contactcenter.web.keys import CORE, SETTINGS, WORKSPACE_ID


def twilio_client(settings: Settings) -> Client:
    """The REST client; made inside the running loop (the async HTTP client needs one)."""
    env = settings.env
    client = Client(env.twilio_account_sid, env.twilio_auth_token,
                    http_client=AsyncTwilioHttpClient(timeout=10))
    if env.twilio_api_url:
        client.api.base_url = env.twilio_api_url
    return client


class Worker(ClaimingWorker):
    """Claims work, acts on each item through Twilio's REST API."""

    def __init__(self, core: Core, workspace_id: int, client: Client,
                 status_callback: str | None) -> None:
        super().__init__()
        self.core = core
        self.ws = workspace_id
        self.client = client
        self.status_callback = status_callback


def worker_context(
    make: Callable[[Core, int, Client, str | None], Worker],
    enabled: Callable[[FileConfig], bool], status_path: str,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx running the worker while the app runs, when its channel is enabled.
    Twilio reports on what the worker did to `status_path` (with CC_PUBLIC_URL set)."""
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        core = app[CORE]
        if not enabled(core.config):
            yield
            return
        client = twilio_client(settings)
        public = settings.env.public_url
        worker = make(core, app[WORKSPACE_ID], client, f"{public}{status_path}" if public else None)
        async with running(worker):
            yield
        await client.http_client.close()
    return lifecycle
