"""The call API: list and search calls, read one, export it, erase it. Bearer token required.

- ``GET /calls``: newest first, filtered, a page at a time (``next_cursor``; see ``catalog``).
- ``GET /calls/{call_sid}``: the call, its turns, its summary, links to exports and recording.
- ``GET /calls/{call_sid}/export.json|.txt|.vtt``: downloads.
- ``DELETE /calls/{call_sid}``: erases the call everywhere (``erasure``); 204.

Every error is JSON, ``{"error": {"code", "message"}}``, including a missing token and a bad
parameter. A malformed CallSid is a 404 without a lookup (and never logged).
"""

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import AwareDatetime, BaseModel, Field

from telephony.errors import StorageError
from telephony.routes.api import bearer, require_api_token
from telephony.routes.voice import public_origin
from telephony.services import Services, services
from telephony.transcripts import (
    CallDirection,
    CallFilter,
    CallSummary,
    EndReason,
    Transcript,
    Turn,
)
from telephony.transcripts.catalog import DEFAULT_PAGE, MAX_PAGE, BadCursorError
from telephony.transcripts.exports import as_text, as_webvtt
from telephony.transcripts.summaries import SummaryStore
from telephony.twilio.sids import CALL_SID

logger = logging.getLogger(__name__)

PREFIX = "/calls"


class ErrorDetail(BaseModel):
    code: str
    """``unauthorized``, ``api_disabled``, ``not_found``, ``invalid_request``,
    ``storage_unavailable``."""
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    """An error answered as ``{"error": {"code", "message"}}``."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


class CallList(BaseModel):
    calls: list[CallSummary]
    next_cursor: str | None
    """Pass as ``cursor`` for the next (older) page; null on the last page."""


class CallLinks(BaseModel):
    json_: str = Field(alias="json")
    text: str
    vtt: str
    recording: str | None
    """What the caller heard; null when no recording is kept."""


class CallDetail(BaseModel):
    call: CallSummary
    turns: list[Turn]
    summary: dict[str, Any] | None
    """The post-call summary and disposition, once made."""
    links: CallLinks


def _authorized(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    try:
        require_api_token(request, credentials)
    except HTTPException as exc:
        code = "api_disabled" if exc.status_code == 403 else "unauthorized"
        headers = dict(exc.headers) if exc.headers else None
        raise ApiError(exc.status_code, code, str(exc.detail), headers) from exc


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "no or a wrong bearer token"},
    403: {"model": ErrorBody, "description": "the API is disabled (API_TOKEN is not set)"},
    503: {"model": ErrorBody, "description": "the database is unavailable"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "no such call"}
}

router = APIRouter(
    prefix=PREFIX, tags=["calls"], dependencies=[Depends(_authorized)], responses=_ERRORS
)


@router.get(
    "",
    response_model=CallList,
    responses={422: {"model": ErrorBody, "description": "a bad parameter or cursor"}},
)
async def list_calls(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[AwareDatetime | None, Query(description="calls at or after")] = None,
    until: Annotated[AwareDatetime | None, Query(description="calls before")] = None,
    agent: Annotated[str | None, Query(max_length=128)] = None,
    route: Annotated[str | None, Query(max_length=128)] = None,
    direction: CallDirection | None = None,
    end_reason: EndReason | None = None,
    interrupted: Annotated[bool | None, Query(description="the caller barged in")] = None,
    q: Annotated[str | None, Query(max_length=200, description="words said or heard")] = None,
) -> CallList:
    """Calls, newest first, that match every filter given; a page at a time."""
    where = CallFilter(since, until, agent, route, direction, end_reason, interrupted, q or None)
    try:
        page = await services(request).catalog.page(where, limit=limit, cursor=cursor)
    except BadCursorError as exc:
        raise ApiError(422, "invalid_request", "cursor: not a cursor this API gave") from exc
    except StorageError as exc:
        logger.exception("could not list calls")
        raise _unavailable() from exc
    return CallList(calls=list(page.calls), next_cursor=page.next_cursor)


@router.get("/{call_sid}", response_model=CallDetail, responses=_NOT_FOUND)
async def get_call(call_sid: str, request: Request) -> CallDetail:
    """The call, its turns in the order they were spoken, its summary and links."""
    return await _detail(services(request), request, call_sid)


@router.get("/{call_sid}/export.json", response_model=CallDetail, responses=_NOT_FOUND)
async def export_json(call_sid: str, request: Request) -> JSONResponse:
    """The call as a JSON download (the same document as ``GET /calls/{call_sid}``)."""
    detail = await _detail(services(request), request, call_sid)
    return JSONResponse(
        detail.model_dump(mode="json", by_alias=True), headers=_attachment(call_sid, "json")
    )


@router.get(
    "/{call_sid}/export.txt",
    response_class=Response,
    responses=_NOT_FOUND | {200: {"content": {"text/plain": {}}}},
)
async def export_text(call_sid: str, request: Request) -> Response:
    """What was said, one line per turn, as the caller heard it."""
    transcript = await _transcript(services(request), call_sid)
    return Response(
        as_text(transcript),
        media_type="text/plain; charset=utf-8",
        headers=_attachment(call_sid, "txt"),
    )


@router.get(
    "/{call_sid}/export.vtt",
    response_class=Response,
    responses=_NOT_FOUND | {200: {"content": {"text/vtt": {}}}},
)
async def export_vtt(call_sid: str, request: Request) -> Response:
    """WebVTT cues on the call's clock; an agent cue ends where the caller stopped hearing it."""
    transcript = await _transcript(services(request), call_sid)
    return Response(
        as_webvtt(transcript),
        media_type="text/vtt; charset=utf-8",
        headers=_attachment(call_sid, "vtt"),
    )


@router.delete("/{call_sid}", status_code=204, response_class=Response, responses=_NOT_FOUND)
async def delete_call(call_sid: str, request: Request) -> Response:
    """Erase the call: its turns, its ADK session and everything registered for erasure."""
    _check_sid(call_sid)
    try:
        erased = await services(request).erasure.erase(call_sid)
    except StorageError as exc:
        logger.exception("call %s: could not erase it", call_sid)
        raise _unavailable() from exc
    if not erased:
        raise _not_found()
    return Response(status_code=204)


def install(app: FastAPI) -> None:
    """Serve the call API on ``app``, with its JSON errors."""
    app.include_router(router)
    app.add_exception_handler(ApiError, _answer_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _answer_invalid)  # type: ignore[arg-type]


async def _answer_error(request: Request, exc: ApiError) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(code=exc.code, message=exc.message))
    return JSONResponse(body.model_dump(), status_code=exc.status, headers=exc.headers)


async def _answer_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    if not request.url.path.startswith(PREFIX):
        return await request_validation_exception_handler(request, exc)
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc'][1:])}: {error['msg']}"
        for error in exc.errors()
    )
    return await _answer_error(request, ApiError(422, "invalid_request", problems))


async def _detail(app: Services, request: Request, call_sid: str) -> CallDetail:
    transcript = await _transcript(app, call_sid)
    try:
        summary = await app.catalog.summary(call_sid)
        written = await SummaryStore(app.store.engine).get(call_sid)
    except StorageError as exc:
        logger.exception("call %s: could not read it", call_sid)
        raise _unavailable() from exc
    if summary is None:  # erased in between
        raise _not_found()
    base = f"{public_origin(app, request)}{PREFIX}/{call_sid}"
    return CallDetail(
        call=summary,
        turns=list(transcript.turns),
        summary=written.model_dump(mode="json") if written is not None else None,
        links=CallLinks(
            json=f"{base}/export.json",
            text=f"{base}/export.txt",
            vtt=f"{base}/export.vtt",
            recording=None,
        ),
    )


async def _transcript(app: Services, call_sid: str) -> Transcript:
    _check_sid(call_sid)
    try:
        found = await app.store.transcript(call_sid)
    except StorageError as exc:
        logger.exception("call %s: could not read the transcript", call_sid)
        raise _unavailable() from exc
    if found is None:
        raise _not_found()
    return found


def _check_sid(call_sid: str) -> None:
    if not CALL_SID.matches(call_sid):
        raise _not_found()


def _attachment(call_sid: str, extension: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{call_sid}.{extension}"'}


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "no such call")


def _unavailable() -> ApiError:
    return ApiError(503, "storage_unavailable", "the transcript store is unavailable")
