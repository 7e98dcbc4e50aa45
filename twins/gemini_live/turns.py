"""The model's turns on one connection: hear, maybe call tools, speak, complete.

One turn at a time, through these phases (``Phase``): thinking (the reply latency), speaking
(generating audio: ``speaking.py``), waiting for playback (``generationComplete`` sent,
``turnComplete`` not yet: ``Pacing.turn_complete_after_playback``), then finishing
(``turnComplete`` with usage, the resumption handle, scripted after-turn actions), which nothing
interrupts. A turn that calls tools ends in the tools phase; the responses start the next one.

Caller speech while thinking or speaking interrupts the turn: its task is cancelled and
``interrupted`` is sent (then ``turnComplete``, with ``Interruptions.turn_complete_after_
interrupted``: "interrupted > turn_complete", google-genai ``LiveServerContent``). While waiting
for playback it interrupts only by chance (``Interruptions.during_playback``, or the script's
decision). While tool calls are pending, it cancels them (``toolCallCancellation``) when
``Tools.cancel_on_barge_in``. ``tooling.py`` holds the tool side, the model-name differences
there are documented.
"""

import asyncio
import dataclasses
import enum
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from twins.gemini_live import messages
from twins.gemini_live.brain import ReplyPlan
from twins.gemini_live.conversation import Exchange
from twins.gemini_live.events import FunctionResponse, JsonObject, ModelStyle
from twins.gemini_live.speaking import TurnEnd
from twins.gemini_live.steps import AfterGenerationComplete, AfterTurns, CallTool, NextTurn
from twins.gemini_live.tooling import ToolCalls

if TYPE_CHECKING:
    from twins.gemini_live.session import Session

logger = logging.getLogger(__name__)


class Phase(enum.Enum):
    IDLE = "idle"
    THINKING = "thinking"
    SPEAKING = "speaking"
    PLAYBACK = "waiting for playback"
    TOOLS = "waiting for tool responses"
    FINISHING = "finishing"


_INTERRUPTIBLE = frozenset({Phase.THINKING, Phase.SPEAKING})


@dataclass(frozen=True)
class TurnRequest:
    """Why a turn starts and what it brings along."""

    heard: Sequence[JsonObject] = ()
    """Input transcription messages to send first."""
    late_input: JsonObject | None = None
    """An input transcription to send only after the turn's first audio."""
    calls: Sequence[CallTool] = field(default_factory=tuple)
    answering: bool = False
    """It answers input (speech or text): conversation tools and preambles apply."""
    opening: bool = False
    interrupts: bool = True
    """It cuts short a turn still generating (not with ``activityHandling: NO_INTERRUPTION``:
    it waits for that turn to finish)."""


class ModelTurns:
    """Starts, interrupts and runs the model's turns for one session."""

    def __init__(self, session: "Session", rng: random.Random) -> None:
        self._session = session
        self._rng = rng
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        """The newest turn (it may wait for the one before it to finish)."""
        self._active: asyncio.Task[None] | None = None
        """The turn that ``phase`` describes."""
        self.phase = Phase.IDLE
        self.tools = ToolCalls(session)
        self._exchange: Exchange | None = None
        self._audio_ms = 0.0
        self._completed_at: float | None = None
        self._silenced = False
        """Scripted: after a barge-in the model answers nothing until it is sent text."""

    @property
    def busy(self) -> bool:
        """Generating, or waiting for playback or tools: not resumable."""
        return self.phase is not Phase.IDLE or self.tools.pending

    # --- inputs ---

    async def caller_started(self, *, barge_in: bool = True) -> None:
        """The caller began to speak: barge in on the turn in progress, if it lets them."""
        interruptions = self._session.shared.config.interruptions
        async with self._lock:
            if not barge_in:
                return
            if self.phase in _INTERRUPTIBLE or (
                self.phase is Phase.PLAYBACK and self._decide(interruptions.during_playback)
            ):
                await self._interrupt()
            elif self.tools.pending and self._session.shared.config.tools.cancel_on_barge_in:
                if await self.tools.cancel():
                    await self._send_interrupted()
            elif self._just_completed() and self._decide(interruptions.after_turn_complete):
                logger.info("live connection %d: late interrupted", self._session.index)
                await self._session.send(messages.interrupted())

    async def caller_finished(
        self,
        heard: str,
        exchange: Exchange | None,
        transcripts: Sequence[JsonObject] = (),
        late_input: JsonObject | None = None,
        *,
        interrupts: bool = True,
    ) -> None:
        """The caller's turn ended: the model heard ``heard`` and answers with ``exchange``."""
        session = self._session
        session.conn.caller_turns += 1
        session.memory.heard_text(heard)
        self._exchange = exchange
        if self._silenced:
            for message in (*transcripts, *([late_input] if late_input else [])):
                await session.send(message)  # heard and transcribed, but not answered
            return
        request = TurnRequest(transcripts, late_input, answering=True, interrupts=interrupts)
        await self.start(request)

    async def text_arrived(self, *, opening: bool) -> None:
        """A text turn: the greeting when ``opening``, else the next exchange's answer (or,
        from a model silenced after a barge-in, the answer it owes the caller)."""
        if self._silenced and not opening:
            self._silenced = False
        elif not opening:
            self._exchange = self._session.shared.brain.next_exchange()
        await self.start(TurnRequest(answering=True, opening=opening))

    async def tool_responded(self, responses: Sequence[FunctionResponse]) -> None:
        """Tool responses arrived; once every pending call is answered the model speaks again."""
        if self.tools.answered(responses):
            await self.start(TurnRequest())

    async def start(self, request: TurnRequest) -> None:
        """Begin the model's next turn, interrupting the current one if it is still generating."""
        session = self._session
        async with self._lock:
            previous = self._task
            if self.phase in _INTERRUPTIBLE and request.interrupts:
                await self._interrupt()
                previous = None
            scripted = session.shared.script.take(NextTurn(), session.index)
            calls = (*request.calls, *(a for a in scripted if isinstance(a, CallTool)))
            request = dataclasses.replace(request, calls=calls)
            self._task = session.spawn(self._turn(previous, request))

    # --- the turn ---

    async def _turn(self, previous: asyncio.Task[None] | None, request: TurnRequest) -> None:
        session = self._session
        if previous is not None:
            await asyncio.wait({previous})
        for message in request.heard:
            await session.send(message)
        session.speaker.late_input = request.late_input
        self._active = asyncio.current_task()
        self.phase = Phase.THINKING
        await session.resumption.busy()
        config = session.shared.config
        delay = config.reply_latency_ms / 1000.0 + session.shared.script.take_first_chunk_delay()
        if delay > 0:
            await asyncio.sleep(delay)
        calls, preamble = self.tools.choose(request, self._exchange)
        if calls:
            if preamble is not None:
                self.phase = Phase.SPEAKING
                if not await self._speak(preamble):
                    return
            self.phase = Phase.TOOLS
            await self.tools.call(calls)
            await session.speaker.send_late_input()
            if session.setup is not None and session.setup.style is ModelStyle.LIVE_25:
                self._end_of_turn()  # the turn was completed with the call
            return
        brain = session.shared.brain
        exchange, self._exchange = self._exchange, None
        text = brain.reply_text(exchange, opening=request.opening, result=self.tools.result)
        self.tools.result = None
        await self._speak_and_finish(text)

    async def _speak_and_finish(self, text: str) -> None:
        session = self._session
        config = session.shared.config
        brain = session.shared.brain
        plan = await asyncio.to_thread(brain.planner(text))
        self.phase = Phase.SPEAKING
        wait = config.pacing.turn_complete_after_playback
        on_audio = config.wire.flags_with_last_audio
        usage = session.memory.usage(self._audio_ms + plan.audio_ms)
        status = self._interaction_status()
        end = TurnEnd(
            generation_complete=on_audio,
            turn_complete=on_audio and not wait,
            usage=usage if config.wire.usage_with_audio or (on_audio and not wait) else None,
            interaction_status=status,
        )
        if not await self._speak(plan, end):
            return
        if not end.generation_complete:
            await session.send(messages.generation_complete())
        self.phase = Phase.PLAYBACK
        if await session.perform(
            session.shared.script.take(AfterGenerationComplete(), self._index)
        ):
            return
        if wait:
            await asyncio.sleep(
                session.speaker.playback_left_s + config.pacing.playback_margin_ms / 1000
            )
        self.phase = Phase.FINISHING
        session.conn.turns_completed += 1
        session.memory.spoke_turn(usage)
        if not end.turn_complete:
            turn_usage = None if end.usage is not None else usage
            await session.send(messages.turn_complete(turn_usage, interaction_status=status))
        self._end_of_turn()
        session.shared.record.changed()
        if await session.resumption.issue():
            return
        await session.perform(
            session.shared.script.take(AfterTurns(session.conn.turns_completed), self._index)
        )

    async def _speak(self, what: str | ReplyPlan, end: TurnEnd | None = None) -> bool:
        session = self._session
        plan = (
            await asyncio.to_thread(session.shared.brain.planner(what))
            if isinstance(what, str)
            else what
        )
        self._audio_ms += plan.audio_ms
        return await session.speaker.speak(plan, end)

    def _end_of_turn(self) -> None:
        self.phase = Phase.IDLE
        self._audio_ms = 0.0
        self._completed_at = time.monotonic()
        self._session.speaker.new_turn()

    # --- interruptions ---

    async def _interrupt(self) -> None:
        """Stop the turn in progress (and one waiting for it to finish), then say so."""
        tasks = {t for t in (self._task, self._active) if t is not None and not t.done()}
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        await self._send_interrupted()

    async def _send_interrupted(self) -> None:
        session = self._session
        conn = session.conn
        conn.interruptions += 1
        logger.info("live connection %d: turn interrupted", self._index)
        if conn.timings is not None:
            conn.timings.interrupted_t.append(time.monotonic())
        self._end_of_turn()
        if session.shared.script.take_silence_after_barge_in():
            self._silenced = True
        await session.send(messages.interrupted())
        if session.shared.config.interruptions.turn_complete_after_interrupted:
            await session.send(messages.turn_complete())

    def _decide(self, chance: float) -> bool:
        decided = self._session.shared.script.take_late_interruption()
        if decided is not None:
            return decided
        return chance >= 1 or (chance > 0 and self._rng.random() < chance)

    def _just_completed(self) -> bool:
        window = self._session.shared.config.interruptions.after_turn_complete_window_ms
        done = self._completed_at
        return done is not None and (time.monotonic() - done) * 1000 <= window

    def _interaction_status(self) -> str | None:
        setup = self._session.setup
        if not self._session.shared.config.wire.interaction_status or setup is None:
            return None
        return messages.IDLE if setup.style is ModelStyle.LIVE_3X else None

    @property
    def _index(self) -> int:
        return self._session.index
