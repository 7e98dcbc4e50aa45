"""Writes one call's transcript in the background, in order, without stalling its audio.

The call hands over each finished turn the moment it finishes; a single task per call writes
them one short transaction each. A slow or failing database delays the transcript, never the
audio. A write that fails is logged once with its traceback and retried at the end of the call.
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from telephony.caller_turns import Utterance
from telephony.errors import StorageError
from telephony.playback import AgentTurnResult
from telephony.transcripts import CallInfo, EndReason, Speaker, TranscriptStore, TurnRecord

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _End:
    reason: EndReason
    at: datetime


_Item = CallInfo | TurnRecord | _End


class TranscriptWriter:
    """The ordered write queue of one call's transcript."""

    def __init__(self, store: TranscriptStore, call_sid: str) -> None:
        self._store = store
        self._call_sid = call_sid
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._failed: list[_Item] = []

    def start(self, info: CallInfo) -> None:
        self._queue.put_nowait(info)

    def turn(self, record: TurnRecord) -> None:
        self._queue.put_nowait(record)

    def caller_turn(self, said: Utterance) -> None:
        """What the caller said, as the model transcribed it."""
        self.turn(
            TurnRecord(
                speaker=Speaker.CALLER, text=said.text, start_ms=said.start_ms, end_ms=said.end_ms
            )
        )

    def agent_turn(self, result: AgentTurnResult) -> None:
        """What the agent said, and what of it the caller heard."""
        self.turn(
            TurnRecord(
                speaker=Speaker.AGENT,
                text=result.text,
                heard_text=result.heard_text,
                interrupted=result.interrupted,
                start_ms=result.start_ms,
                end_ms=max(result.end_ms, result.start_ms),
            )
        )

    def end(self, reason: EndReason) -> None:
        """Record the end of the call and stop accepting work."""
        self._queue.put_nowait(_End(reason, datetime.now(UTC)))
        self._queue.put_nowait(None)

    async def run(self) -> None:
        """Write until ``end``; then retry once whatever failed on the way."""
        while (item := await self._queue.get()) is not None:
            if not await self._write(item, first_try=True):
                self._failed.append(item)
        retry, self._failed = self._failed, []
        for item in retry:
            await self._write(item, first_try=False)

    async def _write(self, item: _Item, *, first_try: bool) -> bool:
        try:
            if isinstance(item, CallInfo):
                await self._store.start_call(item)
            elif isinstance(item, TurnRecord):
                await self._store.add_turn(self._call_sid, item)
            else:
                await self._store.end_call(self._call_sid, item.reason, item.at)
        except StorageError:
            logger.exception(
                "call %s: transcript write failed (%s)",
                self._call_sid,
                "will retry at call end" if first_try else "giving up",
            )
            return False
        return True
