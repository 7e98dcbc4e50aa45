"""Twilio's HTTP webhooks: the voice webhook answers with TwiML, the status webhook records.

Both are signed by Twilio; the signature is checked against the configured public URL, never
against the URL the request arrived on (a proxy or tunnel rewrites that). Then the form must be
about a call of our account (``TWILIO_ACCOUNT_SID``, when set): another account's request is
refused with a 403 like a bad signature, before anything is stored or minted. A call from
another account is not ours to answer, and a 403 shows up in that account's Twilio debugger.

A call gets one stream token, ever (Twilio never reconnects a stream). A second voice webhook for
a CallSid already answered, a replay of a captured request or a retry, is answered idempotently
with the safety net alone: an apology and a hang-up, no stream, no token. That answer goes to
whoever sent the request; if it is Twilio retrying, the caller hears an apology rather than
Twilio's "application error", and either way nothing can open a second stream.

Before any of that, the process decides whether it can take the call (``admission.py``): full,
out of CPU or draining for a shutdown, it answers with the overflow (``overflow_twiml``: the
route's, else a message, another number or a queue from the settings) and no stream, rather
than degrade the calls it carries.
"""

import logging
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.requests import ClientDisconnect, HTTPConnection

from telephony.errors import ProtocolError, StorageError
from telephony.outbound.dialer import OUTBOUND_PARAMETER
from telephony.routing import Decision, Route
from telephony.services import Services, services
from telephony.transcripts import CallDirection, CallStatus
from telephony.twilio.forms import CallForm, parse_call_form
from telephony.twilio.twiml import Overflow, connect_stream, overflow, safety_net

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/twilio")

_TWIML = "text/xml"
_DEFAULT_DIRECTION = "inbound"


@router.post("/voice")
async def voice(request: Request) -> Response:
    """A call arrived: answer with a media stream to the agent, and a safety net after it.

    The stream's token is granted in the shared database first: a call already granted gets the
    safety net alone, and so does a call whose grant cannot be recorded (its stream could not be
    admitted anyway: admission fails closed).
    """
    app = services(request)
    form = await call_form(request, app, "/twilio/voice")
    call_sid = form.call_sid
    outbound = app.outbound.find(request.query_params.get(OUTBOUND_PARAMETER))
    if outbound is not None:  # a call we placed: the route of the number it is from
        decision = Decision(app.routing.calling_from(outbound.request.from_), after_hours=False)
    else:
        decision = app.routing.decide(
            to_number=form.to_number, from_number=form.from_number, now=datetime.now(UTC)
        )
    route = decision.route
    if decision.after_hours and route.after_hours is not None:
        logger.info("call %s: after hours on route %s; no stream", call_sid, route.name)
        await _record_status(app, form)
        return Response(route.after_hours.twiml(), media_type=_TWIML)
    refusal = app.admission.take(call_sid, len(app.calls))
    if refusal is not None:
        logger.warning("call %s: answered with the overflow (%s)", call_sid, refusal)
        app.metrics.refused(refusal)
        await _record_status(app, form)
        return Response(overflow_twiml(app, route), media_type=_TWIML)
    token = app.tokens.mint(call_sid, form.account_sid)
    try:
        granted = await app.streams.grant(call_sid, token.nonce, datetime.now(UTC))
    except StorageError:
        app.admission.release(call_sid)
        logger.exception("call %s: could not record its stream grant; no stream", call_sid)
        return Response(overflow_twiml(app, route), media_type=_TWIML)
    if not granted:
        logger.warning(
            "call %s: voice webhook for a call already answered (replayed or retried); no stream",
            call_sid,
        )
        return Response(safety_net(), media_type=_TWIML)
    agent = decision.agent
    if outbound is not None:  # a call we placed: its agent, and its id for the stream
        app.outbound.bind(outbound, call_sid)
        agent = outbound.agent
    await _record_status(app, form)
    twiml = connect_stream(
        stream_url(app, request),
        {
            "token": token.text,
            "from": form.from_number,
            "to": form.to_number,
            "agent": agent,
            "route": route.name,
            "after_hours": "1" if decision.after_hours else "",
            "direction": form.direction or _DEFAULT_DIRECTION,
        }
        | ({OUTBOUND_PARAMETER: outbound.id} if outbound is not None else {}),
        fallback=route.fallback,
    )
    logger.info("call %s: answering with agent %s (route %s)", call_sid, agent, route.name)
    return Response(twiml, media_type=_TWIML)


def overflow_twiml(app: Services, route: Route) -> str:
    """What a caller this process cannot take hears: the route's overflow, else the
    deployment's (``OVERFLOW*`` settings)."""
    if route.overflow is not None:
        return route.overflow.twiml()
    settings = app.settings
    return overflow(
        Overflow(
            message=settings.overflow_message,
            dial=settings.overflow_number if settings.overflow == "redirect" else None,
            enqueue=settings.overflow_queue if settings.overflow == "queue" else None,
        )
    )


@router.post("/status")
async def status(request: Request) -> Response:
    """A call status callback: keep the newest status with the call."""
    app = services(request)
    form = await call_form(request, app, "/twilio/status")
    await _record_status(app, form)
    outbound = app.outbound.find(request.query_params.get(OUTBOUND_PARAMETER))
    if outbound is not None and form.call_status:
        app.outbound.bind(outbound, form.call_sid)
        await app.outbound.status(outbound, form.call_status)
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


async def call_form(request: Request, app: Services, path: str) -> CallForm:
    """The signed form of a webhook about one of our calls: 403 for a bad signature or another
    account, 400 for a form without a well-formed CallSid and AccountSid."""
    try:
        form = await request.form()
    except ClientDisconnect as exc:  # gave up mid-body (or was cut at the read deadline)
        raise HTTPException(status_code=400, detail="incomplete request") from exc
    if app.signatures is not None:
        url = public_origin(app, request) + path
        query = request.url.query
        if query:
            url += "?" + query
        signature = request.headers.get("x-twilio-signature")
        if not app.signatures.webhook_valid(url, form, signature):
            logger.warning("refused a %s request: bad or missing Twilio signature", path)
            raise HTTPException(status_code=403, detail="invalid Twilio signature")
    try:
        call = parse_call_form(form)
    except ProtocolError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    ours = app.settings.twilio_account_sid
    if ours is not None and call.account_sid != ours:
        logger.warning("refused a %s request for call %s: another account", path, call.call_sid)
        raise HTTPException(status_code=403, detail="not a call of this account")
    return call


async def _record_status(app: Services, form: CallForm) -> None:
    try:
        call_status = CallStatus(form.call_status)
    except ValueError:
        logger.info("call %s: ignoring unknown call status", form.call_sid)
        return
    try:
        await app.store.record_status(
            form.call_sid,
            call_status,
            datetime.now(UTC),
            account_sid=form.account_sid,
            from_number=form.from_number or None,
            to_number=form.to_number or None,
            direction=parse_direction(form.direction),
        )
    except StorageError:
        # The call must still be answered; the stream will create the call row.
        logger.exception("call %s: could not record status", form.call_sid)


def parse_direction(value: object) -> CallDirection | None:
    """Twilio's ``Direction``, or None for a value this server does not know."""
    try:
        return CallDirection(str(value))
    except ValueError:
        return None
