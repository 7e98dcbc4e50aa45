"""The Calls resource of the REST simulator: what it knows about each call, and its JSON."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from twins.twilio.call import SimulatedCall
from twins.twilio.config import API_VERSION, CallStatus
from twins.twilio.recording import Recording
from twins.twilio.twiml import Twiml


@dataclass
class RestCall:
    """A call the REST API knows: created through it, or a simulated call attached to it."""

    sid: str
    account_sid: str
    to: str
    from_: str
    direction: str
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    params: list[tuple[str, str]] = field(default_factory=list)
    """The create request's form fields (repeated names kept)."""
    updates: list[list[tuple[str, str]]] = field(default_factory=list)
    """Every update request's form fields, in order."""
    twiml_updates: list[Twiml] = field(default_factory=list)
    """The TwiML each ``Twiml=`` / ``Url=`` update installed."""
    call: SimulatedCall | None = None
    own_status: CallStatus = "queued"
    ended_at: datetime | None = None
    recordings: list[Recording] = field(default_factory=list)
    hung_up: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when a REST update ends a call the simulator does not run (``own_status``)."""

    def param(self, name: str) -> str | None:
        return next((value for key, value in self.params if key == name), None)

    @property
    def status(self) -> str:
        return self.call.status if self.call is not None else self.own_status

    @property
    def answered_by(self) -> str | None:
        return self.call.answered_by if self.call is not None else None


def call_json(record: RestCall) -> dict[str, Any]:
    """The Call resource as Twilio's API returns it."""
    call = record.call
    start = call.answered_at if call is not None else None
    end = call.ended_at if call is not None else record.ended_at
    duration = None
    if start is not None and end is not None:
        duration = str(int((end - start).total_seconds()))
    uri = f"/{API_VERSION}/Accounts/{record.account_sid}/Calls/{record.sid}"
    return {
        "sid": record.sid,
        "account_sid": record.account_sid,
        "api_version": API_VERSION,
        "to": record.to,
        "to_formatted": _formatted(record.to),
        "from": record.from_,
        "from_formatted": _formatted(record.from_),
        "status": record.status,
        "direction": record.direction,
        "answered_by": record.answered_by,
        "caller_name": None,
        "date_created": format_datetime(record.created_at),
        "date_updated": format_datetime(datetime.now(UTC)),
        "start_time": format_datetime(start) if start is not None else None,
        "end_time": format_datetime(end) if end is not None else None,
        "duration": duration,
        "parent_call_sid": None,
        "phone_number_sid": None,
        "forwarded_from": None,
        "group_sid": None,
        "queue_time": "0",
        "trunk_sid": None,
        "price": None,
        "price_unit": "USD",
        "uri": uri + ".json",
        "subresource_uris": {
            "notifications": uri + "/Notifications.json",
            "recordings": uri + "/Recordings.json",
            "streams": uri + "/Streams.json",
        },
    }


def _formatted(number: str) -> str:
    digits = number.removeprefix("+1")
    if number.startswith("+1") and len(digits) == 10 and digits.isdigit():
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return number
