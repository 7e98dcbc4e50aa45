"""Whatever arrives from the network, the Twilio layer answers with a value or its documented
error, never with another exception: the Media Streams parser raises only ``ProtocolError``
(with a message that names a field, never repeats the input), webhook forms only
``ProtocolError`` and only for their SIDs, stream tokens only ``None``."""

import json
import re
import xml.etree.ElementTree as ET

from hypothesis import example, given, settings
from hypothesis import strategies as st

from telephony.errors import ProtocolError
from telephony.twilio.forms import CallForm, parse_call_form
from telephony.twilio.protocol import DTMF_KEYS, Dtmf, InboundEvent, Start, parse_inbound
from telephony.twilio.security import StreamTokens
from telephony.twilio.sids import ACCOUNT_SID, CALL_SID, STREAM_SID
from telephony.twilio.twiml import MAX_PARAMETER_CHARS, Overflow, connect_stream, overflow

STREAM = "MZ" + "1" * 32
CALL = "CA" + "2" * 32
ACCOUNT = "AC" + "3" * 32
EVENTS = ["connected", "start", "media", "dtmf", "mark", "stop"]
FIELDS = [
    "event", "streamSid", "start", "media", "dtmf", "mark", "stop", "callSid", "accountSid",
    "customParameters", "tracks", "mediaFormat", "sampleRate", "channels", "encoding",
    "payload", "timestamp", "digit", "name", "protocol", "version",
]  # fmt: skip
CONTENT_FREE = re.compile(r"[A-Za-z ]{1,80}")
"""What a ProtocolError's message may look like: words, no values (no digits, no quotes)."""
NOT_XML_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None)

sids = st.sampled_from([STREAM, CALL, ACCOUNT]) | st.from_regex(r"(MZ|CA|AC)[0-9a-f]{32}\n?")
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | sids
    | st.sampled_from(EVENTS + sorted(DTMF_KEYS))
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=10), children, max_size=6)
    ),
    max_leaves=30,
)


def messages() -> st.SearchStrategy[str]:
    """JSON objects shaped like Media Streams messages, with anything in their fields."""
    shaped = st.fixed_dictionaries(
        {"event": st.sampled_from(EVENTS) | json_scalars},
        optional=dict.fromkeys(FIELDS[1:], json_values),
    )
    return shaped.map(lambda message: json.dumps(message, allow_nan=True))


def parse_or_refuse(text: str | bytes) -> InboundEvent | None:
    try:
        return parse_inbound(text)
    except ProtocolError as exc:
        refusal = str(exc)
    assert CONTENT_FREE.fullmatch(refusal), refusal
    return None


@PROPERTY_SETTINGS
@given(messages())
@example('{"event": "media", "streamSid": "S", "media": {"payload": "", "timestamp": Infinity}}')
@example('{"event": "start", "start": {"mediaFormat": {"sampleRate": 1e999}}}')
@example("[" * 50_000)
def test_the_message_parser_raises_only_protocol_error(text: str) -> None:
    event = parse_or_refuse(text)
    if isinstance(event, Start):
        assert STREAM_SID.matches(event.stream_sid)
        assert CALL_SID.matches(event.call_sid)
        assert ACCOUNT_SID.matches(event.account_sid)
        assert all(isinstance(value, str) for value in event.custom_parameters.values())
    if isinstance(event, Dtmf):
        assert event.digit in DTMF_KEYS


@PROPERTY_SETTINGS
@given(st.text() | st.binary())
def test_the_message_parser_survives_any_text_or_bytes(text: str | bytes) -> None:
    parse_or_refuse(text)


forms = st.dictionaries(
    st.sampled_from(["CallSid", "AccountSid", "From", "To", "Direction", "CallStatus"])
    | st.text(max_size=10),
    st.text() | sids | st.from_regex(r"\+[0-9]{6,15}", fullmatch=True),
    max_size=8,
)


@PROPERTY_SETTINGS
@given(
    forms,
    st.from_regex(r"CA[0-9a-f]{32}", fullmatch=True),
    st.from_regex(r"AC[0-9a-f]{32}", fullmatch=True),
)
def test_a_webhook_form_gives_a_call_or_a_protocol_error_and_always_well_formed_twiml(
    form: dict[str, str], call_sid: str, account_sid: str
) -> None:
    refusals = {"missing or malformed CallSid", "missing or malformed AccountSid"}
    for candidate in (form, {**form, "CallSid": call_sid, "AccountSid": account_sid}):
        try:
            call = parse_call_form(candidate)
        except ProtocolError as exc:
            refusal = str(exc)
        else:
            assert_answerable(call)
            continue
        assert refusal in refusals


def assert_answerable(call: CallForm) -> None:
    parameters = {"from": call.from_number, "to": call.to_number, "direction": call.direction}
    document = ET.fromstring(connect_stream("wss://voice.example.com/twilio/media", parameters))
    sent = {p.get("name"): p.get("value") for p in document.iter("Parameter")}
    assert sent == parameters, "cleaned once, at the edge: the TwiML carries them unchanged"
    for name, value in parameters.items():
        assert not NOT_XML_TEXT.search(value)
        assert len(name) + len(value) <= MAX_PARAMETER_CHARS


TOKENS = StreamTokens(b"property secret", ttl_s=60)
GENUINE = TOKENS.mint(CALL, ACCOUNT)


@st.composite
def mutations(draw: st.DrawFn) -> str:
    """The genuine token with a slice of it replaced by anything."""
    text = GENUINE.text
    start = draw(st.integers(0, len(text)))
    end = draw(st.integers(start, len(text)))
    return text[:start] + draw(st.text(max_size=8)) + text[end:]


@PROPERTY_SETTINGS
@given(st.text() | mutations() | st.none() | st.integers(), sids)
@example("v1." + "9" * 5000 + ".bm9uY2U.bWFj", CALL)
@example("v1.\u00b2\u00b3.bm9uY2U.bWFj", CALL)
def test_a_token_is_only_ever_its_nonce_or_none(token: object, call_sid: str) -> None:
    nonce = TOKENS.verify(token, call_sid, ACCOUNT)
    if nonce is not None:
        assert (token, call_sid) == (GENUINE.text, CALL)
        assert nonce == GENUINE.nonce


@PROPERTY_SETTINGS
@given(st.text(), st.none() | st.text(), st.none() | st.text())
def test_the_overflow_is_always_well_formed_twiml_without_a_stream(
    message: str, dial: str | None, enqueue: str | None
) -> None:
    document = ET.fromstring(overflow(Overflow(message, dial=dial, enqueue=enqueue)))
    verbs = [element.tag for element in document]
    assert document.tag == "Response"
    assert "Connect" not in verbs and document.find(".//Stream") is None
    assert verbs[-1] in ("Hangup", "Dial", "Enqueue"), "never silence, never dead air"
    assert ("Dial" in verbs) == bool(dial)
    for element in document.iter():
        assert not NOT_XML_TEXT.search(element.text or "")
