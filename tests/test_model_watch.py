"""When a model that says nothing, or says nothing back, has failed (pure rules)."""

from telephony.model_watch import ModelWatch


def test_a_mute_model_is_nudged_once_then_routed_on() -> None:
    watch = ModelWatch(started=0.0)
    watch.heard(1.0)
    watch.spoke(1.0)  # the greeting
    watch.caller_stopped(5.0, spoke_ms=1200)
    watch.heard(5.4)  # it transcribes the caller: alive, but no answer
    assert not watch.nudge_due(6.0, playing=False)
    assert watch.nudge_due(7.6, playing=False)
    assert not watch.nudge_due(7.9, playing=False), "one nudge per utterance"
    watch.heard(8.0)
    assert watch.failure(11.0) is None
    assert watch.failure(12.1) == "the model did not answer for 7 s after the caller spoke"


def test_an_answer_after_the_nudge_clears_it() -> None:
    watch = ModelWatch(started=0.0)
    watch.heard(1.0)
    watch.caller_stopped(5.0, spoke_ms=800)
    watch.heard(5.2)
    assert watch.nudge_due(7.6, playing=False)
    watch.heard(8.0)
    watch.spoke(8.0)
    assert watch.failure(20.0) is None
    assert not watch.nudge_due(20.0, playing=False)


def test_no_nudge_while_the_agent_still_plays_or_after_a_cough() -> None:
    watch = ModelWatch(started=0.0)
    watch.heard(1.0)
    watch.caller_stopped(5.0, spoke_ms=900)
    watch.heard(5.2)
    assert not watch.nudge_due(9.0, playing=True)
    watch.spoke(9.5)
    watch.caller_stopped(10.0, spoke_ms=200)  # too short to need an answer
    assert not watch.nudge_due(15.0, playing=False)


def test_the_reply_is_timed_from_the_end_of_speech_on_a_quiet_line_only() -> None:
    watch = ModelWatch(started=0.0)
    watch.caller_stopped(5.0, spoke_ms=900)
    waited = watch.spoke(5.75)
    assert waited is not None and abs(waited - 0.75) < 1e-9
    assert watch.spoke(5.8) is None, "only the first audio after the caller's words is timed"
    watch.caller_stopped(8.0, spoke_ms=300, quiet_line=False)  # over the agent's own audio
    assert watch.spoke(8.5) is None
