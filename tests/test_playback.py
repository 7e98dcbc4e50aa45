"""Playback truth: marks echoed before a clear were played; after it, flushed."""

from telephony.playback import Playback


def speak(playback: Playback, words: list[str], now_ms: int = 0) -> list[str]:
    """One 40 ms chunk of audio per word, the word's transcription arriving with its audio."""
    marks = []
    for word in words:
        playback.text(word)
        marks.append(playback.audio(40.0, now_ms))
    return marks


def test_a_turn_played_to_the_end_is_heard_in_full() -> None:
    playback = Playback()
    marks = speak(playback, ["Hello", " there", "."])
    closing, result = playback.generated(now_ms=100)
    assert result is None and closing is not None
    for name in marks:
        assert playback.echoed(name, now_ms=110) is None
    finished = playback.echoed(closing, now_ms=220)
    assert finished is not None
    assert finished.text == "Hello there."
    assert finished.heard_text == "Hello there."
    assert not finished.interrupted
    assert (finished.start_ms, finished.end_ms) == (0, 220)
    assert finished.audio_ms == finished.heard_ms == 120.0
    assert not playback.playing


def test_clear_cuts_the_turn_at_the_last_played_mark() -> None:
    playback = Playback()
    marks = speak(playback, ["One", " two", " three", " four"])
    playback.echoed(marks[1], now_ms=80)  # "One two" played
    [cut] = playback.clear(now_ms=90)
    assert cut.interrupted
    assert cut.text == "One two three four"
    assert cut.heard_text == "One two"
    assert cut.heard_ms == 80.0
    # Twilio returns the pending marks after the clear: they were flushed, not played.
    assert playback.echoed(marks[2], now_ms=95) is None
    assert playback.echoed(marks[3], now_ms=95) is None
    assert not playback.playing and not playback.generating


def test_an_echo_implies_the_marks_before_it_played() -> None:
    playback = Playback()
    marks = speak(playback, ["a", "b", "c"])
    playback.echoed(marks[2], now_ms=120)
    [cut] = playback.clear(now_ms=130)
    assert cut.heard_text == "abc"


def test_audio_after_an_interruption_is_a_new_turn() -> None:
    playback = Playback()
    speak(playback, ["old"])
    playback.clear(now_ms=50)
    marks = speak(playback, ["new"], now_ms=60)
    closing, _ = playback.generated(now_ms=70)
    assert closing is not None
    playback.echoed(marks[0], now_ms=100)
    result = playback.echoed(closing, now_ms=101)
    assert result is not None and result.text == "new" and result.turn == 2


def test_unknown_marks_are_ignored() -> None:
    playback = Playback()
    speak(playback, ["x"])
    assert playback.echoed("not-ours", now_ms=10) is None
    assert playback.playing


def test_call_end_keeps_what_was_heard() -> None:
    playback = Playback()
    marks = speak(playback, ["Good", " morning", " and"])
    playback.echoed(marks[0], now_ms=40)
    [open_turn] = playback.finish(now_ms=60)
    assert open_turn.interrupted
    assert open_turn.heard_text == "Good"
    assert playback.finish(now_ms=70) == []


def test_generation_complete_ends_generating_but_not_the_turn() -> None:
    playback = Playback()
    playback.audio(40.0, 0)
    playback.text("Whole sentence.")
    before = playback.generating
    playback.generation_done()
    assert (before, playback.generating, playback.playing) == (True, False, True)
    _, result = playback.generated(now_ms=10)
    assert result is None  # still playing
    [end] = playback.finish(now_ms=20)
    assert end.text == "Whole sentence."


def test_a_turn_without_audio_or_text_leaves_nothing() -> None:
    playback = Playback()
    assert playback.generated(now_ms=5) == (None, None)


def test_heard_text_follows_audio_time_not_when_the_text_arrived() -> None:
    # The audio of a whole reply arrives at once, far ahead of playback, and its transcription
    # trails it: nothing of the text had arrived when the marks were sent.
    playback = Playback()
    marks = [playback.audio(100.0, now_ms=0) for _ in range(10)]
    for word in ["One", " two", " three", " four", " five"]:
        playback.text(word)
    playback.echoed(marks[3], now_ms=400)  # 400 of 1000 ms played
    [cut] = playback.clear(now_ms=410)
    assert cut.text == "One two three four five"
    assert cut.heard_text == "One two"  # 40% of 23 characters: 9, inside "three"


def test_a_turn_cut_before_any_audio_played_was_heard_not_at_all() -> None:
    playback = Playback()
    playback.text("Hello")
    playback.audio(200.0, now_ms=0)
    [cut] = playback.clear(now_ms=10)
    assert cut.heard_text == "" and cut.heard_ms == 0.0
