"""The REST API over stored calls. Transcripts are personal data: a bearer token is required."""

import hmac
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from telephony.errors import StorageError
from telephony.metrics import RETENTION_S
from telephony.services import services
from telephony.twilio.sids import CALL_SID

logger = logging.getLogger(__name__)

router = APIRouter()
bearer = HTTPBearer(auto_error=False)
"""The ``Authorization: Bearer`` scheme every API route declares (see `require_api_token`)."""


def require_api_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Let the request through only with ``Authorization: Bearer <API_TOKEN>``."""
    expected = services(request).settings.api_token
    if expected is None:
        raise HTTPException(status_code=403, detail="the API is disabled: API_TOKEN is not set")
    given = credentials.credentials if credentials is not None else ""
    if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise HTTPException(
            status_code=401,
            detail="a valid bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )


@router.get("/calls/{call_sid}/transcript", dependencies=[Depends(require_api_token)])
async def transcript(call_sid: str, request: Request) -> dict[str, Any]:
    """The call and its turns, in the order they were spoken, its recordings and, for a call
    we placed, why and who answered; 404 for a malformed CallSid too, which is never looked up
    (nor logged: it could carry a newline)."""
    if not CALL_SID.matches(call_sid):
        raise HTTPException(status_code=404, detail="no such call")
    app = services(request)
    try:
        found = await app.store.transcript(call_sid)
        recordings = await app.recordings.of_call(call_sid)
        outbound = await app.outbound_calls.of_call(call_sid)
    except StorageError as exc:
        logger.exception("call %s: could not read the transcript", call_sid)
        raise HTTPException(status_code=503, detail="the transcript store is unavailable") from exc
    if found is None:
        raise HTTPException(status_code=404, detail="no such call")
    return found.model_dump(mode="json") | {
        "recordings": [recording.model_dump(mode="json") for recording in recordings],
        "outbound": outbound.model_dump(mode="json") if outbound is not None else None,
    }


@router.get("/metrics", dependencies=[Depends(require_api_token)])
async def metrics(
    request: Request,
    window_s: Annotated[float, Query(gt=0, le=RETENTION_S, allow_inf_nan=False)] = 60.0,
) -> dict[str, Any]:
    """Event-loop lag, barge-in reaction and call counters of this process (no personal data).

    Lag and reaction times are summarised over the last ``window_s`` seconds: a finite number
    above 0 and at most the samples' retention (15 minutes); anything else is a 422.
    """
    app = services(request)
    feed = {"readers": app.feed.readers, "published": app.feed.published}
    summaries = app.summaries.counters.as_dict() if app.summaries is not None else {}
    snapshot = app.metrics.snapshot(window_s, active_calls=len(app.calls))
    return snapshot | {"feed": feed, "summaries": summaries}


@router.get("/healthz")
async def health(request: Request) -> JSONResponse:
    """Liveness, and how many calls this process is carrying.

    A 503 with a ``reason`` when what is written cannot be kept (the SQLite file was deleted or
    replaced): that needs an operator. A database that only does not answer fails nothing here
    (``/metrics`` reports it): calls go on without it and it is caught up when it returns, and
    failing the check would have a load balancer take every instance out at once.
    """
    app = services(request)
    body: dict[str, Any] = {"status": "ok", "calls": len(app.calls)}
    problem = app.store.problem()
    if problem is None:
        return JSONResponse(body)
    return JSONResponse(body | {"status": "failing", "reason": problem}, status_code=503)
