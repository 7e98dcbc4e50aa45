"""The server's recording of what the caller heard: left, the caller as received; right, the
agent as played, cut where ``clear`` cut it. Checked against what the Twilio simulator played."""

import asyncio
import io
import wave
from pathlib import Path

import httpx
import numpy as np
import numpy.typing as npt

from telephony.audio import ULAW_SILENCE, pcm16_to_ulaw, ulaw_to_pcm16
from telephony.recording import HeardRecorder, StereoTimeline
from tests.callserver import running_server
from twins.twilio import Hangup, Interrupt, WaitForReply

BOUNDARY_SAMPLES = 400
"""50 ms around each start and cut of agent audio: where the server's clock and Twilio's may
disagree by the network's jitter."""


def tone(samples: int, hz: float = 440.0) -> bytes:
    t = np.arange(samples) / 8000
    return pcm16_to_ulaw((8000 * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes())


def right_channel(block_pcm: bytes) -> npt.NDArray[np.int16]:
    return np.frombuffer(block_pcm, "<i2").reshape(-1, 2)[:, 1]


def test_the_right_channel_plays_queued_audio_in_turn_and_drops_what_a_clear_cut() -> None:
    timeline = StereoTimeline()
    first, second = tone(800), tone(800, 880.0)
    timeline.agent(first, now=100)  # plays 100-900
    timeline.agent(second, now=120)  # queued: plays 900-1700
    assert timeline.clear(now=1000) == 700  # 100 samples of the second chunk were heard
    block = timeline.commit(2000)
    assert block is not None and block.frames == 2000
    right = right_channel(block.pcm)
    expected = np.frombuffer(
        ulaw_to_pcm16(
            bytes([ULAW_SILENCE]) * 100 + first + second[:100] + bytes([ULAW_SILENCE]) * 1000
        ),
        "<i2",
    )
    assert np.array_equal(right, expected)


def test_committing_in_pieces_gives_the_same_audio_as_at_once() -> None:
    def run(commits: list[int]) -> bytes:
        timeline = StereoTimeline()
        out = b""
        for i in range(20):
            timeline.caller(tone(160, 200.0 + i), timestamp_ms=20 * i, now=160 * i + 7)
            timeline.agent(tone(480, 300.0 + i), now=160 * i)
            if i == 12:
                timeline.clear(now=160 * i + 50)
            for upto in [c for c in commits if 160 * (i - 1) < c <= 160 * i]:
                block = timeline.commit(upto)
                out += block.pcm if block else b""
        block = timeline.commit(3400)
        return out + (block.pcm if block else b"")

    assert run([]) == run([500, 501, 1600, 2999])


def test_caller_audio_that_comes_after_its_place_was_written_is_counted_not_misplaced() -> None:
    timeline = StereoTimeline()
    timeline.caller(tone(160), timestamp_ms=0, now=10)
    timeline.commit(400)
    timeline.caller(tone(160), timestamp_ms=40, now=600)  # belongs at 330-490
    assert timeline.late_samples == 70
    block = timeline.commit(600)
    assert block is not None
    left = np.frombuffer(block.pcm, "<i2").reshape(-1, 2)[:, 0]
    assert np.any(left[:90] != 0)  # the frame's last 90 samples landed at 400-490


def test_a_recording_that_cannot_be_written_stops_and_says_so() -> None:
    clock = [0.0]
    recorder = HeardRecorder("CA" + "1" * 32, Path("/dev/full"), lambda: clock[0])
    for i in range(150):  # 3 s of caller frames onto a full disk
        clock[0] = 20.0 * i
        recorder.caller(tone(160), 20 * i)
    info = recorder.close()
    assert not info.complete
    assert info.duration_ms == 0


def test_a_recording_that_cannot_be_created_leaves_the_call_alone(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file where the directory should be")
    recorder = HeardRecorder("CA" + "1" * 32, tmp_path / "taken" / "heard.wav", lambda: 0.0)
    recorder.caller(tone(160), 0)
    recorder.agent(tone(160))
    info = recorder.close()
    assert not info.complete and info.duration_ms == 0 and info.size_bytes == 0


def aligned(recorded: npt.NDArray[np.int16], played: npt.NDArray[np.int16]) -> int:
    """The lag (samples) that best lines ``recorded`` up with ``played``, within 1 s."""
    size = 1 << int(np.ceil(np.log2(len(recorded) + len(played))))
    spectrum = np.fft.rfft(recorded.astype(np.float64), size) * np.conj(
        np.fft.rfft(played.astype(np.float64), size)
    )
    correlation = np.fft.irfft(spectrum, size)
    lags = np.r_[np.arange(0, 8000), np.arange(-8000, 0)]
    return int(lags[np.argmax(correlation[lags])])


def runs(signal: npt.NDArray[np.int16]) -> list[tuple[int, int]]:
    """Stretches of agent audio: (first, last + 1) sample of each, apart by 100 ms of silence."""
    active = np.abs(signal) > 0
    gap = 800
    busy = np.convolve(active.astype(float), np.ones(gap), mode="full")[: len(signal)] > 0
    edges = np.flatnonzero(np.diff(np.r_[0, busy.astype(np.int8), 0]))
    found = []
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        last = start + int(np.flatnonzero(active[start:stop])[-1]) + 1
        found.append((int(start), last))
    return found


async def test_the_recording_is_what_the_simulator_played_cut_at_the_barge_in(
    tmp_path: Path,
) -> None:
    recordings = tmp_path / "recordings"
    async with running_server(
        f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}",
        record_heard=True,
        recordings_dir=str(recordings),
    ) as server:
        server.emulator.script.next_reply(words=60)  # a greeting long enough to cut into
        result = await server.place(
            [Interrupt(after_ms=1200, speak_s=1.0, timeout=20), WaitForReply(timeout=20), Hangup()]
        )
        await server.finished_transcript(result.call_sid)
        headers = {"Authorization": f"Bearer {server.api_token}"}
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            async with asyncio.timeout(10):
                while True:  # listed once the call's end has been handled
                    listed = (
                        await client.get(f"/calls/{result.call_sid}/recordings", headers=headers)
                    ).json()
                    if listed and listed[0]["status"] == "completed":
                        break
                    await asyncio.sleep(0.05)
            streamed = await client.get(f"/calls/{result.call_sid}/recording", headers=headers)
            anonymous = await client.get(f"/calls/{result.call_sid}/recording")
            deleted = await client.delete(f"/calls/{result.call_sid}/recording", headers=headers)
            after = await client.get(f"/calls/{result.call_sid}/recording", headers=headers)

    assert result.metrics.clears_received == 1
    [heard] = listed
    path = Path(heard["path"])
    assert path.parent == recordings and heard["kind"] == "heard"
    assert streamed.status_code == 200 and streamed.headers["content-type"] == "audio/wav"
    assert anonymous.status_code == 401
    assert (deleted.status_code, after.status_code) == (204, 404)
    assert not await asyncio.to_thread(path.exists)

    assert heard["size_bytes"] == len(streamed.content)
    with wave.open(io.BytesIO(streamed.content), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        frames = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, 2)
    assert heard["duration_ms"] == len(frames) * 1000 // 8000

    # Right: the agent's audio as played. The server places each stretch of it on its own clock
    # (sent, or queued behind what was sent); the simulator on the time it arrived. So each
    # stretch may sit a few ms apart (the network's delay then, up to BOUNDARY_SAMPLES), and
    # must then match sample for sample, but for the end where a clear cut it.
    right = frames[:, 1]
    played = np.frombuffer(result.heard_pcm16, "<i2")
    lag = aligned(right, played)
    ours_runs, their_runs = runs(right), runs(played)
    assert len(their_runs) >= 2, "the greeting (cut), then the answer"
    assert len(ours_runs) == len(their_runs)
    for (ours_start, ours_end), (start, end) in zip(ours_runs, their_runs, strict=True):
        offset = (ours_start - start) - lag
        assert abs(offset) <= BOUNDARY_SAMPLES
        assert abs((ours_end - ours_start) - (end - start)) <= BOUNDARY_SAMPLES, "cut in place"
        whole = end - start - BOUNDARY_SAMPLES
        assert whole > 0
        assert np.array_equal(right[ours_start : ours_start + whole], played[start : start + whole])
    greeting, answer = their_runs[0], their_runs[-1]
    assert greeting[1] - greeting[0] < answer[0] - greeting[0], "the greeting was cut short"

    # Left: the caller's audio as received, in order.
    left = frames[:, 0]
    said = np.frombuffer(result.said_pcm16, "<i2")
    lag = aligned(left, said)
    start = max(0, lag)
    length = min(len(left) - start, len(said) - (start - lag))
    assert np.array_equal(left[start : start + length], said[start - lag : start - lag + length])
