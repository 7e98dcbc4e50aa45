"""The model's voice on one connection: sends a planned reply's messages when they are due.

The schedule comes from ``delivery.py``. The speaker also keeps the model's estimate of when
the client will have played what was sent (real-time playback from the first chunk on): the
turn waits for it before ``turnComplete`` when ``Pacing.turn_complete_after_playback``.
"""

import asyncio
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from twins.gemini_live import messages
from twins.gemini_live.brain import ReplyPlan
from twins.gemini_live.config import TRANSCRIPT_TAG
from twins.gemini_live.delivery import AudioOut, Delivery, schedule
from twins.gemini_live.events import JsonObject
from twins.gemini_live.messages import Usage
from twins.gemini_live.steps import MidReply

if TYPE_CHECKING:
    from twins.gemini_live.session import Session


@dataclass(frozen=True)
class TurnEnd:
    """What rides on a turn's last audio message (``WireVariants``)."""

    generation_complete: bool = False
    turn_complete: bool = False
    usage: Usage | None = None
    interaction_status: str | None = None


class Speaker:
    """Sends replies for one session; one reply at a time (the turn's task)."""

    def __init__(self, session: "Session", rng: random.Random) -> None:
        self._session = session
        self._rng = rng
        self.late_input: JsonObject | None = None
        """An input transcription held back: sent after the next audio message."""
        self._playback_end = 0.0

    def new_turn(self) -> None:
        """Forget the previous turn's playback (it was completed or interrupted)."""
        self._playback_end = 0.0

    @property
    def playback_left_s(self) -> float:
        """How long the client still plays what the turn sent, by the model's estimate."""
        return max(0.0, self._playback_end - asyncio.get_running_loop().time())

    async def send_late_input(self) -> None:
        if self.late_input is not None:
            message, self.late_input = self.late_input, None
            await self._session.send(message)

    async def speak(self, plan: ReplyPlan, end: TurnEnd | None = None) -> bool:
        """Send ``plan``'s audio and transcription on time, ``end`` on the last audio message.

        Returns False if the connection started closing meanwhile (the reply is cut short).
        """
        session = self._session
        config = session.shared.config
        setup = session.setup
        timings = session.conn.timings
        reply = 0
        if timings is not None:
            reply, timings.replies = timings.replies, timings.replies + 1
        delivery = Delivery(
            pacing=session.shared.script.take_pacing() or config.pacing,
            chunk_ms=config.reply_chunk_ms,
            transcripts=config.transcripts,
            audio_parts=config.wire.audio_parts,
            transcribe=setup is not None and setup.output_transcription,
            tag=TRANSCRIPT_TAG.format(index=session.index) if config.tag_transcripts else "",
            text_before_last_audio=end is not None,
        )
        items = schedule(plan, delivery, self._rng)
        last = max(i for i, item in enumerate(items) if isinstance(item, AudioOut))
        loop = asyncio.get_running_loop()
        start = loop.time()
        number = 0
        for index, item in enumerate(items):
            await asyncio.sleep(max(0.0, start + item.at_s - loop.time()))
            if not isinstance(item, AudioOut):
                await session.send(messages.output_transcription(item.text))
                continue
            number += 1
            if timings is not None:
                timings.chunk_t.append(time.monotonic())
                timings.chunk_ms.append((timings.chunk_ms[-1] if timings.chunk_ms else 0) + item.ms)
                timings.chunk_turn.append(reply)
            await session.send(_audio_message(item, end if index == last else None))
            now = loop.time()
            self._playback_end = max(self._playback_end, now) + item.ms / 1000.0
            await self.send_late_input()
            if await session.perform(session.shared.script.take(MidReply(number), session.index)):
                return False
        return not session.closing


def _audio_message(item: AudioOut, end: TurnEnd | None) -> JsonObject:
    if end is None:
        return messages.model_turn(item.pcms)
    return messages.model_turn(
        item.pcms,
        generation_complete=end.generation_complete,
        turn_complete=end.turn_complete,
        usage=end.usage,
        interaction_status=end.interaction_status,
    )
