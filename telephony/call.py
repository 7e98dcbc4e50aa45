"""One phone call bridged to one live agent session.

Two directions run in one ``asyncio.TaskGroup``:

- up (``_uplink``): Twilio media (8 kHz mu-law) -> 16 kHz PCM -> the model, over the call's
  ``ModelLink`` (the model's socket itself, or ADK's queue); marks echoed by Twilio update the
  playback truth; ``stop`` or a closed socket ends the call.
  The caller's own audio is watched for the onset of speech: a caller who talks over the rest
  of a reply the model has finished generating is a barge-in the model may never report.
- down (``_downlink``): ADK's ``run_live`` runs the agent (``LiveAgent``, which starts a fresh
  session seeded with the conversation so far if ADK cannot resume one). Every message of the
  model reaches ``_on_model`` as one ``ModelMessage``, by one of two roads: the link's tap reads
  it off the model's socket first, inside ADK's receive task, in wire order (the usual road);
  or, when no tap is attached, ADK's own event is translated into the same value.
  ``_on_model`` plays the agent's voice (``AgentVoice``: 8 kHz mu-law ``media`` + a ``mark``
  per chunk), sends ``clear`` first when the model is interrupted, and turns transcriptions
  into transcript turns.

A third task watches the model (``model_watch.py``): a model that stops answering without
closing its connection fails the call like one that closes it.

Whichever task finishes first ends the call: the model session is closed, the other tasks are
cancelled and awaited, open turns are stored with what was heard, and the call's end reason is
recorded. When the model failed, Twilio's socket is closed at once (with 1011: Twilio then runs
the fallback after ``</Connect>``), before the model's connection is torn down.
"""

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from google.adk.agents import RunConfig
from google.adk.runners import Runner
from starlette.websockets import WebSocketDisconnect

from telephony.agent_voice import AgentVoice
from telephony.audio import TWILIO_RATE, MulawToPcm16k
from telephony.audio.speech import SpeechOnset
from telephony.background import release
from telephony.call_control import CallController
from telephony.call_stats import CallStats
from telephony.caller_turns import CallerTurns, Utterance, utterance_ends
from telephony.closecodes import CloseCode
from telephony.errors import ModelUnavailableError, ProtocolError
from telephony.inbound import Inbound
from telephony.keypad_input import KeypadInput
from telephony.live.agent import GREETING_CUE, LiveAgent, conversation_cue
from telephony.live.internals import Internals
from telephony.live.wire import ModelMessage
from telephony.model_watch import CHECK_INTERVAL_S, FIRST_WORD_S, NUDGE_CUE, ModelWatch
from telephony.playback import AgentTurnResult
from telephony.ports import CallIdentity, CallLimits, TwilioSocket
from telephony.recording import HeardRecorder, RecordingInfo
from telephony.routing import Keypad, SilencePolicy
from telephony.silence_watch import SilenceWatch
from telephony.transcript_writer import TranscriptWriter
from telephony.transcripts import EndReason, Speaker, TurnRecord
from telephony.twilio.protocol import Dtmf, Mark, Media, Stop

logger = logging.getLogger(__name__)

__all__ = ["GREETING_CUE", "Call"]

WIND_UP_CUE = (
    "[This line has to close now. In one short sentence, tell the caller that you are passing "
    "them on and say goodbye. Do not ask anything.]"
)
"""What the agent is told when the process winds its calls up (the end of a drain)."""

WIND_UP_QUIET_S = 1.5
"""After its closing line, how long the agent must stay quiet before a wound-up call ends."""

_CLOSE_CODES = {
    EndReason.MODEL_ERROR: CloseCode.INTERNAL_ERROR,
    EndReason.INTERNAL_ERROR: CloseCode.INTERNAL_ERROR,
    EndReason.PROTOCOL_ERROR: CloseCode.POLICY_VIOLATION,
}


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
        limits: CallLimits,
        *,
        internals: Internals,
        direct_line: bool = True,
        clock: Callable[[], float] = time.monotonic,
        on_barge_in: Callable[[float], None] | None = None,
        recording_path: Path | None = None,
        opening: str | None = GREETING_CUE,
        control: CallController | None = None,
        keypad: Keypad | None = None,
        silence: SilencePolicy | None = None,
        on_reply: Callable[[float], None] | None = None,
        elapsed_ms: int = 0,
    ) -> None:
        self.identity = identity
        self._opening = opening
        """The first cue to the agent (the route's greeting); None: the call listens first (an
        outbound call)."""
        self.hold_caller_audio = False
        """Keep the caller's audio from the model (while an outbound call listens first)."""
        self.on_caller_audio: Callable[[bytes], None] | None = None
        """Told of every frame of the caller's audio (mu-law), e.g. to detect voicemail."""
        self.turn_observers: list[Callable[[AgentTurnResult], None]] = []
        """Told of every settled agent turn (an outbound call hangs up after its message,
        Twilio's recording starts after the first)."""
        self.digit_observers: list[Callable[[str], None]] = []
        """Told of every keypad digit (recordings pause while digits are typed)."""
        self.stats = CallStats()
        self.end_reason: EndReason | None = None
        self._socket = socket
        self._transcript = transcript
        self._clock = clock
        self._started = clock()
        self._elapsed_at_start = elapsed_ms
        """The call's time before this stream (a caller back from a transfer): transcript
        times run on from it."""
        self._said: list[tuple[str, str]] = []
        """What was said, for a fresh live session: (who, words heard)."""
        self._recorder = (
            HeardRecorder(identity.call_sid, recording_path, self._elapsed_ms)
            if recording_path is not None
            else None
        )
        self.recording: RecordingInfo | None = None
        """What the caller heard, as recorded (when asked for), once the call has ended."""
        self._voice = AgentVoice(
            identity.stream_sid,
            self._send,
            self._agent_said,
            self._now_ms,
            clock,
            on_barge_in,
            recorder=self._recorder,
        )
        self._watch = ModelWatch(self._started)
        if opening is None:  # the model is not expected to speak before its first cue
            self._watch.first_word_s = math.inf
        self._agent = LiveAgent(
            runner,
            run_config,
            user_id=identity.user_id,
            session_id=identity.call_sid,
            internals=internals,
            direct_line=direct_line,
            on_message=self._on_model,
            on_receipt=self._model_heard,
            on_ended=self._model_connection_ended,
        )
        self._up = MulawToPcm16k()
        self._speech = SpeechOnset()
        self._inbound = Inbound(
            socket, identity.call_sid, identity.stream_sid, limits, self.stats, clock
        )
        self._caller = CallerTurns()
        self._keypad = KeypadInput(keypad or Keypad(), self._agent.say, self._keypad_turn, clock)
        self._control = control
        self._silence = SilenceWatch(
            silence or SilencePolicy(),
            self._voice,
            lambda: self._speech.speaking or self._keypad.typing,
            self._agent.say,
            control,
            clock,
        )
        if control is not None:
            control.bind(self._voice, self._agent.say, self._now_ms)
        self._socket_closed = False
        self._closing: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._on_reply = on_reply
        """When the caller last stopped speaking, until the agent's next audio went out."""
        self._closing_line: tuple[int, asyncio.Event] | None = None
        """Set by ``wind_up``: when the agent was asked for its closing line, and its event."""

    # -- the call's life ----------------------------------------------------------------------

    async def run(self) -> EndReason:
        """Run the call to its end and return why it ended. Never raises for call failures."""
        if self._opening is not None:
            self._agent.say(self._opening)
        try:
            async with asyncio.TaskGroup() as group:
                self._tasks = [
                    group.create_task(self._direction(self._uplink, "up")),
                    group.create_task(self._direction(self._downlink, "down")),
                    group.create_task(self._direction(self._watch_model, "watch")),
                ]
                if self._silence.needed:  # re-prompts, the longest call (silence_watch.py)
                    self._tasks.append(
                        group.create_task(self._direction(self._silence.run, "quiet"))
                    )
        except* Exception:
            logger.exception("call %s: bridge failed", self.identity.call_sid)
            self._end(EndReason.INTERNAL_ERROR)
        finally:
            self._agent.close()
            self._keypad.close()
            if self._control is not None:
                self._control.close()
            self._count_link()
            self._store_caller_turn(self._now_ms(), close=True)  # what was not stored yet
            self._voice.finish()
            if self._recorder is not None:
                self.recording = self._recorder.close()
            reason = self.end_reason or EndReason.SERVER_SHUTDOWN
            self._transcript.end(reason)
            if self._closing is not None:
                await self._closing
            await self._close_socket(_CLOSE_CODES.get(reason, CloseCode.NORMAL), reason)
            release(self._tasks)  # their frames would keep this call alive (background.py)
            self._tasks = []
        return reason

    async def wind_up(self, grace_s: float) -> None:
        """End the call for a shutdown without dead air: the agent says one short closing line,
        which is given ``grace_s`` to be generated and heard, then the stream closes normally
        and Twilio runs what follows ``</Connect>`` (the fallback). Returns when asked to end."""
        if self.end_reason is not None:
            return
        self._closing_line = (self._now_ms(), asyncio.Event())
        self._agent.say(WIND_UP_CUE)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_s):
                await self._closing_line[1].wait()
                await self._until_quiet(WIND_UP_QUIET_S)
        logger.info("call %s: wound up for a shutdown", self.identity.call_sid)
        self._end(EndReason.SERVER_SHUTDOWN)

    async def _until_quiet(self, quiet_s: float) -> None:
        """Until the agent has been idle for ``quiet_s``: a model may go on after a first turn
        (a spoken preamble, then a tool call and its answer)."""
        voice = self._voice
        while True:
            if not voice.idle:
                await voice.changed()
                continue
            try:
                async with asyncio.timeout(quiet_s):
                    await voice.changed()
            except TimeoutError:
                return

    async def _direction(self, work: Callable[[], Awaitable[EndReason]], name: str) -> None:
        """Run one direction; when it ends, for whatever reason, end the call. (``work`` is
        called here, so a task cancelled before it starts leaves no coroutine behind.)"""
        try:
            reason = await work()
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
            if reason is EndReason.MODEL_ERROR:
                # The caller goes to the fallback now, not after the model's teardown (closing
                # a connection to a frozen server takes its full close timeout).
                code = _CLOSE_CODES[reason]
                self._closing = asyncio.create_task(self._close_socket(code, reason))
        self._agent.close()
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()

    async def _close_socket(self, code: CloseCode, reason: EndReason) -> None:
        if self._socket_closed:
            return
        self._socket_closed = True
        with contextlib.suppress(Exception):  # the socket may be gone already; nothing to save
            await self._socket.close(code, reason.value)

    async def _watch_model(self) -> EndReason:
        while True:
            await asyncio.sleep(CHECK_INTERVAL_S)
            now = self._clock()
            if (failure := self._watch.failure(now)) is not None:
                raise ModelUnavailableError(failure, retryable=True)
            if self._watch.nudge_due(now, playing=self._voice.playing):
                logger.info(
                    "call %s: the model has not answered; nudging it", self.identity.call_sid
                )
                self.stats.model_nudges += 1
                self._agent.say(NUDGE_CUE)

    def cue(self, text: str) -> None:
        """A text turn for the agent, which answers it (the greeting of a call that listened
        first). The model must then speak within the watch's first-word bound."""
        if self._watch.first_word_s == math.inf:
            self._watch.started = self._clock()
            self._watch.first_word_s = FIRST_WORD_S
        self._agent.say(text)

    def ending(self, reason: EndReason) -> None:
        """The call is being ended from outside (a hang-up over REST): this is why, whatever
        the ``stop`` that follows says."""
        if self.end_reason is None:
            self.end_reason = reason

    def _model_heard(self) -> None:
        self._watch.heard(self._clock())

    def _count_link(self) -> None:
        self.stats.media_out = self._voice.media_out
        self.stats.clears = self._voice.clears
        link = self._agent.link
        self.stats.audio_direct = link.sent_direct
        self.stats.audio_queued = link.sent_queued
        self.stats.frames_dropped = link.dropped
        self.stats.model_connections = link.connections
        self.stats.model_connect_s = list(link.connect_s)
        self.stats.fresh_sessions = self._agent.fresh_sessions

    def _now_ms(self) -> int:
        return int((self._clock() - self._started) * 1000) + self._elapsed_at_start

    def _elapsed_ms(self) -> float:
        return (self._clock() - self._started) * 1000

    # -- up: Twilio -> model --------------------------------------------------------------------

    async def _uplink(self) -> EndReason:
        async for event in self._inbound.events():
            if isinstance(event, Media):
                await self._caller_audio(event.payload)
                if self._recorder is not None:
                    self._recorder.caller(event.payload, event.timestamp_ms)
                if self.on_caller_audio is not None:
                    self.on_caller_audio(event.payload)
            elif isinstance(event, Mark):
                self._voice.echoed(event.name)
            elif isinstance(event, Stop):
                # After a transfer or the agent's hang-up, Twilio's stop is their doing.
                control = self._control
                return (control.leaving if control else None) or EndReason.CALLER_HUNG_UP
            elif isinstance(event, Dtmf):
                for observer in self.digit_observers:
                    observer(event.digit)
                if self._recorder is not None:
                    self._recorder.digit()
                if self._voice.playing:  # a key stops the agent, as speech does
                    await self._voice.cut_off()
                self._keypad.press(event.digit)
            else:
                self.stats.unknown_events += 1
        self._socket_closed = True
        return EndReason.CONNECTION_LOST

    async def _caller_audio(self, ulaw: bytes) -> None:
        """One frame of the caller's voice. One frame is one message to the model: batching
        frames was measured to save no CPU and to add 10 ms of median latency."""
        self.stats.frames_in += 1
        pcm = self._up.convert(ulaw)
        if self.hold_caller_audio:
            return
        await self._agent.send_audio(pcm)
        voice = self._voice
        speech = self._speech
        was_speaking = speech.speaking
        onset = speech.feed(pcm, len(ulaw) * 1000 / TWILIO_RATE, voice.echo_dbfs)
        if onset:
            self._caller.caller_spoke()
        if was_speaking and not speech.speaking:
            # A reply still playing is not an answer to this: only a quiet line is timed.
            self._watch.caller_stopped(self._clock(), speech.spoke_ms, quiet_line=not voice.playing)
        if onset and voice.playing and not voice.generating:
            # The caller talks over the rest of a reply the model has finished generating: the
            # model may not interrupt itself for that, so the call stops playback itself.
            self.stats.local_barge_ins += 1
            await voice.barge_in()

    # -- down: model -> Twilio ------------------------------------------------------------------

    async def _downlink(self) -> EndReason:
        await self._agent.run(self._conversation_so_far)
        return EndReason.MODEL_ERROR  # the model ended the session: not how a call ends

    def _conversation_so_far(self) -> str | None:
        closed = self._caller.closed_text
        waiting = [("Caller", closed)] if closed else []
        playing = [("You", text) for text in self._voice.unsettled()]
        return conversation_cue(self._said + waiting + playing)

    async def _on_model(self, message: ModelMessage) -> None:
        """Act on one message of the model, in the order its parts must take effect.

        A caller who is gone ends the call; nothing is raised (this may run in ADK's task).
        """
        try:
            voice = self._voice
            if message.interrupted:
                # The caller's words the model was answering come before the reply they cut
                # short, as ADK orders them (a queue put: `clear` still leaves at once).
                self._store_caller_turn(self._now_ms(), close=True)
                await voice.barge_in()
            if message.audio:
                waited = self._watch.spoke(self._clock())
                if waited is not None and self._on_reply is not None:
                    self._on_reply(waited)
            for chunk in message.audio:
                await voice.play(chunk)
            if message.output_text:
                voice.text(message.output_text)
                self._transcript.agent_partial(message.output_text)
            whole = self._agent.link.final_input_transcripts
            if message.input_text:
                now_ms = self._now_ms()
                begun = self._caller.heard(message.input_text, now_ms, may_amend=not whole)
                if begun is not None:
                    self._store_utterance(begun)
            if utterance_ends(message, whole_transcripts=whole):
                self._caller.close(self._now_ms())  # stored with the reply (caller_turns.py)
            if message.generation_complete:
                voice.generation_complete()
            if message.turn_complete:
                await voice.turn_complete()
        except _CallerGone:
            self._end(EndReason.CONNECTION_LOST)

    async def _model_connection_ended(self) -> None:
        """A connection of the model ended (``goAway``, a drop, a hand-over to another agent):
        what it was saying is a finished turn, and the next connection starts a new one."""
        try:
            self._caller.close(self._now_ms())
            await self._voice.turn_complete()
        except _CallerGone:
            self._end(EndReason.CONNECTION_LOST)

    def _store_caller_turn(self, now_ms: int, *, close: bool = False) -> None:
        if (said := self._caller.take(now_ms, close=close)) is not None:
            self._store_utterance(said)

    def _store_utterance(self, said: Utterance) -> None:
        self._said.append(("Caller", said.text))
        self._transcript.caller_turn(said)

    def _keypad_turn(self, shown: str) -> None:
        """A keypad entry in the transcript (its digits masked unless the route allows them)."""
        now = self._now_ms()
        self._transcript.turn(
            TurnRecord(speaker=Speaker.CALLER, text=shown, start_ms=now, end_ms=now)
        )

    def _agent_said(self, result: AgentTurnResult) -> None:
        self._store_caller_turn(self._now_ms())  # the words this turn answered come first
        if result.heard_text:
            self._said.append(("You", result.heard_text))
        self._transcript.agent_turn(result)
        for observer in self.turn_observers:
            observer(result)
        closing = self._closing_line
        if closing is not None and result.start_ms >= closing[0] and not result.interrupted:
            closing[1].set()  # the closing line has been heard to its end

    async def _send(self, text: str) -> None:
        try:
            await self._socket.send_text(text)
        except (OSError, RuntimeError, WebSocketDisconnect) as exc:
            raise _CallerGone from exc
