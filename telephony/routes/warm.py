"""Twilio's requests about a warm transfer (``warm_transfer.py``), per caller CallSid.

All signed, all about one of our calls:

- ``hold``: the room's ``waitUrl`` (the caller's call): the hold music;
- ``room``: the room's ``statusCallback``: ``participant-leave`` of the caller means they left
  (hung up while waiting, or at the end of the conversation);
- ``person``: the person's call status callback: how their call ended;
- ``join``: the person's ``<Redirect>`` after the briefing: they join the room;
- ``back``: the caller's call, taken out of the room by a REST update: back to the agent.

Any instance may receive any of them (no stickiness behind a load balancer): the transfer is
found in this process or in the shared database by the id its URLs carry, and its outcome is
decided there once (``warm_transfer.py``). A request about a transfer no instance recorded acts
on what it carries: a person who asks to join joins; the rest is logged.
"""

import logging
import re

from fastapi import APIRouter, HTTPException, Request, Response

from telephony.routes.returning import back_to_agent
from telephony.routes.voice import call_form
from telephony.services import Services, services
from telephony.twilio.forms import CallForm
from telephony.twilio.sids import CALL_SID
from telephony.twilio.warm_twiml import hold_music, person_joins, person_not_needed, room_name
from telephony.warm_state import Known, Outcome

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/twilio/warm")

_TWIML = "text/xml"
_TARGET = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_TRANSFER_ID = re.compile(r"[0-9a-f]{16}")
_OUTCOMES = frozenset(str(outcome) for outcome in Outcome if outcome.returns_caller)
CALLER_GONE = "Thank you. The caller has already hung up. Goodbye."


async def _request(
    request: Request, call_sid: str, step: str
) -> tuple[Services, CallForm, str, Known | None]:
    """The signed form, the target named in the URL, and the transfer (this process's, or
    another's as shared), if any."""
    app = services(request)
    form = await call_form(request, app, f"/twilio/warm/{call_sid}/{step}")
    target = request.query_params.get("target", "")
    transfer_id = request.query_params.get("transfer")
    if (
        not CALL_SID.matches(call_sid)
        or not _TARGET.fullmatch(target)
        or (transfer_id is not None and not _TRANSFER_ID.fullmatch(transfer_id))
    ):
        raise HTTPException(status_code=400, detail="not a warm transfer")
    if step in ("hold", "back"):  # about the caller's call alone
        return app, form, target, None
    transfer = await app.warm_transfers.lookup(call_sid, target, transfer_id)
    return app, form, target, transfer


def _twiml(text: str) -> Response:
    return Response(text, media_type=_TWIML)


@router.post("/{call_sid}/hold")
async def hold(call_sid: str, request: Request) -> Response:
    app, form, _target, _transfer = await _request(request, call_sid, "hold")
    if form.call_sid != call_sid:
        raise HTTPException(status_code=400, detail="not this call's hold music")
    return _twiml(hold_music(app.settings.warm_transfer_hold_music_url))


@router.post("/{call_sid}/room")
async def room(call_sid: str, request: Request) -> Response:
    app, form, _target, transfer = await _request(request, call_sid, "room")
    event = str((await request.form()).get("StatusCallbackEvent", ""))
    if event == "participant-leave" and form.call_sid == call_sid:
        if transfer is None:
            logger.info("call %s: left a warm transfer room no instance recorded", call_sid)
        else:
            await app.warm_transfers.caller_left(transfer)
    return Response(status_code=204)


@router.post("/{call_sid}/person")
async def person(call_sid: str, request: Request) -> Response:
    app, form, _target, transfer = await _request(request, call_sid, "person")
    if transfer is None or transfer.person_sid not in (None, form.call_sid):
        logger.info(
            "call %s: a warm transfer's person ended (%s), no such transfer",
            call_sid,
            form.call_status,
        )
    else:
        await app.warm_transfers.person_ended(transfer, form.call_status)
    return Response(status_code=204)


@router.post("/{call_sid}/join")
async def join(call_sid: str, request: Request) -> Response:
    app, form, _target, transfer = await _request(request, call_sid, "join")
    if transfer is None:
        logger.warning("call %s: a person joins a warm transfer no instance recorded", call_sid)
        return _twiml(person_joins(room_name(call_sid)))
    if transfer.person_sid not in (None, form.call_sid):
        raise HTTPException(status_code=400, detail="not this transfer's person")
    if await app.warm_transfers.person_joined(transfer):
        return _twiml(person_joins(room_name(call_sid)))
    return _twiml(person_not_needed(CALLER_GONE))


@router.post("/{call_sid}/back")
async def back(call_sid: str, request: Request) -> Response:
    app, form, target, _transfer = await _request(request, call_sid, "back")
    outcome = request.query_params.get("outcome", "")
    if form.call_sid != call_sid or outcome not in _OUTCOMES:
        raise HTTPException(status_code=400, detail="not this call's return")
    return await back_to_agent(request, app, form, target=target, outcome=outcome)
