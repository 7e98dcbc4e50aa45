"""Twilio's end of one bidirectional media stream, over a real WebSocket.

Opens the stream URL with a signed upgrade, sends ``connected`` and ``start``, then 20 ms media
frames on an absolute schedule (slot k is due at ``start + k * 20 ms``; a late slot is sent at
once rather than shifting the ones after it). Outbound messages go through the strict protocol
check into the playback buffer; due marks are echoed as the buffer plays. Three tasks in one task
group: frames out, messages in, playback.

With a :class:`~twins.twilio.network.Network` that is not ideal, each direction goes through a
:class:`~twins.twilio.network.DelayLine` (two more tasks): what Twilio sends reaches the server
late, and what the server sends (the close of the socket included) reaches the playback buffer
late, in order. With an :class:`~twins.twilio.echo.Echo`, each caller frame carries what the
caller heard ``delay_ms`` earlier, attenuated.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import logging
from collections.abc import Callable

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from twins.twilio import protocol
from twins.twilio.caller import Caller, Tick
from twins.twilio.clock import AsyncClock
from twins.twilio.echo import mix_echo
from twins.twilio.inbound import Inbound
from twins.twilio.playout import Playout
from twins.twilio.protocol import FRAME_BYTES, FRAME_MS, SAMPLE_RATE
from twins.twilio.result import EndReason
from twins.twilio.timeline import EventKind, Timeline
from twins.twilio.wire import StreamOutcome, StreamSetup, StreamWire, open_socket

__all__ = ["MediaStream", "StreamOutcome", "StreamSetup"]

logger = logging.getLogger(__name__)

USER_AGENT = "Twilio.TmeWs/1.0"
FRAME_S = FRAME_MS / 1000
SILENT_FRAME = b"\xff" * FRAME_BYTES


class MediaStream:
    """One media stream session; :meth:`run` returns when the stream has ended."""

    def __init__(
        self,
        setup: StreamSetup,
        caller: Caller,
        timeline: Timeline,
        clock: AsyncClock,
        *,
        on_start: Callable[[], None] | None = None,
    ) -> None:
        self.setup = setup
        self._on_start = on_start
        self._caller = caller
        self._timeline = timeline
        self._clock = clock
        self.inbound: Inbound | None = None
        self.said = bytearray()
        self._wire: StreamWire | None = None
        self._wake = asyncio.Event()
        self._asleep = False
        self._asleep_until: float | None = None
        self._ended = asyncio.Event()
        self._end_reason: EndReason | None = None
        echo = setup.echo
        self._echo_samples = 0 if echo is None else round(echo.delay_ms * SAMPLE_RATE / 1000)

    def request_end(self, reason: EndReason) -> None:
        """End the stream from Twilio's side (a hang-up or a REST update): ``stop``, then close."""
        if self._end_reason is None:
            self._timeline.add(self._clock.now(), EventKind.END_REQUESTED, reason=str(reason))
        self._finish(reason)

    def _finish(self, reason: EndReason) -> None:
        if self._end_reason is None:
            self._end_reason = reason
        self._ended.set()

    async def run(self) -> StreamOutcome:
        setup = self.setup
        opened = await open_socket(setup, self._timeline, self._clock)
        if isinstance(opened, StreamOutcome):
            return opened
        ws = opened
        self._wire = StreamWire(
            ws,
            self._clock,
            setup.network,
            on_message=self._handle,
            on_closed=lambda: self._finish(EndReason.SERVER_CLOSED),
        )
        try:
            return await self._converse(ws, self._wire)
        finally:
            await ws.close()

    async def _converse(self, ws: ClientConnection, wire: StreamWire) -> StreamOutcome:
        setup = self.setup
        try:
            await wire.send(lambda _: protocol.connected_message(), numbered=False)
            await wire.send(
                lambda seq: protocol.start_message(
                    sequence_number=seq,
                    stream_sid=setup.stream_sid,
                    account_sid=setup.account_sid,
                    call_sid=setup.call_sid,
                    custom_parameters=dict(setup.custom_parameters),
                )
            )
        except ConnectionClosed:
            return self._outcome(ws, EndReason.SERVER_CLOSED)
        t0 = self._clock.now()
        self._timeline.add(t0, EventKind.START_SENT, stream_sid=setup.stream_sid)
        logger.info("media stream started for %s", setup.call_sid)
        playout = Playout(self._clock, origin=t0)
        self.inbound = inbound = Inbound(
            stream_sid=setup.stream_sid,
            call_sid=setup.call_sid,
            playout=playout,
            timeline=self._timeline,
            clock=self._clock,
        )
        if self._on_start is not None:
            self._on_start()
        if self._end_reason is None:
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(self._send_frames(t0, playout)),
                    group.create_task(self._play(inbound)),
                ]
                tasks += [group.create_task(task) for task in wire.tasks()]
                await self._ended.wait()
                for task in tasks:
                    task.cancel()
        inbound.record(playout.finish())
        wire.cut()
        reason = self._end_reason or EndReason.SERVER_CLOSED
        if reason.sends_stop:
            try:
                await self._send(
                    lambda seq: protocol.stop_message(
                        sequence_number=seq,
                        stream_sid=setup.stream_sid,
                        account_sid=setup.account_sid,
                        call_sid=setup.call_sid,
                    )
                )
                self._timeline.add(self._clock.now(), EventKind.STOP_SENT, reason=str(reason))
                await wire.flush()  # over a delayed network: in-flight messages, then stop
            except ConnectionClosed:
                logger.info("stream of %s closed before stop could be sent", setup.call_sid)
            await ws.close()
        return self._outcome(ws, reason)

    def _outcome(self, ws: ClientConnection, reason: EndReason) -> StreamOutcome:
        self._timeline.add(
            self._clock.now(),
            EventKind.SOCKET_CLOSED,
            code=ws.close_code,
            reason=ws.close_reason,
        )
        logger.info("media stream of %s ended: %s", self.setup.call_sid, reason)
        return StreamOutcome(reason, ws.close_code, ws.close_reason)

    async def _send(self, build: Callable[[int], str]) -> int:
        """Send one message numbered with the stream's next sequence number; return the number."""
        if self._wire is None:
            raise RuntimeError("the stream is not connected")
        return await self._wire.send(build)

    # --- frames out

    async def _send_frames(self, t0: float, playout: Playout) -> None:
        setup = self.setup
        last_slot = round(setup.max_duration_s / FRAME_S)
        slot = 0
        try:
            while True:
                due = t0 + slot * FRAME_S
                await self._clock.sleep_until(due)
                if slot >= last_slot:
                    self.request_end(EndReason.TIMEOUT)
                    return
                tick = self._caller.tick(due, playout.state())
                self._record_steps(due, tick)
                for digit in tick.dtmf:
                    await self._send(
                        functools.partial(_dtmf_message, stream_sid=setup.stream_sid, digit=digit)
                    )
                    self._timeline.add(self._clock.now(), EventKind.DTMF_SENT, digit=digit)
                if tick.hang_up:
                    self.request_end(EndReason.CALLER_HANGUP)
                    return
                await self._send_frame(slot, due, tick, playout)
                slot += 1
        except ConnectionClosed:
            self._finish(EndReason.SERVER_CLOSED)

    async def _send_frame(self, slot: int, due: float, tick: Tick, playout: Playout) -> None:
        setup = self.setup
        frame, encoded = tick.frame, tick.encoded
        if setup.echo is not None:
            start = slot * FRAME_BYTES - self._echo_samples
            heard = playout.heard_between(start, start + len(frame))
            if heard != SILENT_FRAME[: len(frame)]:
                frame, encoded = mix_echo(frame, heard, setup.echo.gain), ""
        sequence = await self._send(
            lambda seq: protocol.encoded_media_message(
                sequence_number=seq,
                stream_sid=setup.stream_sid,
                chunk=slot + 1,
                timestamp_ms=slot * FRAME_MS,
                payload=encoded or base64.b64encode(frame).decode("ascii"),
            )
        )
        sent = self._clock.now()
        self.said.extend(frame)
        late_ms = max(0.0, (sent - due) * 1000)
        self._timeline.add_frame(
            sent,
            chunk=slot + 1,
            sequence=sequence,
            speaking=tick.speaking,
            late_ms=round(late_ms, 3),
        )
        if tick.speech_started:
            self._timeline.add(sent, EventKind.SPEECH_STARTED, chunk=slot + 1)
        if tick.speech_ended:
            self._timeline.add(sent, EventKind.SPEECH_ENDED, chunk=slot + 1)

    def _record_steps(self, t: float, tick: Tick) -> None:
        for record in tick.steps_started:
            self._timeline.add(
                t, EventKind.STEP_STARTED, index=record.index, step=type(record.step).__name__
            )
        for record in tick.steps_finished:
            self._timeline.add(
                t,
                EventKind.STEP_FINISHED,
                index=record.index,
                step=type(record.step).__name__,
                outcome=record.outcome,
            )

    # --- messages in, playback

    def _handle(self, frame: str | bytes) -> None:
        inbound = self.inbound
        if inbound is None:
            return
        inbound.handle(frame)
        if self._asleep:
            # Wake playback only if something now falls due before it would wake anyway.
            deadline = inbound.playout.next_deadline()
            if deadline is not None and (
                self._asleep_until is None or deadline < self._asleep_until
            ):
                self._wake.set()

    async def _play(self, inbound: Inbound) -> None:
        """Echo marks as they fall due; woken early when what the server sent makes something
        fall due sooner (a mark with nothing left to play, a ``clear``, audio after silence)."""
        stream_sid = self.setup.stream_sid
        try:
            while True:
                self._wake.clear()
                for mark in inbound.record(inbound.playout.advance()):
                    await self._send(
                        functools.partial(_mark_message, stream_sid=stream_sid, name=mark.name)
                    )
                    inbound.echoed(mark)
                deadline = inbound.playout.next_deadline()
                timeout = None if deadline is None else max(0.0, deadline - self._clock.now())
                self._asleep, self._asleep_until = True, deadline
                # Not ``asyncio.wait_for``: on Python 3.11 it swallows a cancellation that comes
                # as the wake-up event is set, and the call would never end.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._wake.wait()
                self._asleep = False
        except ConnectionClosed:
            self._finish(EndReason.SERVER_CLOSED)


def _mark_message(sequence: int, *, stream_sid: str, name: str) -> str:
    return protocol.mark_message(sequence_number=sequence, stream_sid=stream_sid, name=name)


def _dtmf_message(sequence: int, *, stream_sid: str, digit: str) -> str:
    return protocol.dtmf_message(sequence_number=sequence, stream_sid=stream_sid, digit=digit)
