"""Login with a session cookie. Mutating requests must also carry the session's CSRF token in
the X-CSRF-Token header, which a forged cross-site form cannot know."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, Field

from contactcenter.actions import end_session, start_session
from contactcenter.actions.users import SESSION_LIFETIME, Session, find_session
from contactcenter.errors import Forbidden, Unauthorized
from contactcenter.web.bodies import RequestBody
from contactcenter.web.errors import read_body
from contactcenter.web.keys import CORE, SETTINGS, WORKSPACE_ID
from contactcenter.web.openapi import ApiRoutes, Response
from contactcenter.web.session_sockets import SESSION_SOCKETS, end_everywhere

routes = ApiRoutes(tag="auth")

SESSION_COOKIE = "cc_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequest(RequestBody):
    # This server serves one workspace; naming it is optional, and naming another one fails.
    workspace: str | None = Field(default=None, max_length=64)
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class UserInfo(BaseModel):
    id: int
    email: str
    display_name: str
    role: str
    workspace_id: int


class LoginResponse(BaseModel):
    user: UserInfo
    csrf_token: str


def _user_info(s: Session) -> UserInfo:
    return UserInfo(id=s.user_id, email=s.email, display_name=s.display_name, role=s.role,
                    workspace_id=s.workspace_id)


async def require_session(request: web.Request) -> Session:
    """The logged-in user, or 401; for a mutating method also a matching CSRF token, or 403."""
    token = request.cookies.get(SESSION_COOKIE)
    session = None
    if token:
        async with request.app[CORE].pool.acquire() as conn:
            session = await find_session(conn, request.app[WORKSPACE_ID], token)
    if session is None:
        raise Unauthorized("not_logged_in", "log in first (POST /api/login)")
    if request.method not in _SAFE_METHODS and request.headers.get(CSRF_HEADER) != session.csrf_token:
        raise Forbidden("csrf", f"missing or wrong {CSRF_HEADER} header")
    return session


async def require_supervisor(request: web.Request) -> Session:
    """As require_session, and 403 unless the user supervises (a supervisor or an admin)."""
    session = await require_session(request)
    if session.role not in ("supervisor", "admin"):
        raise Forbidden("supervisors_only", "only a supervisor or an admin can do this")
    return session


@routes.route(
    "POST", "/api/login", summary="Log in; sets the session cookie", body=LoginRequest,
    responses={200: Response("logged in", LoginResponse), 400: Response("malformed body"),
               401: Response("wrong email or password, or another workspace"),
               429: Response("too many failed logins (Retry-After says how long to wait), "
                             "or too many at once")},
)
async def login(request: web.Request) -> web.Response:
    body = await read_body(request, LoginRequest)
    core = request.app[CORE]
    if body.workspace not in (None, core.config.workspace.slug):
        raise Unauthorized("wrong_workspace", f"this server serves workspace "
                           f"{core.config.workspace.slug!r}, not {body.workspace!r}")
    session = await start_session(core, request.app[WORKSPACE_ID], body.email, body.password,
                                  request.remote or "unknown")
    response = web.json_response(
        LoginResponse(user=_user_info(session), csrf_token=session.csrf_token).model_dump())
    public_url = request.app[SETTINGS].env.public_url or ""
    response.set_cookie(
        SESSION_COOKIE, session.token, httponly=True, samesite="Lax", path="/",
        secure=public_url.startswith("https://"),
        max_age=int(SESSION_LIFETIME.total_seconds()),
    )
    return response


@routes.route(
    "POST", "/api/logout", summary="End the current session",
    responses={204: Response("logged out"), 401: Response("not logged in"),
               403: Response("missing CSRF token")},
)
async def logout(request: web.Request) -> web.Response:
    session = await require_session(request)
    core = request.app[CORE]
    async with core.pool.acquire() as conn:
        await end_session(conn, session.token)
    await end_everywhere(request.app[SESSION_SOCKETS], core.redis, session.token)
    response = web.Response(status=204)
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


@routes.route(
    "GET", "/api/me", summary="The logged-in user",
    responses={200: Response("the user", LoginResponse), 401: Response("not logged in")},
)
async def me(request: web.Request) -> web.Response:
    session = await require_session(request)
    return web.json_response(
        LoginResponse(user=_user_info(session), csrf_token=session.csrf_token).model_dump())
