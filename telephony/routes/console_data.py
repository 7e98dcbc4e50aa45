"""A minimal call list and call page for the console, in the shape the full API serves.

Stands in for ``GET /calls`` and ``GET /calls/{sid}`` (with plain-text and WebVTT exports)
until the transcript API provides them; the console is written against that contract only:

- ``GET /calls?limit=&cursor=&since=&until=&agent=&route=&direction=&end_reason=&interrupted=&q=``
  -> ``{"calls": [CallSummary...], "next_cursor": str | null}``, newest first;
- ``GET /calls/{sid}`` -> ``{"call", "turns", "summary", "links": {"json", "text", "vtt",
  "recording"}}``.
"""

import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from telephony.errors import StorageError
from telephony.routes.api import require_api_token
from telephony.services import services
from telephony.transcripts import Transcript
from telephony.transcripts.engine import DATABASE_ERRORS
from telephony.transcripts.tables import CallRow, TurnRow
from telephony.twilio.sids import CALL_SID

logger = logging.getLogger(__name__)

router = APIRouter(dependencies=[Depends(require_api_token)])

MAX_PAGE = 200


def _summary(row: Any, interrupted: bool, turn_count: int) -> dict[str, Any]:
    return {
        "call_sid": row.call_sid,
        "agent": row.agent,
        "route": None,
        "direction": row.direction,
        "from_number": row.from_number,
        "to_number": row.to_number,
        "started_at": row.started_at.isoformat() if row.started_at else None,
        "ended_at": row.ended_at.isoformat() if row.ended_at else None,
        "end_reason": row.end_reason,
        "status": row.status,
        "interrupted": interrupted,
        "turn_count": turn_count,
    }


@router.get("/calls")
async def list_calls(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(pattern=r"^\d{1,18}$")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    agent: str | None = None,
    route: str | None = None,
    direction: str | None = None,
    end_reason: str | None = None,
    interrupted: bool | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    del route  # routes are not stored yet
    was_interrupted = exists().where(TurnRow.call_id == CallRow.id, TurnRow.interrupted)
    query = select(CallRow, was_interrupted.label("was_interrupted")).order_by(CallRow.id.desc())
    if cursor is not None:
        query = query.where(CallRow.id < int(cursor))
    if since is not None:
        query = query.where(CallRow.started_at >= since)
    if until is not None:
        query = query.where(CallRow.started_at < until)
    if agent:
        query = query.where(CallRow.agent == agent)
    if direction:
        query = query.where(CallRow.direction == direction)
    if end_reason:
        query = query.where(CallRow.end_reason == end_reason)
    if interrupted is not None:
        query = query.where(was_interrupted if interrupted else ~was_interrupted)
    if q:
        words = f"%{q.lower()}%"
        query = query.where(
            exists().where(TurnRow.call_id == CallRow.id, TurnRow.text.ilike(words))
        )
    try:
        async with AsyncSession(services(request).store.engine) as session:
            rows = (await session.execute(query.limit(limit + 1))).all()
    except DATABASE_ERRORS as exc:
        logger.exception("could not list calls")
        raise HTTPException(status_code=503, detail="the transcript store is unavailable") from exc
    page = rows[:limit]
    next_cursor = str(page[-1][0].id) if len(rows) > limit else None
    return {
        "calls": [_summary(row[0], row[1], row[0].turn_count) for row in page],
        "next_cursor": next_cursor,
    }


async def _transcript(request: Request, call_sid: str) -> Transcript:
    if not CALL_SID.matches(call_sid):
        raise HTTPException(status_code=404, detail="no such call")
    try:
        found = await services(request).store.transcript(call_sid)
    except StorageError as exc:
        logger.exception("call %s: could not read the transcript", call_sid)
        raise HTTPException(status_code=503, detail="the transcript store is unavailable") from exc
    if found is None:
        raise HTTPException(status_code=404, detail="no such call")
    return found


@router.get("/calls/{call_sid}")
async def call_detail(call_sid: str, request: Request) -> dict[str, Any]:
    found = await _transcript(request, call_sid)
    app = services(request)
    summary = None
    if app.summaries is not None:
        try:
            stored = await app.summaries.store.get(call_sid)
        except StorageError:
            logger.exception("call %s: could not read the summary", call_sid)
            stored = None
        summary = stored.model_dump(mode="json") if stored is not None else None
    call = found.call
    interrupted = any(turn.interrupted for turn in found.turns)
    return {
        "call": _summary(call, interrupted, len(found.turns)),
        "turns": [turn.model_dump(mode="json") for turn in found.turns],
        "summary": summary,
        "links": {
            "json": f"/calls/{call_sid}/transcript",
            "text": f"/calls/{call_sid}/transcript.txt",
            "vtt": f"/calls/{call_sid}/transcript.vtt",
            "recording": None,
        },
    }


@router.get("/calls/{call_sid}/transcript.txt", response_class=PlainTextResponse)
async def transcript_text(call_sid: str, request: Request) -> str:
    found = await _transcript(request, call_sid)
    return "".join(
        f"[{turn.start_ms / 1000:.1f} s] {turn.speaker.value}: {turn.heard_text or turn.text}\n"
        for turn in found.turns
    )


@router.get("/calls/{call_sid}/transcript.vtt", response_class=PlainTextResponse)
async def transcript_vtt(call_sid: str, request: Request) -> PlainTextResponse:
    found = await _transcript(request, call_sid)
    cues = ["WEBVTT", ""]
    for turn in found.turns:
        end = max(turn.end_ms, turn.start_ms + 1)
        words = turn.heard_text if turn.heard_text is not None else turn.text
        cues += [
            f"{_vtt_time(turn.start_ms)} --> {_vtt_time(end)}",
            f"<v {turn.speaker.value}>{words}",
            "",
        ]
    return PlainTextResponse("\n".join(cues), media_type="text/vtt")


def _vtt_time(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"
