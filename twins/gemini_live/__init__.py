"""A local Gemini Live API emulator for tests, the demo and benchmarks.

It speaks the BidiGenerateContent WebSocket protocol over TLS, behaves like a voice model by
default (voice activity detection, transcriptions, paced speech-like replies, barge-in) and can
be scripted (tool calls, ``goAway``, closes, delays, exact replies). See ``server.LiveEmulator``.

    async with LiveEmulator(EmulatorConfig(pacing=Pacing(speed=10))) as emulator:
        agent = Agent(name="a", model=emulator.adk_model("gemini-live-2.5-flash-preview"), ...)
        emulator.script.call_tool("lookup_order", {"order_id": "A1"})
        ...
        await emulator.record.wait_for(lambda r: r.last.tool_responses)
"""

from twins.gemini_live.config import EmulatorConfig, Pacing
from twins.gemini_live.events import ModelStyle
from twins.gemini_live.record import ConnectionRecord, Record
from twins.gemini_live.script import (
    AfterFirstHandle,
    AfterTurns,
    BeforeFirstHandle,
    Immediately,
    MidReply,
    NextTurn,
    OnSetup,
    Script,
)
from twins.gemini_live.server import DEFAULT_API_KEY, LiveEmulator

__all__ = [
    "DEFAULT_API_KEY",
    "AfterFirstHandle",
    "AfterTurns",
    "BeforeFirstHandle",
    "ConnectionRecord",
    "EmulatorConfig",
    "Immediately",
    "LiveEmulator",
    "MidReply",
    "ModelStyle",
    "NextTurn",
    "OnSetup",
    "Pacing",
    "Record",
    "Script",
]
