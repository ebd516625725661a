"""The web chat's I/O: the widget script, a sample page, and the customer's socket.

Frames are parsed and checked by `protocol`; what they mean is done by the actions. This module
only moves frames between the socket, the actions and the customer's live feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiosmtplib
from aiohttp import WSMsgType, web

from channels.email.compose import code_mail
from channels.email.smtp_sender import deliver
from channels.webchat import protocol
from contactcenter import views
from contactcenter.actions import chat, conversation, receive_inbound, work
from contactcenter.actions.chat import Visitor
from contactcenter.core import Core
from contactcenter.errors import InputError
from contactcenter.feeds import customer_feed
from contactcenter.instruments import SOCKETS_OPEN
from contactcenter.models import InboundMessage
from contactcenter.settings import MailServer, WebchatConfig
from contactcenter.web.errors import json_error
from contactcenter.web.frames import ProtocolError
from contactcenter.web.keys import CORE, FEED_HUB, SETTINGS, SOCKETS, WORKSPACE_ID
from contactcenter.web.live_socket import LiveSocket, follow_feed, guarded, stop_tasks

log = logging.getLogger(__name__)
F = TypeVar("F", bound=protocol.Frame)

STATIC = Path(__file__).parent / "static"
HELLO_TIMEOUT_SECONDS = 10.0
PROFILE_TIMEOUT_SECONDS = 30 * 60.0
QUEUE_UPDATE_SECONDS = 3.0
# Close codes in the range RFC 6455 leaves to applications.
CLOSE_PROTOCOL = 4400  # no hello (or no pre-chat form) when one was needed


def _asset(name: str, content_type: str) -> Callable[[web.Request], Awaitable[web.FileResponse]]:
    async def handler(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / name, headers={
            "Content-Type": content_type,
            "Cache-Control": "public, max-age=300",
            # Any site may load the widget; the socket checks the site's origin.
            "Access-Control-Allow-Origin": "*",
        })
    return handler


async def demo_page(request: web.Request) -> web.Response:
    """A sample company page with the widget, as a site owner would embed it."""
    slug = request.app[CORE].config.workspace.slug
    html = (STATIC / "demo.html").read_text().replace("{{workspace}}", slug)
    return web.Response(text=html, content_type="text/html")


def _origin_allowed(request: web.Request) -> bool:
    """Browsers always send Origin on a websocket; a page on a site that is not allowed to
    embed the widget must not open a chat. Clients that are not browsers send none."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    public_url = request.app[SETTINGS].env.public_url
    own = f"{request.scheme}://{request.host}"
    allowed = {own.lower()}
    if public_url:
        parts = urlsplit(public_url)
        allowed.add(f"{parts.scheme}://{parts.netloc}".lower())
    allowed.update(o.rstrip("/").lower() for o in
                   request.app[CORE].config.channels.webchat.allowed_origins)
    return origin.rstrip("/").lower() in allowed


async def chat_socket(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    if not core.config.channels.webchat.enabled:
        return json_error(404, "chat_disabled", "web chat is not enabled on this server")
    if not _origin_allowed(request):
        return json_error(403, "origin_not_allowed",
                          "this site may not embed the chat (channels.webchat.allowed_origins)")
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=protocol.MAX_FRAME_BYTES)
    await ws.prepare(request)
    request.app[SOCKETS][ws] = "chat"
    session = ChatSession(request.app, ws, request.remote or "unknown")
    try:
        with SOCKETS_OPEN.labels("chat").track_inprogress():
            await session.run()
    except Exception:
        # A failure of ours (the database went away...): the widget reconnects and resumes.
        log.exception("chat socket failed")
    finally:
        # aiohttp cancels a handler whose client went away: the session's tasks must stop anyway.
        await asyncio.shield(session.stop())
    return ws


class ChatSession:
    """One customer's socket, from the hello to the close."""

    def __init__(self, app: web.Application, ws: web.WebSocketResponse, address: str) -> None:
        self.app = app
        self.address = address  # the client's, for the limits shared by its sockets
        self.core: Core = app[CORE]
        self.ws_id: int = app[WORKSPACE_ID]
        self.ws = ws
        self.sock = LiveSocket(ws)
        self.visitor: Visitor | None = None
        # The visitor's customer: theirs from the start, another once they prove an email.
        self.customer_id = 0
        self.feed_task: asyncio.Task[None] | None = None
        self.tasks: list[asyncio.Task[None]] = []
        cfg = self.core.config.channels.webchat
        self.bucket = protocol.TokenBucket(cfg.messages_per_second, cfg.burst)
        self.queue_changed = asyncio.Event()

    async def run(self) -> None:
        hello = await self._first_frame(protocol.Hello, "hello", HELLO_TIMEOUT_SECONDS)
        if hello is None:
            return
        slug = self.core.config.workspace.slug
        if hello.workspace not in (None, slug):
            await self.sock.send(ProtocolError(
                "unknown_workspace", f"this server serves workspace {slug!r}, not "
                f"{hello.workspace!r}: check the widget's data-workspace").frame())
            await self.ws.close(code=CLOSE_PROTOCOL, message=b"unknown workspace")
            return
        if hello.token:
            async with self.core.pool.acquire() as conn:
                self.visitor = await chat.find_visitor(conn, self.ws_id, hello.token)
        if self.visitor is None:
            if not await self._pre_chat_form():
                return
            last_event_id = None
        else:
            await self.sock.send({"type": "welcome", "name": self.visitor.name})
            last_event_id = hello.last_event_id
        assert self.visitor is not None
        self.customer_id = self.visitor.customer_id
        self._follow(last_event_id)
        self.tasks.append(asyncio.create_task(
            guarded(self.sock, "queue updates", self._queue_updates())))
        async for msg in self.ws:
            if msg.type != WSMsgType.TEXT:
                await self.sock.send(ProtocolError("bad_frame", "frames are JSON text").frame())
                continue
            await self._handle(msg.data)

    def _follow(self, last_event_id: str | None) -> None:
        """Follow the customer's feed (again, from a snapshot, when the customer changed)."""
        if self.feed_task is not None:
            self.feed_task.cancel()
        self.feed_task = asyncio.create_task(follow_feed(
            self.sock, self.app[FEED_HUB], self.core.redis,
            customer_feed(self.ws_id, self.customer_id), last_event_id, self._snapshot))
        self.tasks.append(self.feed_task)

    async def stop(self) -> None:
        await self.ws.close()
        await stop_tasks(self.tasks)

    async def _first_frame(self, kind: type[F], name: str, wait_seconds: float) -> F | None:
        """Wait for a frame of `kind`, answering anything else with an error; None = give up."""
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                msg = await self.ws.receive(timeout=max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                await self.ws.close(code=CLOSE_PROTOCOL, message=b"expected a hello frame")
                return None
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return None
            try:
                frame = protocol.parse_client_frame(msg.data if msg.type == WSMsgType.TEXT else "")
                if isinstance(frame, protocol.Ping):
                    await self.sock.send({"type": "pong"})
                    continue
                if not isinstance(frame, kind):
                    raise ProtocolError("unexpected_frame", f"send a {name!r} frame first")
                return frame
            except ProtocolError as exc:
                await self.sock.send(exc.frame())

    async def _pre_chat_form(self) -> bool:
        topics = list(self.core.config.channels.webchat.topics)
        await self.sock.send({"type": "profile_needed", "topics": topics})
        while True:
            start = await self._first_frame(protocol.Start, "start", PROFILE_TIMEOUT_SECONDS)
            if start is None:
                return False
            try:
                self.app[CHAT_LIMITS].new_visitor(self.address)
                self.visitor = await chat.start_visitor(
                    self.core, self.ws_id, start.name, start.email, start.topic)
            except InputError as exc:
                await self.sock.send({"type": "error", "error": exc.code, "message": exc.message})
                continue
            except ProtocolError as exc:
                await self.sock.send(exc.frame())
                continue
            await self.sock.send({"type": "started", "token": self.visitor.token,
                                  "name": self.visitor.name,
                                  "verify_email": await self._send_code()})
            return True

    def _can_mail(self) -> bool:
        env = self.app[SETTINGS].env
        return env.smtp is not None and bool(env.email_address)

    async def _send_code(self) -> str | None:
        """Mail a one-time code to the email the visitor typed; the address it went to, or None
        when there is no claim or no way to mail (an agent can still link the records)."""
        assert self.visitor is not None
        if self.visitor.claimed_email is None or not self._can_mail():
            return None
        code = await chat.new_email_code(self.core, self.visitor)
        if code is None:
            raise InputError("code_recently_sent", "a code was sent less than a minute ago: "
                             "check your inbox, or ask again in a minute")
        env = self.app[SETTINGS].env
        assert env.smtp is not None
        assert env.email_address is not None
        mime = code_mail(env.email_address, self.core.config.workspace.name,
                         self.visitor.claimed_email, code, int(chat.CODE_LIFETIME.seconds // 60))
        # Not one of the socket's tasks: the code must still go out if the visitor closes the
        # tab at once (they can come back and enter it).
        task = asyncio.create_task(_mail_quietly(env.smtp, mime, self.visitor.id))
        _mailing.add(task)
        task.add_done_callback(_mailing.discard)
        return self.visitor.claimed_email

    async def _verify(self, frame: protocol.VerifyEmail) -> None:
        assert self.visitor is not None
        if not self.bucket.take(time.monotonic()):
            raise ProtocolError("rate_limited", "slow down")
        self.customer_id = await chat.verify_email(self.core, self.ws_id, self.visitor,
                                                   frame.code)
        self.visitor = Visitor(self.visitor.id, self.customer_id, self.visitor.address,
                               self.visitor.name, self.visitor.topic)
        await self.sock.send({"type": "email_verified"})
        self._follow(None)  # their record now may hold earlier conversations: a fresh snapshot
        self.queue_changed.set()

    async def _snapshot(self) -> dict[str, Any]:
        assert self.visitor is not None
        async with self.core.pool.acquire() as conn:
            # An agent may have merged the visitor's record into another since they connected.
            self.customer_id = await chat.current_customer(conn, self.visitor.id)
            state = await views.visitor_state(conn, self.ws_id, self.customer_id)
        return {**state, "unverified_email": self.visitor.claimed_email}

    async def _handle(self, text: str) -> None:
        try:
            frame = protocol.parse_client_frame(text)
            if isinstance(frame, protocol.Message):
                await self._message(frame)
            elif isinstance(frame, protocol.Ping):
                await self.sock.send({"type": "pong"})
            elif isinstance(frame, protocol.Typing | protocol.Read | protocol.Leave):
                await self._about_conversation(frame)
            elif isinstance(frame, protocol.VerifyEmail):
                await self._verify(frame)
            elif isinstance(frame, protocol.SendCode):
                if await self._send_code() is None:
                    raise InputError("nothing_to_verify", "there is no email to verify")
                await self.sock.send({"type": "code_sent"})
            else:
                raise ProtocolError("unexpected_frame", f"{frame.type!r} is only for the start")
        except ProtocolError as exc:
            await self.sock.send(exc.frame(**_client_id(text)))
        except InputError as exc:
            await self.sock.send({"type": "error", "error": exc.code, "message": exc.message,
                                  **_client_id(text)})

    async def _message(self, frame: protocol.Message) -> None:
        assert self.visitor is not None
        if not self.bucket.take(time.monotonic()):
            raise ProtocolError("rate_limited", "slow down: too many messages; send it again in "
                                f"{self.bucket.retry_after():.1f} s")
        self.app[CHAT_LIMITS].message(self.address)
        body = protocol.check_body(frame.body, self.core.config.channels.webchat.max_message_chars)
        topics = self.core.config.channels.webchat.topics
        result = await receive_inbound(self.core, InboundMessage(
            workspace_id=self.ws_id, channel="chat", sender=self.visitor.address, body=body,
            provider_message_id=f"{self.visitor.address}:{frame.client_id}",
            sender_name=self.visitor.name, queue=topics.get(self.visitor.topic),
            client_id=frame.client_id))
        async with self.core.pool.acquire() as conn:
            stored = await views.message(conn, result.message_id)
        await self.sock.send({"type": "ack", "client_id": frame.client_id, "message": stored})
        if result.new_interaction:
            self.queue_changed.set()

    async def _about_conversation(self, frame: protocol.Typing | protocol.Read | protocol.Leave) -> None:
        assert self.visitor is not None
        async with self.core.pool.acquire() as conn:
            chat_row = await views.latest_chat(conn, self.ws_id, self.customer_id)
        if chat_row is None:
            raise ProtocolError("no_conversation", "there is no conversation yet")
        iid = chat_row["id"]
        if isinstance(frame, protocol.Typing):
            await conversation.typing(self.core, self.ws_id, iid, "customer")
        elif isinstance(frame, protocol.Read):
            await conversation.mark_read(self.core, self.ws_id, iid, "customer", frame.up_to)
        elif chat_row["state"] in ("queued", "offered", "assigned"):
            await work.customer_left(self.core, self.ws_id, iid)

    async def _queue_updates(self) -> None:
        """While the customer waits, their place in the queue and the estimated wait."""
        assert self.visitor is not None
        last: dict[str, Any] | None = None
        while True:
            async with self.core.pool.acquire() as conn:
                chat_row = await views.latest_chat(conn, self.ws_id, self.customer_id)
                place = None if chat_row is None else await views.queue_position(
                    conn, self.ws_id, chat_row["id"])
            if place is not None and place != last:
                await self.sock.send({"type": "queue", **place})
            last = place
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.queue_changed.wait(), QUEUE_UPDATE_SECONDS)
            self.queue_changed.clear()


_mailing: set[asyncio.Task[None]] = set()


async def _mail_quietly(server: MailServer, mime: EmailMessage, visitor_id: int) -> None:
    """Send the code; a mail server that fails is logged (the visitor can ask again)."""
    try:
        await deliver(server, mime)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        log.warning("could not mail chat visitor %d their code: %s", visitor_id, exc)


def _client_id(text: str) -> dict[str, str]:
    """Echo the client_id of a refused message, so the widget knows which one failed."""
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        value = json.loads(text).get("client_id")
        if isinstance(value, str) and len(value) <= 64:
            return {"client_id": value}
    return {}


class ChatLimits:
    """This node's limits over every chat socket: new visitors per address and in all, and
    messages per address (each socket also has its own bucket)."""

    def __init__(self, cfg: WebchatConfig) -> None:
        self.visitors_by_address = protocol.KeyedBuckets(
            cfg.new_visitors_per_minute_per_address / 60, _burst(cfg.new_visitors_per_minute_per_address))
        self.visitors = protocol.TokenBucket(cfg.new_visitors_per_minute / 60,
                                             _burst(cfg.new_visitors_per_minute))
        self.messages_by_address = protocol.KeyedBuckets(
            cfg.messages_per_second_per_address, _burst(cfg.messages_per_second_per_address * 4))

    def new_visitor(self, address: str) -> None:
        now = time.monotonic()
        held = self.visitors_by_address.take(address, now)
        if held is None and not self.visitors.take(now):
            held = self.visitors
        if held is not None:
            raise ProtocolError("rate_limited", "too many new chats from here: try again in "
                                f"{held.retry_after():.0f} s")

    def message(self, address: str) -> None:
        held = self.messages_by_address.take(address, time.monotonic())
        if held is not None:
            raise ProtocolError("rate_limited", "slow down: too many messages; send it again in "
                                f"{held.retry_after():.1f} s")


def _burst(per_period: float) -> int:
    return max(1, int(per_period))


CHAT_LIMITS = web.AppKey("chat_limits", ChatLimits)


def add_routes(app: web.Application) -> None:
    app[CHAT_LIMITS] = ChatLimits(app[SETTINGS].file.channels.webchat)
    app.router.add_get("/chat/widget.js", _asset("widget.js", "application/javascript; charset=utf-8"))
    app.router.add_get("/chat/widget.css", _asset("widget.css", "text/css; charset=utf-8"))
    app.router.add_get("/chat/demo", demo_page)
    app.router.add_get("/chat/ws", chat_socket)
