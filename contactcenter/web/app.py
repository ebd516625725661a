"""Assembly of the aiohttp application: shared objects, their lifecycles, and the routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Protocol, TypeVar

from aiohttp import WSCloseCode, web

from agent_ui import console_page, home, record_pages, supervisor_page
from channels.email import imap_reader, smtp_sender
from channels.sandbox import page as sandbox
from channels.twilio_sms import adapter as sms_adapter
from channels.twilio_sms import intake as sms_intake
from channels.twilio_sms import sender as sms_sender
from channels.twilio_voice import adapter as voice_adapter
from channels.twilio_voice import bridger as voice_bridger
from channels.webchat import adapter as webchat
from contactcenter import outgoing_webhooks
from contactcenter.core import Core, connect_redis
from contactcenter.crm import keeper
from contactcenter.settings import Settings
from contactcenter.store.db import create_pool
from contactcenter.web import (
    auth,
    case_status,
    conversations,
    crm,
    flagged,
    health,
    metrics,
    security_headers,
    supervision,
    work,
)
from contactcenter.web.board_hub import BoardHub
from contactcenter.web.bodies import vocabulary
from contactcenter.web.errors import json_errors
from contactcenter.web.feed_hub import FeedHub
from contactcenter.web.keys import (
    API_ROUTES,
    BOARD_HUB,
    CORE,
    FEED_HUB,
    SETTINGS,
    SOCKETS,
    WORKSPACE_ID,
)
from contactcenter.web.openapi import ApiRoutes, Response, openapi_document
from contactcenter.web.session_sockets import SESSION_SOCKETS, SessionSockets
from contactcenter.web.webhook_spool import spool_context
from routing.service import RoutingService

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 1024 * 1024

docs = ApiRoutes(tag="operations")


@docs.route(
    "GET", "/api/openapi.json", summary="This document",
    responses={200: Response("the OpenAPI 3.1 description of every JSON endpoint",
                             {"type": "object"})},
)
async def openapi(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    server = settings.env.public_url or f"{request.scheme}://{request.host}"
    return web.json_response(openapi_document(request.app[API_ROUTES], server,
                                              vocabulary(settings.file)))


def _core_context(
    settings: Settings, database_url: str, redis_url: str
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        pool = await create_pool(database_url)
        redis = connect_redis(redis_url)
        try:
            app[WORKSPACE_ID] = await pool.fetchval(
                "SELECT workspace_id FROM workspaces WHERE slug = $1", settings.file.workspace.slug)
            app[CORE] = Core(pool=pool, redis=redis, config=settings.file)
            yield
        finally:
            await redis.aclose()
            await pool.close()
    return lifecycle


class _Hub(Protocol):
    async def run(self) -> None: ...


H = TypeVar("H", bound=_Hub)


def _hub_context(
    key: web.AppKey[H], make: Callable[[web.Application], H]
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A hub of this node (feed wake-ups, the supervisors' board) shared by the handlers under
    `key`, running in the background until the application stops."""
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        hub = make(app)
        app[key] = hub
        task = asyncio.create_task(hub.run(), name=type(hub).__name__)
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return lifecycle


async def _close_sockets(app: web.Application) -> None:
    """Open consoles and chats would otherwise hold the shutdown until they close themselves."""
    sockets = app[SOCKETS]
    for ws in list(sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


async def _routing_context(app: web.Application) -> AsyncIterator[None]:
    """Every node runs the workspace's routing service; one of them leads at a time."""
    node_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
    service = RoutingService(app[CORE], app[WORKSPACE_ID], node_id)
    task = asyncio.create_task(service.run(), name="routing")
    yield
    service.stop()
    try:
        await asyncio.wait_for(task, timeout=5)
    except TimeoutError:
        log.warning("the routing service did not stop within 5 s")
    await service.release()


def create_app(settings: Settings, database_url: str, redis_url: str) -> web.Application:
    """The server for one node. The database must be migrated and the workspace synced first."""
    app = web.Application(middlewares=[metrics.time_webhooks, json_errors],
                          client_max_size=MAX_REQUEST_BYTES)
    app[SETTINGS] = settings
    security_headers.install(app)
    app.cleanup_ctx.append(_core_context(settings, database_url, redis_url))
    app[SESSION_SOCKETS] = SessionSockets()
    app.cleanup_ctx.append(_hub_context(FEED_HUB, lambda app: FeedHub(
        app[CORE].redis, app[SESSION_SOCKETS].close)))
    app.cleanup_ctx.append(_hub_context(
        BOARD_HUB, lambda app: BoardHub(app[CORE], app[WORKSPACE_ID])))
    app.cleanup_ctx.append(_routing_context)
    app.cleanup_ctx.append(sms_intake.intake_context)
    app.cleanup_ctx.append(spool_context({
        sms_intake.SOURCE: sms_adapter.apply_incoming,
        sms_adapter.STATUS_SOURCE: sms_adapter.apply_status,
        voice_adapter.STATUS_SOURCE: voice_adapter.apply_status,
        voice_adapter.VOICEMAIL_SOURCE: voice_adapter.apply_voicemail,
        voice_adapter.TRANSCRIPTION_SOURCE: voice_adapter.apply_transcription,
    }))
    app.cleanup_ctx.append(imap_reader.readers_context)
    app.cleanup_ctx.append(smtp_sender.sender_context)
    app.cleanup_ctx.append(sms_sender.sender_context)
    app.cleanup_ctx.append(voice_bridger.bridger_context)
    app.cleanup_ctx.append(keeper.keeper_context)
    app.cleanup_ctx.append(outgoing_webhooks.dispatcher_context)
    sockets: weakref.WeakKeyDictionary[web.WebSocketResponse, str] = weakref.WeakKeyDictionary()
    app[SOCKETS] = sockets
    app.on_shutdown.append(_close_sockets)
    groups = [health.routes, auth.routes, work.routes, conversations.routes, crm.routes,
              supervision.routes, flagged.routes, sms_adapter.routes, voice_adapter.routes, docs]
    app[API_ROUTES] = groups
    for group in groups:
        group.add_to(app, auth.require_session)
    home.add_routes(app)
    console_page.add_routes(app)
    record_pages.add_routes(app)
    supervisor_page.add_routes(app)
    metrics.add_routes(app)
    webchat.add_routes(app)
    case_status.add_routes(app)
    if settings.env.demo_sandbox:
        sandbox.add_routes(app)
    return app
