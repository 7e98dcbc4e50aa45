"""The TwiML of a warm transfer (pure: no I/O).

Twilio facts used (https://www.twilio.com/docs/voice/twiml/conference): a participant who
enters with ``startConferenceOnEnter="false"`` waits, hearing the ``waitUrl``, until one with
``true`` enters; when one with ``endConferenceOnExit="true"`` leaves, the conference ends for
everyone. ``statusCallback`` with ``statusCallbackEvent="leave"`` POSTs ``participant-leave``
(with the participant's CallSid) whenever someone leaves: that is how the server learns the
caller hung up while waiting. A ``waitUrl`` answering TwiML may ``<Play>``, ``<Say>`` or
``<Pause>``; Twilio requests it again when it has played.
"""

from twilio.twiml.voice_response import Dial, VoiceResponse

from telephony.twilio.twiml import MAX_SAY_CHARS, clean_text

ROOM_PREFIX = "warm-"


def room_name(call_sid: str) -> str:
    """The conference of one caller's warm transfer (one at a time per call)."""
    return ROOM_PREFIX + call_sid


def caller_waits(room: str, *, wait_url: str, status_callback: str) -> str:
    """The caller's TwiML while the person is dialled and briefed: the room, on hold music.

    The caller does not start the conference (the person does, when they join) and ends it
    when they leave (the person's line has nobody left to talk to). If the conference ends
    without a REST update taking the caller elsewhere, the call is over: ``<Hangup/>``.
    """
    response = VoiceResponse()
    dial = Dial()
    dial.conference(
        room,
        start_conference_on_enter=False,
        end_conference_on_exit=True,
        wait_url=wait_url,
        wait_method="POST",
        status_callback=status_callback,
        status_callback_event="leave",
        status_callback_method="POST",
        beep=False,
    )
    response.append(dial)
    response.hangup()
    return str(response)


def person_briefed(briefing: str, *, join_url: str) -> str:
    """What the person hears when they answer: the briefing, then a request to join (the
    server learns from that request that the briefing was heard to its end)."""
    response = VoiceResponse()
    response.say(clean_text(briefing, MAX_SAY_CHARS))
    response.redirect(join_url, method="POST")
    return str(response)


def person_joins(room: str) -> str:
    """The person enters the room: the conference starts and the caller hears them. When the
    person hangs up, the conference ends and so does the caller's call."""
    response = VoiceResponse()
    dial = Dial()
    dial.conference(room, start_conference_on_enter=True, end_conference_on_exit=True, beep=False)
    response.append(dial)
    response.hangup()
    return str(response)


def person_not_needed(message: str) -> str:
    """For a person who finished the briefing after the caller had gone."""
    response = VoiceResponse()
    response.say(clean_text(message, MAX_SAY_CHARS))
    response.hangup()
    return str(response)


def hold_music(url: str) -> str:
    """The ``waitUrl`` answer: the music, once (Twilio asks again when it has played)."""
    response = VoiceResponse()
    response.play(url)
    return str(response)
