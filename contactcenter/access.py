"""Who may do what, as pure rules: the web handlers gather the facts (who holds the work, who
owns the record) and ask here. docs/access.md states the policy for people.

Supervisors and admins may act on anything in their workspace. An agent acts on what is theirs:
the interactions they hold, the records they own or that nobody owns yet, the files they
uploaded; what else they may do is set per center in `[access]`.
"""

from __future__ import annotations

from contactcenter.errors import Forbidden
from contactcenter.settings import AccessConfig

SUPERVISING = frozenset({"supervisor", "admin"})


def supervises(role: str) -> bool:
    return role in SUPERVISING


def check_holds(role: str, user_id: int, holder: int | None, what: str) -> None:
    """Acting on an interaction (transfer...): its holder or a supervisor. Waiting work, held
    by no one, is moved by supervisors."""
    if supervises(role) or (holder is not None and holder == user_id):
        return
    raise Forbidden("not_yours", f"{what} is held by {'no one' if holder is None else 'a colleague'}"
                    ": only its agent or a supervisor can do this")


def check_edits(role: str, user_id: int, owner: int | None, what: str,
                policy: AccessConfig) -> None:
    """Changing a case, lead, opportunity or task: its owner, anyone while nobody owns it, a
    supervisor, or any agent where the center allows it."""
    if (supervises(role) or owner is None or owner == user_id
            or policy.agents_edit_colleagues_records):
        return
    raise Forbidden("owned_by_colleague",
                    f"{what} belongs to a colleague: ask them or a supervisor")


def check_assigns(role: str, user_id: int, new_owner: int | None, current: int | None,
                  what: str) -> None:
    """Giving a record to someone: a supervisor, or an agent while nobody owns it or it is
    theirs (a center that lets agents edit colleagues' records still keeps who owns what)."""
    if supervises(role) or new_owner == current or current in (None, user_id):
        return
    raise Forbidden("not_yours_to_assign",
                    f"only a supervisor or its owner can give {what} to someone")


def check_merges(role: str, working_either: bool, policy: AccessConfig) -> None:
    if supervises(role) or policy.agents_merge == "any":
        return
    if policy.agents_merge == "own_work" and working_either:
        return
    raise Forbidden("merge_not_allowed",
                    "agents merge customer records only while working an interaction of one "
                    "of them; ask a supervisor" if policy.agents_merge == "own_work"
                    else "only supervisors merge customer records here")


def check_consent(role: str, opting_in: bool) -> None:
    """Anyone records a customer's opt-out; only a supervisor lifts one (contacting someone who
    said stop has legal weight, and a form in the wrong hands must not undo it)."""
    if opting_in and not supervises(role):
        raise Forbidden("opt_in_supervisors_only",
                        "only a supervisor can remove a customer's opt-out")


def check_sees_draft(role: str, user_id: int, uploader: int | None) -> None:
    """A file attached to a reply not sent yet is its uploader's until it is sent."""
    if supervises(role) or uploader is None or uploader == user_id:
        return
    raise Forbidden("draft_of_colleague", "that file belongs to a colleague's unsent reply")
