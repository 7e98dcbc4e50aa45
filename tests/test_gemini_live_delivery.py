"""When a reply's messages are due (``delivery.schedule``): audio bursts, transcription fragments.

Pure: no sockets, no clocks. Times are seconds after the reply started to be generated.
"""

import math
import random
from collections.abc import Sequence

import pytest

from twins.gemini_live.brain import ReplyPlan, plan_reply
from twins.gemini_live.delivery import AudioOut, Delivery, Outgoing, TextOut, schedule
from twins.gemini_live.events import OUTPUT_RATE
from twins.gemini_live.options import Pacing, Transcripts

TEXT = "On Saturday the clinic is open from nine in the morning to one in the afternoon."
PLAN = plan_reply(TEXT, words_per_second=2.5, seed=0)
BYTES_PER_MS = 2 * OUTPUT_RATE // 1000
REALISTIC = Delivery(
    pacing=Pacing.realistic(speed=3.0), chunk_ms=40, transcripts=Transcripts.realistic()
)


def audio(items: Sequence[Outgoing]) -> list[AudioOut]:
    return [item for item in items if isinstance(item, AudioOut)]


def texts(items: Sequence[Outgoing]) -> list[TextOut]:
    return [item for item in items if isinstance(item, TextOut)]


def sent_pcm(items: Sequence[Outgoing]) -> bytes:
    return b"".join(pcm for item in audio(items) for pcm in item.pcms)


def test_a_plan_says_when_each_word_starts() -> None:
    plan = plan_reply("one two three four", words_per_second=2.0, seed=0)

    assert plan.audio_ms == pytest.approx(2000, abs=1)
    assert plan.words == ("one", " two", " three", " four")
    assert plan.word_starts_ms == (0, 500, 1000, 1500)


def test_idealised_delivery_sends_each_word_after_the_chunk_it_starts_in() -> None:
    items = schedule(PLAN, Delivery(Pacing(), 40, Transcripts()), random.Random(0))

    chunks = audio(items)
    assert all(len(c.pcms) == 1 and len(c.pcms[0]) == 40 * BYTES_PER_MS for c in chunks[:-1])
    assert sent_pcm(items) == PLAN.pcm
    assert "".join(t.text for t in texts(items)) == TEXT
    # Every word comes right after the chunk in which it starts, before the next chunk.
    chunk_of_word = []
    chunk = -1
    for item in items:
        if isinstance(item, AudioOut):
            chunk += 1
        else:
            chunk_of_word.append(chunk)
    assert chunk_of_word == [int(start // 40) for start in PLAN.word_starts_ms]


def test_smooth_pacing_is_real_time_after_the_first_burst() -> None:
    items = audio(
        schedule(
            PLAN, Delivery(Pacing(speed=2.0, burst_ms=200), 40, Transcripts()), random.Random(0)
        )
    )

    due = [item.at_s for item in items]
    assert due[:6] == [0.0] * 6  # 200 ms at once: chunks starting at 0..200 ms
    assert due[6:] == pytest.approx([(40 * i - 200) / 1000 / 2.0 for i in range(6, len(due))])


def test_unpaced_delivery_sends_everything_at_once() -> None:
    items = schedule(PLAN, Delivery(Pacing.unpaced(), 40, Transcripts()), random.Random(0))

    assert {item.at_s for item in items} == {0.0}


@pytest.mark.parametrize("seed", range(5))
def test_bursts_leave_ahead_of_real_time_in_groups(seed: int) -> None:
    items = audio(schedule(PLAN, REALISTIC, random.Random(seed)))

    due = [item.at_s for item in items]
    assert due == sorted(due)
    assert len(set(due)) < len(due)  # several messages leave together: bursts
    elapsed_ms = 0.0
    for item in items:  # each burst is due before the client would need it
        assert item.at_s * 1000 <= elapsed_ms or item.at_s == 0
        elapsed_ms += item.ms
    assert due[-1] * 1000 < PLAN.audio_ms / 2  # the whole reply is out well before it plays


@pytest.mark.parametrize("seed", range(5))
def test_chunk_lengths_vary_within_the_range(seed: int) -> None:
    pacing = Pacing(chunk_range_ms=(20, 120))
    items = audio(schedule(PLAN, Delivery(pacing, 40, Transcripts()), random.Random(seed)))

    lengths = [len(item.pcms[0]) // BYTES_PER_MS for item in items[:-1]]
    assert all(20 <= ms <= 120 for ms in lengths)
    assert len(set(lengths)) > 1
    assert sent_pcm(items) == PLAN.pcm


def test_chunks_share_a_message_only_within_a_burst() -> None:
    delivery = Delivery(Pacing.realistic(), 40, Transcripts(), audio_parts=3)
    items = audio(schedule(PLAN, delivery, random.Random(1)))

    assert max(len(item.pcms) for item in items) == 3
    assert sent_pcm(items) == PLAN.pcm
    smooth = Delivery(Pacing(speed=2.0), 40, Transcripts(), audio_parts=3)
    later = audio(schedule(PLAN, smooth, random.Random(1)))
    assert all(len(item.pcms) == 1 for item in later if item.at_s > 0)


@pytest.mark.parametrize("seed", range(10))
def test_transcription_fragments_stay_in_order_and_cover_the_text(seed: int) -> None:
    items = schedule(PLAN, REALISTIC, random.Random(seed))

    fragments = [t.text for t in texts(items)]
    assert "".join(fragments) == TEXT
    assert all(1 <= len(f.split()) <= 5 for f in fragments)
    assert len(fragments) < len(TEXT.split())  # several words per fragment, at times


def _text_position(items: list[Outgoing]) -> list[tuple[int, int]]:
    """For each fragment: audio messages sent before it, and the message its first word is in."""
    ends = []
    total = 0.0
    for item in audio(items):
        total += item.ms
        ends.append(total)
    found: list[tuple[int, int]] = []
    sent = 0
    word = 0
    for entry in items:
        if isinstance(entry, AudioOut):
            sent += 1
            continue
        start = PLAN.word_starts_ms[word]
        found.append((sent, next(i for i, end in enumerate(ends) if start < end)))
        word += len(entry.text.split())
    return found


def test_transcription_can_lead_its_audio() -> None:
    transcripts = Transcripts(output_offset_ms=(-300, -300))
    items = schedule(PLAN, Delivery(Pacing(), 40, transcripts), random.Random(0))

    assert any(sent <= containing for sent, containing in _text_position(items))


def test_transcription_can_lag_its_audio() -> None:
    transcripts = Transcripts(output_offset_ms=(300, 300))
    items = schedule(PLAN, Delivery(Pacing(), 40, transcripts), random.Random(0))

    assert any(sent > containing + 1 for sent, containing in _text_position(items))


def test_nothing_follows_the_last_audio_when_it_ends_the_turn() -> None:
    transcripts = Transcripts(output_offset_ms=(400, 400))
    delivery = Delivery(Pacing(), 40, transcripts, text_before_last_audio=True)
    items = schedule(PLAN, delivery, random.Random(0))

    assert isinstance(items[-1], AudioOut)
    assert "".join(t.text for t in texts(items)) == TEXT


def test_the_tag_comes_first_and_only_once() -> None:
    delivery = Delivery(Pacing(), 40, Transcripts.realistic(), tag="[c3] ")
    items = schedule(PLAN, delivery, random.Random(2))

    assert "".join(t.text for t in texts(items)) == "[c3] " + TEXT


def test_without_transcription_only_audio_is_sent() -> None:
    items = schedule(
        PLAN, Delivery(Pacing(), 40, Transcripts(), transcribe=False), random.Random(0)
    )

    assert texts(items) == []
    assert sent_pcm(items) == PLAN.pcm


def test_pacing_options_are_checked() -> None:
    with pytest.raises(ValueError, match="range"):
        Pacing(burst_range_ms=(300, 100))
    with pytest.raises(ValueError, match="speed"):
        Pacing(speed=0)
    assert math.isinf(Pacing.unpaced().speed)


def _plan_with(words: int) -> ReplyPlan:
    return plan_reply(" ".join(["word"] * words), words_per_second=2.75, seed=0)


def test_a_one_word_reply_is_one_burst() -> None:
    items = schedule(_plan_with(1), REALISTIC, random.Random(0))

    assert {item.at_s for item in items} == {0.0}
