"""What arrives on a call's Twilio socket, screened: only well-formed events of this stream,
at a rate a real phone call can produce.

Bad messages (binary frames, oversize, malformed, for another stream) are dropped and counted,
each kind logged once; past the limit the stream is closed. A stream that floods (media faster
than real time, keypad digits faster than a person types) is closed at once: both raise
``ProtocolError``, which ends the call with 1008.
"""

import logging
import time
from collections.abc import AsyncIterator, Callable

from telephony.audio import TWILIO_RATE
from telephony.call_stats import CallStats
from telephony.errors import ProtocolError
from telephony.ports import CallLimits, TwilioSocket
from telephony.ratelimit import StreamLimits
from telephony.twilio.protocol import Dtmf, InboundEvent, Media, message_too_large, parse_inbound

logger = logging.getLogger(__name__)


class Inbound:
    """The screened events of one media stream, after ``start``."""

    def __init__(
        self,
        socket: TwilioSocket,
        call_sid: str,
        stream_sid: str,
        limits: CallLimits,
        stats: CallStats,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._socket = socket
        self._call_sid = call_sid
        self._stream_sid = stream_sid
        self._limits = limits
        self._stats = stats
        self._clock = clock
        self._rates = StreamLimits(clock())
        self.disconnected = False
        """The caller's side closed the socket."""

    async def events(self) -> AsyncIterator[InboundEvent]:
        """Events until the socket closes (then ``disconnected`` is set)."""
        receive = self._socket.receive
        while True:
            message = await receive()
            text = message.get("text")
            if text is None:
                if message["type"] == "websocket.disconnect":
                    self.disconnected = True
                    return
                self._bad("binary frame")
                continue
            if message_too_large(text, self._limits.max_message_bytes):
                self._bad("oversize message")
                continue
            try:
                event = parse_inbound(text)
            except ProtocolError as exc:
                self._bad(str(exc))
                continue
            if isinstance(event, Media):
                if event.stream_sid != self._stream_sid:
                    self._bad("media for another stream")
                    continue
                duration_ms = len(event.payload) * 1000 / TWILIO_RATE
                if (flood := self._rates.media_allowed(self._clock(), duration_ms)) is not None:
                    raise ProtocolError(flood)
            elif isinstance(event, Dtmf) and (flood := self._rates.dtmf_allowed(self._clock())):
                raise ProtocolError(flood)
            yield event

    def _bad(self, kind: str) -> None:
        counts = self._stats.bad_messages
        counts[kind] = counts.get(kind, 0) + 1
        if counts[kind] == 1:
            logger.warning("call %s: dropped a bad message (%s)", self._call_sid, kind)
        if self._stats.bad_total >= self._limits.bad_message_limit:
            raise ProtocolError(f"{self._stats.bad_total} bad messages")
