"""People the application dials with inline TwiML (``calls.create(twiml=...)``): a warm
transfer's colleague, who hears a briefing and joins the caller's conference.

Each person follows the REST simulator's callee script for their number
(``Callees.party(To)``): they answer after ``after_s`` and the call runs its TwiML in real time
(``<Say>`` for its spoken duration, ``<Redirect>`` to the application, ``<Dial><Conference>``),
they talk ``talk_s`` once in a room, then hang up; or they hang up ``hangs_up_after_s`` after
answering (during a briefing); or the line is busy / declined (reported as busy), fails, or
rings out at the call's ``Timeout`` (no-answer). A REST update can cancel the call while it
rings or end it once answered.

Twilio facts mirrored (https://www.twilio.com/docs/voice/api/call-resource#create-a-call-resource):
``Timeout`` (default 60 s) is how long the phone may ring; the ``StatusCallback`` receives the
``completed`` event (and those named in ``StatusCallbackEvent``) with the final ``CallStatus``:
completed, busy, no-answer, failed or canceled.

:class:`PersonCall` says what happened and when, for tests and the demo::

    dialled +14155550122: answered after 2.1 s, briefing 6.4 s, joined, talked 5.0 s
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from twins.twilio.call import SimulatedCall
from twins.twilio.callbacks import DEFAULT_STATUS_EVENTS, Courier, StatusCallbacks
from twins.twilio.callees import Callees, ConferencePlan, Party
from twins.twilio.config import CallConfig, CallStatus
from twins.twilio.durations import DEFAULT_AFTER_STREAM, AfterStream
from twins.twilio.endpoints import Endpoints
from twins.twilio.journey import Conferenced, Entry, HungUp, Said
from twins.twilio.rest_calls import RestCall
from twins.twilio.switchboard import PARTICIPANT_TIMEOUT_S, Switchboard, wait_event
from twins.twilio.webhook import default_ssl_context

logger = logging.getLogger(__name__)

_UNANSWERED: dict[str, CallStatus] = {
    "busy": "busy",
    "decline": "busy",
    "failed": "failed",
    "no-answer": "no-answer",
}


@dataclass(frozen=True, kw_only=True)
class People:
    """Where the people's calls find the application (its ``<Redirect>`` URLs and callbacks),
    and the pace of what they hear."""

    server_url: str
    public_url: str | None = None
    ssl_context: ssl.SSLContext | None = None
    after_stream: AfterStream = DEFAULT_AFTER_STREAM
    http_timeout_s: float = 15.0

    @property
    def endpoints(self) -> Endpoints:
        return Endpoints(self.server_url, self.public_url)


@dataclass(frozen=True)
class PersonCall:
    """What happened on one person's call."""

    call_sid: str
    to: str
    status: str
    """The final ``CallStatus``."""
    rang_s: float
    answered: bool
    briefing: str | None = None
    """The first ``<Say>`` the person heard."""
    briefing_s: float = 0.0
    joined: bool = False
    talked_s: float = 0.0
    """Time in the conference room."""
    hung_up_by: str | None = None
    journey: tuple[Entry, ...] = ()
    """Everything the person's call ran, in order (empty when nobody answered)."""

    def describe(self) -> str:
        if not self.answered:
            return f"dialled {self.to}: {self.status} after {self.rang_s:.1f} s"
        text = f"dialled {self.to}: answered after {self.rang_s:.1f} s"
        if self.briefing is not None:
            text += f", briefing {self.briefing_s:.1f} s"
        if self.joined:
            return text + f", joined, talked {self.talked_s:.1f} s"
        return text + f", hung up ({self.hung_up_by or 'unknown'}) before joining"


async def place_person(
    record: RestCall,
    values: Mapping[str, str],
    events: tuple[str, ...],
    people: People,
    *,
    account_sid: str,
    auth_token: str,
    switchboard: Switchboard,
) -> PersonCall:
    """Ring ``record.to`` and play the person its callee script says."""
    party = switchboard.callees.party(record.to)
    try:
        timeout_s = float(values.get("Timeout") or PARTICIPANT_TIMEOUT_S)
    except ValueError:
        timeout_s = PARTICIPANT_TIMEOUT_S
    if party.outcome == "answer" and party.after_s <= timeout_s:
        return await _answered(record, values, events, people, party, auth_token, switchboard)
    return await _unanswered(record, values, events, people, party, timeout_s, auth_token)


async def _answered(
    record: RestCall,
    values: Mapping[str, str],
    events: tuple[str, ...],
    people: People,
    party: Party,
    auth_token: str,
    switchboard: Switchboard,
) -> PersonCall:
    after = dataclasses.replace(people.after_stream, hang_up_after_s=party.hangs_up_after_s)
    call = SimulatedCall(
        CallConfig(
            server_url=people.server_url,
            public_url=people.public_url,
            twiml=values["Twiml"],
            auth_token=auth_token,
            account_sid=record.account_sid,
            call_sid=record.sid,
            from_number=record.from_,
            to_number=record.to,
            direction="outbound-api",
            ssl_context=people.ssl_context,
            status_callback=values.get("StatusCallback") or None,
            status_callback_events=events or DEFAULT_STATUS_EVENTS,
            status_callback_method=values.get("StatusCallbackMethod", "POST"),
            # A person enters rooms others opened; one they open stays theirs alone.
            callees=Callees(default_conference=ConferencePlan(joiners=())),
            after_stream=after,
            ring_s=party.after_s,
            http_timeout_s=people.http_timeout_s,
        ),
        switchboard=switchboard,
    )
    record.call = call
    talking = asyncio.create_task(_talk(call, party.talk_s, switchboard))
    try:
        result = await call.run()
    finally:
        talking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await talking
    rang = (
        (call.answered_at - call.created_at).total_seconds() if call.answered_at else party.after_s
    )
    said = next((e for e in result.journey if isinstance(e, Said)), None)
    room = next((e for e in result.journey if isinstance(e, Conferenced)), None)
    hung_up = next((e for e in reversed(result.journey) if isinstance(e, HungUp)), None)
    return PersonCall(
        call_sid=record.sid,
        to=record.to,
        status=result.final_status,
        rang_s=rang,
        answered=call.answered_at is not None,
        briefing=said.text if said is not None else None,
        briefing_s=said.duration_s if said is not None else 0.0,
        joined=room is not None,
        talked_s=room.duration_s if room is not None else 0.0,
        hung_up_by=hung_up.by if hung_up is not None else None,
        journey=tuple(result.journey),
    )


async def _talk(call: SimulatedCall, talk_s: float, switchboard: Switchboard) -> None:
    """Once in a room, the person talks ``talk_s``, then hangs up."""
    await switchboard.wait_entered(call.call_sid)
    await asyncio.sleep(talk_s)
    call.hang_up()


async def _unanswered(
    record: RestCall,
    values: Mapping[str, str],
    events: tuple[str, ...],
    people: People,
    party: Party,
    timeout_s: float,
    auth_token: str,
) -> PersonCall:
    status = _UNANSWERED.get(party.outcome, "no-answer")
    ring_s = timeout_s if status == "no-answer" else min(party.after_s, timeout_s)
    started = time.monotonic()
    record.own_status = "ringing"
    if await wait_event(record.hung_up, ring_s):
        status = record.own_status  # canceled over REST while it rang
    else:
        record.own_status = status
        record.ended_at = record.ended_at or datetime.now(UTC)
    rang = time.monotonic() - started
    url = values.get("StatusCallback")
    if url:
        verify = people.ssl_context or default_ssl_context()
        async with httpx.AsyncClient(trust_env=False, verify=verify) as client:
            courier = Courier(
                client, people.endpoints, auth_token=auth_token, timeout_s=people.http_timeout_s
            )
            callbacks = StatusCallbacks(
                courier,
                url,
                events or DEFAULT_STATUS_EVENTS,
                method=values.get("StatusCallbackMethod", "POST"),
            )
            params = {
                "AccountSid": record.account_sid,
                "CallSid": record.sid,
                "From": record.from_,
                "To": record.to,
                "Direction": "outbound-api",
                "ApiVersion": "2010-04-01",
                "CallStatus": status,
            }
            await callbacks.send("completed", params)
    return PersonCall(call_sid=record.sid, to=record.to, status=status, rang_s=rang, answered=False)
