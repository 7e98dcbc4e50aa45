"""One phone call bridged to one live agent session.

Two directions run in one ``asyncio.TaskGroup``:

- up: Twilio media (8 kHz mu-law) -> 16 kHz PCM -> ``LiveRequestQueue.send_realtime``; marks
  echoed by Twilio update the playback truth; ``stop`` or a closed socket ends the call.
- down: ``runner.run_live`` events -> agent audio (24 kHz PCM) -> 8 kHz mu-law ``media`` + a
  ``mark`` per chunk; ``interrupted`` -> ``clear`` first, then the playback truth settles what
  the caller heard; transcriptions -> transcript turns.

Whichever direction finishes first ends the call: the model session is closed, the other
direction is cancelled and awaited, open turns are stored with what was heard, and the call's
end reason is recorded.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from google.adk.agents import LiveRequestQueue, RunConfig
from google.adk.events import Event
from google.adk.runners import Runner
from google.genai import errors as genai_errors
from google.genai import types
from starlette.websockets import WebSocketDisconnect

from telephony.audio import TWILIO_RATE, MulawToPcm16k, Pcm24kToMulaw
from telephony.errors import ModelUnavailableError, ProtocolError
from telephony.live_socket import ModelLink
from telephony.live_wire import ServerSignals
from telephony.playback import AgentTurnResult, Playback
from telephony.transcript_writer import TranscriptWriter
from telephony.transcripts import EndReason, Speaker, TurnRecord
from telephony.twilio.protocol import Dtmf, Mark, Media, OutboundEncoder, Stop, parse_inbound

logger = logging.getLogger(__name__)

GREETING_CUE = "[The phone call has just been connected. Greet the caller.]"
CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008
CLOSE_INTERNAL_ERROR = 1011


class TwilioSocket(Protocol):
    """The part of a WebSocket the call uses (Starlette's fits)."""

    async def receive(self) -> MutableMapping[str, Any]: ...

    async def send_text(self, data: str) -> None: ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class CallIdentity:
    call_sid: str
    stream_sid: str
    user_id: str
    """The ADK user id: a pseudonym of the caller, never the phone number."""


@dataclass(slots=True)
class CallStats:
    """Counters of one call, for logs, tests and benchmarks."""

    frames_in: int = 0
    audio_direct: int = 0
    """Caller audio messages written straight to the model's socket (see live_socket.py)."""
    audio_queued: int = 0
    """Caller audio messages that went through ADK's queue."""
    frames_dropped: int = 0
    bad_messages: dict[str, int] = field(default_factory=dict)
    unknown_events: int = 0
    media_out: int = 0
    clears: int = 0

    @property
    def bad_total(self) -> int:
        return sum(self.bad_messages.values())

    def add(self, other: "CallStats") -> None:
        """Add another call's counters to these (for process totals)."""
        for name in _COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for kind, count in other.bad_messages.items():
            self.bad_messages[kind] = self.bad_messages.get(kind, 0) + count

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in _COUNTERS} | {"bad_messages": self.bad_total}


_COUNTERS = tuple(name for name in CallStats.__dataclass_fields__ if name != "bad_messages")


class _CallerGone(Exception):
    """Sending to Twilio failed because the socket is closed."""


class Call:
    """Bridges one Twilio media stream to one ``run_live`` session."""

    def __init__(
        self,
        identity: CallIdentity,
        socket: TwilioSocket,
        runner: Runner,
        run_config: RunConfig,
        transcript: TranscriptWriter,
        *,
        max_message_bytes: int,
        bad_message_limit: int,
        clock: Callable[[], float] = time.monotonic,
        on_barge_in: Callable[[float], None] | None = None,
        direct_line: bool = True,
    ) -> None:
        self.identity = identity
        self.stats = CallStats()
        self.end_reason: EndReason | None = None
        self._socket = socket
        self._runner = runner
        self._run_config = run_config
        self._transcript = transcript
        self._max_message_bytes = max_message_bytes
        self._bad_message_limit = bad_message_limit
        self._clock = clock
        self._on_barge_in = on_barge_in
        self._started = clock()
        self._encoder = OutboundEncoder(identity.stream_sid)
        self._queue = LiveRequestQueue()
        self._link = ModelLink(self._queue, self._from_model, enabled=direct_line)
        self._up = MulawToPcm16k()
        self._down = Pcm24kToMulaw()
        self._playback = Playback()
        self._caller_turn_start: int | None = None
        self._caller_turn_end: int | None = None
        self._caller_fragments: list[str] = []
        self._socket_closed = False
        self._tasks: list[asyncio.Task[None]] = []

    # -- the call's life ----------------------------------------------------------------------

    async def run(self) -> EndReason:
        """Run the call to its end and return why it ended. Never raises for call failures."""
        self._queue.send_content(types.Content(role="user", parts=[types.Part(text=GREETING_CUE)]))
        try:
            async with asyncio.TaskGroup() as group:
                self._tasks = [
                    group.create_task(self._direction(self._uplink(), "up")),
                    group.create_task(self._direction(self._downlink(), "down")),
                ]
        except* Exception:
            logger.exception("call %s: bridge failed", self.identity.call_sid)
            self._end(EndReason.INTERNAL_ERROR)
        finally:
            self._queue.close()
            self.stats.audio_direct = self._link.sent_direct
            self.stats.audio_queued = self._link.sent_queued
            self.stats.frames_dropped = self._link.dropped
            now = self._now_ms()
            self._store_caller_turn("", now)  # what the caller said that the model had not closed
            for result in self._playback.finish(now):
                self._store_agent_turn(result)
            reason = self.end_reason or EndReason.SERVER_SHUTDOWN
            self._transcript.end(reason)
            await self._close_socket(reason)
        return reason

    async def _direction(self, work: Coroutine[Any, Any, EndReason], name: str) -> None:
        """Run one direction; when it ends, for whatever reason, end the call."""
        try:
            reason = await work
        except ModelUnavailableError:
            logger.exception("call %s: model session failed", self.identity.call_sid)
            reason = EndReason.MODEL_ERROR
        except ProtocolError as exc:
            logger.warning("call %s: closing stream: %s", self.identity.call_sid, exc)
            reason = EndReason.PROTOCOL_ERROR
        except _CallerGone:
            reason = EndReason.CONNECTION_LOST
        logger.debug("call %s: %s direction ended (%s)", self.identity.call_sid, name, reason)
        self._end(reason)

    def _end(self, reason: EndReason) -> None:
        if self.end_reason is None:
            self.end_reason = reason
        self._queue.close()
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()

    async def _close_socket(self, reason: EndReason) -> None:
        if self._socket_closed:
            return
        self._socket_closed = True
        code = {
            EndReason.MODEL_ERROR: CLOSE_INTERNAL_ERROR,
            EndReason.INTERNAL_ERROR: CLOSE_INTERNAL_ERROR,
            EndReason.PROTOCOL_ERROR: CLOSE_POLICY,
        }.get(reason, CLOSE_NORMAL)
        with contextlib.suppress(Exception):  # the socket may be gone already; nothing to save
            await self._socket.close(code, reason.value)

    def _now_ms(self) -> int:
        return int((self._clock() - self._started) * 1000)

    # -- up: Twilio -> model --------------------------------------------------------------------

    async def _uplink(self) -> EndReason:
        receive = self._socket.receive
        while True:
            message = await receive()
            text = message.get("text")
            if text is None:
                if message["type"] == "websocket.disconnect":
                    self._socket_closed = True
                    return EndReason.CONNECTION_LOST
                self._bad("binary frame")
                continue
            if len(text) > self._max_message_bytes:
                self._bad("oversize message")
                continue
            try:
                event = parse_inbound(text)
            except ProtocolError as exc:
                self._bad(str(exc))
                continue
            if isinstance(event, Media):
                if event.stream_sid != self.identity.stream_sid:
                    self._bad("media for another stream")
                    continue
                await self._caller_audio(event.payload)
            elif isinstance(event, Mark):
                self._mark_echoed(event.name)
            elif isinstance(event, Stop):
                return EndReason.CALLER_HUNG_UP
            elif isinstance(event, Dtmf):
                self._dtmf(event.digit)
            else:
                self.stats.unknown_events += 1

    async def _caller_audio(self, ulaw: bytes) -> None:
        """One Twilio frame, converted, is one message to the model: batching frames was
        measured to save no CPU and to add 10 ms of median latency."""
        self.stats.frames_in += 1
        await self._link.send_audio(self._up.convert(ulaw))

    def _mark_echoed(self, name: str) -> None:
        result = self._playback.echoed(name, self._now_ms())
        if result is not None:
            self._store_agent_turn(result)

    def _dtmf(self, digit: str) -> None:
        note = f"[The caller pressed the {digit} key on the phone keypad.]"
        self._queue.send_content(types.Content(role="user", parts=[types.Part(text=note)]))

    def _bad(self, kind: str) -> None:
        counts = self.stats.bad_messages
        counts[kind] = counts.get(kind, 0) + 1
        if counts[kind] == 1:
            logger.warning("call %s: dropped a bad message (%s)", self.identity.call_sid, kind)
        if self.stats.bad_total >= self._bad_message_limit:
            raise ProtocolError(f"{self.stats.bad_total} bad messages")

    # -- down: model -> Twilio ------------------------------------------------------------------

    async def _downlink(self) -> EndReason:
        events = self._runner.run_live(
            user_id=self.identity.user_id,
            session_id=self.identity.call_sid,
            live_request_queue=self._queue,
            run_config=self._run_config,
        )
        try:
            with self._link.bound():  # ADK's connections inherit it: see live_socket.py
                async with contextlib.aclosing(events):
                    async for event in events:
                        await self._agent_event(event)
        except genai_errors.APIError as exc:
            raise ModelUnavailableError(
                f"live session closed with code {exc.code}", retryable=exc.code in (1011, 1013)
            ) from exc
        if not self._queue.closed:
            logger.warning("call %s: the model ended the live session", self.identity.call_sid)
        return EndReason.MODEL_ERROR

    async def _agent_event(self, event: Event) -> None:
        """An ADK event. With the direct line (``live_socket``) the call has acted on the same
        message already, in wire order; ADK's events then only need draining."""
        if self._link.tapped:
            return
        if event.interrupted:
            await self._barge_in()
            return
        if event.content is not None and event.content.parts:
            for part in event.content.parts:
                blob = part.inline_data
                if blob is not None and blob.data and (blob.mime_type or "").startswith("audio/"):
                    await self._play(self._down.convert(blob.data))
        if (out := event.output_transcription) is not None and out.text:
            self._playback.text(out.text, final=bool(out.finished))
        if (heard := event.input_transcription) is not None and heard.text:
            await self._caller_transcription(heard.text, finished=bool(heard.finished))
        if event.turn_complete:
            await self._agent_turn_generated()

    async def _from_model(self, signals: ServerSignals) -> None:
        """A message from the model, read off its socket before ADK sees it (live_socket.py).

        Runs inside ADK's receive task: a caller who is gone ends the call, nothing is raised.
        """
        try:
            if signals.interrupted:
                # The caller's words the model was answering come before the reply they cut
                # short, as ADK orders them (a queue put: `clear` still leaves at once).
                self._store_caller_turn("", self._now_ms())
                await self._barge_in()
            for chunk in signals.audio:
                await self._play(self._down.convert(chunk))
            if signals.output_text:
                self._playback.text(signals.output_text)
            if signals.input_text:
                await self._caller_transcription(signals.input_text, finished=False)
            # When ADK would close the caller's utterance (its flush rules, kept the same).
            if (
                signals.input_finished
                or (signals.input_text and self._link.final_input_transcripts)
                or signals.interrupted
                or signals.generation_complete
                or signals.turn_complete
            ):
                self._store_caller_turn("", self._now_ms())
            if signals.turn_complete:
                await self._agent_turn_generated()
        except _CallerGone:
            self._end(EndReason.CONNECTION_LOST)

    async def _agent_turn_generated(self) -> None:
        """The model finished its turn: play the filter's tail, then mark the turn's end."""
        await self._play(self._down.flush())
        mark, result = self._playback.generated(self._now_ms())
        if mark is not None:
            await self._send(self._encoder.mark(mark))
        if result is not None:
            self._store_agent_turn(result)

    async def _play(self, ulaw: bytes) -> None:
        if not ulaw:
            return
        mark = self._playback.audio(len(ulaw) * 1000 / TWILIO_RATE, self._now_ms())
        await self._send(self._encoder.media(ulaw))
        await self._send(self._encoder.mark(mark))
        self.stats.media_out += 1

    async def _barge_in(self) -> None:
        """The caller talks over the agent: stop playback first, then settle the turn."""
        if self._playback.playing:
            began = self._clock()
            await self._send(self._encoder.clear())
            self.stats.clears += 1
            if self._on_barge_in is not None:
                self._on_barge_in((self._clock() - began) * 1000)
        self._down = Pcm24kToMulaw()  # forget the cut-off reply's filter state
        for result in self._playback.clear(self._now_ms()):
            self._store_agent_turn(result)

    async def _caller_transcription(self, text: str, *, finished: bool) -> None:
        now = self._now_ms()
        if self._caller_turn_start is None:
            self._caller_turn_start = now
            if not finished and self._playback.playing and not self._playback.generating:
                # The caller started talking while the tail of a reply the model has already
                # finished is still playing; the model will not send `interrupted` for it.
                await self._barge_in()
        if not finished:
            self._caller_fragments.append(text)
            self._caller_turn_end = now
            return
        self._store_caller_turn(text, now)

    def _store_caller_turn(self, text: str, now_ms: int) -> None:
        """Store the caller's utterance. With 2.5-style models ADK delivers the finished text only
        when the model's reply ends; the utterance itself ended with its last fragment."""
        if self._caller_turn_start is None:
            return
        start, self._caller_turn_start = self._caller_turn_start, None
        end, self._caller_turn_end = self._caller_turn_end or now_ms, None
        text = text.strip() or "".join(self._caller_fragments).strip()
        self._caller_fragments.clear()
        if text:
            self._transcript.turn(
                TurnRecord(speaker=Speaker.CALLER, text=text, start_ms=start, end_ms=end)
            )

    def _store_agent_turn(self, result: AgentTurnResult) -> None:
        self._transcript.turn(
            TurnRecord(
                speaker=Speaker.AGENT,
                text=result.text,
                heard_text=result.heard_text,
                interrupted=result.interrupted,
                start_ms=result.start_ms,
                end_ms=max(result.end_ms, result.start_ms),
            )
        )

    async def _send(self, text: str) -> None:
        try:
            await self._socket.send_text(text)
        except (OSError, RuntimeError, WebSocketDisconnect) as exc:
            raise _CallerGone from exc
