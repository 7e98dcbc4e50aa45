"""Recordings of calls: listed on the call, the server's file streamed, deleted with the call.

``GET /calls/{sid}/recordings`` lists them (the server's file: path, duration, size; Twilio's:
its SID, duration and URL); ``GET /calls/{sid}/recording`` streams the server's WAV of what the
caller heard; ``DELETE /calls/{sid}/recording`` deletes the file and the listing. Recordings are
personal data: every route needs the API's bearer token.
"""

import asyncio
import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import FileResponse

from telephony.errors import StorageError
from telephony.recording import RecordingInfo
from telephony.routes.api import require_api_token
from telephony.services import Services, services
from telephony.transcripts.recordings import HEARD, Recording
from telephony.twilio.sids import CALL_SID

logger = logging.getLogger(__name__)

router = APIRouter()

_WAV = "audio/wav"


async def heard_started(app: Services, call_sid: str, path: Path) -> None:
    """List the call's recording while it is being written (a failure is logged, not raised:
    the call goes on, and its end lists the file again)."""
    try:
        await app.recordings.save(call_sid, HEARD, status="recording", path=str(path))
    except StorageError:
        logger.exception("call %s: could not list its recording", call_sid)


async def heard_finished(app: Services, call_sid: str, info: RecordingInfo) -> None:
    """List the finished file with its duration and size."""
    try:
        await app.recordings.save(
            call_sid,
            HEARD,
            status="completed" if info.complete else "failed",
            path=str(info.path),
            duration_ms=info.duration_ms,
            size_bytes=info.size_bytes,
        )
    except StorageError:
        logger.exception("call %s: could not list its finished recording", call_sid)


@router.get("/calls/{call_sid}/recordings", dependencies=[Depends(require_api_token)])
async def recordings(call_sid: str, request: Request) -> list[dict[str, Any]]:
    """The call's recordings (an empty list for a call without any)."""
    _check_sid(call_sid)
    found = await _listed(request, call_sid)
    return [recording.model_dump(mode="json") for recording in found]


@router.get("/calls/{call_sid}/recording", dependencies=[Depends(require_api_token)])
async def recording(call_sid: str, request: Request) -> FileResponse:
    """The server's recording of what the caller heard, as a stereo WAV (streamed from disk;
    while the call goes on, what has been written so far)."""
    _check_sid(call_sid)
    heard = _heard(await _listed(request, call_sid))
    if heard is None or heard.path is None or not await asyncio.to_thread(Path(heard.path).is_file):
        raise HTTPException(status_code=404, detail="no recording of this call")
    return FileResponse(heard.path, media_type=_WAV, filename=f"{call_sid}.wav")


@router.delete("/calls/{call_sid}/recording", dependencies=[Depends(require_api_token)])
async def delete_recording(call_sid: str, request: Request) -> Response:
    """Delete the call's recordings: the server's file and the listing (Twilio keeps its own
    recording until it is deleted there)."""
    _check_sid(call_sid)
    app = services(request)
    if call_sid in app.calls:
        raise HTTPException(status_code=409, detail="the call is in progress")
    try:
        forgotten = await app.recordings.forget(call_sid)
    except StorageError as exc:
        logger.exception("call %s: could not delete its recordings", call_sid)
        raise HTTPException(status_code=503, detail="the recording store is unavailable") from exc
    if not forgotten:
        raise HTTPException(status_code=404, detail="no recording of this call")
    for item in forgotten:
        if item.path is not None:
            await asyncio.to_thread(Path(item.path).unlink, missing_ok=True)
    logger.info("call %s: recordings deleted", call_sid)
    return Response(status_code=204)


def _check_sid(call_sid: str) -> None:
    if not CALL_SID.matches(call_sid):
        raise HTTPException(status_code=404, detail="no such call")


async def _listed(request: Request, call_sid: str) -> list[Recording]:
    try:
        return await services(request).recordings.of_call(call_sid)
    except StorageError as exc:
        logger.exception("call %s: could not read its recordings", call_sid)
        raise HTTPException(status_code=503, detail="the recording store is unavailable") from exc


def _heard(found: list[Recording]) -> Recording | None:
    return next((item for item in found if item.kind == HEARD), None)
