"""Reading TwiML the way the simulator follows it (documents built with the twilio SDK)."""

import pytest
from twilio.twiml.voice_response import Connect, Dial, VoiceResponse

from twins.twilio.twiml import TwimlError, parse_twiml, stream_url_problems


def test_connect_stream_parameters_and_the_safety_net() -> None:
    response = VoiceResponse()
    response.say("Connecting you.")
    connect = Connect(action="https://example.com/after")
    stream = connect.stream(url="wss://example.com/twilio/media", status_callback="https://e/s")
    stream.parameter(name="token", value="t-123")
    stream.parameter(name="agent", value="receptionist")
    response.append(connect)
    response.say("Sorry, something went wrong.")
    dial = Dial()
    dial.number("+12025550199")
    response.append(dial)
    response.hangup()

    twiml = parse_twiml(str(response))

    assert twiml.stream is not None
    assert twiml.stream.url == "wss://example.com/twilio/media"
    assert twiml.stream.parameters == {"token": "t-123", "agent": "receptionist"}
    assert twiml.stream.status_callback == "https://e/s"
    assert twiml.stream.connect_action == "https://example.com/after"
    assert [v.name for v in twiml.before_connect] == ["Say"]
    assert [v.name for v in twiml.after_connect] == ["Say", "Dial", "Hangup"]
    assert twiml.after_connect[0].text == "Sorry, something went wrong."
    assert twiml.after_connect[1].children[0].text == "+12025550199"
    assert [n.text for n in twiml.find("Number")] == ["+12025550199"]
    assert stream_url_problems(twiml.stream) == []


def test_twiml_without_a_stream_is_just_verbs() -> None:
    response = VoiceResponse()
    response.say("Goodbye")
    response.hangup()
    twiml = parse_twiml(str(response).encode())
    assert twiml.stream is None
    assert twiml.verb_names() == ["Say", "Hangup"]


def test_stream_url_problems_are_reported() -> None:
    response = VoiceResponse()
    connect = Connect()
    connect.stream(url="ws://example.com/media?token=1")
    response.append(connect)
    twiml = parse_twiml(str(response))
    assert twiml.stream is not None
    assert stream_url_problems(twiml.stream) == [
        "stream URL is not wss://",
        "stream URL has a query string",
    ]


@pytest.mark.parametrize(
    "document",
    [
        "<Response><Say>unclosed</Response>",
        "<Reply><Say>hi</Say></Reply>",
        "<Response><Connect><Stream/></Connect></Response>",
        '<Response><Connect><Stream url="wss://a/b"><Parameter value="x"/></Stream></Connect>'
        "</Response>",
    ],
)
def test_unusable_twiml_is_refused(document: str) -> None:
    with pytest.raises(TwimlError):
        parse_twiml(document)
