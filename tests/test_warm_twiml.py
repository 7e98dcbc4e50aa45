"""The TwiML of a warm transfer, read back the way Twilio (the simulator's parser) reads it."""

from telephony.twilio.warm_twiml import (
    caller_waits,
    hold_music,
    person_briefed,
    person_joins,
    person_not_needed,
    room_name,
)
from telephony.warm_state import warm_url
from twins.twilio import parse_twiml

SID = "CA" + "3" * 32
ORIGIN = "https://calls.example.com"


def test_the_caller_waits_in_the_room_on_hold_music_without_starting_it() -> None:
    wait = warm_url(ORIGIN, SID, "hold", target="billing")
    status = warm_url(ORIGIN, SID, "room", target="billing")
    twiml = parse_twiml(caller_waits(room_name(SID), wait_url=wait, status_callback=status))

    assert twiml.verb_names() == ["Dial", "Hangup"]
    (conference,) = twiml.find("Conference")
    assert conference.text == f"warm-{SID}"
    assert conference.attributes == {
        "startConferenceOnEnter": "false",
        "endConferenceOnExit": "true",
        "waitUrl": f"{ORIGIN}/twilio/warm/{SID}/hold?target=billing",
        "waitMethod": "POST",
        "statusCallback": f"{ORIGIN}/twilio/warm/{SID}/room?target=billing",
        "statusCallbackEvent": "leave",
        "statusCallbackMethod": "POST",
        "beep": "false",
    }
    assert twiml.stream is None


def test_the_person_hears_the_briefing_then_asks_to_join() -> None:
    join = warm_url(ORIGIN, SID, "join", target="support")
    briefing = 'A caller <for> "support" & co:\x07 a leak.'
    twiml = parse_twiml(person_briefed(briefing, join_url=join))

    assert twiml.verb_names() == ["Say", "Redirect"]
    say, redirect = twiml.verbs
    assert say.text == 'A caller <for> "support" & co: a leak.'  # escaped, control removed
    assert redirect.text == join and redirect.attributes == {"method": "POST"}


def test_the_person_starts_the_room_and_ends_it_when_they_leave() -> None:
    twiml = parse_twiml(person_joins(room_name(SID)))
    assert twiml.verb_names() == ["Dial", "Hangup"]
    (conference,) = twiml.find("Conference")
    assert conference.text == f"warm-{SID}"
    assert conference.attributes["startConferenceOnEnter"] == "true"
    assert conference.attributes["endConferenceOnExit"] == "true"


def test_a_person_too_late_and_the_hold_music() -> None:
    late = parse_twiml(person_not_needed("The caller has gone."))
    assert late.verb_names() == ["Say", "Hangup"]
    music = parse_twiml(hold_music("https://music.example.com/hold.mp3"))
    assert music.verb_names() == ["Play"]
    assert music.verbs[0].text == "https://music.example.com/hold.mp3"


def test_the_target_and_outcome_are_quoted_in_urls() -> None:
    url = warm_url(ORIGIN, SID, "back", target="sales-2", outcome="no-answer")
    assert url == f"{ORIGIN}/twilio/warm/{SID}/back?target=sales-2&outcome=no-answer"
