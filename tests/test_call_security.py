"""Who may reach the agent: signatures, stream tokens, accounts; and bad input on a live call."""

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from telephony.transcripts import CallStatus, EndReason
from telephony.twilio.security import StreamTokens
from tests.callserver import ACCOUNT_SID, RunningServer, running_server
from tests.twilio_peer import (
    CALL_SID,
    CONNECTED,
    FOREIGN_ACCOUNT,
    STOP,
    STREAM_SID,
    answer,
    closed_by_server,
    media,
    open_stream,
    post_voice,
    start,
    voice_form,
)
from twins.twilio import parse_twiml


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


# --- webhooks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl"])
async def test_voice_webhook_without_a_valid_signature_is_forbidden(
    call_server: RunningServer, signature: str | None
) -> None:
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    async with httpx.AsyncClient() as client:
        response = await client.post(
            call_server.base_url + "/twilio/voice", data=voice_form(), headers=headers
        )
    assert response.status_code == 403


async def test_signature_over_another_url_or_changed_form_is_forbidden(
    call_server: RunningServer,
) -> None:
    form = voice_form()
    url = call_server.base_url + "/twilio/voice"
    async with httpx.AsyncClient() as client:
        for signed_url, signed_form in [(url + "/", form), (url, {**form, "From": "+19999999999"})]:
            headers = {"X-Twilio-Signature": call_server.sign(signed_url, signed_form)}
            response = await client.post(url, data=form, headers=headers)
            assert response.status_code == 403


async def test_twiml_opens_a_secure_stream_with_parameters_and_a_safety_net(
    call_server: RunningServer,
) -> None:
    stream = await answer(call_server)
    assert stream.url == call_server.stream_url
    assert set(stream.parameters) == {
        "token",
        "from",
        "to",
        "agent",
        "route",
        "after_hours",
        "direction",
    }
    assert stream.parameters["agent"] == "receptionist"
    assert stream.parameters["route"] == "default"
    assert len(stream.parameters["token"]) >= 40
    response = await post_voice(call_server, voice_form("CA" + "4" * 32))
    twiml = parse_twiml(response.text)
    assert [verb.name for verb in twiml.after_connect] == ["Say", "Hangup"]
    assert twiml.stream is not None
    assert twiml.stream.parameters["token"] != stream.parameters["token"], "tokens are never reused"


async def test_status_callback_is_signed_and_recorded(call_server: RunningServer) -> None:
    url = call_server.base_url + "/twilio/status"
    form = {**voice_form(), "CallStatus": "completed"}
    async with httpx.AsyncClient() as client:
        refused = await client.post(url, data=form, headers={"X-Twilio-Signature": "x"})
        accepted = await client.post(
            url, data=form, headers={"X-Twilio-Signature": call_server.sign(url, form)}
        )
    assert refused.status_code == 403
    assert accepted.status_code == 204
    transcript = await call_server.services.store.transcript(CALL_SID)
    assert transcript is not None
    assert transcript.call.status is CallStatus.COMPLETED


# --- the media stream -------------------------------------------------------------------------


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl"])
async def test_stream_upgrade_without_a_valid_signature_is_refused_before_accept(
    call_server: RunningServer, signature: str
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with open_stream(call_server, signature=signature):
            pass
    assert refused.value.response.status_code == 403
    assert call_server.emulator.record.connection_count == 0


@pytest.mark.parametrize(
    "tamper",
    ["missing token", "garbage token", "another call", "foreign account"],
)
async def test_a_stream_without_its_call_token_is_closed_before_any_model_session(
    call_server: RunningServer, tamper: str
) -> None:
    parameters = dict((await answer(call_server)).parameters)
    call_sid, account_sid = CALL_SID, ACCOUNT_SID
    if tamper == "missing token":
        del parameters["token"]
    elif tamper == "garbage token":
        parameters["token"] = "v1.99999999999.abc.def"
    elif tamper == "another call":
        call_sid = "CA" + "7" * 32
    else:
        account_sid = FOREIGN_ACCOUNT
    async with open_stream(call_server) as ws:
        await ws.send(CONNECTED)
        await ws.send(start(parameters, call_sid=call_sid, account_sid=account_sid))
        assert await closed_by_server(ws) == 1008
    assert call_server.emulator.record.connection_count == 0


async def test_an_expired_token_is_refused(call_server: RunningServer) -> None:
    clock = FakeClock()
    services = call_server.services
    services.tokens = StreamTokens(services.secret, ttl_s=60, clock=clock)
    parameters = (await answer(call_server)).parameters
    clock.now += 61.5
    async with open_stream(call_server) as ws:
        await ws.send(CONNECTED)
        await ws.send(start(parameters))
        assert await closed_by_server(ws) == 1008
    assert call_server.emulator.record.connection_count == 0


async def test_a_token_is_good_for_one_stream_only(call_server: RunningServer) -> None:
    parameters = (await answer(call_server)).parameters
    async with open_stream(call_server) as ws:
        await ws.send(CONNECTED)
        await ws.send(start(parameters))
        await call_server.emulator.record.wait_for(lambda r: r.connection_count == 1, timeout=10)
        await ws.send(STOP)
    await call_server.finished_transcript(CALL_SID)
    async with open_stream(call_server) as ws:
        await ws.send(CONNECTED)
        await ws.send(start(parameters))
        assert await closed_by_server(ws) == 1008
    assert call_server.emulator.record.connection_count == 1


async def test_a_stream_that_never_starts_is_closed(tmp_path: Path) -> None:
    async with running_server(
        f"sqlite+aiosqlite:///{tmp_path / 'db'}", stream_start_timeout_s=0.5
    ) as server:
        async with open_stream(server) as ws:
            await ws.send(CONNECTED)
            assert await closed_by_server(ws) == 1008
        assert server.emulator.record.connection_count == 0


async def test_bad_messages_are_dropped_and_counted_while_the_call_goes_on(
    call_server: RunningServer,
) -> None:
    parameters = (await answer(call_server)).parameters
    garbage: list[str | bytes] = [
        "x" * (70 * 1024),  # over the 64 KiB limit
        "{not json",
        json.dumps({"event": "media", "streamSid": STREAM_SID, "media": {"payload": "@@@"}}),
        media(stream_sid="MZ" + "3" * 32),
        b"\x00\x01binary",
        json.dumps({"event": "something-new", "streamSid": STREAM_SID}),
    ]
    async with open_stream(call_server) as ws:
        await ws.send(CONNECTED)
        await ws.send(media())  # media before start: dropped
        await ws.send(start(parameters))
        for message in garbage:
            await ws.send(message)
        # The call goes on: keep streaming caller audio and hear the agent's greeting.
        heard_media = 0
        async with asyncio.timeout(20):
            while heard_media < 5:
                await ws.send(media())
                try:
                    reply = json.loads(await asyncio.wait_for(ws.recv(), timeout=0.02))
                except TimeoutError:
                    continue
                heard_media += reply["event"] == "media"
        stats = call_server.services.calls[CALL_SID].stats
        assert stats.bad_messages == {
            "before start": 1,
            "oversize message": 1,
            "message is not valid JSON": 1,
            "media payload is not valid base64": 1,
            "media for another stream": 1,
            "binary frame": 1,
        }
        assert stats.unknown_events == 1
        await ws.send(STOP)
    transcript = await call_server.finished_transcript(CALL_SID)
    assert transcript.call.end_reason is EndReason.CALLER_HUNG_UP


async def test_a_flood_of_bad_messages_closes_the_stream(call_server: RunningServer) -> None:
    parameters = (await answer(call_server)).parameters
    async with open_stream(call_server) as ws:
        await ws.send(CONNECTED)
        await ws.send(start(parameters))
        for _ in range(60):
            await ws.send("{not json")
        assert await closed_by_server(ws) == 1008
    transcript = await call_server.finished_transcript(CALL_SID)
    assert transcript.call.end_reason is EndReason.PROTOCOL_ERROR


# --- the transcript API -----------------------------------------------------------------------


async def test_transcript_api_requires_the_bearer_token(call_server: RunningServer) -> None:
    await call_server.services.store.record_status(
        CALL_SID,
        CallStatus.RINGING,
        __import__("datetime").datetime.now(__import__("datetime").UTC),
    )
    path = f"/calls/{CALL_SID}/transcript"
    async with httpx.AsyncClient(base_url=call_server.base_url) as client:
        assert (await client.get(path)).status_code == 401
        wrong = await client.get(path, headers={"Authorization": "Bearer wrong"})
        assert wrong.status_code == 401
        good = {"Authorization": f"Bearer {call_server.api_token}"}
        found = await client.get(path, headers=good)
        assert found.status_code == 200
        assert found.json()["call"]["call_sid"] == CALL_SID
        missing = await client.get(f"/calls/CA{'0' * 32}/transcript", headers=good)
        assert missing.status_code == 404
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers=good)).status_code == 200
