"""Files an agent attaches to a reply: uploaded while the reply is written, kept as drafts of
the interaction, and joined to the message when it is sent (email carries them; on other
channels they can go with an internal note, for the team).

Uploading before sending keeps the reply itself a small JSON request, lets the console show
each file as it arrives, and lets a sending retry (same client_id) send nothing twice."""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from typing import Any

import asyncpg

from contactcenter import views
from contactcenter.core import Core
from contactcenter.errors import Conflict, InputError, NotFound

MAX_FILE_BYTES = 20 * 1024 * 1024
# Base64 makes them a third bigger on the wire; 20 MB of files stays under the 25 MB most mail
# servers accept.
MAX_REPLY_BYTES = 20 * 1024 * 1024
MAX_FILES_PER_REPLY = 10
DRAFT_HOURS = 24  # drafts never sent are dropped after this

_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_UNSAFE = re.compile(r'[\\/:*?"<>|]+')


class TooLarge(InputError):
    status = 413


def clean_filename(name: str) -> str:
    """The name as the customer will see it, without a path, control characters or the
    characters mail clients and file systems refuse."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rpartition("/")[2]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name:
        raise InputError("bad_filename", "the file has no usable name")
    stem, dot, extension = name.rpartition(".")
    if len(name) > 150:  # keep the extension: it tells the customer's computer what it is
        name = (stem[:140] + dot + extension[:9]) if dot else name[:150]
    return name


def content_type_of(declared: str | None, filename: str) -> str:
    """What the browser said the file is, when it is a well-formed type and says more than
    'some bytes'; otherwise what its name suggests."""
    declared = (declared or "").split(";")[0].strip().lower()
    if _CONTENT_TYPE.match(declared) and declared != "application/octet-stream":
        return declared
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    return guessed or "application/octet-stream"


async def store_draft(core: Core, workspace_id: int, user_id: int, interaction_id: int,
                      filename: str, content_type: str, content: bytes) -> dict[str, Any]:
    """Keep an uploaded file for the agent's next reply on the interaction."""
    if not content:
        raise InputError("empty_file", f"{filename} is empty")
    async with core.pool.acquire() as conn, conn.transaction():
        owner = await conn.fetchrow(
            "SELECT agent_id, state FROM interactions WHERE id = $1 AND workspace_id = $2",
            interaction_id, workspace_id)
        if owner is None:
            raise NotFound("no_such_interaction", f"no interaction {interaction_id}")
        if owner["agent_id"] != user_id or owner["state"] not in ("assigned", "wrapup"):
            raise Conflict("not_yours", f"interaction {interaction_id} is not assigned to you")
        await conn.execute(
            """DELETE FROM attachments WHERE uploaded_by = $1 AND message_id IS NULL
               AND uploaded_at < now() - make_interval(hours => $2)""", user_id, DRAFT_HOURS)
        attachment_id: int = await conn.fetchval(
            """INSERT INTO attachments (workspace_id, interaction_id, uploaded_by, uploaded_at,
                   content_type, filename, size_bytes, content)
               VALUES ($1, $2, $3, now(), $4, $5, $6, $7) RETURNING id""",
            workspace_id, interaction_id, user_id, content_type, filename, len(content), content)
    return {**views.attachment_view(content_type, None, filename, attachment_id),
            "id": attachment_id, "size": len(content)}


async def join_message(conn: asyncpg.Connection, user_id: int, interaction_id: int,
                       message_id: int, attachment_ids: list[int]) -> None:
    """The drafts become the message's files, inside the transaction that stores it. Every id
    must be a draft of this agent on this interaction, and together within the limits."""
    if len(attachment_ids) > MAX_FILES_PER_REPLY:
        raise InputError("too_many_files", f"a reply carries at most {MAX_FILES_PER_REPLY} files")
    rows = await conn.fetch(
        """UPDATE attachments SET message_id = $4
           WHERE id = ANY($1::bigint[]) AND uploaded_by = $2 AND interaction_id = $3
             AND message_id IS NULL
           RETURNING id, size_bytes""",
        sorted(set(attachment_ids)), user_id, interaction_id, message_id)
    missing = sorted(set(attachment_ids) - {r["id"] for r in rows})
    if missing:
        raise Conflict("no_such_upload", f"no file {missing[0]} waiting to be sent on "
                         f"interaction {interaction_id}: upload it again")
    if sum(r["size_bytes"] for r in rows) > MAX_REPLY_BYTES:
        raise TooLarge("files_too_large", f"the files of a reply come to at most "
                       f"{MAX_REPLY_BYTES // (1024 * 1024)} MB; send some in another reply")


async def files_of(core: Core, message_id: int) -> list[asyncpg.Record]:
    """A reply's files, in the order they were uploaded, as the sender attaches them."""
    rows: list[asyncpg.Record] = await core.pool.fetch(
        """SELECT filename, content_type, content FROM attachments
           WHERE message_id = $1 AND content IS NOT NULL ORDER BY id""", message_id)
    return rows
