"""The slice of Twilio's REST API that call control uses, served on loopback.

    async with TwilioRestSim(account_sid=sid, auth_token=token) as rest:
        rest.attach(call)                       # a running SimulatedCall, found by its CallSid
        client = twilio_client(rest.url, sid, token)

Endpoints (HTTP basic auth with the account SID and auth token, or an API key SID and secret;
JSON shaped like Twilio's):

- ``POST /2010-04-01/Accounts/{AccountSid}/Calls.json``: create a call (recorded; placed against
  the application when a :class:`~twins.twilio.outbound.Callee` is configured).
- ``GET  .../Calls/{CallSid}.json``: fetch a call.
- ``POST .../Calls/{CallSid}.json``: ``Status=completed`` hangs up (the stream gets ``stop``);
  ``Twiml=`` or ``Url=`` replaces the call's TwiML (the stream gets ``stop``, the new TwiML is
  recorded: a transfer).

Errors use Twilio's codes: 20003 (authentication), 20404 (no such call), 21220 (the call is no
longer in progress), 12100 (TwiML does not parse), 21201 / 21213 / 21200 (bad create request).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import secrets
from collections.abc import Mapping
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from types import TracebackType
from typing import Self
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.rest import Client

from twins.twilio.asgi import serve_asgi
from twins.twilio.call import SimulatedCall
from twins.twilio.client import twilio_client
from twins.twilio.ids import new_account_sid, new_call_sid
from twins.twilio.outbound import Callee, place_call
from twins.twilio.rest_calls import RestCall, call_json
from twins.twilio.result import CallResult, EndReason
from twins.twilio.twiml import Twiml, TwimlError, parse_twiml
from twins.twilio.webhook import post_signed

logger = logging.getLogger(__name__)

_ENDED: frozenset[str] = frozenset({"completed", "canceled", "failed", "busy", "no-answer"})


class TwilioRestSim:
    """Twilio's REST call control for simulated calls; an async context manager."""

    def __init__(
        self,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        callee: Callee | None = None,
        api_keys: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.account_sid = account_sid or new_account_sid()
        self.auth_token = auth_token or secrets.token_hex(16)
        self.api_keys = dict(api_keys or {})
        """API key SIDs (``SK...``) and their secrets, accepted as credentials too."""
        self.callee = callee
        self.calls: dict[str, RestCall] = {}
        self.placed: dict[str, asyncio.Task[CallResult]] = {}
        self._created: asyncio.Queue[RestCall] = asyncio.Queue()
        self._host, self._port = host, port
        self._url: str | None = None
        self._stack = AsyncExitStack()
        prefix = "/2010-04-01/Accounts/{account_sid}/Calls"
        self.app = Starlette(
            routes=[
                Route(prefix + ".json", self._create, methods=["POST"]),
                Route(prefix + "/{call_sid}.json", self._fetch, methods=["GET"]),
                Route(prefix + "/{call_sid}.json", self._update, methods=["POST"]),
            ]
        )

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
        for task in self.placed.values():
            task.cancel()
        await asyncio.gather(*self.placed.values(), return_exceptions=True)
        await self._stack.aclose()
        self._url = None

    def attach(self, call: SimulatedCall) -> RestCall:
        """Make a simulated call reachable by its CallSid (before or while it runs)."""
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
        return record

    def client(self) -> Client:
        """A ``twilio.rest.Client`` for this simulator's account (synchronous: use a thread)."""
        return twilio_client(self.url, self.account_sid, self.auth_token)

    async def next_created_call(self) -> RestCall:
        """Wait for the next call created through ``POST Calls.json``."""
        return await self._created.get()

    async def placed_result(self, call_sid: str) -> CallResult:
        """The result of a created call placed against the application."""
        return await self.placed[call_sid]

    # --- endpoints

    async def _create(self, request: Request) -> Response:
        denied = self._check(request)
        if denied is not None:
            return denied
        form = await _form(request)
        values = dict(form)
        if not values.get("To"):
            return _error(400, 21201, "No 'To' number is specified")
        if not values.get("From"):
            return _error(400, 21213, "No 'From' number is specified")
        if not (values.get("Url") or values.get("Twiml") or values.get("ApplicationSid")):
            return _error(400, 21200, "A 'Url', 'Twiml' or 'ApplicationSid' is required")
        record = RestCall(
            sid=new_call_sid(),
            account_sid=self.account_sid,
            to=values["To"],
            from_=values["From"],
            direction="outbound-api",
            params=form,
        )
        self.calls[record.sid] = record
        logger.info("REST: call %s created", record.sid)
        if self.callee is not None:
            self.placed[record.sid] = asyncio.create_task(
                place_call(
                    record.sid,
                    form,
                    self.callee,
                    account_sid=self.account_sid,
                    auth_token=self.auth_token,
                    attach=lambda call: self._attach_placed(record, call),
                )
            )
        self._created.put_nowait(record)
        return JSONResponse(call_json(record), status_code=201)

    def _attach_placed(self, record: RestCall, call: SimulatedCall) -> None:
        record.call = call
        record.answered_by = call.config.extra_params.get("AnsweredBy")

    async def _fetch(self, request: Request) -> Response:
        denied = self._check(request)
        if denied is not None:
            return denied
        record = self.calls.get(request.path_params["call_sid"])
        if record is None:
            return _not_found(request)
        return JSONResponse(call_json(record))

    async def _update(self, request: Request) -> Response:
        denied = self._check(request)
        if denied is not None:
            return denied
        record = self.calls.get(request.path_params["call_sid"])
        if record is None:
            return _not_found(request)
        form = await _form(request)
        values = dict(form)
        record.updates.append(form)
        if record.status in _ENDED:
            return _error(400, 21220, "Call is not in-progress. Cannot redirect.")
        status = values.get("Status")
        if status is not None and status not in ("completed", "canceled"):
            return _error(400, 21200, f"Status {status!r} is not one of completed, canceled")
        if status is not None:
            self._hang_up(record, status)
        elif "Twiml" in values or "Url" in values:
            try:
                twiml = await self._new_twiml(record, values)
            except TwimlError as exc:
                return _error(400, 12100, f"Document parse failure: {exc}")
            record.twiml_updates.append(twiml)
            logger.info("REST: call %s gets new TwiML (%s)", record.sid, twiml.verb_names())
            if record.call is not None:
                record.call.request_end(EndReason.REST_REDIRECTED, redirect=twiml)
        return JSONResponse(call_json(record))

    def _hang_up(self, record: RestCall, status: str) -> None:
        logger.info("REST: call %s update to %s", record.sid, status)
        if record.call is not None:
            if status == "completed" or record.call.status in ("queued", "ringing"):
                record.call.request_end(EndReason.REST_COMPLETED)
        elif status == "completed" or record.own_status in ("queued", "ringing"):
            record.own_status = "completed" if status == "completed" else "canceled"
            record.ended_at = datetime.now(UTC)

    async def _new_twiml(self, record: RestCall, values: Mapping[str, str]) -> Twiml:
        if "Twiml" in values:
            return parse_twiml(values["Twiml"])
        call = record.call
        if call is None:
            raise TwimlError("the simulator can fetch Url= TwiML only for simulated calls")
        cfg = call.config
        params = call.config.webhook_params() | {"CallStatus": "in-progress"}
        async with httpx.AsyncClient(trust_env=False, verify=cfg.ssl_context or True) as client:
            exchange = await post_signed(
                client,
                cfg.endpoints,
                url=values["Url"],
                auth_token=cfg.auth_token,
                params=params,
                timeout_s=cfg.http_timeout_s,
            )
        if not exchange.ok:
            raise TwimlError(f"fetching the new TwiML answered HTTP {exchange.status}")
        return parse_twiml(exchange.body)

    # --- helpers

    def _check(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        try:
            username, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            username = password = ""
        secret = self.api_keys.get(username)
        if hmac.compare_digest(username.encode(), self.account_sid.encode()):
            secret = self.auth_token
        valid = secret is not None and hmac.compare_digest(password.encode(), secret.encode())
        if scheme.lower() != "basic" or not valid:
            return _error(
                401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'}
            )
        if request.path_params["account_sid"] != self.account_sid:
            return _not_found(request)
        return None


async def _form(request: Request) -> list[tuple[str, str]]:
    body = await request.body()
    return parse_qsl(body.decode("utf-8"), keep_blank_values=True)


def _error(
    status: int, code: int, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status, headers=headers)


def _not_found(request: Request) -> JSONResponse:
    return _error(404, 20404, f"The requested resource {request.url.path} was not found")
