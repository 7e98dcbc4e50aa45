"""The REST subset, driven by the real twilio SDK pointed at the simulator."""

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.voice_response import Connect, Dial, VoiceResponse

from twins.twilio import (
    AfterStream,
    CallConfig,
    Callee,
    Callees,
    EndReason,
    Hangup,
    HungUp,
    Party,
    Pickup,
    QueuePlan,
    Redirected,
    Silence,
    SimulatedCall,
    TwilioRestSim,
    WaitForGreeting,
    twilio_client,
)
from twins.twilio.asgi import serve_asgi
from twins.twilio.client import SimulatorHttpClient

ACCOUNT = "AC" + "1" * 32
TOKEN = "2" * 32
TIMEOUT = 30


@dataclass
class StreamServer:
    """Answers every call with a stream and keeps what the stream and the callbacks delivered."""

    url: str = ""
    stream_events: list[str] = field(default_factory=list)
    webhooks: list[dict[str, str]] = field(default_factory=list)
    callbacks: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/twilio/voice", self.voice, methods=["POST"]),
                Route("/twilio/status", self.callback, methods=["POST"]),
                Route("/twilio/amd", self.callback, methods=["POST"]),
                Route("/twilio/transfer", self.transfer, methods=["POST"]),
                WebSocketRoute("/twilio/media", self.media),
            ]
        )

    async def _signed_form(self, request: Request) -> dict[str, str] | None:
        form = {key: str(value) for key, value in (await request.form()).items()}
        url = self.url + request.url.path
        valid = RequestValidator(TOKEN).validate(url, form, request.headers["x-twilio-signature"])
        return form if valid else None

    async def voice(self, request: Request) -> Response:
        form = await self._signed_form(request)
        if form is None:
            return Response(status_code=403)
        self.webhooks.append(form)
        response = VoiceResponse()
        connect = Connect()
        connect.stream(url=self.url.replace("http://", "wss://") + "/twilio/media")
        response.append(connect)
        return Response(str(response), media_type="text/xml")

    async def transfer(self, request: Request) -> Response:
        form = await self._signed_form(request)
        if form is None:
            return Response(status_code=403)
        self.webhooks.append(form)
        response = VoiceResponse()
        response.enqueue("support")
        return Response(str(response), media_type="text/xml")

    async def callback(self, request: Request) -> Response:
        form = await self._signed_form(request)
        if form is None:
            return Response(status_code=403)
        self.callbacks.append((request.url.path, form))
        return Response(status_code=204)

    async def media(self, ws: WebSocket) -> None:
        await ws.accept()
        while True:
            message = json.loads(await ws.receive_text())
            if message["event"] != "media":
                self.stream_events.append(message["event"])
            if message["event"] == "start":
                sid = message["streamSid"]
                payload = "/" * 1064 + "8="  # 800 bytes of 0xFF: 100 ms of silence
                await ws.send_text(
                    json.dumps({"event": "media", "streamSid": sid, "media": {"payload": payload}})
                )
            if message["event"] == "stop":
                return


@pytest.fixture
async def rest() -> AsyncIterator[TwilioRestSim]:
    """Twilio's REST call control on loopback, for the account and token above."""
    async with TwilioRestSim(account_sid=ACCOUNT, auth_token=TOKEN) as sim:
        yield sim


async def in_thread(function: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.wait_for(asyncio.to_thread(function, *args, **kwargs), TIMEOUT)


async def test_hang_up_over_rest_sends_stop(rest: TwilioRestSim) -> None:
    server = StreamServer()
    async with serve_asgi(server.app()) as url:
        server.url = url
        call = SimulatedCall(
            CallConfig(
                server_url=url,
                auth_token=TOKEN,
                account_sid=ACCOUNT,
                script=[Silence(60)],
            )
        )
        rest.attach(call)
        running = asyncio.create_task(call.run())
        assert await asyncio.wait_for(call.wait_streaming(), TIMEOUT)
        client = twilio_client(rest.url, ACCOUNT, TOKEN)

        fetched = await in_thread(client.calls(call.call_sid).fetch)
        assert fetched.status == "in-progress"
        assert fetched.direction == "inbound"

        await in_thread(client.calls(call.call_sid).update, status="completed")
        result = await asyncio.wait_for(running, TIMEOUT)

    assert result.end_reason is EndReason.REST_COMPLETED
    assert server.stream_events == ["connected", "start", "stop"]
    fetched = await in_thread(client.calls(call.call_sid).fetch)
    assert fetched.status == "completed"
    assert fetched.end_time is not None

    with pytest.raises(TwilioRestException) as error:
        await in_thread(client.calls(call.call_sid).update, status="completed")
    assert error.value.code == 21220


async def test_new_twiml_over_rest_ends_the_stream_and_is_recorded(rest: TwilioRestSim) -> None:
    server = StreamServer()
    async with serve_asgi(server.app()) as url:
        server.url = url
        config = CallConfig(
            server_url=url,
            auth_token=TOKEN,
            account_sid=ACCOUNT,
            script=[Silence(60)],
            # The person the caller is transferred to talks until someone hangs up.
            callees=Callees(default_party=Party(after_s=0.1, talk_s=600)),
            after_stream=AfterStream(words_per_minute=6000),
        )
        call = SimulatedCall(config)
        record = rest.attach(call)
        running = asyncio.create_task(call.run())
        assert await asyncio.wait_for(call.wait_streaming(), TIMEOUT)
        client = twilio_client(rest.url, ACCOUNT, TOKEN)

        transfer = VoiceResponse()
        transfer.say("Transferring you now.")
        dial = Dial()
        dial.number("+12025550188")
        transfer.append(dial)
        await in_thread(client.calls(call.call_sid).update, twiml=transfer)
        assert await asyncio.wait_for(call.wait_phase("after"), TIMEOUT)
        # The caller is with the person now: the call goes on until someone hangs up.
        assert (await in_thread(client.calls(call.call_sid).fetch)).status == "in-progress"
        await in_thread(client.calls(call.call_sid).update, status="completed")
        result = await asyncio.wait_for(running, TIMEOUT)

    assert result.end_reason is EndReason.REST_REDIRECTED
    assert server.stream_events[-1] == "stop"
    assert result.redirect is not None
    assert [verb.name for verb in result.next_verbs] == ["Say", "Dial"]
    assert [n.text for n in record.twiml_updates[0].find("Number")] == ["+12025550188"]
    first, last = result.journey[0], result.journey[-1]
    assert isinstance(first, Redirected) and first.by == "rest"
    assert isinstance(last, HungUp) and last.by == "rest"
    assert result.final_status == "completed"
    assert (await in_thread(client.calls(call.call_sid).fetch)).status == "completed"


async def test_a_url_update_fetches_the_new_twiml(rest: TwilioRestSim) -> None:
    server = StreamServer()
    async with serve_asgi(server.app()) as url:
        server.url = url
        config = CallConfig(
            server_url=url,
            auth_token=TOKEN,
            account_sid=ACCOUNT,
            script=[Silence(60)],
            callees=Callees(default_queue=QueuePlan(answered_after_s=0.1, talk_s=0.1)),
        )
        call = SimulatedCall(config)
        record = rest.attach(call)
        running = asyncio.create_task(call.run())
        assert await asyncio.wait_for(call.wait_streaming(), TIMEOUT)
        client = twilio_client(rest.url, ACCOUNT, TOKEN)

        with pytest.raises(TwilioRestException) as error:
            await in_thread(client.calls(call.call_sid).update, twiml="<Response><Dial>")
        assert error.value.code == 12100
        assert call.status == "in-progress"

        await in_thread(client.calls(call.call_sid).update, url=url + "/twilio/transfer")
        result = await asyncio.wait_for(running, TIMEOUT)

    assert result.end_reason is EndReason.REST_REDIRECTED
    assert [verb.name for verb in result.next_verbs] == ["Enqueue"]
    assert record.twiml_updates[0].verbs[0].text == "support"
    assert server.webhooks[-1]["CallStatus"] == "in-progress"
    assert server.webhooks[-1]["CallSid"] == call.call_sid
    assert [type(entry).__name__ for entry in result.journey] == [
        "Redirected",
        "Enqueued",
        "HungUp",
    ]


async def test_create_records_the_call(rest: TwilioRestSim) -> None:
    client = twilio_client(rest.url, ACCOUNT, TOKEN)
    created = await in_thread(
        client.calls.create,
        to="+12025550177",
        from_="+12025550123",
        url="https://voice.example.test/twilio/voice",
        machine_detection="DetectMessageEnd",
        async_amd="true",
        status_callback="https://voice.example.test/twilio/status",
        status_callback_event=["initiated", "answered", "completed"],
    )
    assert created.sid.startswith("CA")
    assert created.status == "queued"
    assert created.to == "+12025550177"
    assert created.direction == "outbound-api"
    record = await asyncio.wait_for(rest.next_created_call(), TIMEOUT)
    assert record.sid == created.sid
    assert record.param("MachineDetection") == "DetectMessageEnd"
    assert record.param("Url") == "https://voice.example.test/twilio/voice"
    assert [v for k, v in record.params if k == "StatusCallbackEvent"] == [
        "initiated",
        "answered",
        "completed",
    ]
    fetched = await in_thread(client.calls(created.sid).fetch)
    assert fetched.status == "queued"


async def test_created_calls_are_placed_against_the_application() -> None:
    server = StreamServer()
    async with serve_asgi(server.app()) as url:
        server.url = url
        callee = Callee(
            server_url=url,
            script=[WaitForGreeting(timeout=1), Hangup()],
            pickup=Pickup(speech_s=0.3),  # "hello?" and the detection is done
        )
        async with TwilioRestSim(account_sid=ACCOUNT, auth_token=TOKEN, callee=callee) as rest:
            client = twilio_client(rest.url, ACCOUNT, TOKEN)
            created = await in_thread(
                client.calls.create,
                to="+12025550177",
                from_="+12025550123",
                url=url + "/twilio/voice",
                machine_detection="Enable",
                status_callback=url + "/twilio/status",
            )
            result = await asyncio.wait_for(rest.placed_result(created.sid), TIMEOUT)
            fetched = await in_thread(client.calls(created.sid).fetch)

    assert result.end_reason is EndReason.CALLER_HANGUP
    assert server.webhooks[0]["Direction"] == "outbound-api"
    assert server.webhooks[0]["AnsweredBy"] == "human"
    assert server.webhooks[0]["CallSid"] == created.sid
    assert server.stream_events == ["connected", "start", "stop"]
    assert [(path, form["CallStatus"]) for path, form in server.callbacks] == [
        ("/twilio/status", "completed")
    ]
    assert fetched.status == "completed"
    assert fetched.answered_by == "human"


async def test_unknown_call_is_20404(rest: TwilioRestSim) -> None:
    client = twilio_client(rest.url, ACCOUNT, TOKEN)
    with pytest.raises(TwilioRestException) as error:
        await in_thread(client.calls("CA" + "9" * 32).update, status="completed")
    assert error.value.code == 20404
    assert error.value.status == 404
    with pytest.raises(TwilioRestException) as error:
        await in_thread(client.calls("CA" + "9" * 32).fetch)
    assert error.value.code == 20404


async def test_wrong_credentials_are_refused(rest: TwilioRestSim) -> None:
    client = twilio_client(rest.url, ACCOUNT, "not-the-token")
    with pytest.raises(TwilioRestException) as error:
        await in_thread(client.calls.create, to="+1", from_="+2", url="https://x/y")
    assert error.value.status == 401
    assert error.value.code == 20003


async def test_api_key_credentials_are_accepted() -> None:
    key, secret = "SK" + "3" * 32, "api-key-secret"
    async with TwilioRestSim(account_sid=ACCOUNT, auth_token=TOKEN, api_keys={key: secret}) as rest:
        client = Client(key, secret, account_sid=ACCOUNT, http_client=SimulatorHttpClient(rest.url))
        created = await in_thread(client.calls.create, to="+1", from_="+2", twiml="<Response/>")
        assert created.sid in rest.calls
        wrong = Client(key, "guess", account_sid=ACCOUNT, http_client=SimulatorHttpClient(rest.url))
        with pytest.raises(TwilioRestException) as error:
            await in_thread(wrong.calls(created.sid).fetch)
        assert error.value.code == 20003
