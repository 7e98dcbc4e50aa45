"""Failures a deployment meets, with the close codes and reasons the real service uses:
refusals at setup (quota, unavailable), a slow ``setupComplete``, a 1011 mid-call, and a limit
on concurrent sessions."""

import time

import pytest
from google import genai
from google.genai import errors, types

from tests.test_gemini_live_server import MODEL_3X, MODEL_25, raw_client
from twins.gemini_live import (
    QUOTA_EXCEEDED,
    TOO_MANY_SESSIONS,
    UNAVAILABLE,
    EmulatorConfig,
    Failures,
    LiveEmulator,
    Refusal,
)
from twins.gemini_live.closes import (
    CONCURRENCY_REASON,
    INTERNAL_REASON,
    QUOTA_REASON,
    UNAVAILABLE_REASON,
    fit_reason,
)


@pytest.mark.parametrize(
    ("refusal", "reason"),
    [(QUOTA_EXCEEDED, QUOTA_REASON), (UNAVAILABLE, UNAVAILABLE_REASON)],
    ids=["quota", "unavailable"],
)
async def test_a_refused_setup_closes_with_1011_and_the_real_reason(
    refusal: Refusal, reason: str
) -> None:
    config = EmulatorConfig.idealised(failures=Failures(refuse_setup=refusal))
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        await client.send({"setup": {"model": MODEL_25}})
        closed = await client.closed()

    assert closed.rcvd is not None
    assert (closed.rcvd.code, closed.rcvd.reason) == (1011, reason)
    assert emulator.record.last.refused


async def test_the_script_can_refuse_one_setup() -> None:
    async with LiveEmulator(EmulatorConfig.idealised()) as emulator:
        emulator.script.refuse_setup(QUOTA_EXCEEDED)
        async with raw_client(emulator) as client:
            await client.send({"setup": {"model": MODEL_25}})
            closed = await client.closed()
        async with raw_client(emulator) as client:
            assert "setupComplete" in await client.setup()

    assert closed.rcvd is not None
    assert closed.rcvd.code == 1011


async def test_google_genai_surfaces_a_refusal_as_an_api_error() -> None:
    config = EmulatorConfig.idealised(failures=Failures(refuse_setup=QUOTA_EXCEEDED))
    async with LiveEmulator(config) as emulator:
        client = genai.Client(api_key="key", http_options=emulator.http_options())
        with pytest.raises(errors.APIError) as raised:
            await _receive_everything(client)

    assert raised.value.code == 1011
    assert "quota" in str(raised.value)


async def _receive_everything(client: genai.Client) -> None:
    live = types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO])
    async with client.aio.live.connect(model=MODEL_3X, config=live) as session:
        async for _ in session.receive():
            pass


async def test_setup_complete_can_be_slow() -> None:
    config = EmulatorConfig.idealised(failures=Failures(setup_delay_s=0.3))
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        sent_at = time.monotonic()
        assert "setupComplete" in await client.setup()
        waited = time.monotonic() - sent_at

    assert waited >= 0.3  # never sooner than configured


async def test_a_connection_can_fail_with_1011_mid_call() -> None:
    config = EmulatorConfig.idealised(failures=Failures(internal_error_after_s=0.2))
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        assert "setupComplete" in await client.setup()
        closed = await client.closed()

    assert closed.rcvd is not None
    assert (closed.rcvd.code, closed.rcvd.reason) == (1011, INTERNAL_REASON)


async def test_sessions_beyond_the_limit_are_refused() -> None:
    config = EmulatorConfig.idealised(failures=Failures(max_sessions=2))
    async with LiveEmulator(config) as emulator:
        async with raw_client(emulator) as first, raw_client(emulator) as second:
            assert "setupComplete" in await first.setup()
            assert "setupComplete" in await second.setup()
            async with raw_client(emulator) as third:
                await third.send({"setup": {"model": MODEL_25}})
                refused = await third.closed()
        await emulator.record.wait_for(lambda r: r.connections[1].closed)
        async with raw_client(emulator) as fourth:  # the others are gone: room again
            assert "setupComplete" in await fourth.setup()

    assert refused.rcvd is not None
    assert refused.rcvd.code == TOO_MANY_SESSIONS.code == 1011
    assert refused.rcvd.reason == fit_reason(CONCURRENCY_REASON)
    assert "RESOURCE_EXHAUSTED" in refused.rcvd.reason
    assert [c.refused for c in emulator.record.connections] == [False, False, True, False]
