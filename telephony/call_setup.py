"""Before a call's agent starts: its run configuration and its ADK session, from its route.

The route gives the voice and language (``speech_config``) and the greeting cue; the session is
created with the route and caller context as state (``routing/context.py``), so that the agent's
instruction and tools can use them from the first word. A session that exists already (the
caller came back to the agent after a transfer nobody answered) is kept as it is: the
conversation goes on in it.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.adk.agents import RunConfig

from telephony.live.agent import GREETING_CUE
from telephony.live.models import voiced_run_config
from telephony.live.sessions import DATABASE_ERRORS, CallSessionService, EarlierSessions
from telephony.routing import CallerContext, Decision, session_state

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CallSetup:
    run_config: RunConfig
    greeting: str


def call_setup(decision: Decision, base: RunConfig) -> CallSetup:
    route = decision.route
    return CallSetup(
        run_config=voiced_run_config(base, route.voice, route.language),
        greeting=f"[{route.greeting}]" if route.greeting else GREETING_CUE,
    )


async def open_session(
    service: CallSessionService,
    decision: Decision,
    *,
    app_name: str,
    user_id: str,
    session_id: str,
    direction: str,
    caller_number: str | None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Create the call's session with the route and caller context, and ``extra`` (an outbound
    call's purpose and variables), unless it exists."""
    try:
        existing = await service.get_session(
            app_name=app_name, user_id=user_id, session_id=session_id
        )
        if existing is not None:
            return
        earlier = await service.earlier_sessions(app_name=app_name, user_id=user_id)
    except DATABASE_ERRORS:
        logger.warning("call %s: earlier calls unknown (session database)", session_id)
        earlier = EarlierSessions(0, None)
    caller = CallerContext(
        pseudonym=user_id,
        direction=direction,
        number=caller_number,
        earlier_calls=earlier.count,
        last_call_at=earlier.last_update,
    )
    await service.create_session(
        app_name=app_name,
        user_id=user_id,
        session_id=session_id,
        state=session_state(decision, caller) | dict(extra or {}),
    )
