"""Typed keys for what the aiohttp application shares between handlers."""

from __future__ import annotations

from aiohttp import web

from contactcenter.core import Core
from contactcenter.settings import Settings
from contactcenter.web.openapi import ApiRoutes

SETTINGS = web.AppKey("settings", Settings)
CORE = web.AppKey("core", Core)
WORKSPACE_ID = web.AppKey("workspace_id", int)
API_ROUTES = web.AppKey("api_routes", list[ApiRoutes])
