"""REST resources of the workflows: customers (search, edit, identities, duplicates, merge and
its undo, notes, timeline), cases, leads, opportunities (board and forecast) and tasks. Lists
page by id (`after`) or time (`before`) and say where the next page starts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import AwareDatetime, ConfigDict, Field, StrictBool

from contactcenter import access, feeds
from contactcenter.actions.users import Session
from contactcenter.crm import cases, customers, sales, tasks, timeline
from contactcenter.errors import Conflict, InputError, NotFound
from contactcenter.events import publish
from contactcenter.identity import SHOWN_ADDRESS_SQL, IdentityKind, shown_name
from contactcenter.settings import CASE_PRIORITIES, CasePriority
from contactcenter.web.auth import require_session, require_supervisor
from contactcenter.web.bodies import (
    EMAIL_PATTERN,
    NOT_BLANK,
    CustomerAttributes,
    Money,
    Percent,
    QueueName,
    RequestBody,
    RowRef,
    StageName,
    named,
)
from contactcenter.web.errors import path_id, read_body
from contactcenter.web.keys import CORE
from contactcenter.web.openapi import PAGE_SIZE, ROW_ID, ApiRoutes, Query, Response

routes = ApiRoutes(tag="crm")

_OBJECT: dict[str, Any] = {"type": "object"}
# A well-formed id in the body that names nothing here (another workspace's included): the
# request fits the document, the data does not, so 409 rather than 400.
_NAMED_ROW_MISSING = "a customer, user or record named in the body that is not in this workspace"
_AUTH = {401: Response("not logged in"),
         403: Response("missing CSRF token, or not allowed (docs/access.md)")}


# The query was checked against each route's declared parameters before the handler ran
# (web/query_params.py): these only read it.

def _query_int(request: web.Request, name: str, default: int) -> int:
    text = request.query.get(name)
    return default if text is None else int(text)  # declared as digits


def _page_size(request: web.Request) -> int:
    return _query_int(request, "limit", 50)


def _query_flag(request: web.Request, name: str, default: bool) -> bool:
    return request.query.get(name, "true" if default else "false") == "true"


def _query_time(request: web.Request, name: str) -> datetime | None:
    text = request.query.get(name, "")
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InputError("bad_query", f"{name} must be an ISO 8601 time") from None
    if value.tzinfo is None:
        raise InputError("bad_query", f"{name} needs a time zone")
    return value


# ---- customers -------------------------------------------------------------------------------

class CustomerChanges(RequestBody):
    name: str | None = Field(default=None, max_length=200, pattern=NOT_BLANK)
    attributes: CustomerAttributes | None = Field(
        default=None, description="custom attributes (null removes one)")
    tags: list[str] | None = Field(default=None, max_length=50)
    company: str | None = Field(default=None, max_length=200, description='"" removes it')
    consent: dict[Literal["sms", "email", "voice", "chat"], StrictBool] | None = Field(
        default=None, description="per channel: true = opted out")


class NewCustomer(RequestBody):
    name: str = Field(max_length=200, pattern=NOT_BLANK)
    company: str = Field(default="", max_length=200)
    phone: str | None = Field(default=None, max_length=64, json_schema_extra={
        "anyOf": [named("PhoneNumber"), {"type": "null"}]},
        description="E.164, or as written in the workspace's region")
    email: str | None = Field(default=None, max_length=320, pattern=EMAIL_PATTERN)


@routes.route("POST", "/api/customers", body=NewCustomer,
              summary="A customer entered by hand, with a phone number and an email address",
              responses={201: Response("created", _OBJECT), 400: Response("a bad value"), **_AUTH,
                         409: Response("the number or address is already another customer's "
                                       "(open that record or merge)")})
async def post_customer(request: web.Request) -> web.Response:
    session = await require_session(request)
    body = await read_body(request, NewCustomer)
    given: list[tuple[IdentityKind, str]] = []  # null is none; "" is a bad number (400)
    if body.phone is not None:
        given.append(("phone", body.phone))
    if body.email is not None:
        given.append(("email", body.email))
    customer_id = await customers.create(request.app[CORE], session.workspace_id,
                                         session.user_id, body.name, body.company, given)
    return web.json_response({"id": customer_id}, status=201)


class NewIdentity(RequestBody):
    # Which text is an address depends on the kind: said in the schema as one choice per kind.
    model_config = ConfigDict(json_schema_extra=lambda schema: schema.update(
        properties={"kind": {"enum": ["phone", "email"]},
                    "address": {"type": "string", "maxLength": 320}},
        oneOf=[{"properties": {"kind": {"const": "phone"},
                               "address": named("PhoneNumber")}},
               {"properties": {"kind": {"const": "email"},
                               "address": {"type": "string", "pattern": EMAIL_PATTERN}}}]))
    kind: Literal["phone", "email"]
    address: str = Field(max_length=320)


class MergeRequest(RequestBody):
    merge: RowRef = Field(description="the customer whose record joins this one")


class NoteBody(RequestBody):
    body: str = Field(max_length=10_000, pattern=NOT_BLANK)


@routes.route("GET", "/api/customers", summary="Search customers by name, phone or email "
              "(q), tag, company and attribute (attr.NAME=value); pages by id",
              query={"q": Query({"type": "string", "maxLength": 200}, "name, phone or email"),
                     "tag": Query({"type": "string"}),
                     "company": Query({"type": "string"}),
                     "after": Query(ROW_ID),
                     "limit": Query(PAGE_SIZE)},
              open_query_prefix="attr.",
              responses={200: Response("customers and next_after", _OBJECT), **_AUTH})
async def list_customers(request: web.Request) -> web.Response:
    session = await require_session(request)
    attributes = {k.removeprefix("attr."): v for k, v in request.query.items()
                  if k.startswith("attr.")}
    async with request.app[CORE].pool.acquire() as conn:
        found = await customers.search(
            conn, session.workspace_id, text=request.query.get("q", ""),
            tag=request.query.get("tag"), company=request.query.get("company"),
            attributes=attributes, after=_query_int(request, "after", 0),
            limit=_page_size(request))
    return web.json_response(found)


@routes.route("PATCH", "/api/customers/{customer_id}", body=CustomerChanges,
              summary="Change a customer's name, attributes, tags, company or consent",
              responses={204: Response("changed"), 400: Response("a bad value"), **_AUTH,
                         404: Response("no such customer"),
                         409: Response("merged into another record")})
async def patch_customer(request: web.Request) -> web.Response:
    session = await require_session(request)
    body = await read_body(request, CustomerChanges)
    cid = path_id(request, "customer_id")
    if body.consent is not None and not all(body.consent.values()):
        current = await request.app[CORE].pool.fetchval(
            "SELECT consent FROM customers WHERE id = $1 AND workspace_id = $2",
            cid, session.workspace_id)
        lifted = [ch for ch, out in body.consent.items()
                  if not out and dict(current or {}).get(ch, {}).get("opted_out")]
        access.check_consent(session.role, opting_in=bool(lifted))
    await customers.update(request.app[CORE], session.workspace_id, session.user_id,
                           cid, customers.CustomerPatch(
                               body.name, body.attributes, body.tags, body.company,
                               None if body.consent is None
                               else {str(k): v for k, v in body.consent.items()}))
    return web.Response(status=204)


@routes.route("POST", "/api/customers/{customer_id}/identities", body=NewIdentity,
              summary="Add a phone or email the customer gave: their messages from it join "
                      "this record",
              responses={201: Response("added, normalised", _OBJECT),
                         400: Response("not a phone number or email"), **_AUTH,
                         404: Response("no such customer"),
                         409: Response("it belongs to another customer (merge them)")})
async def post_identity(request: web.Request) -> web.Response:
    session = await require_session(request)
    body = await read_body(request, NewIdentity)
    kind: IdentityKind = body.kind
    try:
        added = await customers.add_identity(request.app[CORE], session.workspace_id,
                                             session.user_id, path_id(request, "customer_id"),
                                             kind, body.address)
    except customers.IdentityTaken as taken:
        return web.json_response({"error": taken.code, "message": taken.message,
                                  "customer_id": taken.owner}, status=409)
    return web.json_response(added, status=201)


@routes.route("GET", "/api/customers/{customer_id}/duplicates",
              summary="Records that are probably the same person, with why",
              responses={200: Response("candidates", _OBJECT), **_AUTH,
                         404: Response("no such customer")})
async def get_duplicates(request: web.Request) -> web.Response:
    session = await require_session(request)
    async with request.app[CORE].pool.acquire() as conn:
        found = await customers.duplicates_of(conn, session.workspace_id,
                                              path_id(request, "customer_id"))
    return web.json_response({"duplicates": found})


@routes.route("POST", "/api/customers/{customer_id}/merge", body=MergeRequest,
              summary="Merge another record into this one (identities, interactions, cases, "
                      "leads, opportunities, notes, history); audited and reversible",
              responses={200: Response("merged; audit_id undoes it", _OBJECT),
                         400: Response("the same record"), **_AUTH,
                         404: Response("no such customer"),
                         409: Response("one of them was merged already")})
async def post_merge(request: web.Request) -> web.Response:
    session = await require_session(request)
    body = await read_body(request, MergeRequest)
    core = request.app[CORE]
    survivor = path_id(request, "customer_id")
    working: bool = await core.pool.fetchval(
        """SELECT EXISTS (SELECT 1 FROM interactions WHERE workspace_id = $1
               AND customer_id = ANY($2::bigint[]) AND agent_id = $3
               AND state IN ('offered', 'assigned', 'wrapup'))""",
        session.workspace_id, [survivor, body.merge], session.user_id)
    access.check_merges(session.role, working, core.config.access)
    audit_id = await customers.merge(core, session.workspace_id, session.user_id,
                                     survivor, body.merge)
    return web.json_response({"audit_id": audit_id})


@routes.route("POST", "/api/audit/{audit_id}/undo",
              summary="Undo a merge from the audit log (supervisors)",
              responses={204: Response("undone"), **_AUTH,
                         404: Response("no such merge"), 409: Response("already undone")})
async def post_undo(request: web.Request) -> web.Response:
    session = await require_supervisor(request)
    await customers.undo_merge(request.app[CORE], session.workspace_id, session.user_id,
                               path_id(request, "audit_id"))
    return web.Response(status=204)


@routes.route("GET", "/api/customers/{customer_id}/audit",
              summary="What people changed on this record (merges and their undoing)",
              responses={200: Response("entries, newest first", _OBJECT), **_AUTH})
async def get_audit(request: web.Request) -> web.Response:
    session = await require_session(request)
    async with request.app[CORE].pool.acquire() as conn:
        entries = await customers.audit_trail(conn, session.workspace_id,
                                              path_id(request, "customer_id"))
    return web.json_response({"entries": entries})


@routes.route("POST", "/api/customers/{customer_id}/notes", body=NoteBody,
              summary="A note on the customer's record",
              responses={201: Response("added", _OBJECT), 400: Response("empty"), **_AUTH,
                         404: Response("no such customer"),
                         409: Response("merged into another record")})
async def post_customer_note(request: web.Request) -> web.Response:
    session = await require_session(request)
    body = await read_body(request, NoteBody)
    note_id = await customers.add_note(request.app[CORE], session.workspace_id,
                                       session.user_id, path_id(request, "customer_id"),
                                       body.body)
    return web.json_response({"id": note_id}, status=201)


@routes.route("GET", "/api/customers/{customer_id}/timeline",
              summary="Every interaction, message, call, case, lead, opportunity and note, "
                      "newest first; pages by time (before)",
              query={"before": Query({"type": "string", "format": "date-time"}, "ISO 8601 with a zone"),
                     "limit": Query(PAGE_SIZE)},
              responses={200: Response("items and next_before", _OBJECT), **_AUTH,
                         404: Response("no such customer")})
async def get_timeline(request: web.Request) -> web.Response:
    session = await require_session(request)
    cid = path_id(request, "customer_id")
    async with request.app[CORE].pool.acquire() as conn:
        if not await conn.fetchval("SELECT true FROM customers WHERE id = $1 AND "
                                   "workspace_id = $2", cid, session.workspace_id):
            raise NotFound("no_such_customer", f"no customer {cid}")
        found = await timeline.timeline(conn, cid, before=_query_time(request, "before"),
                                        limit=_page_size(request))
    return web.json_response(found)


# ---- cases -----------------------------------------------------------------------------------



class NewCase(RequestBody):
    customer_id: RowRef
    subject: str = Field(max_length=200, pattern=NOT_BLANK)
    priority: CasePriority = "normal"
    category: str = Field(default="", max_length=100)
    team: QueueName | None = Field(default=None, description="the queue that owns it")
    owner_user_id: RowRef | None = None
    interaction_id: RowRef | None = Field(default=None, description="link this interaction")


class CaseChanges(RequestBody):
    status: Literal["new", "open", "pending", "resolved", "closed"] | None = None
    priority: CasePriority | None = None
    owner_user_id: RowRef | None = None
    category: str | None = Field(default=None, max_length=100)
    team: QueueName | None = None
    link_interaction: RowRef | None = Field(default=None, description="link another interaction")
    subject: str | None = Field(default=None, max_length=200, pattern=NOT_BLANK,
                                description="the title the customer sees on the status page")


@routes.route("POST", "/api/cases", body=NewCase, summary="Open a case (SLA clocks start)",
              responses={201: Response("the case", _OBJECT), 400: Response("a bad value"),
                         **_AUTH, 409: Response("the interaction named is another customer's, "
                                                "or " + _NAMED_ROW_MISSING)})
async def post_case(request: web.Request) -> web.Response:
    session = await require_session(request)
    body = await read_body(request, NewCase)
    core = request.app[CORE]
    async with core.pool.acquire() as conn, conn.transaction():
        owner = await conn.fetchval("SELECT id FROM customers WHERE id = $1 AND "
                                    "workspace_id = $2 AND merged_into IS NULL",
                                    body.customer_id, session.workspace_id)
        if owner is None:
            raise Conflict("bad_customer", f"no customer {body.customer_id}")
        if body.interaction_id is not None and await conn.fetchval(
                "SELECT customer_id FROM interactions WHERE id = $1 AND workspace_id = $2",
                body.interaction_id, session.workspace_id) != body.customer_id:
            raise Conflict("bad_interaction",
                             f"interaction {body.interaction_id} is not this customer's")
        case_id, logged = await cases.open_case(
            conn, core.config, session.workspace_id, session.user_id, body.customer_id,
            body.subject, priority=body.priority, category=body.category, team=body.team,
            owner_user_id=body.owner_user_id, interaction_id=body.interaction_id)
        view = await cases.get(conn, core.config, session.workspace_id, case_id)
    await publish(core.redis, [logged])
    return web.json_response(view, status=201)


@routes.route("GET", "/api/cases", summary="Cases, filtered by status (or closed=false: all "
              "but closed ones), customer, owner, priority or breached=true; pages by id",
              query={"status": Query({"enum": list(cases.STATUSES)}),
                     "closed": Query({"enum": ["true", "false"]}, "false: not closed"),
                     "priority": Query({"enum": list(CASE_PRIORITIES)}),
                     "customer_id": Query(ROW_ID),
                     "owner_user_id": Query(ROW_ID),
                     "breached": Query({"enum": ["true", "false"]}),
                     "after": Query(ROW_ID),
                     "limit": Query(PAGE_SIZE)},
              responses={200: Response("cases and next_after", _OBJECT), **_AUTH})
async def list_cases(request: web.Request) -> web.Response:
    session = await require_session(request)
    core = request.app[CORE]
    where = ["c.workspace_id = $1", "c.id > $2"]
    args: list[Any] = [session.workspace_id, _query_int(request, "after", 0)]
    for key, column in (("status", "c.status"), ("priority", "c.priority")):
        if request.query.get(key):
            args.append(request.query[key])
            where.append(f"{column} = ${len(args)}")
    for key in ("customer_id", "owner_user_id"):
        if request.query.get(key):
            args.append(_query_int(request, key, 0))
            where.append(f"c.{key} = ${len(args)}")
    if _query_flag(request, "breached", False):
        where.append("EXISTS (SELECT 1 FROM sla_breaches b WHERE b.case_id = c.id)")
    if not _query_flag(request, "closed", True):
        where.append("c.status <> 'closed'")
    limit = _page_size(request)
    async with core.pool.acquire() as conn:
        rows = await conn.fetch(f"{cases.CASES} WHERE {' AND '.join(where)} ORDER BY c.id "
                                f"LIMIT {limit + 1}", *args)
        now = await conn.fetchval("SELECT now()")
    calendar = cases.sla_calendar(core.config)
    page = [cases.case_view(r, calendar, now) for r in rows[:limit]]
    return web.json_response({"cases": page,
                              "next_after": page[-1]["id"] if len(rows) > limit else None})


@routes.route("GET", "/api/cases/{case_id}", summary="A case with its SLA timers and "
              "interactions", responses={200: Response("the case", _OBJECT), **_AUTH,
                                         404: Response("no such case")})
async def get_case(request: web.Request) -> web.Response:
    session = await require_session(request)
    core = request.app[CORE]
    async with core.pool.acquire() as conn:
        view = await cases.get(conn, core.config, session.workspace_id,
                               path_id(request, "case_id"))
    return web.json_response(view)


@routes.route("PATCH", "/api/cases/{case_id}", body=CaseChanges,
              summary="Change status (pending stops the resolution clock), priority, owner, "
                      "category, team or subject (public), or link an interaction",
              responses={200: Response("the case", _OBJECT), 400: Response("a bad value"),
                         **_AUTH, 404: Response("no such case"),
                         409: Response("a status change the workflow does not allow, or "
                                       + _NAMED_ROW_MISSING)})
async def patch_case(request: web.Request) -> web.Response:
    session = await require_session(request)
    body = await read_body(request, CaseChanges)
    core = request.app[CORE]
    case_id = path_id(request, "case_id")
    await _may_change(request, session, "cases", case_id, "case", body.owner_user_id)
    await cases.change(core, session.workspace_id, session.user_id, case_id,
                       status=body.status, priority=body.priority,
                       owner_user_id=body.owner_user_id, category=body.category, team=body.team,
                       subject=body.subject)
    if body.link_interaction is not None:
        async with core.pool.acquire() as conn, conn.transaction():
            logged = await cases.link_interaction(conn, session.workspace_id, session.user_id,
                                                  case_id, body.link_interaction)
        await publish(core.redis, [logged])
    async with core.pool.acquire() as conn:
        view = await cases.get(conn, core.config, session.workspace_id, case_id)
    return web.json_response(view)


# ---- leads, opportunities --------------------------------------------------------------------

class NewLead(RequestBody):
    customer_id: RowRef
    title: str = Field(max_length=200, pattern=NOT_BLANK)
    interaction_id: RowRef | None = None
    notes: str = Field(default="", max_length=5000)


class LeadChanges(RequestBody):
    status: Literal["new", "qualified", "disqualified"]
    reason: str = Field(default="", max_length=500, description="why, for the team")


class Conversion(RequestBody):
    name: str = Field(default="", max_length=200)
    amount: Money
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    expected_close: date | None = Field(default=None, strict=True)  # text, not a timestamp
    stage: StageName | None = None
    owner_user_id: RowRef | None = None


class OpportunityChanges(RequestBody):
    stage: StageName | None = None
    amount: Money | None = None
    probability: Percent | None = None
    expected_close: date | None = Field(default=None, strict=True)  # text, not a timestamp
    name: str | None = Field(default=None, max_length=200)
    owner_user_id: RowRef | None = None


@routes.route("POST", "/api/leads", body=NewLead, summary="Create a lead",
              responses={201: Response("created", _OBJECT), 400: Response("a bad value"),
                         **_AUTH, 409: Response("the interaction named is another customer's, "
                                                "or " + _NAMED_ROW_MISSING)})
async def post_lead(request: web.Request) -> web.Response:
    session = await require_session(request)
    body = await read_body(request, NewLead)
    core = request.app[CORE]
    async with core.pool.acquire() as conn, conn.transaction():
        channel = None
        if body.interaction_id is not None:
            channel = await conn.fetchval(
                "SELECT channel FROM interactions WHERE id = $1 AND customer_id = $2",
                body.interaction_id, body.customer_id)
            if channel is None:
                raise Conflict("bad_interaction",
                                 f"interaction {body.interaction_id} is not this customer's")
        if not await conn.fetchval("SELECT true FROM customers WHERE id = $1 AND "
                                   "workspace_id = $2", body.customer_id, session.workspace_id):
            raise Conflict("bad_customer", f"no customer {body.customer_id}")
        lead_id, logged = await sales.create_lead(
            conn, session.workspace_id, session.user_id, body.customer_id, body.title,
            interaction_id=body.interaction_id, source_channel=channel,
            owner_user_id=session.user_id, notes=body.notes)
    await publish(core.redis, [logged])
    return web.json_response({"id": lead_id}, status=201)


@routes.route("GET", "/api/leads", summary="Leads, filtered by status or customer; pages by id",
              query={"status": Query({"enum": ["new", "qualified", "disqualified",
                                               "converted"]}),
                     "customer_id": Query(ROW_ID),
                     "after": Query(ROW_ID),
                     "limit": Query(PAGE_SIZE)},
              responses={200: Response("leads and next_after", _OBJECT), **_AUTH})
async def list_leads(request: web.Request) -> web.Response:
    session = await require_session(request)
    where = ["l.workspace_id = $1", "l.id > $2"]
    args: list[Any] = [session.workspace_id, _query_int(request, "after", 0)]
    if request.query.get("status"):
        args.append(request.query["status"])
        where.append(f"l.status = ${len(args)}")
    if request.query.get("customer_id"):
        args.append(_query_int(request, "customer_id", 0))
        where.append(f"l.customer_id = ${len(args)}")
    limit = _page_size(request)
    rows = await request.app[CORE].pool.fetch(
        f"""SELECT l.*, c.display_name AS customer, {SHOWN_ADDRESS_SQL} AS address
            FROM leads l JOIN customers c ON c.id = l.customer_id
            WHERE {' AND '.join(where)} ORDER BY l.id LIMIT {limit + 1}""", *args)
    page = [{"id": r["id"], "customer_id": r["customer_id"], "title": r["title"],
             "customer": shown_name(r["customer"], r["address"]),
             "status": r["status"], "reason": r["status_reason"],
             "source_channel": r["source_channel"],
             "interaction_id": r["interaction_id"], "owner_user_id": r["owner_user_id"],
             "created_at": r["created_at"].isoformat()} for r in rows[:limit]]
    return web.json_response({"leads": page,
                              "next_after": page[-1]["id"] if len(rows) > limit else None})


@routes.route("PATCH", "/api/leads/{lead_id}", body=LeadChanges, summary="Qualify or "
              "disqualify a lead", responses={204: Response("changed"), **_AUTH,
                                              404: Response("no such lead"),
                                              409: Response("already converted")})
async def patch_lead(request: web.Request) -> web.Response:
    session = await require_session(request)
    body = await read_body(request, LeadChanges)
    await _may_change(request, session, "leads", path_id(request, "lead_id"), "lead")
    await sales.set_lead_status(request.app[CORE], session.workspace_id, session.user_id,
                                path_id(request, "lead_id"), body.status, body.reason)
    return web.Response(status=204)


@routes.route("POST", "/api/leads/{lead_id}/convert", body=Conversion,
              summary="Convert a lead into an opportunity on the pipeline",
              responses={201: Response("the opportunity", _OBJECT), **_AUTH,
                         404: Response("no such lead"),
                         409: Response("converted or disqualified already, or "
                                       + _NAMED_ROW_MISSING)})
async def post_convert(request: web.Request) -> web.Response:
    session = await require_session(request)
    body = await read_body(request, Conversion)
    core = request.app[CORE]
    await _may_change(request, session, "leads", path_id(request, "lead_id"), "lead",
                      body.owner_user_id)
    opportunity_id = await sales.convert(
        core, session.workspace_id, session.user_id, path_id(request, "lead_id"),
        name=body.name, amount=sales.amount_of(body.amount), currency=body.currency,
        expected_close=body.expected_close, stage_name=body.stage,
        owner_user_id=body.owner_user_id)
    row = await core.pool.fetchrow("SELECT * FROM opportunities WHERE id = $1", opportunity_id)
    return web.json_response(sales.opportunity_view(row), status=201)


@routes.route("PATCH", "/api/opportunities/{opportunity_id}", body=OpportunityChanges,
              summary="Move an opportunity along the pipeline or change its figures",
              responses={200: Response("the opportunity", _OBJECT), **_AUTH,
                         400: Response("no such stage"), 404: Response("no such opportunity"),
                         409: Response(_NAMED_ROW_MISSING)})
async def patch_opportunity(request: web.Request) -> web.Response:
    session = await require_session(request)
    body = await read_body(request, OpportunityChanges)
    core = request.app[CORE]
    oid = path_id(request, "opportunity_id")
    await _may_change(request, session, "opportunities", oid, "opportunity",
                      body.owner_user_id)
    row = await sales.update_opportunity(core, session.workspace_id, session.user_id, oid,
                                         body.model_dump(exclude_none=True))
    return web.json_response(sales.opportunity_view(row))


@routes.route("GET", "/api/opportunities/board", summary="The pipeline by stage",
              responses={200: Response("one column per stage", _OBJECT), **_AUTH})
async def get_board(request: web.Request) -> web.Response:
    session = await require_session(request)
    core = request.app[CORE]
    async with core.pool.acquire() as conn:
        columns = await sales.board(conn, core.config, session.workspace_id)
    return web.json_response({"stages": columns})


@routes.route("GET", "/api/opportunities/forecast",
              summary="Weighted forecast per owner and period (period=month|quarter, owner)",
              query={"period": Query({"enum": ["month", "quarter"]}), "owner": Query(ROW_ID)},
              responses={200: Response("rows", _OBJECT), 400: Response("bad period"), **_AUTH})
async def get_forecast(request: web.Request) -> web.Response:
    session = await require_session(request)
    owner = _query_int(request, "owner", 0) or None
    async with request.app[CORE].pool.acquire() as conn:
        rows = await sales.forecast(conn, session.workspace_id,
                                    request.query.get("period", "month"), owner)
    return web.json_response({"forecast": rows})


# ---- tasks -----------------------------------------------------------------------------------

class NewTask(RequestBody):
    title: str = Field(max_length=300, pattern=NOT_BLANK)
    assignee_user_id: RowRef | None = Field(default=None, description="default: me")
    due_at: AwareDatetime = Field(strict=True)  # ISO 8601 text with its zone, not seconds
    customer_id: RowRef | None = None
    case_id: RowRef | None = None
    lead_id: RowRef | None = None
    opportunity_id: RowRef | None = None


@routes.route("POST", "/api/tasks", body=NewTask, summary="A follow-up task with a due time",
              responses={201: Response("created", _OBJECT), 400: Response("a bad value"),
                         **_AUTH, 409: Response(_NAMED_ROW_MISSING)})
async def post_task(request: web.Request) -> web.Response:
    session = await require_session(request)
    body = await read_body(request, NewTask)
    links = {k: v for k in tasks.LINKS if (v := getattr(body, k)) is not None}
    assignee = body.assignee_user_id or session.user_id
    core = request.app[CORE]
    async with core.pool.acquire() as conn:
        task_id = await tasks.create(conn, session.workspace_id, session.user_id, body.title,
                                     assignee, body.due_at, links)
    await feeds.push(core.redis, [tasks.changed(session.workspace_id, assignee)])
    return web.json_response({"id": task_id}, status=201)


@routes.route("GET", "/api/tasks", summary="Tasks (assignee=me by default; open=false for "
              "done ones too; overdue=true)",
              query={"assignee": Query(ROW_ID, "a user id; mine when absent"),
                     "open": Query({"enum": ["true", "false"]}),
                     "overdue": Query({"enum": ["true", "false"]})},
              responses={200: Response("tasks, soonest due first", _OBJECT), **_AUTH})
async def list_tasks(request: web.Request) -> web.Response:
    session = await require_session(request)
    assignee = _query_int(request, "assignee", 0) or session.user_id
    where = ["workspace_id = $1", "assignee_user_id = $2"]
    if _query_flag(request, "open", True):
        where.append("done_at IS NULL")
    if _query_flag(request, "overdue", False):
        where.append("done_at IS NULL AND due_at < now()")
    async with request.app[CORE].pool.acquire() as conn:
        rows = await conn.fetch(f"SELECT * FROM tasks WHERE {' AND '.join(where)} "
                                "ORDER BY due_at, id LIMIT 200", session.workspace_id, assignee)
        now = await conn.fetchval("SELECT now()")
    return web.json_response({"tasks": [tasks.task_view(r, now) for r in rows]})


@routes.route("POST", "/api/tasks/{task_id}/done", summary="Mark a task done",
              responses={204: Response("done"), **_AUTH, 404: Response("no such task")})
async def post_task_done(request: web.Request) -> web.Response:
    session = await require_session(request)
    core = request.app[CORE]
    task_id = path_id(request, "task_id")
    await _may_change(request, session, "tasks", task_id, "task")
    async with core.pool.acquire() as conn:
        assignee = await tasks.complete(conn, session.workspace_id, task_id)
    await feeds.push(core.redis, [tasks.changed(session.workspace_id, assignee)])
    return web.Response(status=204)


# The column naming who a record is someone's, per table (a task is its assignee's).
_OWNER_COLUMN = {"cases": "owner_user_id", "leads": "owner_user_id",
                 "opportunities": "owner_user_id", "tasks": "assignee_user_id"}


async def _may_change(request: web.Request, session: Session, table: str, record_id: int,
                      what: str, new_owner: int | None = None) -> None:
    """403 unless the session may change this record (and give it to `new_owner`); 404 when
    the workspace has no such record."""
    core = request.app[CORE]
    found = await core.pool.fetchrow(
        f"SELECT {_OWNER_COLUMN[table]} AS owner FROM {table} WHERE id = $1 AND workspace_id = $2",
        record_id, session.workspace_id)
    if found is None:
        raise NotFound(f"no_such_{what}", f"no {what} {record_id}")
    access.check_edits(session.role, session.user_id, found["owner"], f"{what} {record_id}",
                       core.config.access)
    if new_owner is not None:
        access.check_assigns(session.role, session.user_id, new_owner, found["owner"],
                             f"{what} {record_id}")
