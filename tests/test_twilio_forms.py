"""Webhook forms and the TwiML built from them: checked SIDs, caller ids XML can carry."""

import xml.etree.ElementTree as ET

import pytest

from telephony.errors import ProtocolError
from telephony.twilio.forms import MAX_PARTY_CHARS, CallForm, parse_call_form
from telephony.twilio.twiml import MAX_PARAMETER_CHARS, connect_stream, safety_net

CALL = "CA" + "a" * 32
ACCOUNT = "AC" + "b" * 32
URL = "wss://voice.example.com/twilio/media"


def form(**fields: object) -> dict[str, object]:
    return {"CallSid": CALL, "AccountSid": ACCOUNT, **fields}


def test_a_form_becomes_the_call_it_is_about() -> None:
    parsed = parse_call_form(
        form(From="+15550100", To="+15550199", Direction="inbound", CallStatus="ringing")
    )
    assert parsed == CallForm(CALL, ACCOUNT, "+15550100", "+15550199", "inbound", "ringing")
    assert parse_call_form(form()) == CallForm(CALL, ACCOUNT, "", "", "", "")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("CallSid", None),
        ("CallSid", CALL + "\n"),
        ("CallSid", CALL.upper()),
        ("CallSid", ACCOUNT),
        ("AccountSid", None),
        ("AccountSid", ACCOUNT + "\n"),
        ("AccountSid", 7),
    ],
)
def test_a_form_without_exact_sids_is_refused_by_name(field: str, value: object) -> None:
    fields = form()
    if value is None:
        del fields[field]
    else:
        fields[field] = value
    with pytest.raises(ProtocolError) as refused:
        parse_call_form(fields)
    assert str(refused.value) == f"missing or malformed {field}"


def test_caller_ids_lose_what_xml_and_log_lines_cannot_carry() -> None:
    parsed = parse_call_form(
        form(From="+1202\x00555\x01\x0b\ufffe0101", To="+1\ud800202\x7f555\x9f0123\uffff\t\n")
    )
    assert (parsed.from_number, parsed.to_number) == ("+12025550101", "+12025550123")


def test_caller_ids_are_cut_to_a_sane_length() -> None:
    assert len(parse_call_form(form(From="1" * 10_000)).from_number) == MAX_PARTY_CHARS


def test_the_twiml_stays_well_formed_whatever_the_parameters_hold() -> None:
    hostile = "\x00\x01\x0b<&\"'>\ufffe\uffff\ud800é" + "x" * 600
    document = ET.fromstring(connect_stream(URL, {"from": hostile, "token": "t"}))
    parameters = {p.get("name"): p.get("value") for p in document.iter("Parameter")}
    value = parameters["from"]
    assert value is not None
    assert value.startswith("<&\"'>é")
    assert len("from") + len(value) == MAX_PARAMETER_CHARS
    assert parameters["token"] == "t"


def test_a_parameter_name_is_never_cleaned_silently() -> None:
    with pytest.raises(ValueError, match="parameter name"):
        connect_stream(URL, {"fr\x00om": "x"})


def test_the_safety_net_alone_says_sorry_and_hangs_up() -> None:
    document = ET.fromstring(safety_net())
    assert [verb.tag for verb in document] == ["Say", "Hangup"]
