"""Back to the agent after a transfer nobody answered: a new media stream for the same call.

The call's stream ended when it was transferred; Twilio now asks what to do (the transfer's
``action``). The answer is a new ``<Connect><Stream>`` with a new one-time token (the ledger's
grant is renewed: only for a call whose last stream was used), the same agent and route, and
a ``returning`` parameter saying how the transfer went. The media stream then continues the
same ADK session (its id is the CallSid) and cues the agent with the conversation so far and
the outcome (``returning_cue``); the transcript goes on from its last turn.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request, Response

from telephony.errors import StorageError
from telephony.routes.voice import stream_url
from telephony.services import Services
from telephony.transcripts import Speaker, Transcript, TranscriptStore
from telephony.twilio.forms import CallForm
from telephony.twilio.twiml import connect_stream, safety_net

logger = logging.getLogger(__name__)

_TWIML = "text/xml"


async def back_to_agent(
    request: Request, app: Services, form: CallForm, *, target: str, outcome: str
) -> Response:
    call_sid = form.call_sid
    route = app.routing.decide(
        to_number=form.to_number, from_number=form.from_number, now=datetime.now(UTC)
    ).route
    try:
        stored = await app.store.transcript(call_sid)
        await app.store.reopen_call(call_sid)
        token = app.tokens.mint(call_sid, form.account_sid)
        granted = await app.streams.regrant(call_sid, token.nonce, datetime.now(UTC))
    except StorageError:
        logger.exception("call %s: cannot bring the caller back to the agent", call_sid)
        return Response(route.fallback.twiml(), media_type=_TWIML)
    if not granted or stored is None:
        logger.warning("call %s: no stream to return to (not transferred by us)", call_sid)
        return Response(safety_net(), media_type=_TWIML)
    twiml = connect_stream(
        stream_url(app, request),
        {
            "token": token.text,
            "from": form.from_number,
            "to": form.to_number,
            "agent": stored.call.agent or route.agent,
            "route": route.name,
            "direction": form.direction or "inbound",
            "returning": f"{target}:{outcome}",
        },
        fallback=route.fallback,
    )
    logger.info("call %s: back to the agent after the transfer (%s)", call_sid, outcome)
    return Response(twiml, media_type=_TWIML)


@dataclass(frozen=True, slots=True)
class Resumed:
    """Where a call's stream takes the conversation up."""

    cue: str | None = None
    """The agent's first cue (None: the route's greeting)."""
    first_seq: int = 1
    """The number of the stream's first transcript turn."""
    elapsed_ms: int = 0
    """How long the call has been going at the stream's start: its turns are timed from the
    call's start, like those of its first stream."""


async def resumed(
    store: TranscriptStore, call_sid: str, returning: str | None, now: datetime
) -> Resumed:
    """For a stream that brings the caller back (its ``returning`` parameter): the cue for the
    agent, the call's next turn number and its time so far; ``Resumed()`` for a call's first
    stream."""
    if not returning:
        return Resumed()
    try:
        # Again here: the first stream's end may have been written after the transfer's
        # outcome reopened the call.
        await store.reopen_call(call_sid)
        stored = await store.transcript(call_sid)
    except StorageError:
        logger.exception("call %s: earlier turns unavailable", call_sid)
        stored = None
    if stored is None:
        return Resumed(returning_cue(None, returning))
    next_seq = max((turn.seq for turn in stored.turns), default=0) + 1
    last_end = max((turn.end_ms for turn in stored.turns), default=0)
    started = stored.call.started_at  # None only for a call known from a status callback
    since_start = 0 if started is None else int((now - started).total_seconds() * 1000)
    return Resumed(returning_cue(stored, returning), next_seq, max(since_start, last_end))


def returning_cue(transcript: Transcript | None, returning: str) -> str:
    """The cue for an agent whose caller comes back from a transfer nobody answered."""
    target, _, outcome = returning.partition(":")
    lines = []
    for turn in transcript.turns if transcript is not None else ():
        if turn.speaker is Speaker.SYSTEM:
            continue
        who = "You" if turn.speaker is Speaker.AGENT else "Caller"
        text = turn.heard_text if turn.speaker is Speaker.AGENT else turn.text
        if text:
            lines.append(f"{who}: {text}")
    said = "\n".join(lines) or "(nothing yet)"
    return (
        f"[The transfer to {target} did not go through ({outcome}). The caller is back on the "
        f"line with you. The conversation so far:\n{said}\n"
        "Do not greet the caller again. Tell them briefly what happened and offer another "
        "way to help.]"
    )
