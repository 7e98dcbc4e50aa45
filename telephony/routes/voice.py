"""Twilio's HTTP webhooks: the voice webhook answers with TwiML, the status webhook records.

Both are signed by Twilio; the signature is checked against the configured public URL, never
against the URL the request arrived on (a proxy or tunnel rewrites that).
"""

import logging
import re
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.datastructures import FormData
from starlette.requests import HTTPConnection

from telephony.errors import StorageError
from telephony.routing import route_call
from telephony.services import Services, services
from telephony.transcripts import CallDirection, CallStatus
from telephony.twilio.twiml import connect_stream

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/twilio")

_CALL_SID = re.compile(r"CA[0-9a-f]{32}")
_ACCOUNT_SID = re.compile(r"AC[0-9a-f]{32}")


@router.post("/voice")
async def voice(request: Request) -> Response:
    """A call arrived: answer with a media stream to the agent, and a safety net after it."""
    app = services(request)
    form = await _signed_form(request, app, "/twilio/voice")
    call_sid = _field(form, "CallSid", _CALL_SID)
    account_sid = _field(form, "AccountSid", _ACCOUNT_SID)
    from_number = str(form.get("From", ""))
    to_number = str(form.get("To", ""))
    route = route_call(app.settings.default_agent, to_number=to_number, from_number=from_number)
    await _record_status(app, form, call_sid)

    twiml = connect_stream(
        stream_url(app, request),
        {
            "token": app.tokens.mint(call_sid, account_sid),
            "from": from_number,
            "to": to_number,
            "agent": route.agent,
            "direction": str(form.get("Direction", "inbound")),
        },
    )
    logger.info("call %s: answering with agent %s", call_sid, route.agent)
    return Response(twiml, media_type="text/xml")


@router.post("/status")
async def status(request: Request) -> Response:
    """A call status callback: keep the newest status with the call."""
    app = services(request)
    form = await _signed_form(request, app, "/twilio/status")
    call_sid = _field(form, "CallSid", _CALL_SID)
    await _record_status(app, form, call_sid)
    return Response(status_code=204)


def public_origin(app: Services, request: HTTPConnection) -> str:
    """Where Twilio reaches us. Without PUBLIC_URL (local use only), the request's own origin."""
    if app.settings.public_url is not None:
        return app.settings.public_url
    return str(request.base_url).rstrip("/")


def stream_url(app: Services, request: HTTPConnection) -> str:
    origin = public_origin(app, request)
    scheme, rest = origin.split("://", 1)
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/twilio/media"


async def _signed_form(request: Request, app: Services, path: str) -> FormData:
    form = await request.form()
    if app.signatures is not None:
        url = public_origin(app, request) + path
        query = request.url.query
        if query:
            url += "?" + query
        signature = request.headers.get("x-twilio-signature")
        if not app.signatures.webhook_valid(url, form, signature):
            logger.warning("refused a %s request: bad or missing Twilio signature", path)
            raise HTTPException(status_code=403, detail="invalid Twilio signature")
    return form


def _field(form: FormData, name: str, pattern: re.Pattern[str]) -> str:
    value = form.get(name)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise HTTPException(status_code=400, detail=f"missing or malformed {name}")
    return value


async def _record_status(app: Services, form: FormData, call_sid: str) -> None:
    try:
        call_status = CallStatus(str(form.get("CallStatus")))
    except ValueError:
        logger.info("call %s: ignoring unknown call status", call_sid)
        return
    try:
        await app.store.record_status(
            call_sid,
            call_status,
            datetime.now(UTC),
            account_sid=str(form.get("AccountSid", "")) or None,
            from_number=str(form.get("From", "")) or None,
            to_number=str(form.get("To", "")) or None,
            direction=parse_direction(form.get("Direction")),
        )
    except StorageError:
        # The call must still be answered; the stream will create the call row.
        logger.exception("call %s: could not record status", call_sid)


def parse_direction(value: object) -> CallDirection | None:
    """Twilio's ``Direction``, or None for a value this server does not know."""
    try:
        return CallDirection(str(value))
    except ValueError:
        return None
