"""Live events over Server-Sent Events: ``GET /calls/events`` (calls starting and ending) and
``GET /calls/{sid}/events`` (one call: turns, the agent's partial words, barge-ins, transfer,
end). See ``telephony.feed``.

Clients that can send headers use ``Authorization: Bearer <API_TOKEN>``; a browser's
``EventSource`` cannot, so it gets a ticket first (``POST /calls/events/ticket``, with the
token) and opens the stream with ``?ticket=``. A reconnecting client resumes after the id it
last saw: the ``Last-Event-ID`` header (which ``EventSource`` sends by itself), or the
``last_event_id`` query parameter for a fresh ``EventSource`` that cannot set the header.
Without either, a call's stream starts from the call's first event and the list's from now.
"""

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.security.utils import get_authorization_scheme_param

from telephony.errors import StorageError
from telephony.feed import EventTickets
from telephony.feed.stream import event_stream
from telephony.routes.api import require_api_token
from telephony.services import services
from telephony.transcripts.events import EventKind
from telephony.twilio.sids import CALL_SID

logger = logging.getLogger(__name__)

router = APIRouter()

_SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def _tickets(request: Request) -> EventTickets:
    token = services(request).settings.api_token
    if token is None:
        raise HTTPException(status_code=403, detail="the API is disabled: API_TOKEN is not set")
    return EventTickets(token.get_secret_value())


def require_reader(
    request: Request, ticket: Annotated[str | None, Query(max_length=128)] = None
) -> None:
    """A bearer token (checked as the API checks it), or a valid ticket."""
    tickets = _tickets(request)
    header = request.headers.get("authorization")
    if ticket is None or header:
        scheme, value = get_authorization_scheme_param(header)
        credentials = (
            HTTPAuthorizationCredentials(scheme=scheme, credentials=value)
            if scheme.lower() == "bearer" and value
            else None
        )
        require_api_token(request, credentials)
    elif not tickets.valid(ticket):
        raise HTTPException(status_code=401, detail="the ticket is invalid or has expired")


@router.post("/calls/events/ticket", dependencies=[Depends(require_api_token)])
async def ticket(request: Request) -> dict[str, Any]:
    """A ticket to open event streams with ``?ticket=`` for the next minute."""
    tickets = _tickets(request)
    value, expires = tickets.issue()
    return {"ticket": value, "expires_at": expires}


def _resume_after(header: str | None, query: int | None) -> int | None:
    if header is not None:
        try:
            return max(0, int(header))
        except ValueError:
            raise HTTPException(
                status_code=400, detail="Last-Event-ID is not an event id"
            ) from None
    return query


@router.get("/calls/events", dependencies=[Depends(require_reader)])
async def call_list_events(
    request: Request,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    last_event_id: Annotated[int | None, Query(ge=0)] = None,
) -> StreamingResponse:
    """Calls starting and ending, live (``call_started``, ``call_ended``)."""
    feed = services(request).feed
    after = _resume_after(last_event_id_header, last_event_id)
    if after is None:
        try:
            after = await feed.log.last_id()
        except StorageError as exc:
            logger.exception("the call list's event stream could not start")
            raise HTTPException(status_code=503, detail="the event store is unavailable") from exc
    return StreamingResponse(
        event_stream(feed, call_sid=None, after=after),
        media_type="text/event-stream",
        headers=_SSE_HEADERS,
    )


@router.get("/calls/{call_sid}/events", dependencies=[Depends(require_reader)], response_model=None)
async def call_events(
    call_sid: str,
    request: Request,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    last_event_id: Annotated[int | None, Query(ge=0)] = None,
) -> StreamingResponse | Response:
    """One call's events, from its first or after the last one seen; 204 once a resumed
    stream has had the call's end (so that a browser stops reconnecting)."""
    if not CALL_SID.matches(call_sid):
        raise HTTPException(status_code=404, detail="no such call")
    feed = services(request).feed
    after = _resume_after(last_event_id_header, last_event_id) or 0
    try:
        if not await feed.log.call_known(call_sid):
            raise HTTPException(status_code=404, detail="no such call")
        ended = await feed.log.read(after=0, call_sid=call_sid, kinds={EventKind.CALL_ENDED})
    except StorageError as exc:
        logger.exception("call %s: its event stream could not start", call_sid)
        raise HTTPException(status_code=503, detail="the event store is unavailable") from exc
    if ended and ended[0].id <= after:
        return Response(status_code=204)
    return StreamingResponse(
        event_stream(feed, call_sid=call_sid, after=after),
        media_type="text/event-stream",
        headers=_SSE_HEADERS,
    )
