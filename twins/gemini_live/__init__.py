"""A local Gemini Live API emulator for tests, the demo and benchmarks.

It speaks the BidiGenerateContent WebSocket protocol over TLS, behaves like a voice model (voice
activity detection, transcriptions, speech-like replies, barge-in, tool calls) following a
conversation script that fits the receptionist agent, and can be scripted (tool calls,
``goAway``, closes, delays, exact replies, single decisions). Its behaviour in time is either
idealised or realistic (``EmulatorConfig.idealised()`` / ``.realistic()``; ``config.py``).

    async with LiveEmulator(EmulatorConfig.realistic(pacing=Pacing(speed=10))) as emulator:
        agent = Agent(name="a", model=emulator.adk_model("gemini-live-2.5-flash-preview"), ...)
        emulator.script.call_tool("opening_hours", {"day": "monday"})
        ...
        await emulator.record.wait_for(lambda r: r.last.tool_responses)
"""

from twins.gemini_live.closes import (
    BAD_HANDLE,
    QUOTA_EXCEEDED,
    TOO_MANY_SESSIONS,
    UNAVAILABLE,
    Refusal,
)
from twins.gemini_live.config import IDEALISED, REALISTIC, EmulatorConfig, Profile
from twins.gemini_live.conversation import RECEPTIONIST, Conversation, Exchange, ToolStep
from twins.gemini_live.events import ModelStyle
from twins.gemini_live.options import (
    Failures,
    Interruptions,
    Lifetime,
    Pacing,
    Resumption,
    Tools,
    Transcripts,
    WireVariants,
)
from twins.gemini_live.record import ConnectionRecord, Record
from twins.gemini_live.script import Script
from twins.gemini_live.server import DEFAULT_API_KEY, LiveEmulator
from twins.gemini_live.steps import (
    AfterFirstHandle,
    AfterGenerationComplete,
    AfterTurns,
    BeforeFirstHandle,
    DuringToolCall,
    Immediately,
    MidReply,
    NextTurn,
    OnSetup,
    WhileCallerSpeaks,
)

__all__ = [
    "BAD_HANDLE",
    "DEFAULT_API_KEY",
    "IDEALISED",
    "QUOTA_EXCEEDED",
    "REALISTIC",
    "RECEPTIONIST",
    "TOO_MANY_SESSIONS",
    "UNAVAILABLE",
    "AfterFirstHandle",
    "AfterGenerationComplete",
    "AfterTurns",
    "BeforeFirstHandle",
    "ConnectionRecord",
    "Conversation",
    "DuringToolCall",
    "EmulatorConfig",
    "Exchange",
    "Failures",
    "Immediately",
    "Interruptions",
    "Lifetime",
    "LiveEmulator",
    "MidReply",
    "ModelStyle",
    "NextTurn",
    "OnSetup",
    "Pacing",
    "Profile",
    "Record",
    "Refusal",
    "Resumption",
    "Script",
    "ToolStep",
    "Tools",
    "Transcripts",
    "WhileCallerSpeaks",
    "WireVariants",
]
