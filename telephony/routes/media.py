"""The media stream endpoint: authenticate the stream, then hand it to a ``Call``.

Order of checks (PROTOCOLS.md §3): the upgrade signature before the socket is accepted (a
refusal is an HTTP 403); then ``connected`` and ``start`` within the start timeout; then the
stream token, the CallSid it is bound to and the account; then the call's grant is redeemed in
the shared database, so that a call has one stream, ever, in the whole deployment. Only then is
a model session opened.

A refusal closes with 1008 (policy violation): the peer showed no right to a stream. A database
failure while redeeming closes with 1011 (internal error) and is logged once with its traceback:
admission fails closed, but the fault is ours, not the peer's, and 1011 keeps the two apart in
Twilio's debugger and in our logs. Either way Twilio then runs the TwiML's safety net.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter, WebSocket

from telephony.call import Call
from telephony.call_control import CallController
from telephony.call_setup import call_setup, open_session
from telephony.closecodes import CloseCode
from telephony.errors import NotConfiguredError, ProtocolError, SecurityError, StorageError
from telephony.live.agents import direct_line_allowed
from telephony.logcontext import about_call
from telephony.outbound.dialer import OUTBOUND_PARAMETER, OutboundCall
from telephony.policy import with_consent
from telephony.ports import CallIdentity, CallLimits
from telephony.routes.outbound import outbound_state, start_listening
from telephony.routes.recordings import heard_finished, heard_started, twilio_recording
from telephony.routes.returning import resumed
from telephony.routes.voice import parse_direction, public_origin, stream_url
from telephony.routing import Decision
from telephony.services import Services, services
from telephony.toolkit import registered
from telephony.tracing import call_ended, call_span
from telephony.transcript_writer import TranscriptWriter
from telephony.transcripts import CallInfo
from telephony.twilio.protocol import Connected, Start, message_too_large, parse_inbound
from telephony.twilio.security import pseudonym

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/twilio")


@dataclass(frozen=True, slots=True)
class _Handshake:
    start: Start
    dropped: int


@router.websocket("/media")
async def media_stream(websocket: WebSocket) -> None:
    app = services(websocket)
    if app.signatures is not None:
        url = stream_url(app, websocket)
        if not app.signatures.upgrade_valid(url, websocket.headers.get("x-twilio-signature")):
            logger.warning("refused a media stream: bad or missing Twilio signature")
            await websocket.close(code=CloseCode.POLICY_VIOLATION)  # before accept: an HTTP 403
            return
    await websocket.accept()
    try:
        async with asyncio.timeout(app.settings.stream_start_timeout_s):
            handshake = await _await_start(websocket, app)
    except TimeoutError:
        logger.warning("closing a media stream: no start within the timeout")
        await websocket.close(CloseCode.POLICY_VIOLATION, "no start")
        return
    except ProtocolError as exc:
        logger.warning("closing a media stream: %s", exc)
        await websocket.close(CloseCode.POLICY_VIOLATION, "refused")
        return
    try:
        await _admit(handshake.start, app)
    except SecurityError as exc:
        logger.warning("closing a media stream: %s", exc)
        await websocket.close(CloseCode.POLICY_VIOLATION, "refused")
        return
    except StorageError:
        app.admission.release(handshake.start.call_sid)
        logger.exception(
            "call %s: closing its media stream: admission could not be checked",
            handshake.start.call_sid,
        )
        await websocket.close(CloseCode.INTERNAL_ERROR, "unavailable")
        return
    await _run_call(websocket, app, handshake)


async def _await_start(websocket: WebSocket, app: Services) -> _Handshake:
    """Read until ``start``. Media before it is dropped and counted; other garbage too."""
    dropped = 0
    while True:
        message = await websocket.receive()
        text = message.get("text")
        if text is None:
            if message["type"] == "websocket.disconnect":
                raise ProtocolError("the stream closed before start")
            dropped += 1
        elif message_too_large(text, app.settings.max_message_bytes):
            dropped += 1
        else:
            try:
                event = parse_inbound(text)
            except ProtocolError:
                dropped += 1
            else:
                if isinstance(event, Start):
                    return _Handshake(event, dropped)
                if not isinstance(event, Connected):  # media before start, or worse
                    dropped += 1
        if dropped >= app.settings.bad_message_limit:
            raise ProtocolError(f"{dropped} bad messages before start")


async def _admit(start: Start, app: Services) -> None:
    """Raise ``SecurityError`` unless this stream may be the call's one stream; ``StorageError``
    if the shared database cannot say."""
    call_sid = start.call_sid
    nonce = app.tokens.verify(start.custom_parameters.get("token"), call_sid, start.account_sid)
    if nonce is None:
        raise SecurityError(f"call {call_sid}: missing, malformed, expired or foreign token")
    expected = app.settings.twilio_account_sid
    if expected is not None and start.account_sid != expected:
        raise SecurityError(f"call {call_sid}: stream from another account")
    if not await app.streams.redeem(call_sid, nonce, start.stream_sid, datetime.now(UTC)):
        raise SecurityError(f"call {call_sid}: its one stream was used, or the token replaced")


def _barge_in_recorder(app: Services, writer: TranscriptWriter) -> Callable[[float], None]:
    """Count a barge-in's reaction time and put it on the call's live feed."""

    def barge_in(reaction_ms: float) -> None:
        app.metrics.barge_in(reaction_ms)
        writer.barge_in()

    return barge_in


async def _run_call(websocket: WebSocket, app: Services, handshake: _Handshake) -> None:
    start = handshake.start
    parameters = start.custom_parameters
    agent = parameters.get("agent") or app.settings.default_agent
    try:
        runner = app.runner(agent)
    except NotConfiguredError:
        app.admission.release(start.call_sid)
        logger.exception("call %s: cannot load agent", start.call_sid)
        await websocket.close(CloseCode.POLICY_VIOLATION, "no agent")
        return
    info = CallInfo(
        call_sid=start.call_sid,
        started_at=datetime.now(UTC),
        stream_sid=start.stream_sid,
        account_sid=start.account_sid,
        from_number=parameters.get("from") or None,
        to_number=parameters.get("to") or None,
        agent=agent,
        direction=parse_direction(parameters.get("direction")),
        route=parameters.get("route") or None,
    )
    # Back from a transfer nobody answered: the same conversation goes on (returning.py).
    back = await resumed(app.store, start.call_sid, parameters.get("returning"), info.started_at)
    writer = TranscriptWriter(app.store, start.call_sid, events=app.feed, first_seq=back.first_seq)
    writer.start(info)
    outbound = app.outbound.find(parameters.get(OUTBOUND_PARAMETER))
    identity = CallIdentity(
        call_sid=start.call_sid,
        stream_sid=start.stream_sid,
        # The person at the other end: who called, or whom an outbound call reached.
        user_id="caller-" + pseudonym(app.secret, _party(info, outbound) or start.call_sid),
    )
    settings = app.settings
    decision = Decision(
        app.routing.named(parameters.get("route")), after_hours=bool(parameters.get("after_hours"))
    )
    policy = app.policy(decision.route)
    recording = app.recordings_dir / f"{start.call_sid}.wav" if policy.record_heard else None
    setup = call_setup(decision, app.run_config)
    await open_session(
        app.session_service,
        decision,
        app_name=agent,
        user_id=identity.user_id,
        session_id=identity.call_sid,
        direction=parameters.get("direction") or "inbound",
        caller_number=info.from_number,
        extra=None if outbound is None else outbound_state(outbound),
    )
    control = CallController(
        start.call_sid,
        decision.route,
        app.rest,
        public_origin=public_origin(app, websocket),
        transcript=writer,
        warm=app.warm_transfers,
        line_number=(info.from_number if outbound is not None else info.to_number) or "",
        caller_number=_party(info, outbound) if decision.route.share_caller_number else None,
        on_transfer=app.metrics.transfer,
    )
    call = Call(
        identity,
        websocket,
        runner,
        setup.run_config,
        writer,
        CallLimits(settings.max_message_bytes, settings.bad_message_limit),
        internals=app.internals,
        direct_line=settings.live_direct_line and direct_line_allowed(runner.agent, app.run_config),
        on_barge_in=_barge_in_recorder(app, writer),
        on_reply=app.metrics.reply,
        recording_path=recording,
        opening=(
            None
            if outbound is not None
            else with_consent(back.cue or setup.greeting, policy.announcement)
        ),
        control=control,
        keypad=decision.route.keypad,
        silence=decision.route.silence,
        elapsed_ms=back.elapsed_ms,
    )
    listener = None if outbound is None else await start_listening(app, call, outbound, policy)
    at_twilio = twilio_recording(app, call, policy, public_origin(app, websocket))
    if handshake.dropped:
        call.stats.bad_messages["before start"] = handshake.dropped
    app.calls[start.call_sid] = call
    app.admission.release(start.call_sid)  # counted as live from now on, no longer pending
    app.metrics.call_started()
    logger.info("call %s: stream started (agent %s)", start.call_sid, agent)
    if recording is not None:
        await heard_started(app, start.call_sid, recording)
    try:
        with (
            about_call(start.call_sid),
            call_span(start.call_sid, agent) as span,
            registered(start.call_sid, control),
        ):
            async with asyncio.TaskGroup() as group:
                group.create_task(writer.run())
                alongside = [  # until the call ends
                    group.create_task(companion.run())
                    for companion in (listener, at_twilio)
                    if companion is not None
                ]
                reason = await call.run()
                for task in alongside:
                    task.cancel()
            call_ended(span, reason)
        if call.recording is not None:
            await heard_finished(app, start.call_sid, call.recording)
        if outbound is not None:  # who answered, what the agent did
            await app.remember_outbound(outbound)
    finally:
        if app.calls.get(start.call_sid) is call:  # the ledger admits one; this keeps it a fact
            del app.calls[start.call_sid]
        app.listeners.pop(start.call_sid, None)
        app.metrics.call_ended(call.stats, str(call.end_reason or "unknown"))
        if app.summaries is not None:
            app.summaries.call_ended(start.call_sid)
    logger.info(
        "call %s: ended (%s); %d frames in, %d media out, %d bad messages",
        start.call_sid,
        reason,
        call.stats.frames_in,
        call.stats.media_out,
        call.stats.bad_total,
    )


def _party(info: CallInfo, outbound: OutboundCall | None) -> str | None:
    return info.to_number if outbound is not None else info.from_number
