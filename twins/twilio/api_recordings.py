"""The Recordings subresource of a call in the REST simulator (see :mod:`twins.twilio.recording`).

``POST Calls/{CallSid}/Recordings.json`` starts one (a call not in progress answers 21220),
``GET`` lists them, ``GET``/``POST Calls/{CallSid}/Recordings/{Sid}.json`` fetch or update one:
``Status`` paused, in-progress (resume) or stopped, ``PauseBehavior`` skip or silence. The SID
``Twilio.CURRENT`` names the call's recording in progress
(https://www.twilio.com/docs/voice/api/recording#update-a-recording-resource).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from email.utils import format_datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from twins.twilio.call import SimulatedCall
from twins.twilio.config import API_VERSION
from twins.twilio.ids import new_recording_sid
from twins.twilio.recording import DEFAULT_RECORDING_EVENTS, SOURCE, Recording
from twins.twilio.rest_calls import RestCall
from twins.twilio.rest_http import (
    ERROR_CALL_NOT_IN_PROGRESS,
    ERROR_MISSING_PARAMETER,
    error,
    form,
    not_found,
    page,
)
from twins.twilio.rest_state import RestState

CURRENT = "Twilio.CURRENT"
_STATUSES = ("paused", "in-progress", "stopped")


class RecordingsApi:
    def __init__(self, state: RestState) -> None:
        self.state = state

    def routes(self, prefix: str) -> list[Route]:
        base = prefix + "/Calls/{call_sid}/Recordings"
        return [
            Route(base + ".json", self.create, methods=["POST"]),
            Route(base + ".json", self.list, methods=["GET"]),
            Route(base + "/{recording_sid}.json", self.fetch, methods=["GET"]),
            Route(base + "/{recording_sid}.json", self.update, methods=["POST"]),
        ]

    def _call(self, request: Request) -> RestCall | None:
        return self.state.calls.get(request.path_params["call_sid"])

    async def create(self, request: Request) -> Response:
        denied = self.state.check(request)
        if denied is not None:
            return denied
        record = self._call(request)
        if record is None:
            return not_found(request)
        call = record.call
        if call is None or call.status != "in-progress":
            return error(400, ERROR_CALL_NOT_IN_PROGRESS, "Call is not in-progress")
        fields = await form(request)
        values = dict(fields)
        events = tuple(
            event
            for name, value in fields
            if name == "RecordingStatusCallbackEvent"
            for event in value.split()
        )
        recording = Recording(
            sid=new_recording_sid(),
            account_sid=self.state.account_sid,
            call_sid=record.sid,
            clock=call.clock,
            channels=2 if values.get("RecordingChannels") == "dual" else 1,
            track=values.get("RecordingTrack", "both"),
            callback_url=values.get("RecordingStatusCallback") or None,
            callback_events=events or DEFAULT_RECORDING_EVENTS,
            callback_method=values.get("RecordingStatusCallbackMethod", "POST"),
        )
        if not record.recordings:
            call.on_end(_stop_recordings(record))
        record.recordings.append(recording)
        self.state.recordings[recording.sid] = recording
        call.spawn(recording.report(call.courier, "in-progress"))
        return JSONResponse(recording_json(recording), status_code=201)

    async def list(self, request: Request) -> Response:
        denied = self.state.check(request)
        if denied is not None:
            return denied
        record = self._call(request)
        if record is None:
            return not_found(request)
        return page(request, "recordings", [recording_json(r) for r in record.recordings])

    async def fetch(self, request: Request) -> Response:
        denied = self.state.check(request)
        if denied is not None:
            return denied
        found = self._recording(request)
        return not_found(request) if found is None else JSONResponse(recording_json(found))

    async def update(self, request: Request) -> Response:
        denied = self.state.check(request)
        if denied is not None:
            return denied
        record, found = self._call(request), self._recording(request)
        if record is None or found is None:
            return not_found(request)
        values = dict(await form(request))
        status = values.get("Status")
        if status not in _STATUSES:
            return error(400, ERROR_MISSING_PARAMETER, f"Status must be one of {_STATUSES}")
        if not found.active:
            return error(400, ERROR_CALL_NOT_IN_PROGRESS, "Recording is not in-progress")
        if status == "paused":
            found.pause(values.get("PauseBehavior", "silence"))
        elif status == "in-progress":
            found.resume()
        else:
            found.stop()
            if record.call is not None:
                record.call.spawn(found.report(record.call.courier, "completed"))
        return JSONResponse(recording_json(found))

    def _recording(self, request: Request) -> Recording | None:
        record = self._call(request)
        if record is None:
            return None
        sid = request.path_params["recording_sid"]
        if sid == CURRENT:
            return next((r for r in reversed(record.recordings) if r.active), None)
        return next((r for r in record.recordings if r.sid == sid), None)


def _stop_recordings(record: RestCall) -> Callable[[SimulatedCall], Awaitable[None]]:
    async def stop(call: SimulatedCall) -> None:
        """The call ended: its recordings end with it and are reported."""
        for recording in record.recordings:
            if recording.active:
                recording.stop()
                await recording.report(call.courier, "completed")

    return stop


def recording_json(recording: Recording) -> dict[str, Any]:
    uri = (
        f"/{API_VERSION}/Accounts/{recording.account_sid}/Calls/{recording.call_sid}"
        f"/Recordings/{recording.sid}.json"
    )
    return {
        "account_sid": recording.account_sid,
        "api_version": API_VERSION,
        "call_sid": recording.call_sid,
        "conference_sid": None,
        "date_created": format_datetime(recording.created_at),
        "date_updated": format_datetime(recording.updated_at),
        "start_time": format_datetime(recording.created_at),
        "duration": "-1" if recording.active else str(int(recording.duration_s)),
        "sid": recording.sid,
        "price": None,
        "price_unit": "USD",
        "uri": uri,
        "encryption_details": None,
        "status": recording.status,
        "channels": recording.channels,
        "source": SOURCE,
        "error_code": None,
        "track": recording.track,
    }
