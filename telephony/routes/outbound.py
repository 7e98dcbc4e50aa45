"""Outbound calls: ``POST /calls`` places one, ``GET /outbound/{id}`` follows it, and
``/twilio/amd`` takes Twilio's answering machine detection result.

A request is checked in full before anything is queued: the numbers (E.164), ``from`` being one
of ours, the agent existing, the credentials and the queue's room; a refusal is a 4xx with a
message, and no call. The answer comes at once (202) with the call's id and ``queued``; the
status moves on as Twilio's callbacks arrive.
"""

import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request, Response
from pydantic import ValidationError

from telephony.audio.voicemail import VoicemailDetector
from telephony.call import Call
from telephony.errors import NotConfiguredError
from telephony.outbound.dialer import OUTBOUND_PARAMETER, DialError, OutboundCall
from telephony.outbound.listener import OutboundListener
from telephony.outbound.requests import OutboundRequest, from_numbers
from telephony.policy import RoutePolicy
from telephony.routes.api import require_api_token
from telephony.routes.voice import call_form
from telephony.services import Services, services
from telephony.transcripts import EndReason

logger = logging.getLogger(__name__)

router = APIRouter()

_ANSWERED_BY_CHARS = 32


@router.post("/calls", status_code=202, dependencies=[Depends(require_api_token)])
async def place_call(
    request: Request, body: Annotated[dict[str, Any], Body(...)]
) -> dict[str, Any]:
    """Queue an outbound call: ``{"to", "from", "agent", "purpose", "variables"}``."""
    app = services(request)
    try:
        wanted = OutboundRequest.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors()
        )
        raise HTTPException(status_code=422, detail=problems) from exc
    if wanted.from_ not in from_numbers(app.settings.outbound_from_numbers):
        raise HTTPException(
            status_code=422, detail="from: not one of our numbers (OUTBOUND_FROM_NUMBERS)"
        )
    agent = wanted.agent or app.settings.default_agent
    try:
        app.runner(agent)
    except NotConfiguredError as exc:
        raise HTTPException(status_code=422, detail=f"agent: {exc}") from exc
    try:
        call = app.outbound.submit(wanted, agent)
    except DialError as exc:
        raise HTTPException(status_code=exc.status, detail=str(exc)) from exc
    return call.public()


@router.get("/outbound/{call_id}", dependencies=[Depends(require_api_token)])
async def outbound_call(call_id: str, request: Request) -> dict[str, Any]:
    """An outbound call's status, who answered and what the agent did."""
    call = services(request).outbound.find(call_id)
    if call is None:
        raise HTTPException(status_code=404, detail="no such outbound call")
    return call.public()


@router.post("/twilio/amd")
async def answered_by(request: Request) -> Response:
    """Twilio's asynchronous answering machine detection result (signed)."""
    app = services(request)
    form = await call_form(request, app, "/twilio/amd")
    call = app.outbound.find(request.query_params.get(OUTBOUND_PARAMETER))
    if call is None:
        call = app.outbound.by_sid(form.call_sid)
    if call is None or call.call_sid not in (None, form.call_sid):
        logger.warning("call %s: a detection result for no outbound call of ours", form.call_sid)
        return Response(status_code=204)
    app.outbound.bind(call, form.call_sid)
    result = str((await request.form()).get("AnsweredBy") or "unknown")[:_ANSWERED_BY_CHARS]
    listener = app.listeners.get(form.call_sid)
    if listener is not None:
        listener.detected(result)
    else:  # before the stream: the listener reads it when the stream starts
        call.answered_by = result
    await app.remember_outbound(call)
    return Response(status_code=204)


def outbound_state(outbound: OutboundCall) -> dict[str, Any]:
    """What an outbound call's session state adds to its route's: why we called."""
    return {
        "direction": "outbound",
        "purpose": outbound.request.purpose,
        "variables": dict(outbound.request.variables),
    }


async def start_listening(
    app: Services, call: Call, outbound: OutboundCall, policy: RoutePolicy
) -> OutboundListener:
    """An outbound call's stream started (its session holds ``outbound_state``): it listens
    first, with the policy of its route (the route of its ``from`` number: ``calling_from``)."""
    call_sid = call.identity.call_sid
    app.outbound.bind(outbound, call_sid)

    async def hang_up() -> None:
        call.ending(EndReason.AGENT_HUNG_UP)
        if app.rest is None:
            return
        try:
            await app.rest.end_call(call_sid)
        except Exception:  # refused or unreachable: logged; the callee hangs up in the end
            logger.exception("call %s: could not hang up over REST", call_sid)

    detector = None if app.outbound.twilio_amd else VoicemailDetector()
    listener = OutboundListener(call, outbound, policy, hang_up, time.monotonic, detector=detector)
    call.turn_observers.append(listener.agent_turn)
    if detector is not None:
        call.on_caller_audio = listener.caller_audio
    app.listeners[call_sid] = listener
    return listener
