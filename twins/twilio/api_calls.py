"""The Calls resource of the REST simulator: create, fetch, update.

Twilio facts mirrored (https://www.twilio.com/docs/voice/api/call-resource):

- ``POST Calls.json`` needs ``To``, ``From`` (errors 21201, 21213) and one of ``Url``,
  ``Twiml``, ``ApplicationSid`` (21200); the new call is ``queued``. A call with inline
  ``Twiml`` reaches a person (:mod:`twins.twilio.people`) when the simulator has ``people``;
  one with a ``Url`` reaches the configured :class:`~twins.twilio.outbound.Callee`.
- ``POST Calls/{Sid}.json``: ``Status=completed`` hangs up a call, ``Status=canceled`` only one
  still queued or ringing; ``Twiml=`` or ``Url=`` replaces the TwiML the call runs (a call in
  ``<Connect><Stream>`` gets ``stop``, which is how a transfer works). A call no longer in
  progress answers 21220; TwiML that does not parse, 12100.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from twins.twilio.call import SimulatedCall
from twins.twilio.ids import new_call_sid
from twins.twilio.outbound import place_call
from twins.twilio.people import place_person
from twins.twilio.rest_calls import RestCall, call_json
from twins.twilio.rest_http import (
    ERROR_CALL_NOT_IN_PROGRESS,
    ERROR_MISSING_PARAMETER,
    ERROR_NO_FROM,
    ERROR_NO_TO,
    ERROR_TWIML_PARSE,
    error,
    form,
    not_found,
)
from twins.twilio.rest_state import RestState
from twins.twilio.result import EndReason
from twins.twilio.twiml import Twiml, TwimlError, parse_twiml
from twins.twilio.webhook import default_ssl_context, post_signed

logger = logging.getLogger(__name__)

ENDED = frozenset({"completed", "canceled", "failed", "busy", "no-answer"})


class CallsApi:
    def __init__(self, state: RestState) -> None:
        self.state = state

    def routes(self, prefix: str) -> list[Route]:
        return [
            Route(prefix + "/Calls.json", self.create, methods=["POST"]),
            Route(prefix + "/Calls/{call_sid}.json", self.fetch, methods=["GET"]),
            Route(prefix + "/Calls/{call_sid}.json", self.update, methods=["POST"]),
        ]

    async def create(self, request: Request) -> Response:
        state = self.state
        denied = state.check(request)
        if denied is not None:
            return denied
        fields = await form(request)
        values = dict(fields)
        if not values.get("To"):
            return error(400, ERROR_NO_TO, "No 'To' number is specified")
        if not values.get("From"):
            return error(400, ERROR_NO_FROM, "No 'From' number is specified")
        if not (values.get("Url") or values.get("Twiml") or values.get("ApplicationSid")):
            return error(
                400, ERROR_MISSING_PARAMETER, "A 'Url', 'Twiml' or 'ApplicationSid' is required"
            )
        record = RestCall(
            sid=new_call_sid(),
            account_sid=state.account_sid,
            to=values["To"],
            from_=values["From"],
            direction="outbound-api",
            params=fields,
        )
        state.calls[record.sid] = record
        logger.info("REST: call %s created", record.sid)
        events = tuple(
            event
            for name, value in fields
            if name == "StatusCallbackEvent"
            for event in value.split()
        )
        if state.people is not None and values.get("Twiml") and not values.get("Url"):
            state.people_calls[record.sid] = asyncio.create_task(
                place_person(
                    record,
                    values,
                    events,
                    state.people,
                    account_sid=state.account_sid,
                    auth_token=state.auth_token,
                    switchboard=state.switchboard,
                )
            )
        elif state.callee is not None:
            state.placed[record.sid] = asyncio.create_task(
                place_call(
                    record.sid,
                    fields,
                    state.callee,
                    account_sid=state.account_sid,
                    auth_token=state.auth_token,
                    switchboard=state.switchboard,
                    attach=lambda call: _attach(record, call),
                )
            )
        state.created.put_nowait(record)
        return JSONResponse(call_json(record), status_code=201)

    async def fetch(self, request: Request) -> Response:
        denied = self.state.check(request)
        if denied is not None:
            return denied
        record = self.state.calls.get(request.path_params["call_sid"])
        if record is None:
            return not_found(request)
        return JSONResponse(call_json(record))

    async def update(self, request: Request) -> Response:
        denied = self.state.check(request)
        if denied is not None:
            return denied
        record = self.state.calls.get(request.path_params["call_sid"])
        if record is None:
            return not_found(request)
        fields = await form(request)
        values = dict(fields)
        record.updates.append(fields)
        if record.status in ENDED:
            return error(
                400, ERROR_CALL_NOT_IN_PROGRESS, "Call is not in-progress. Cannot redirect."
            )
        status = values.get("Status")
        if status is not None and status not in ("completed", "canceled"):
            return error(
                400, ERROR_MISSING_PARAMETER, f"Status {status!r} is not one of completed, canceled"
            )
        if status is not None:
            _hang_up(record, status)
        elif "Twiml" in values or "Url" in values:
            try:
                twiml = await _new_twiml(record, values)
            except TwimlError as exc:
                return error(400, ERROR_TWIML_PARSE, f"Document parse failure: {exc}")
            record.twiml_updates.append(twiml)
            logger.info("REST: call %s gets new TwiML (%s)", record.sid, twiml.verb_names())
            if record.call is not None:
                record.call.request_end(
                    EndReason.REST_REDIRECTED, redirect=twiml, redirect_url=values.get("Url")
                )
        return JSONResponse(call_json(record))


def _attach(record: RestCall, call: SimulatedCall) -> None:
    record.call = call


def _hang_up(record: RestCall, status: str) -> None:
    logger.info("REST: call %s update to %s", record.sid, status)
    if record.call is not None:
        if status == "completed" or record.call.status in ("queued", "ringing"):
            record.call.request_end(EndReason.REST_COMPLETED)
    elif status == "completed" or record.own_status in ("queued", "ringing"):
        record.own_status = "completed" if status == "completed" else "canceled"
        record.ended_at = datetime.now(UTC)
        record.hung_up.set()


async def _new_twiml(record: RestCall, values: Mapping[str, str]) -> Twiml:
    if "Twiml" in values:
        return parse_twiml(values["Twiml"])
    call = record.call
    if call is None:
        raise TwimlError("the simulator can fetch Url= TwiML only for simulated calls")
    cfg = call.config
    params = call.params() | {"CallStatus": "in-progress"}
    if call.courier is not None:
        exchange = await call.courier.send(values["Url"], params)
        if exchange is None:
            raise TwimlError("the Url is not the application's")
    else:
        verify = cfg.ssl_context or default_ssl_context()
        async with httpx.AsyncClient(trust_env=False, verify=verify) as client:
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
