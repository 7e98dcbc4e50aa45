"""The slice of Twilio's REST API that call control uses, served on loopback.

    async with TwilioRestSim(account_sid=sid, auth_token=token) as rest:
        rest.attach(call)                       # a running SimulatedCall, found by its CallSid
        client = twilio_client(rest.url, sid, token)

Endpoints (HTTP basic auth with the account SID and auth token, or an API key SID and secret;
JSON shaped like Twilio's), under ``/2010-04-01/Accounts/{AccountSid}``:

- ``Calls.json`` (create), ``Calls/{CallSid}.json`` (fetch, update: hang up, new TwiML):
  :mod:`twins.twilio.api_calls`. Created calls are placed against the application when a
  :class:`~twins.twilio.outbound.Callee` is configured (answering machine detection included),
  or to a person (:mod:`twins.twilio.people`) when they carry inline TwiML and ``people`` is set.
- ``Conferences.json``, ``Conferences/{Sid}.json``, ``.../Participants.json`` and
  ``.../Participants/{CallSid or label}.json``: :mod:`twins.twilio.api_conferences`.
- ``Calls/{CallSid}/Recordings.json`` and ``.../Recordings/{Sid}.json``:
  :mod:`twins.twilio.api_recordings`.

Errors use Twilio's codes (:mod:`twins.twilio.rest_http`): 20003 (authentication), 20404 (no
such resource), 21220 (the call is no longer in progress), 12100 (TwiML does not parse), 21201 /
21213 / 21200 (a bad create request).

Calls attached to the simulator share its :class:`~twins.twilio.switchboard.Switchboard`: a
caller sent into a conference by TwiML and a person dialled in over REST meet there.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Self

from starlette.applications import Starlette
from twilio.rest import Client

from twins.twilio.api_calls import CallsApi
from twins.twilio.api_conferences import ConferencesApi
from twins.twilio.api_recordings import RecordingsApi
from twins.twilio.asgi import serve_asgi
from twins.twilio.call import SimulatedCall
from twins.twilio.callees import Callees
from twins.twilio.client import twilio_client
from twins.twilio.ids import new_account_sid
from twins.twilio.outbound import Callee
from twins.twilio.people import People, PersonCall
from twins.twilio.recording import Recording
from twins.twilio.rest_calls import RestCall
from twins.twilio.rest_state import RestState
from twins.twilio.result import CallResult
from twins.twilio.switchboard import Switchboard

PREFIX = "/2010-04-01/Accounts/{account_sid}"


class TwilioRestSim:
    """Twilio's REST call control for simulated calls; an async context manager."""

    def __init__(
        self,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        callee: Callee | None = None,
        callees: Callees | None = None,
        people: People | None = None,
        api_keys: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """``callee`` answers the calls the application creates; ``callees`` decide who answers
        when the application dials people into conferences or calls them with inline TwiML;
        ``people`` (settable later, once the application's URL is known) lets those calls run."""
        self.state = RestState(
            account_sid=account_sid or new_account_sid(),
            auth_token=auth_token or secrets.token_hex(16),
            api_keys=dict(api_keys or {}),
            switchboard=Switchboard(callees=callees),
            callee=callee,
            people=people,
        )
        self._host, self._port = host, port
        self._url: str | None = None
        self._stack = AsyncExitStack()
        routes = [
            *CallsApi(self.state).routes(PREFIX),
            *ConferencesApi(self.state).routes(PREFIX),
            *RecordingsApi(self.state).routes(PREFIX),
        ]
        self.app = Starlette(routes=routes)

    @property
    def account_sid(self) -> str:
        return self.state.account_sid

    @property
    def auth_token(self) -> str:
        return self.state.auth_token

    @property
    def calls(self) -> dict[str, RestCall]:
        return self.state.calls

    @property
    def recordings(self) -> dict[str, Recording]:
        return self.state.recordings

    @property
    def switchboard(self) -> Switchboard:
        return self.state.switchboard

    @property
    def placed(self) -> dict[str, asyncio.Task[CallResult]]:
        return self.state.placed

    @property
    def people(self) -> People | None:
        return self.state.people

    @people.setter
    def people(self, people: People | None) -> None:
        self.state.people = people

    async def person_result(self, call_sid: str) -> PersonCall:
        """What happened on a call the application placed to a person (inline TwiML)."""
        return await self.state.people_calls[call_sid]

    @property
    def url(self) -> str:
        """The simulator's base URL (``http://127.0.0.1:PORT``), once started."""
        if self._url is None:
            raise RuntimeError("TwilioRestSim is not running: use `async with`")
        return self._url

    async def __aenter__(self) -> Self:
        self._url = await self._stack.enter_async_context(
            serve_asgi(self.app, host=self._host, port=self._port, lifespan="off")
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        running = [*self.placed.values(), *self.state.people_calls.values()]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await self.switchboard.aclose()
        await self._stack.aclose()
        self._url = None

    def attach(self, call: SimulatedCall) -> RestCall:
        """Make a simulated call reachable by its CallSid (before or while it runs); it joins
        this simulator's switchboard."""
        cfg = call.config
        record = self.calls.get(call.call_sid)
        if record is None:
            record = RestCall(
                sid=call.call_sid,
                account_sid=cfg.account_sid,
                to=cfg.to_number,
                from_=cfg.from_number,
                direction=cfg.direction,
            )
            self.calls[call.call_sid] = record
        record.call = call
        call.switchboard = self.switchboard
        return record

    def client(self) -> Client:
        """A ``twilio.rest.Client`` for this simulator's account (synchronous: use a thread)."""
        return twilio_client(self.url, self.account_sid, self.auth_token)

    async def next_created_call(self) -> RestCall:
        """Wait for the next call created through ``POST Calls.json``."""
        return await self.state.created.get()

    async def placed_result(self, call_sid: str) -> CallResult:
        """The result of a created call placed against the application."""
        return await self.placed[call_sid]
