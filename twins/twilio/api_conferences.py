"""The Conferences and Participants resources of the REST simulator.

Twilio facts mirrored (https://www.twilio.com/docs/voice/api/conference-resource,
https://www.twilio.com/docs/voice/api/conference-participant-resource):

- ``GET Conferences.json`` lists conferences (filters ``FriendlyName``, ``Status``);
  ``POST Conferences/{Sid}.json`` with ``Status=completed`` ends one.
- ``POST Conferences/{Sid}/Participants.json`` with ``From`` and ``To`` dials a person into the
  conference (the path may name it by friendly name, which creates it if it does not exist);
  the participant starts ``queued`` with a new ``call_sid``. ``StartConferenceOnEnter``
  (default true), ``EndConferenceOnExit`` (default false), ``Muted``, ``Label``, ``Timeout``.
- A participant is addressed by its CallSid or label: ``GET`` fetches, ``POST`` updates
  ``Hold``, ``Muted``, ``EndConferenceOnExit``, ``DELETE`` removes it (HTTP 204). One that has
  left is no longer found (20404).
"""

from __future__ import annotations

from email.utils import format_datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from twins.twilio.conference import Conference, Participant
from twins.twilio.config import API_VERSION
from twins.twilio.rest_http import (
    ERROR_MISSING_PARAMETER,
    ERROR_NO_FROM,
    ERROR_NO_TO,
    error,
    flag,
    form,
    not_found,
    page,
)
from twins.twilio.rest_state import RestState
from twins.twilio.switchboard import PARTICIPANT_TIMEOUT_S, DialIn

_PARTICIPANT = "/Conferences/{conference_sid}/Participants/{participant}.json"


class ConferencesApi:
    def __init__(self, state: RestState) -> None:
        self.state = state

    def routes(self, prefix: str) -> list[Route]:
        return [
            Route(prefix + "/Conferences.json", self.list, methods=["GET"]),
            Route(prefix + "/Conferences/{conference_sid}.json", self.fetch, methods=["GET"]),
            Route(prefix + "/Conferences/{conference_sid}.json", self.update, methods=["POST"]),
            Route(
                prefix + "/Conferences/{conference_sid}/Participants.json",
                self.participants,
                methods=["GET"],
            ),
            Route(
                prefix + "/Conferences/{conference_sid}/Participants.json",
                self.dial_in,
                methods=["POST"],
            ),
            Route(prefix + _PARTICIPANT, self.participant, methods=["GET", "POST", "DELETE"]),
        ]

    async def list(self, request: Request) -> Response:
        denied = self.state.check(request)
        if denied is not None:
            return denied
        name, status = request.query_params.get("FriendlyName"), request.query_params.get("Status")
        rooms = [
            conference_json(room)
            for room in self.state.switchboard.conferences.values()
            if (name is None or room.friendly_name == name) and (status in (None, room.status))
        ]
        return page(request, "conferences", rooms)

    async def fetch(self, request: Request) -> Response:
        denied = self.state.check(request)
        if denied is not None:
            return denied
        room = self.state.switchboard.conferences.get(request.path_params["conference_sid"])
        return not_found(request) if room is None else JSONResponse(conference_json(room))

    async def update(self, request: Request) -> Response:
        denied = self.state.check(request)
        if denied is not None:
            return denied
        room = self.state.switchboard.conferences.get(request.path_params["conference_sid"])
        if room is None:
            return not_found(request)
        values = dict(await form(request))
        if values.get("Status") == "completed":
            room.end("conference-ended-via-api")
        return JSONResponse(conference_json(room))

    async def participants(self, request: Request) -> Response:
        denied = self.state.check(request)
        if denied is not None:
            return denied
        room = self.state.switchboard.conference(request.path_params["conference_sid"])
        if room is None:
            return not_found(request)
        query = request.query_params
        found = [
            participant_json(room, p)
            for p in room.current
            if _matches(query.get("Muted"), p.muted) and _matches(query.get("Hold"), p.hold)
        ]
        return page(request, "participants", found)

    async def dial_in(self, request: Request) -> Response:
        state = self.state
        denied = state.check(request)
        if denied is not None:
            return denied
        values = dict(await form(request))
        if not values.get("To"):
            return error(400, ERROR_NO_TO, "No 'To' number is specified")
        if not values.get("From"):
            return error(400, ERROR_NO_FROM, "No 'From' number is specified")
        key = request.path_params["conference_sid"]
        room = state.switchboard.conference(key)
        if room is None or room.status == "completed":
            if key.startswith("CF"):
                return not_found(request)
            room, _ = state.switchboard.open_conference(key, state.account_sid)
        try:
            timeout = float(values.get("Timeout") or PARTICIPANT_TIMEOUT_S)
        except ValueError:
            return error(400, ERROR_MISSING_PARAMETER, "Timeout must be a number")
        participant = state.switchboard.dial_in(
            room,
            DialIn(
                to=values["To"],
                from_=values["From"],
                label=values.get("Label"),
                start_conference_on_enter=flag(values.get("StartConferenceOnEnter"), True),
                end_conference_on_exit=flag(values.get("EndConferenceOnExit"), False),
                muted=flag(values.get("Muted"), False),
                timeout_s=timeout,
            ),
        )
        return JSONResponse(participant_json(room, participant), status_code=201)

    async def participant(self, request: Request) -> Response:
        denied = self.state.check(request)
        if denied is not None:
            return denied
        room = self.state.switchboard.conference(request.path_params["conference_sid"])
        found = room.find(request.path_params["participant"]) if room is not None else None
        if room is None or found is None:
            return not_found(request)
        if request.method == "DELETE":
            room.leave(found.call_sid, "removed")
            return Response(status_code=204)
        if request.method == "POST":
            values = dict(await form(request))
            if "Hold" in values:
                found.set_hold(flag(values["Hold"], found.hold))
            if "Muted" in values:
                found.muted = flag(values["Muted"], found.muted)
            if "EndConferenceOnExit" in values:
                found.end_conference_on_exit = flag(values["EndConferenceOnExit"], False)
        return JSONResponse(participant_json(room, found))


def _matches(wanted: str | None, value: bool) -> bool:
    return wanted is None or flag(wanted, value) == value


def conference_json(room: Conference) -> dict[str, Any]:
    uri = f"/{API_VERSION}/Accounts/{room.account_sid}/Conferences/{room.sid}"
    return {
        "account_sid": room.account_sid,
        "date_created": format_datetime(room.created_at),
        "date_updated": format_datetime(room.updated_at),
        "api_version": API_VERSION,
        "friendly_name": room.friendly_name,
        "region": "us1",
        "sid": room.sid,
        "status": room.status,
        "uri": uri + ".json",
        "subresource_uris": {
            "participants": uri + "/Participants.json",
            "recordings": uri + "/Recordings.json",
        },
        "reason_conference_ended": room.reason_ended,
        "call_sid_ending_conference": room.call_sid_ending,
    }


def participant_json(room: Conference, participant: Participant) -> dict[str, Any]:
    uri = (
        f"/{API_VERSION}/Accounts/{room.account_sid}/Conferences/{room.sid}"
        f"/Participants/{participant.call_sid}.json"
    )
    return {
        "account_sid": room.account_sid,
        "call_sid": participant.call_sid,
        "label": participant.label,
        "call_sid_to_coach": None,
        "coaching": False,
        "conference_sid": room.sid,
        "date_created": format_datetime(participant.created_at),
        "date_updated": format_datetime(participant.updated_at),
        "end_conference_on_exit": participant.end_conference_on_exit,
        "muted": participant.muted,
        "hold": participant.hold,
        "start_conference_on_enter": participant.start_conference_on_enter,
        "status": participant.status,
        "queue_time": "0",
        "uri": uri,
    }
