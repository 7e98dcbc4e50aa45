"""What the REST simulator knows: its account, the calls, recordings and the switchboard."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse

from twins.twilio.outbound import Callee
from twins.twilio.people import People, PersonCall
from twins.twilio.recording import Recording
from twins.twilio.rest_calls import RestCall
from twins.twilio.rest_http import check_credentials
from twins.twilio.result import CallResult
from twins.twilio.switchboard import Switchboard


@dataclass
class RestState:
    account_sid: str
    auth_token: str
    api_keys: dict[str, str]
    """API key SIDs (``SK...``) and their secrets, accepted as credentials too."""
    switchboard: Switchboard
    callee: Callee | None = None
    people: People | None = None
    """Who answers calls created with inline TwiML (None: nobody, they stay queued)."""
    people_calls: dict[str, asyncio.Task[PersonCall]] = field(default_factory=dict)
    calls: dict[str, RestCall] = field(default_factory=dict)
    recordings: dict[str, Recording] = field(default_factory=dict)
    placed: dict[str, asyncio.Task[CallResult]] = field(default_factory=dict)
    created: asyncio.Queue[RestCall] = field(default_factory=asyncio.Queue)

    def check(self, request: Request) -> JSONResponse | None:
        """None for a request with this account's credentials, else Twilio's refusal."""
        return check_credentials(request, self.account_sid, self.auth_token, self.api_keys)
