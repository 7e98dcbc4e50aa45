"""Redaction before storage: each kind of personal data is masked, look-alikes are not."""

import pytest
from google.adk.events import Event
from google.genai import types

from telephony.live.sessions import redacted
from telephony.transcripts import CallDirection, Speaker, TurnRecord
from telephony.transcripts.privacy import HASH_PREFIX, NumberStorage, Privacy
from telephony.transcripts.redaction import (
    CARD,
    EMAIL,
    NATIONAL_ID,
    PHONE,
    Redaction,
    luhn_valid,
    redact,
)


@pytest.mark.parametrize(
    ("said", "stored"),
    [
        ("my card is 4111 1111 1111 1111 thanks", f"my card is {CARD} thanks"),
        ("4111-1111-1111-1111", CARD),
        ("5500005555555559.", f"{CARD}."),
        ("amex 3782 822463 10005", f"amex {CARD}"),  # 15 digits in 4-6-5 groups
        ("6011000990139424 expires 12/27", f"{CARD} expires 12/27"),
        ("4000 0000 0000 0000 006", CARD),  # 19 digits
    ],
)
def test_card_numbers_that_pass_the_luhn_check_are_masked(said: str, stored: str) -> None:
    assert redact(said) == stored


@pytest.mark.parametrize(
    "said",
    [
        "order number 12345678",  # shorter than any card
        "order 123456789012",  # 12 digits: still shorter
        "reference 4111 1111 1111 1112",  # 16 digits failing the check
        "that will be 1 250 dollars on 2026-03-04",
        "flight BA 2490, seat 12C, gate 42",
        "my order is A-99812-44 and the total is 149.99",
        "call me back in 15 minutes",
        "the zip code is 94103",
        "version 2.13.0",
    ],
)
def test_look_alikes_are_left_as_said(said: str) -> None:
    assert redact(said) == said


@pytest.mark.parametrize(
    ("said", "stored"),
    [
        ("write to jane.doe+calls@example.co.uk please", f"write to {EMAIL} please"),
        ("J_SMITH@Mail.Example.COM", EMAIL),
    ],
)
def test_email_addresses_are_masked(said: str, stored: str) -> None:
    assert redact(said) == stored


@pytest.mark.parametrize(
    ("said", "stored"),
    [
        ("my number is +44 20 7946 0958", f"my number is {PHONE}"),
        ("+15551230001", PHONE),
        ("call 0049 30 901820", f"call {PHONE}"),
        ("it's (415) 555-2671.", f"it's {PHONE}."),
        ("415-555-2671 or 415.555.2671", f"{PHONE} or {PHONE}"),
    ],
)
def test_phone_numbers_are_masked(said: str, stored: str) -> None:
    assert redact(said) == stored


@pytest.mark.parametrize(
    ("said", "stored"),
    [
        ("SSN 078-05-1120", f"SSN {NATIONAL_ID}"),
        ("it is 078 05 1120", f"it is {NATIONAL_ID}"),
        ("NI number JG 10 37 26 A", f"NI number {NATIONAL_ID}"),
        ("ab123456c", NATIONAL_ID),
    ],
)
def test_national_id_like_numbers_are_masked(said: str, stored: str) -> None:
    assert redact(said) == stored


def test_a_bare_run_of_nine_or_ten_digits_is_not_taken_for_an_id_or_a_phone() -> None:
    assert redact("order 078051120 and ticket 4155552671") == (
        "order 078051120 and ticket 4155552671"
    )


def test_several_kinds_in_one_turn() -> None:
    said = "card 4111111111111111, mail a@b.io, phone +1 415 555 2671, order 55512"
    assert redact(said) == f"card {CARD}, mail {EMAIL}, phone {PHONE}, order 55512"


def test_luhn() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")


def test_the_mask_policy_applies_to_what_was_said_and_what_was_heard() -> None:
    turn = TurnRecord(
        speaker=Speaker.AGENT,
        text="I have 4111 1111 1111 1111 on file",
        heard_text="I have 4111 1111",
        interrupted=True,
        start_ms=0,
        end_ms=900,
    )

    stored = Privacy(redaction=Redaction.MASK).turn(turn)

    assert stored.text == f"I have {CARD} on file"
    assert stored.heard_text == "I have 4111 1111"  # a fragment is no card
    assert Privacy().turn(turn) is turn  # off: stored as said


def test_caller_numbers_are_stored_in_full_hashed_or_not_at_all() -> None:
    caller, line = "+15551230001", "+15559990000"
    inbound = CallDirection.INBOUND
    outbound = CallDirection.OUTBOUND_API

    assert Privacy().numbers_of(inbound, caller, line) == (caller, line)
    assert Privacy(numbers=NumberStorage.NONE).numbers_of(inbound, caller, line) == (None, line)
    assert Privacy(numbers=NumberStorage.NONE).numbers_of(outbound, line, caller) == (line, None)
    assert Privacy(numbers=NumberStorage.NONE).numbers_of(None, caller, line) == (None, None)

    hashed = Privacy(numbers=NumberStorage.HASHED, key=b"k1")
    stored, kept = hashed.numbers_of(inbound, caller, line)
    assert kept == line
    assert stored is not None
    assert stored.startswith(HASH_PREFIX)
    assert caller not in stored
    assert stored == hashed.number(caller), "one caller, one value"
    assert stored != hashed.number(line)
    assert stored != Privacy(numbers=NumberStorage.HASHED, key=b"k2").number(caller), "keyed"


def test_adk_session_events_are_stored_with_their_text_masked() -> None:
    said = "my card is 4111 1111 1111 1111"
    event = Event(
        author="receptionist",
        input_transcription=types.Transcription(text=said, finished=True),
        content=types.Content(
            role="user",
            parts=[
                types.Part(text=f"The conversation so far: caller: {said}"),
                types.Part(function_call=types.FunctionCall(name="note", args={"n": said})),
            ],
        ),
    )

    stored = redacted(event, redact)

    assert stored.input_transcription is not None
    assert stored.input_transcription.text == f"my card is {CARD}"
    assert stored.content is not None and stored.content.parts is not None
    assert stored.content.parts[0].text == f"The conversation so far: caller: my card is {CARD}"
    assert stored.content.parts[1].function_call == event.content.parts[1].function_call  # type: ignore[union-attr,index]
    assert event.input_transcription is not None
    assert event.input_transcription.text == said, "the event itself is left as it was"
    assert redacted(Event(author="receptionist"), redact).content is None
