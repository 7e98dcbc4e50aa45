"""The agent's voice on the caller's line: model audio out to Twilio, cut at a barge-in.

Each chunk of the model's 24 kHz PCM becomes 8 kHz mu-law in one ``media`` message, followed by a
``mark``; the playback truth (``playback.py``) turns Twilio's echoes of those marks into what the
caller really heard, and each finished agent turn is handed on (to the transcript). A barge-in sends
``clear`` first, then settles the turn it cut short.
"""

import asyncio
from collections.abc import Awaitable, Callable

from telephony.audio import TWILIO_RATE, Pcm24kToMulaw
from telephony.audio.speech import SILENT_DBFS, level_dbfs
from telephony.playback import AgentTurnResult, Playback
from telephony.recording import HeardRecorder
from telephony.twilio.protocol import OutboundEncoder


class AgentVoice:
    """One call's outgoing audio and its playback truth."""

    def __init__(
        self,
        stream_sid: str,
        send: Callable[[str], Awaitable[None]],
        on_turn: Callable[[AgentTurnResult], None],
        now_ms: Callable[[], int],
        clock: Callable[[], float],
        on_barge_in: Callable[[float], None] | None = None,
        recorder: HeardRecorder | None = None,
    ) -> None:
        self._recorder = recorder
        """Told what is sent and cleared, to record what the caller heard (opt-in)."""
        self._encoder = OutboundEncoder(stream_sid)
        self._send = send
        self._on_turn = on_turn
        self._now_ms = now_ms
        self._clock = clock
        self._on_barge_in = on_barge_in
        self._down = Pcm24kToMulaw()
        self._playback = Playback()
        self._peak_dbfs = SILENT_DBFS
        self.media_out = 0
        self.clears = 0
        self._change: asyncio.Event | None = None
        """Set at the next change, when someone waits for one (made only then: changes come
        with every chunk and every mark)."""
        self._dropping = False
        """The rest of the reply being generated is dropped (cut off by a keypad key)."""

    async def changed(self) -> None:
        """Return at the next change of the playback truth (audio sent, a mark settled, a turn
        begun or ended): call control waits on it for the agent's last words to be heard."""
        if self._change is None:
            self._change = asyncio.Event()
        await self._change.wait()

    def _notify(self) -> None:
        if self._change is not None:
            self._change.set()
            self._change = None

    @property
    def playing(self) -> bool:
        """Agent audio sent to Twilio may still be playing."""
        return self._playback.playing

    @property
    def echo_dbfs(self) -> float:
        """How loud the agent is on the line now, as far as a line could echo it back: the
        loudest chunk still in Twilio's buffer, or silence."""
        return self._peak_dbfs if self._playback.playing else SILENT_DBFS

    @property
    def generating(self) -> bool:
        """The model is still producing the current reply."""
        return self._playback.generating

    @property
    def marks_sent(self) -> int:
        return self._playback.sent

    @property
    def marks_settled(self) -> int:
        """Marks Twilio echoed (played) or that a ``clear`` flushed."""
        return self._playback.settled

    @property
    def idle(self) -> bool:
        """Nothing is playing and the model is not in a turn: what it said has been heard."""
        return not self._playback.playing and not self._playback.speaking

    async def play(self, pcm_24k: bytes) -> None:
        """Send one chunk of the model's audio, then a mark to learn when it has played."""
        if self._dropping:
            return
        level = level_dbfs(pcm_24k)
        self._peak_dbfs = max(self._peak_dbfs, level) if self._playback.playing else level
        await self._play_ulaw(self._down.convert(pcm_24k))

    def text(self, fragment: str) -> None:
        """A fragment of the transcription of the agent's voice."""
        if self._dropping:
            return
        self._playback.text(fragment)
        self._notify()

    def generation_complete(self) -> None:
        """The model has generated the whole reply (it may play for a while yet)."""
        self._playback.generation_done()

    async def turn_complete(self) -> None:
        """The model ended its turn: play the converter's tail, then mark the turn's end."""
        if self._dropping:  # the end of the reply a key cut off: nothing of it is left
            self._dropping = False
            self._notify()
            return
        await self._play_ulaw(self._down.flush())
        mark, result = self._playback.generated(self._now_ms())
        if mark is not None:
            await self._send(self._encoder.mark(mark))
        if result is not None:
            self._on_turn(result)
        self._notify()

    def echoed(self, mark: str) -> None:
        """Twilio echoed a mark: that much has played (or was flushed by a ``clear``)."""
        if (result := self._playback.echoed(mark, self._now_ms())) is not None:
            self._on_turn(result)
        self._notify()

    async def cut_off(self) -> None:
        """The caller pressed a key over the agent: stop playback, and drop the rest of the
        reply the model is still generating (it does not hear keys, so it would go on)."""
        self._dropping = self._playback.generating
        await self.barge_in()

    async def barge_in(self) -> None:
        """The caller talks over the agent: stop playback first, then settle the turn."""
        if self._playback.playing:
            began = self._clock()
            await self._send(self._encoder.clear())
            if self._recorder is not None:
                self._recorder.clear()
            self.clears += 1
            if self._on_barge_in is not None:
                self._on_barge_in((self._clock() - began) * 1000)
        self._down = Pcm24kToMulaw()  # forget the cut-off reply's filter state
        for result in self._playback.clear(self._now_ms()):
            self._on_turn(result)
        self._notify()

    def unsettled(self) -> list[str]:
        """What the agent is saying that has not finished playing yet."""
        return self._playback.unsettled()

    def finish(self) -> None:
        """The call ended: store every open turn with what was heard of it."""
        for result in self._playback.finish(self._now_ms()):
            self._on_turn(result)

    async def _play_ulaw(self, ulaw: bytes) -> None:
        if not ulaw:
            return
        mark = self._playback.audio(len(ulaw) * 1000 / TWILIO_RATE, self._now_ms())
        await self._send(self._encoder.media(ulaw))
        if self._recorder is not None:
            self._recorder.agent(ulaw)
        await self._send(self._encoder.mark(mark))
        self.media_out += 1
        self._notify()
