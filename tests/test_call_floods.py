"""Floods on a media stream: closed with 1008, while other calls and real callers go on."""

import asyncio

from telephony.transcripts import EndReason
from tests.callserver import RunningServer
from tests.twilio_peer import (
    CALL_SID,
    CONNECTED,
    answer,
    closed_by_server,
    dtmf,
    media,
    open_stream,
    start,
)

FLOOD = 20_000


async def test_a_flood_of_tiny_media_frames_closes_the_stream(call_server: RunningServer) -> None:
    parameters = (await answer(call_server)).parameters
    async with open_stream(call_server) as ws:
        await ws.send(CONNECTED)
        await ws.send(start(parameters))
        tiny = media(b"\xff")  # one byte: an eighth of a millisecond of audio
        for _ in range(FLOOD):
            try:
                await ws.send(tiny)
            except Exception:  # noqa: BLE001 - the server may close while we are still sending
                break
        code = await closed_by_server(ws)
    transcript = await call_server.finished_transcript(CALL_SID)
    totals = (await call_server.metrics_when_idle())["totals"]

    assert code == 1008
    assert transcript.call.end_reason is EndReason.PROTOCOL_ERROR
    # Closed long before the flood reached the model frame by frame.
    assert totals["frames_in"] < FLOOD / 10


async def test_a_keypad_flood_closes_the_stream(call_server: RunningServer) -> None:
    parameters = (await answer(call_server)).parameters
    async with open_stream(call_server) as ws:
        await ws.send(CONNECTED)
        await ws.send(start(parameters))
        for _ in range(1000):
            try:
                await ws.send(dtmf("1"))
            except Exception:  # noqa: BLE001 - the server may close while we are still sending
                break
        code = await closed_by_server(ws)
    transcript = await call_server.finished_transcript(CALL_SID)

    assert code == 1008
    assert transcript.call.end_reason is EndReason.PROTOCOL_ERROR
    # Nothing of the flood became a transcript turn.
    assert len(transcript.turns) <= 1


async def test_audio_in_real_time_is_never_refused(call_server: RunningServer) -> None:
    parameters = (await answer(call_server)).parameters
    async with open_stream(call_server) as ws:
        await ws.send(CONNECTED)
        await ws.send(start(parameters))
        for _ in range(100):  # two seconds, a little faster than real time
            await ws.send(media())
            await asyncio.sleep(0.015)
        await ws.close()
    transcript = await call_server.finished_transcript(CALL_SID)
    totals = (await call_server.metrics_when_idle())["totals"]
    assert transcript.call.end_reason is not EndReason.PROTOCOL_ERROR
    assert totals["frames_in"] == 100
