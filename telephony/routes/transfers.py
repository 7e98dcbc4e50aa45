"""How a transfer went: Twilio's ``<Dial action>`` / ``<Enqueue action>`` request.

The call left the agent for a person or a queue (``call_control.py``). When that verb ends,
Twilio POSTs here (signed) with ``DialCallStatus`` (or ``QueueResult``):

- answered (``completed``, ``answered``, ``bridged``): the conversation took place; the call
  is over for us: ``<Hangup/>``;
- not answered (``busy``, ``no-answer``, ``failed``, ``canceled``, a queue left without an
  agent): the caller comes back to the agent, in the same ADK session, which is told what
  happened (``returning.py``).

Either way the outcome is a system turn in the call's transcript.
"""

import logging
import re

from fastapi import APIRouter, HTTPException, Request, Response
from twilio.twiml.voice_response import VoiceResponse

from telephony.routes.returning import back_to_agent
from telephony.routes.voice import call_form
from telephony.services import services
from telephony.twilio.sids import CALL_SID
from telephony.warm_transfer import note_turn

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/twilio")

_TARGET = re.compile(r"[a-z][a-z0-9_-]{0,62}")
ANSWERED = frozenset({"completed", "answered", "bridged"})
"""``DialCallStatus`` / ``QueueResult`` values that mean someone took the call."""
_NOT_ANSWERED = frozenset({"busy", "no-answer", "failed", "canceled", "leave", "hangup"})
"""Other outcomes counted by name in the metrics (anything else is ``other``: a label per
value Twilio might send would let a caller of this URL grow the metrics without bound)."""


@router.post("/transfer/{call_sid}")
async def transfer_outcome(call_sid: str, request: Request) -> Response:
    app = services(request)
    form = await call_form(request, app, f"/twilio/transfer/{call_sid}")
    if form.call_sid != call_sid or not CALL_SID.matches(call_sid):
        raise HTTPException(status_code=400, detail="not this call's transfer")
    raw = await request.form()
    outcome = str(raw.get("DialCallStatus") or raw.get("QueueResult") or "unknown")[:32]
    target = request.query_params.get("target", "")
    if not _TARGET.fullmatch(target):
        raise HTTPException(status_code=400, detail="bad transfer target")
    answered = outcome in ANSWERED
    label = "answered" if answered else outcome if outcome in _NOT_ANSWERED else "other"
    app.metrics.transfer("cold", label)
    await note_turn(app.store, call_sid, f"Transfer to {target}: {outcome}.")
    logger.info("call %s: transfer to target %s: %s", call_sid, target, outcome)
    if answered:
        response = VoiceResponse()
        response.hangup()
        return Response(str(response), media_type="text/xml")
    return await back_to_agent(request, app, form, target=target, outcome=outcome)
