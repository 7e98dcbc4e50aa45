"""One call, one stream, ever, across the whole deployment.

Twilio never reconnects a media stream, so a second stream for a CallSid is an attack (a
replayed webhook, a reused token) or a bug. The database is the deployment's shared truth: these
tests run real servers on SQLite and on PostgreSQL, and two servers on one database stand for
two worker processes or two instances.
"""

import asyncio
import logging
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from telephony.admission import LAG_WINDOW_S, Refusal
from telephony.config import Settings
from tests.callserver import ACCOUNT_SID, RunningServer, running_server
from tests.outages import until
from tests.twilio_peer import (
    CALL_SID,
    CALLER,
    CONNECTED,
    FOREIGN_ACCOUNT,
    STOP,
    answer,
    closed_by_server,
    media,
    open_stream,
    post_voice,
    start,
    voice_form,
)
from twins.twilio import CallResult, Hangup, Speak, WaitForGreeting, WaitForReply, parse_twiml
from twins.twilio import EndReason as SimEnd

OTHER_STREAM_SID = "MZ" + "6" * 32
STALL_S = 0.3
OVERFLOW_MESSAGE = Settings.model_fields["overflow_message"].default


async def health(server: RunningServer) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        response = await client.get("/healthz")
    response.raise_for_status()
    found: dict[str, Any] = response.json()
    return found


def our_log_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name.startswith("telephony")]


async def test_a_replayed_voice_webhook_gets_no_stream_and_each_replay_is_logged_once(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running_server(database_url) as server:
        first = await answer(server)
        replays = [await post_voice(server) for _ in range(2)]
    assert first.parameters["token"]
    for replay in replays:
        assert replay.status_code == 200
        twiml = parse_twiml(replay.text)
        assert twiml.stream is None, "a replay must not get a stream, let alone a token"
        assert [verb.name for verb in twiml.verbs] == ["Say", "Hangup"]
        assert "token" not in replay.text
    refusals = [
        record
        for record in our_log_lines(caplog)
        if record.levelno == logging.WARNING and CALL_SID in record.getMessage()
    ]
    assert len(refusals) == len(replays)
    assert not any(CALLER[1:] in record.getMessage() for record in our_log_lines(caplog))


async def test_a_call_admits_one_stream_while_it_is_live_and_none_after_it_ended(
    call_server: RunningServer,
) -> None:
    """Even with a token the server minted itself for the call (as a second webhook would
    have): the call's one grant was used by its first stream."""
    parameters = (await answer(call_server)).parameters
    tokens = call_server.services.tokens

    async def intrude() -> int:
        second = {**parameters, "token": tokens.mint(CALL_SID, ACCOUNT_SID).text}
        async with open_stream(call_server) as intruder:
            await intruder.send(CONNECTED)
            await intruder.send(start(second, stream_sid=OTHER_STREAM_SID))
            return await closed_by_server(intruder)

    async with open_stream(call_server) as ws:
        await ws.send(CONNECTED)
        await ws.send(start(parameters))
        await call_server.emulator.record.wait_for(lambda r: r.connection_count == 1, timeout=10)
        assert await intrude() == 1008
        assert (await health(call_server))["calls"] == 1
        await ws.send(STOP)
    transcript = await call_server.finished_transcript(CALL_SID)
    assert transcript.call.stream_sid != OTHER_STREAM_SID
    assert await intrude() == 1008
    assert call_server.emulator.record.connection_count == 1
    assert (await health(call_server))["calls"] == 0


async def test_a_token_admits_one_stream_across_instances_sharing_the_database(
    database_url: str,
) -> None:
    auth_token = secrets.token_hex(16)
    async with (
        running_server(database_url, auth_token=auth_token) as first,
        running_server(database_url, auth_token=auth_token) as second,
    ):
        parameters = (await answer(first)).parameters
        assert parse_twiml((await post_voice(second)).text).stream is None
        async with open_stream(second) as ws:  # the webhook reached one worker, the stream another
            await ws.send(CONNECTED)
            await ws.send(start(parameters))
            await second.emulator.record.wait_for(lambda r: r.connection_count == 1, timeout=10)
            async with open_stream(first) as replay:
                await replay.send(CONNECTED)
                await replay.send(start(parameters, stream_sid=OTHER_STREAM_SID))
                assert await closed_by_server(replay) == 1008
            await ws.send(STOP)
        await second.finished_transcript(CALL_SID)
        async with open_stream(first) as late:
            await late.send(CONNECTED)
            await late.send(start(parameters, stream_sid=OTHER_STREAM_SID))
            assert await closed_by_server(late) == 1008
        assert first.emulator.record.connection_count == 0
        assert second.emulator.record.connection_count == 1


async def test_while_the_ledger_is_unreachable_a_call_still_opens_its_one_stream(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running_server(database_url) as server:
        parameters = (await answer(server)).parameters
        async with server.services.store.engine.begin() as connection:
            await connection.execute(text("DROP TABLE IF EXISTS call_streams"))
        async with open_stream(server) as ws:
            await ws.send(CONNECTED)
            await ws.send(start(parameters))
            await ws.send(media())
            await server.emulator.record.wait_for(lambda r: r.connection_count == 1, timeout=10)
            # The same token a second time, in the same process: refused.
            async with open_stream(server) as again:
                await again.send(CONNECTED)
                await again.send(start(parameters, stream_sid="MZ" + "3" * 32))
                assert await closed_by_server(again) == 1008
    outage = [r for r in our_log_lines(caplog) if "unreachable" in r.getMessage()]
    assert len(outage) == 1, "said once, loudly"
    assert outage[0].levelno == logging.ERROR
    assert CALL_SID in outage[0].getMessage()


async def test_a_voice_webhook_from_another_account_gets_no_token(
    call_server: RunningServer,
) -> None:
    response = await post_voice(call_server, voice_form(AccountSid=FOREIGN_ACCOUNT))
    assert response.status_code == 403
    assert "token" not in response.text
    assert await call_server.services.store.transcript(CALL_SID) is None, "nothing stored"


# Capacity: a call beyond what the process can carry gets the overflow at the webhook.

BUSY_CALLER = (
    WaitForGreeting(timeout=30),
    Speak(1.0),
    WaitForReply(timeout=30),
    Speak(1.0),
    WaitForReply(timeout=30),
    Hangup(),
)


def is_overflow(response: httpx.Response) -> bool:
    twiml = parse_twiml(response.text)
    return (
        response.status_code == 200
        and twiml.stream is None
        and "token" not in response.text
        and OVERFLOW_MESSAGE in response.text
    )


async def test_calls_beyond_the_limit_get_the_overflow_and_admitted_calls_are_unaffected(
    tmp_path: Path,
) -> None:
    """A burst: eight calls 50 ms apart, for three places. Webhooks overlap while each awaits
    the database: a place is held the moment it is granted, so none is given twice."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'capacity.db'}"

    async def caller(index: int) -> CallResult:
        await asyncio.sleep(0.05 * index)
        return await server.place(BUSY_CALLER, seed=index)

    async with running_server(url, max_calls=3) as server:
        results = await asyncio.gather(*(caller(i) for i in range(8)))
        after = await server.place((*BUSY_CALLER[:2], Hangup()), seed=20)
        refusals = dict(server.services.admission.refused)
    admitted = [r for r in results if r.end_reason is not SimEnd.NO_STREAM]
    refused = [r for r in results if r.end_reason is SimEnd.NO_STREAM]
    assert len(admitted) == 3
    for result in refused:
        assert [verb.name for verb in result.next_verbs] == ["Say", "Hangup"]
    for result in admitted:
        assert result.end_reason is SimEnd.CALLER_HANGUP, result.error
        assert not result.violations
        assert len(result.metrics.turns) == 2, "both questions answered"
    assert after.end_reason is SimEnd.CALLER_HANGUP, "a place is given back when a call ends"
    assert refusals[Refusal.AT_CAPACITY] == len(refused) == 5


async def test_an_answered_call_holds_its_place_until_its_stream_starts(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'pending.db'}"
    async with running_server(url, max_calls=2) as server:
        first = await answer(server, voice_form(call_sid="CA" + "a" * 32))
        await answer(server, voice_form(call_sid="CA" + "b" * 32))
        assert is_overflow(await post_voice(server, voice_form(call_sid="CA" + "c" * 32)))
        async with open_stream(server) as ws:  # the first call's stream starts, and ends
            await ws.send(CONNECTED)
            await ws.send(start(first.parameters, call_sid="CA" + "a" * 32))
            await server.emulator.record.wait_for(lambda r: r.connection_count == 1, timeout=10)
            assert is_overflow(await post_voice(server, voice_form(call_sid="CA" + "d" * 32)))
            await ws.send(STOP)
        await server.finished_transcript("CA" + "a" * 32)
        again = await post_voice(server, voice_form(call_sid="CA" + "e" * 32))
    assert parse_twiml(again.text).stream is not None


async def test_while_the_event_loop_lags_new_calls_get_the_overflow(tmp_path: Path) -> None:
    """The lag is real: this test blocks the event loop the server runs in, as a process out of
    CPU would be blocked, and the server's own lag monitor measures it."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'lag.db'}"
    async with running_server(url, max_loop_lag_ms=100) as server:
        loop = asyncio.get_running_loop()
        for _ in range(int(LAG_WINDOW_S / STALL_S) + 2):
            loop.call_soon(time.sleep, STALL_S)  # a callback that holds the whole loop
            await asyncio.sleep(0.01)
        lagging = await post_voice(server, voice_form(call_sid="CA" + "a" * 32))
        await until(lambda: server.services.metrics.median_lag_ms(LAG_WINDOW_S) < 100)
        recovered = await post_voice(server, voice_form(call_sid="CA" + "b" * 32))
        refusals = dict(server.services.admission.refused)
    assert is_overflow(lagging)
    assert parse_twiml(recovered.text).stream is not None
    assert refusals[Refusal.LOOP_LAG] == 1
