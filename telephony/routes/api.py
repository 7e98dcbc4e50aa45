"""The REST API over stored calls. Transcripts are personal data: a bearer token is required."""

import asyncio
import hmac
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from telephony.errors import StorageError
from telephony.exposition import CONTENT_TYPE
from telephony.metrics import RETENTION_S
from telephony.services import services
from telephony.transcripts.registry import live_calls
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


@router.get("/calls/live", dependencies=[Depends(require_api_token)])
async def calls_live(request: Request) -> dict[str, Any]:
    """The calls in progress in the whole deployment, each with the instance carrying it."""
    app = services(request)
    store = app.store
    try:
        found = await live_calls(store.engine, datetime.now(UTC))
    except StorageError as exc:
        logger.exception("could not read the live calls")
        raise HTTPException(status_code=503, detail="the call registry is unavailable") from exc
    return {
        "instance": store.instance_id,
        "calls": [
            {
                "call_sid": call.call_sid,
                "instance": call.instance_id,
                "agent": call.agent,
                "started_at": call.started_at.isoformat() if call.started_at else None,
            }
            for call in found
        ],
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
    tasks = len(asyncio.all_tasks())  # a leak shows as a count that keeps growing
    snapshot = app.metrics.snapshot(window_s, active_calls=len(app.calls))
    return snapshot | {"feed": feed, "summaries": summaries, "tasks": tasks}


@router.get("/metrics/prometheus")
async def prometheus(request: Request) -> Response:
    """The metrics in Prometheus's text format, for a scraper: counts and timings only, no
    personal data, so no token. A 404 when ``METRICS_PORT`` serves them on a port of their own
    (this listener is the public one)."""
    app = services(request)
    if app.settings.metrics_port is not None:
        raise HTTPException(status_code=404, detail="metrics are served on METRICS_PORT")
    return Response(app.metrics.exposition.scrape(), media_type=CONTENT_TYPE)


@router.get("/readyz")
async def ready(request: Request) -> JSONResponse:
    """Readiness: whether this process should be sent new calls. A 503 once it drains for a
    shutdown (its live calls go on: liveness is ``/healthz``) or when what is written cannot be
    kept; not when it is only full (a full process answers new calls with the overflow, which
    is what a caller should hear if every instance is full)."""
    app = services(request)
    body: dict[str, Any] = {"status": "ready", "calls": len(app.calls)}
    if app.drain.begun:
        return JSONResponse(body | {"status": "draining"}, status_code=503)
    problem = app.store.problem()
    if problem is not None:
        return JSONResponse(body | {"status": "failing", "reason": problem}, status_code=503)
    return JSONResponse(body)


@router.get("/healthz")
async def health(request: Request) -> JSONResponse:
    """Liveness, and how many calls this process is carrying (draining or not: a draining
    process is alive, and must not be restarted while its calls finish).

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
