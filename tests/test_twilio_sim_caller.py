"""The caller script on a manual clock: speech frames, waiting for replies, barge-in, DTMF."""

import base64
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from telephony.audio import ulaw_to_pcm16
from twins.twilio.caller import Caller, Tick
from twins.twilio.clock import ManualClock
from twins.twilio.playout import Playout
from twins.twilio.script import (
    Dtmf,
    Hangup,
    Interrupt,
    Silence,
    Speak,
    SpeakWav,
    Step,
    WaitForGreeting,
    WaitForReply,
)
from twins.twilio.wavfile import write_wav

FRAME = 0.02
AGENT = bytes([0x20]) * 160  # 20 ms of loud agent audio


class Harness:
    """Ticks a caller every 20 ms against a playout buffer the test feeds as the agent."""

    def __init__(self, script: Sequence[Step], **options: object) -> None:
        self.clock = ManualClock(10.0)
        self.playout = Playout(self.clock)
        self.caller = Caller(script, **options)  # type: ignore[arg-type]
        self.ticks: list[Tick] = []
        self.slot = 0

    def run(self, seconds: float, agent: Callable[[int], None] | None = None) -> list[Tick]:
        ticks = []
        for _ in range(round(seconds / FRAME)):
            now = self.playout.origin + self.slot * FRAME
            self.clock.advance(now - self.clock.now())
            if agent is not None:
                agent(self.slot)
            tick = self.caller.tick(now, self.playout.state())
            ticks.append(tick)
            self.slot += 1
            if tick.hang_up:
                break
        self.ticks.extend(ticks)
        return ticks


def speaking(ticks: list[Tick]) -> list[bool]:
    return [t.speaking for t in ticks if not t.hang_up]


def test_speak_sends_speech_frames_then_hangs_up() -> None:
    h = Harness([Speak(0.1), Silence(0.06)])
    ticks = h.run(1.0)
    assert speaking(ticks) == [True] * 5 + [False] * 3
    assert [t.speech_started for t in ticks[:5]] == [True, False, False, False, False]
    assert [t.speech_ended for t in ticks[:5]] == [False, False, False, False, True]
    assert ticks[-1].hang_up
    assert all(len(t.frame) == 160 for t in ticks[:-1])
    assert ticks[6].frame == b"\xff" * 160
    assert [r.outcome for r in h.caller.records] == ["done", "done"]


def test_speech_is_audible_and_deterministic() -> None:
    first = Harness([Speak(0.5, seed=3)]).run(1.0)
    second = Harness([Speak(0.5, seed=3)]).run(1.0)
    audio = b"".join(t.frame for t in first if t.speaking)
    assert audio == b"".join(t.frame for t in second if t.speaking)
    pcm = np.frombuffer(ulaw_to_pcm16(audio), dtype="<i2").astype(float)
    assert 20 * np.log10(np.sqrt(np.mean(pcm**2)) / 32768) > -30


def test_wait_for_reply_waits_for_the_agent_to_finish() -> None:
    h = Harness([Speak(0.1), WaitForReply(timeout=5), Hangup()], reply_gap_ms=200)

    def agent(slot: int) -> None:
        if slot == 15:  # the agent answers 200 ms after the caller stopped, 300 ms of audio
            for _ in range(15):
                h.playout.add_audio(AGENT)

    ticks = h.run(5.0, agent)
    # playback ends at slot 30; the reply counts as over after a 200 ms gap (slot 40)
    assert len(ticks) == 41
    assert ticks[-1].hang_up
    wait = h.caller.records[1]
    assert wait.outcome == "done"
    assert wait.finished is not None
    assert wait.finished - h.playout.origin == pytest.approx(40 * FRAME)


def test_wait_for_reply_times_out() -> None:
    h = Harness([WaitForGreeting(timeout=0.5), Hangup()])
    ticks = h.run(2.0)
    assert h.caller.records[0].outcome == "timeout"
    assert len(ticks) == 26


def test_short_gaps_do_not_end_a_reply() -> None:
    h = Harness([WaitForGreeting(timeout=5)], reply_gap_ms=300)

    def agent(slot: int) -> None:
        if slot in (0, 15):  # 0-100 ms and 300-400 ms: a 200 ms gap inside one reply
            h.playout.add_audio(AGENT * 5)

    h.run(5.0, agent)
    record = h.caller.records[0]
    # the reply is over once the line has been quiet for 300 ms after 400 ms
    assert record.finished is not None
    assert round((record.finished - h.playout.origin) / FRAME) == 35


def test_interrupt_speaks_once_enough_of_the_reply_has_played() -> None:
    h = Harness([Speak(0.1), Interrupt(after_ms=300, speak_s=0.2), Hangup()])

    def agent(slot: int) -> None:
        if slot == 10:
            h.playout.add_audio(AGENT * 100)  # two seconds of reply

    ticks = h.run(5.0, agent)
    starts = [i for i, t in enumerate(ticks) if t.speech_started]
    assert starts == [0, 25]  # reply starts at slot 10; 300 ms later is slot 25
    assert h.playout.state().playing  # the agent was still talking
    assert [r.outcome for r in h.caller.records] == ["done", "done", "done"]


def test_interrupt_times_out_and_speaks_anyway() -> None:
    h = Harness([Interrupt(after_ms=300, speak_s=0.1, timeout=0.2)])
    ticks = h.run(2.0)
    assert [i for i, t in enumerate(ticks) if t.speech_started] == [10]
    assert h.caller.records[0].outcome == "timeout"


def test_dtmf_digits_are_spaced() -> None:
    h = Harness([Dtmf("12#", gap_ms=100), Hangup()])
    ticks = h.run(2.0)
    presses = [(i, t.dtmf) for i, t in enumerate(ticks) if t.dtmf]
    assert presses == [(0, ["1"]), (5, ["2"]), (10, ["#"])]


def test_the_line_stays_open_without_a_hang_up() -> None:
    h = Harness([Speak(0.04)], hang_up_at_end=False)
    ticks = h.run(1.0)
    assert len(ticks) == 50
    assert not any(t.hang_up for t in ticks)


def test_comfort_noise_is_quiet_but_not_digital_silence() -> None:
    h = Harness([Silence(0.5)], comfort_noise_dbfs=-60.0)
    ticks = h.run(1.0)
    frames = b"".join(t.frame for t in ticks if not t.hang_up)
    assert frames != b"\xff" * len(frames)
    pcm = np.frombuffer(ulaw_to_pcm16(frames), dtype="<i2").astype(float)
    assert 20 * np.log10(np.sqrt(np.mean(pcm**2)) / 32768) < -50


def test_speak_wav_resamples_to_8k(tmp_path: Path) -> None:
    tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)).astype("<i2")
    path = tmp_path / "caller.wav"
    write_wav(path, tone.tobytes(), rate=16000)
    h = Harness([SpeakWav(path)])
    ticks = h.run(2.0)
    assert sum(t.speaking for t in ticks) == 50  # one second at 8 kHz


@pytest.mark.parametrize("noise", [None, -60.0])
def test_every_frame_comes_with_its_base64(noise: float | None) -> None:
    h = Harness([Silence(0.1), Speak(0.35), Silence(0.1), Hangup()], comfort_noise_dbfs=noise)

    ticks = [t for t in h.run(2.0) if not t.hang_up]

    assert len(ticks) == 5 + 18 + 5
    assert all(t.encoded == base64.b64encode(t.frame).decode("ascii") for t in ticks)
    assert ticks[5 + 17].frame.endswith(b"\xff" * 80)  # the last 10 ms padded with silence


def test_callers_saying_the_same_share_its_frames() -> None:
    first = Harness([Speak(0.5, seed=9), Hangup()]).run(1.0)
    second = Harness([Speak(0.5, seed=9), Hangup()], seed=4).run(1.0)

    assert all(a.frame is b.frame for a, b in zip(first, second, strict=True) if a.speaking)
