"""Who hears what: turns what happened into live events for the feeds of the people concerned.

Pure functions, so the rules ("internal notes never reach the customer", "the customer learns
the agent's name when one joins") are in one place and tested without I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contactcenter.feeds import Notice, customer_feed, user_feed
from routing.model import (
    AgentStateChanged,
    Assigned,
    Decision,
    Ended,
    Escalated,
    Offered,
    OfferEnded,
    Requeued,
    WrapupStarted,
)


@dataclass(frozen=True)
class InteractionInfo:
    """What the fan-out needs to know about an interaction, read after the commit."""

    channel: str
    customer_id: int
    agent_id: int | None
    agent_name: str | None


def _customer_hears(info: InteractionInfo) -> bool:
    # Only chat customers have a live feed; SMS and email customers hear through their channel.
    return info.channel == "chat"


def message_notices(workspace_id: int, message: dict[str, Any], info: InteractionInfo) -> list[Notice]:
    """A new message: the agent working on it sees it; a chat customer sees all but internal notes."""
    event = {"kind": "message", "interaction_id": message["interaction_id"], "message": message}
    out = []
    if info.agent_id is not None:
        out.append(Notice(user_feed(workspace_id, info.agent_id), event))
    if _customer_hears(info) and message["direction"] != "internal":
        out.append(Notice(customer_feed(workspace_id, info.customer_id), event))
    return out


def counterpart_notices(
    workspace_id: int, info: InteractionInfo, by_customer: bool, event: dict[str, Any]
) -> list[Notice]:
    """Typing and read marks go to the other side of the conversation."""
    if by_customer:
        return [] if info.agent_id is None else [Notice(user_feed(workspace_id, info.agent_id), event)]
    return [Notice(customer_feed(workspace_id, info.customer_id), event)] if _customer_hears(
        info) else []


def routing_notices(
    workspace_id: int, decisions: list[Decision], infos: dict[int, InteractionInfo]
) -> list[Notice]:
    """The routing leader's decisions, as the agents and chat customers concerned see them."""
    out: list[Notice] = []

    def to_agent(agent_id: int | str | None, event: dict[str, Any]) -> None:
        if agent_id is not None:
            out.append(Notice(user_feed(workspace_id, agent_id), event))

    def to_customer(info: InteractionInfo | None, event: dict[str, Any]) -> None:
        if info is not None and _customer_hears(info):
            out.append(Notice(customer_feed(workspace_id, info.customer_id), event))

    for d in decisions:
        if isinstance(d, AgentStateChanged):
            to_agent(d.agent_id, {"kind": "presence", "presence": d.presence, "reason": d.reason})
            continue
        iid = int(d.interaction_id)
        info = infos.get(iid)
        if isinstance(d, Offered):
            to_agent(d.agent_id, {"kind": "offer", "interaction_id": iid, "deadline": d.deadline})
        elif isinstance(d, OfferEnded):
            to_agent(d.agent_id, {"kind": "offer_ended", "interaction_id": iid,
                                  "outcome": d.outcome, "reason": d.reason})
        elif isinstance(d, Assigned):
            to_agent(d.agent_id, {"kind": "assigned", "interaction_id": iid})
            to_customer(info, {"kind": "agent_joined", "interaction_id": iid,
                               "agent": info.agent_name if info else None})
        elif isinstance(d, WrapupStarted):
            to_agent(d.agent_id, {"kind": "wrapup", "interaction_id": iid, "deadline": d.deadline})
            to_customer(info, {"kind": "closed", "interaction_id": iid})
        elif isinstance(d, Ended):
            to_agent(info.agent_id if info else None, {
                "kind": "ended", "interaction_id": iid, "outcome": d.outcome, "reason": d.reason})
            to_customer(info, {"kind": "closed", "interaction_id": iid})
        elif isinstance(d, Requeued | Escalated):
            to_customer(info, {"kind": "waiting", "interaction_id": iid})
    return out
