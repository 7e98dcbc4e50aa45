"""What an agent knows about its call: the route and the caller, as ADK session state.

The call's session is created with these keys before the agent starts; tools read them from
``tool_context.state`` and instructions may name them (``{business_name}``). Every key is always
present (an empty string or zero when unknown), so an instruction that names one never fails.
The caller's raw number is there only when the route allows it (``share_caller_number``).
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from telephony.routing.routes import Decision

ROUTE = "route"
"""The route's name."""
BUSINESS_NAME = "business_name"
LANGUAGE = "language"
TRANSFER_TARGETS = "transfer_targets"
"""The names the agent may pass to ``transfer_call``."""
KEYPAD_MENU = "keypad_menu"
"""The route's keypad menu: digit -> what it asks for."""
AFTER_HOURS = "after_hours"
CALL_DIRECTION = "call_direction"
CALLER = "caller"
"""The caller's pseudonym: stable for one number, not the number."""
CALLER_EARLIER_CALLS = "caller_earlier_calls"
CALLER_LAST_CALL_AT = "caller_last_call_at"
"""ISO 8601 time of the caller's previous call to this agent, or an empty string."""
CALLER_NUMBER = "caller_number"
"""The caller's number, only when the route shares it; else an empty string."""


@dataclass(frozen=True, slots=True)
class CallerContext:
    """What the server knows about the caller when the call starts."""

    pseudonym: str
    direction: str
    number: str | None
    earlier_calls: int = 0
    last_call_at: dt.datetime | None = None


def session_state(decision: Decision, caller: CallerContext) -> dict[str, Any]:
    """The initial session state of a call on ``decision``'s route."""
    route = decision.route
    return {
        ROUTE: route.name,
        BUSINESS_NAME: route.business_name or "",
        LANGUAGE: route.language or "",
        TRANSFER_TARGETS: sorted(route.targets),
        KEYPAD_MENU: dict(route.keypad.menu),
        AFTER_HOURS: decision.after_hours,
        CALL_DIRECTION: caller.direction,
        CALLER: caller.pseudonym,
        CALLER_EARLIER_CALLS: caller.earlier_calls,
        CALLER_LAST_CALL_AT: caller.last_call_at.isoformat() if caller.last_call_at else "",
        CALLER_NUMBER: (caller.number or "") if route.share_caller_number else "",
    }
