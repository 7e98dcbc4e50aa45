"""Rate limits on a stream: real callers pass, floods do not."""

from telephony.ratelimit import StreamLimits, TokenBucket


def test_a_bucket_allows_its_burst_then_its_rate() -> None:
    bucket = TokenBucket(rate=10, burst=5)
    assert all(bucket.allow(0.0) for _ in range(5))
    assert not bucket.allow(0.0)
    assert bucket.allow(0.1)  # one token back after 100 ms
    assert not bucket.allow(0.1)


def test_twilio_in_real_time_with_a_late_burst_passes() -> None:
    limits = StreamLimits(started=0.0)
    now = 0.0
    for frame in range(50 * 60):  # a minute of 20 ms frames
        now = frame * 0.02
        assert limits.media_allowed(now, 20.0) is None
    # Three seconds of frames held up by the network arrive at once.
    for _ in range(150):
        assert limits.media_allowed(now + 3.0, 20.0) is None


def test_a_flood_of_tiny_messages_is_refused() -> None:
    limits = StreamLimits(started=0.0)
    verdicts = [limits.media_allowed(i / 20_000, 0.125) for i in range(20_000)]
    assert verdicts[0] is None
    assert "faster than real time" in str(next(v for v in verdicts if v is not None))


def test_audio_far_ahead_of_the_clock_is_refused() -> None:
    limits = StreamLimits(started=0.0)
    verdicts = [limits.media_allowed(1.0, 1000.0) for _ in range(10)]
    assert verdicts[:5] == [None] * 5
    assert verdicts[-1] == "more audio than the stream's duration"


def test_keypad_floods_are_refused_but_a_person_typing_is_not() -> None:
    limits = StreamLimits(started=0.0)
    assert all(limits.dtmf_allowed(i * 0.15) is None for i in range(100))  # quick fingers
    flood = StreamLimits(started=0.0)
    assert any(flood.dtmf_allowed(i / 2000) is not None for i in range(10_000))
