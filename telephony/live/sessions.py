"""ADK sessions for phone calls: persist what outlives the call, keep the rest in memory.

In live mode ADK hands every finished event to the session service: per turn the usage numbers,
both finished transcriptions, ``turn_complete``, ``interrupted`` and each resumption handle. On
a database each of those is a transaction of several statements (about 4.6 ms of CPU on SQLite,
in a burst at every turn end, on the call path). A call's session lives in one process for the
length of the call (the session id is the CallSid) and its words are already in the transcript
store, so those events need no row. What does outlive the call is written as before: state
changes (what tools remember), content (the text cues, tool calls and tool results), transfers
and artifacts.

Keeping an event in memory only goes past ADK's database service to its base class: where the
installed ADK does not allow that (``internals.verify``), every event is written, as ADK does.
"""

from typing import Any

from google.adk.events import Event
from google.adk.sessions import DatabaseSessionService, Session

from telephony.live import internals
from telephony.live.internals import Internals


class CallSessionService(DatabaseSessionService):
    """ADK's database session service, writing only the events that outlive a live call."""

    def __init__(self, *, internals: Internals, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # ADK's arguments: db_url or db_engine, ...
        self._in_memory_events = internals.session_events

    async def append_event(self, session: Session, event: Event) -> Event:
        if event.partial or is_durable(event) or not self._in_memory_events:
            return await super().append_event(session, event)
        # The live session still sees the event: it joins the in-memory session as usual.
        return await internals.append_in_memory(self, session, event)


def is_durable(event: Event) -> bool:
    """Whether an event carries something a later reader of the session needs."""
    actions = event.actions
    if actions.state_delta or actions.artifact_delta or actions.requested_auth_configs:
        return True
    if actions.transfer_to_agent or actions.escalate:
        return True
    return bool(event.content and event.content.parts)
