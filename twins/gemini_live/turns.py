"""The model's turns on one connection: hear, maybe call tools, speak, complete.

One turn at a time. A turn that is still speaking (or about to) is *interrupted* when the caller
starts talking or new text arrives: its task is cancelled and ``interrupted`` is sent, as Gemini
does. Once its audio is out, a turn is no longer interruptible and finishes (``generationComplete``,
``turnComplete`` with usage, the resumption handle, scripted after-turn actions) before the next
turn starts.

Model-name differences the client depends on (google-adk 2.13 reads them this way):
- 2.5-style models send the caller's words as several partial ``inputTranscription`` pieces,
  and end the turn (``turnComplete``) right after a ``toolCall``: the client buffers tool calls
  until then.
- 3.x Live models send one final ``inputTranscription`` and no ``turnComplete`` after a
  ``toolCall``: the turn continues once the tool response arrives.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from twins.gemini_live import messages
from twins.gemini_live.brain import ReplyPlan
from twins.gemini_live.config import TRANSCRIPT_TAG
from twins.gemini_live.events import OUTPUT_RATE, FunctionResponse, ModelStyle
from twins.gemini_live.script import (
    AfterFirstHandle,
    AfterTurns,
    BeforeFirstHandle,
    CallTool,
    MidReply,
    NextTurn,
)

if TYPE_CHECKING:
    from twins.gemini_live.session import Session

logger = logging.getLogger(__name__)

_WORDS_PER_PARTIAL_TRANSCRIPTION = 3


class ModelTurns:
    """Starts, interrupts and runs the model's turns for one session."""

    def __init__(self, session: "Session") -> None:
        self._session = session
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._interruptible = False
        self._pending_calls: set[str] = set()

    async def caller_started(self) -> None:
        """The caller began to speak: barge in on a reply in progress."""
        async with self._lock:
            if self._speaking:
                await self._interrupt()

    async def caller_finished(self) -> None:
        """The caller's turn ended: the model heard something and answers."""
        session = self._session
        heard = session.shared.brain.hear()
        session.conn.caller_turns += 1
        session.conversation.heard_text(heard)
        await self.start(heard=heard)

    async def tool_responded(self, responses: Sequence[FunctionResponse]) -> None:
        """The client answered tool calls; once all are answered the model speaks again.

        A response to no pending call (one made before a resumption, say) is answered too.
        """
        ids = {r.id for r in responses}
        if None in ids:
            self._pending_calls.clear()
        else:
            self._pending_calls -= ids
        if not self._pending_calls:
            await self.start()

    async def start(
        self,
        *,
        heard: str | None = None,
        calls: Sequence[CallTool] = (),
        opening: bool = False,
    ) -> None:
        """Begin the model's next turn, interrupting the current one if it is still speaking."""
        session = self._session
        async with self._lock:
            previous = self._task
            if self._speaking:
                await self._interrupt()
                previous = None
            scripted = session.shared.script.take(NextTurn(), self._index)
            calls = [*calls, *(a for a in scripted if isinstance(a, CallTool))]
            self._task = session.spawn(self._turn(previous, heard, calls, opening))

    @property
    def _index(self) -> int:
        return self._session.index

    @property
    def _speaking(self) -> bool:
        return self._interruptible and self._task is not None and not self._task.done()

    async def _interrupt(self) -> None:
        task = self._task
        assert task is not None
        self._interruptible = False
        task.cancel()
        await asyncio.wait({task})
        conn = self._session.conn
        conn.interruptions += 1
        logger.info("live connection %d: reply interrupted", self._index)
        if conn.timings is not None:
            conn.timings.interrupted_t.append(time.monotonic())
        await self._session.send(messages.interrupted())

    async def _turn(
        self,
        previous: asyncio.Task[None] | None,
        heard: str | None,
        calls: Sequence[CallTool],
        opening: bool,
    ) -> None:
        session = self._session
        if previous is not None:
            await asyncio.wait({previous})
        if heard is not None:
            await self._send_input_transcription(heard)
        if calls:
            await self._call_tools(calls)
            return
        self._interruptible = True
        config = session.shared.config
        delay = config.reply_latency_ms / 1000.0 + session.shared.script.take_first_chunk_delay()
        if delay > 0:
            await asyncio.sleep(delay)
        brain = session.shared.brain
        plan = await asyncio.to_thread(brain.planner(brain.reply_text(opening=opening)))
        if not await self._speak(plan):
            return
        self._interruptible = False
        await self._finish(plan)

    async def _send_input_transcription(self, heard: str) -> None:
        session = self._session
        if session.setup is None or not session.setup.input_transcription:
            return
        if session.setup.style is ModelStyle.LIVE_3X:
            await session.send(messages.input_transcription(heard, finished=True))
            return
        words = heard.split()
        for start in range(0, len(words), _WORDS_PER_PARTIAL_TRANSCRIPTION):
            piece = " ".join(words[start : start + _WORDS_PER_PARTIAL_TRANSCRIPTION])
            await session.send(messages.input_transcription(piece if start == 0 else " " + piece))

    async def _call_tools(self, calls: Sequence[CallTool]) -> None:
        session = self._session
        function_calls = [
            messages.FunctionCall(
                call.call_id or f"call-{uuid.uuid4().hex[:12]}", call.name, call.args
            )
            for call in calls
        ]
        self._pending_calls.update(call.id for call in function_calls)
        session.conn.tool_calls.extend(call.name for call in function_calls)
        logger.info("live connection %d: calling %d tool(s)", self._index, len(function_calls))
        await session.send(messages.tool_call(function_calls))
        if session.setup is not None and session.setup.style is ModelStyle.LIVE_25:
            await session.send(messages.turn_complete())
        session.shared.record.changed()

    async def _speak(self, plan: ReplyPlan) -> bool:
        """Send the reply's audio paced in time, words with their audio; False if closing."""
        session = self._session
        config = session.shared.config
        pacing = config.pacing
        transcribe = session.setup is not None and session.setup.output_transcription
        tag = TRANSCRIPT_TAG.format(index=self._index) if config.tag_transcripts else ""
        timings = session.conn.timings
        reply = 0
        if timings is not None:
            reply, timings.replies = timings.replies, timings.replies + 1
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent_ms = 0.0
        for number, chunk in enumerate(plan.chunks, start=1):
            due = start + max(0.0, sent_ms - pacing.burst_ms) / 1000.0 / pacing.speed
            await asyncio.sleep(max(0.0, due - loop.time()))
            chunk_ms = len(chunk.pcm) / 2 / OUTPUT_RATE * 1000.0
            message = messages.model_audio(chunk.pcm)
            if timings is not None:
                timings.chunk_t.append(time.monotonic())
                timings.chunk_ms.append(
                    (timings.chunk_ms[-1] if timings.chunk_ms else 0.0) + chunk_ms
                )
                timings.chunk_turn.append(reply)
            await session.send(message)
            if transcribe:
                for word in chunk.words:
                    await session.send(messages.output_transcription(tag + word))
                    tag = ""
            sent_ms += chunk_ms
            if await session.perform(session.shared.script.take(MidReply(number), self._index)):
                return False
        return not session.closing

    async def _finish(self, plan: ReplyPlan) -> None:
        session = self._session
        conn = session.conn
        script = session.shared.script
        usage = session.conversation.spoke_reply(plan)
        conn.turns_completed += 1
        await session.send(messages.generation_complete())
        await session.send(messages.turn_complete(usage))
        session.shared.record.changed()
        if session.setup is not None and session.setup.resumption_requested:
            first = not conn.handles_issued
            if first and await session.perform(script.take(BeforeFirstHandle(), self._index)):
                return
            handle = session.shared.handles.issue(session.conversation)
            conn.handles_issued.append(handle)
            await session.send(messages.session_resumption_update(handle))
            session.shared.record.changed()
            if first and await session.perform(script.take(AfterFirstHandle(), self._index)):
                return
        await session.perform(script.take(AfterTurns(conn.turns_completed), self._index))
