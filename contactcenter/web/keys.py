"""Typed keys for what the aiohttp application shares between handlers."""

from __future__ import annotations

import weakref

from aiohttp import web

from contactcenter.core import Core
from contactcenter.settings import Settings
from contactcenter.web.board_hub import BoardHub
from contactcenter.web.feed_hub import FeedHub
from contactcenter.web.openapi import ApiRoutes

SETTINGS = web.AppKey("settings", Settings)
CORE = web.AppKey("core", Core)
WORKSPACE_ID = web.AppKey("workspace_id", int)
API_ROUTES = web.AppKey("api_routes", list[ApiRoutes])
FEED_HUB = web.AppKey("feed_hub", FeedHub)
BOARD_HUB = web.AppKey("board_hub", BoardHub)
# Open websockets and what each one is ("chat", "console"), closed at shutdown.
SOCKETS: web.AppKey[weakref.WeakKeyDictionary[web.WebSocketResponse, str]] = web.AppKey("sockets")
