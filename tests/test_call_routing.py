"""Routing end to end: the Twilio simulator calls the real server, whose routing file picks the
agent and its voice; the Live emulator records what each call's session was set up with."""

import asyncio
import wave
from pathlib import Path
from typing import Any

import pytest

from telephony.app import create_app
from telephony.config import Settings
from telephony.errors import NotConfiguredError
from telephony.transcripts import EndReason
from tests.callserver import running_server
from twins.twilio import HungUp, Said, Silence, WaitForGreeting

ROUTES = """\
[[route]]
name = "sales"
numbers = ["+14155550100"]
agent = "frontdesk"
voice = "Puck"
language = "en-US"
business_name = "Acme Sales"

[[route]]
name = "clinic"
numbers = ["+14155550200"]
agent = "receptionist"
voice = "Kore"

[[route]]
name = "night"
numbers = ["+14155550300"]
[route.hours]
timezone = "UTC"
[route.after_hours]
say = "We are closed. Please call again tomorrow."
"""


def speech(setup_raw: dict[str, Any]) -> dict[str, Any]:
    generation: dict[str, Any] = setup_raw.get("generation_config") or setup_raw.get(
        "generationConfig", {}
    )
    found: dict[str, Any] = generation.get("speech_config") or generation.get("speechConfig", {})
    return found


def voice_name(setup_raw: dict[str, Any]) -> str:
    config = speech(setup_raw)
    voice = config.get("voice_config") or config.get("voiceConfig", {})
    prebuilt = voice.get("prebuilt_voice_config") or voice.get("prebuiltVoiceConfig", {})
    name = prebuilt.get("voice_name") or prebuilt.get("voiceName")
    assert isinstance(name, str), setup_raw
    return name


async def test_two_numbers_reach_two_agents_with_their_own_voices(
    tmp_path: Path, database_url: str
) -> None:
    routes = tmp_path / "routes.toml"
    routes.write_text(ROUTES)
    async with running_server(database_url, routes_file=routes) as server:
        sales = await server.place(
            [WaitForGreeting(timeout=20), Silence(0.3)], to_number="+14155550100"
        )
        clinic = await server.place(
            [WaitForGreeting(timeout=20), Silence(0.3)], to_number="+14155550200"
        )
        connections = server.emulator.record.connections
        sales_state = await server.services.session_service.get_session(
            app_name="frontdesk", user_id=_user(server, sales.call_sid), session_id=sales.call_sid
        )
        transcripts = [await server.finished_transcript(r.call_sid) for r in (sales, clinic)]

    assert sales.metrics.first_audio_ms is not None and clinic.metrics.first_audio_ms is not None
    first, second = (c.setup for c in connections[:2])
    assert first is not None and second is not None
    assert "front desk of Acme Sales" in first.system_instruction
    assert "Harbour Street Dental" in second.system_instruction
    assert (voice_name(first.raw), voice_name(second.raw)) == ("Puck", "Kore")
    assert speech(first.raw).get("language_code", speech(first.raw).get("languageCode")) == "en-US"
    assert [t.call.agent for t in transcripts] == ["frontdesk", "receptionist"]
    assert all(t.call.end_reason is EndReason.CALLER_HUNG_UP for t in transcripts)
    assert sales_state is not None
    assert sales_state.state["route"] == "sales"
    assert sales_state.state["business_name"] == "Acme Sales"
    assert sales_state.state["caller_number"] == "", "the route does not share the number"
    assert sales_state.state["caller_earlier_calls"] == 0


def _user(server: Any, call_sid: str) -> str:
    from telephony.twilio.security import pseudonym

    return "caller-" + pseudonym(server.services.secret, server.call_config([]).from_number)


async def test_after_hours_the_route_answers_with_its_message(
    tmp_path: Path, database_url: str
) -> None:
    routes = tmp_path / "routes.toml"
    routes.write_text(ROUTES)  # "night" has no opening window on any day
    async with running_server(database_url, routes_file=routes) as server:
        result = await server.place([Silence(5)], to_number="+14155550300")
        connections = len(server.emulator.record.connections)

    said = [entry.text for entry in result.journey if isinstance(entry, Said)]
    assert said == ["We are closed. Please call again tomorrow."]
    assert isinstance(result.journey[-1], HungUp)
    assert connections == 0, "no stream, no model session"


async def test_a_bad_routing_file_fails_start_up_naming_the_problem(tmp_path: Path) -> None:
    routes = tmp_path / "routes.toml"
    routes.write_text(ROUTES.replace('agent = "receptionist"', 'agent = "nobody"'))
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        twilio_validate_signatures=False,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}",
        routes_file=routes,
    )
    app = create_app(settings)
    with pytest.raises(NotConfiguredError) as error:
        async with app.router.lifespan_context(app):
            pass
    message = str(error.value)
    assert str(routes) in message and "'clinic'" in message and "nobody" in message


FALLBACK_ROUTES = """\
[default.fallback]
say = "Sorry, our assistant is not available. Connecting you to the team."
queue = "support"
"""


async def test_a_model_failure_sends_the_caller_to_the_routes_fallback(tmp_path: Path) -> None:
    from twins.gemini_live import MidReply, OnSetup
    from twins.twilio import Enqueued

    routes = tmp_path / "routes.toml"
    routes.write_text(FALLBACK_ROUTES)
    database = f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}"
    async with running_server(database, routes_file=routes) as server:
        script = server.emulator.script
        script.next_reply(words=40)
        script.close(1007, "Request contains an invalid argument.", when=MidReply(15))
        script.close(1011, "The service is currently unavailable.", when=OnSetup(1))
        result = await server.place([WaitForGreeting(timeout=20), Silence(20)])
        transcript = await server.finished_transcript(result.call_sid)

    said = [entry for entry in result.journey if isinstance(entry, Said)]
    assert [entry.text for entry in said][:1] == [
        "Sorry, our assistant is not available. Connecting you to the team."
    ]
    queued = [entry for entry in result.journey if isinstance(entry, Enqueued)]
    assert queued and queued[0].queue == "support"
    assert transcript.call.end_reason is EndReason.MODEL_ERROR


RECORDING_ROUTES = """\
[[route]]
name = "recorded"
numbers = ["+14155550100"]
[route.recording]
heard = true
consent = "This call is recorded."

[[route]]
name = "unrecorded"
numbers = ["+14155550200"]
"""


async def test_one_route_records_what_the_caller_heard_and_another_does_not(
    tmp_path: Path, database_url: str
) -> None:
    routes = tmp_path / "routes.toml"
    routes.write_text(RECORDING_ROUTES)
    recordings = tmp_path / "recordings"
    async with running_server(
        database_url, routes_file=routes, recordings_dir=str(recordings)
    ) as server:  # RECORD_HEARD is off: only the route turns it on
        script = (WaitForGreeting(timeout=20), Silence(0.5))
        recorded = await server.place(script, to_number="+14155550100")
        unrecorded = await server.place(script, to_number="+14155550200")
        transcripts = [await server.finished_transcript(r.call_sid) for r in (recorded, unrecorded)]
        store = server.services.recordings
        async with asyncio.timeout(20):
            while True:  # listed as completed once the call's end has been handled
                listed = await store.of_call(recorded.call_sid)
                if listed and listed[0].status == "completed":
                    break
                await asyncio.sleep(0.05)
        not_listed = await store.of_call(unrecorded.call_sid)
        cues = [
            [text.text for text in connection.texts]
            for connection in server.emulator.record.connections[:2]
        ]

    assert [t.call.route for t in transcripts] == ["recorded", "unrecorded"]
    [heard] = listed
    assert heard.kind == "heard" and heard.path is not None
    with wave.open(heard.path, "rb") as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (2, 8000)
        assert wav.getnframes() > 8000 * 0.5, "at least the greeting and the silence after it"
    assert not_listed == []
    assert sorted(path.name for path in recordings.iterdir()) == [f"{recorded.call_sid}.wav"]
    assert any("This call is recorded." in cue for cue in cues[0]), cues[0]
    assert not any("recorded" in cue for cue in cues[1]), cues[1]
