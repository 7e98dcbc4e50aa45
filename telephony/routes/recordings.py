"""Recordings of calls: listed on the call, the server's file streamed, deleted with the call;
Twilio's recording started on the live call and its status callback (``/twilio/recording``).

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

from telephony.call import Call
from telephony.errors import StorageError
from telephony.playback import AgentTurnResult
from telephony.policy import RoutePolicy
from telephony.recording import RecordingInfo
from telephony.recording.twilio_recording import TwilioRecording
from telephony.routes.api import require_api_token
from telephony.routes.voice import call_form
from telephony.services import Services, services
from telephony.transcripts.recordings import HEARD, TWILIO, Recording
from telephony.twilio.sids import CALL_SID, RECORDING_SID
from telephony.twilio.twiml import clean_text

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


def twilio_recording(
    app: Services, call: Call, policy: RoutePolicy, origin: str
) -> TwilioRecording | None:
    """Twilio's recording of the call, if the route wants one: it starts once the caller has
    heard an agent turn in full (the first, which announces it) and pauses during digits."""
    call_sid = call.identity.call_sid
    if not policy.record_twilio:
        return None
    if app.rest is None:
        logger.warning("call %s: RECORD_TWILIO is on but there are no REST credentials", call_sid)
        return None

    async def started(recording_sid: str) -> None:
        try:
            await app.recordings.save(
                call_sid, TWILIO, status="in-progress", recording_sid=recording_sid
            )
        except StorageError:
            logger.exception("call %s: could not list Twilio's recording", call_sid)

    recording = TwilioRecording(
        app.rest,
        call_sid,
        origin + "/twilio/recording",
        pause_on_digits=policy.pause_on_digits,
        quiet_s=policy.digits_quiet_s,
        on_started=started,
    )

    def turn(result: AgentTurnResult) -> None:
        if not result.interrupted and result.heard_ms > 0:
            recording.turn_heard()

    call.turn_observers.append(turn)
    call.digit_observers.append(lambda _digit: recording.digit())
    return recording


@router.post("/twilio/recording")
async def recording_status(request: Request) -> Response:
    """Twilio's recording status callback (signed): its SID, status, duration and URL."""
    app = services(request)
    form = await call_form(request, app, "/twilio/recording")
    fields = await request.form()
    recording_sid = fields.get("RecordingSid")
    if not RECORDING_SID.matches(recording_sid):
        raise HTTPException(status_code=400, detail="missing or malformed RecordingSid")
    status = clean_text(str(fields.get("RecordingStatus") or "unknown"), 32)
    url = fields.get("RecordingUrl")
    duration = str(fields.get("RecordingDuration") or "")
    values: dict[str, Any] = {"recording_sid": recording_sid}
    if isinstance(url, str) and url.startswith("https://"):
        values["url"] = clean_text(url, 500)
    if duration.isdigit():
        values["duration_ms"] = int(duration) * 1000
    try:
        await app.recordings.save(form.call_sid, TWILIO, status=status, **values)
    except StorageError as exc:
        logger.exception("call %s: could not store Twilio's recording status", form.call_sid)
        raise HTTPException(status_code=503, detail="the recording store is unavailable") from exc
    return Response(status_code=204)


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
        forgotten = await forget_recordings(app, call_sid)
    except StorageError as exc:
        logger.exception("call %s: could not delete its recordings", call_sid)
        raise HTTPException(status_code=503, detail="the recording store is unavailable") from exc
    if not forgotten:
        raise HTTPException(status_code=404, detail="no recording of this call")
    return Response(status_code=204)


async def forget_recordings(app: Services, call_sid: str) -> int:
    """Delete a call's recordings, listing and files: what deleting a call must also do.
    Returns how many there were; raises ``StorageError`` when the listing cannot be read."""
    forgotten = await app.recordings.forget(call_sid)
    for item in forgotten:
        if item.path is not None:
            await asyncio.to_thread(Path(item.path).unlink, missing_ok=True)
    if forgotten:
        logger.info("call %s: recordings deleted", call_sid)
    return len(forgotten)


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
