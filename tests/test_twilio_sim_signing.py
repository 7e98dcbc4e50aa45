"""The simulator signs like Twilio: checked with the twilio SDK's own validator."""

import pytest
from twilio.request_validator import RequestValidator

from twins.twilio.endpoints import Endpoints
from twins.twilio.signing import twilio_signature

TOKEN = "12345678901234567890123456789012"


def test_webhook_signature_validates_with_several_params() -> None:
    url = "https://voice.example.com/twilio/voice"
    params = {
        "CallSid": "CA" + "a" * 32,
        "AccountSid": "AC" + "b" * 32,
        "From": "+12025550101",
        "To": "+12025550123",
        "CallStatus": "ringing",
        "Direction": "inbound",
        "CallerCity": "",
        "Digits": "1234#",
    }
    signature = twilio_signature(TOKEN, url, params)
    assert RequestValidator(TOKEN).validate(url, params, signature)


def test_signature_with_a_query_string_and_port() -> None:
    url = "https://voice.example.com:8443/twilio/status?attempt=2&x=%2F"
    params = {"CallStatus": "completed", "CallDuration": "12"}
    assert RequestValidator(TOKEN).validate(url, params, twilio_signature(TOKEN, url, params))


def test_upgrade_signature_is_over_the_stream_url_with_no_params() -> None:
    url = "wss://voice.example.com/twilio/media"
    signature = twilio_signature(TOKEN, url)
    assert RequestValidator(TOKEN).validate(url, {}, signature)


@pytest.mark.parametrize(
    "changed",
    [
        "http://voice.example.com/twilio/voice",
        "https://voice.example.com/twilio/voice/",
        "https://other.example.com/twilio/voice",
    ],
)
def test_a_different_url_fails_validation(changed: str) -> None:
    params = {"CallSid": "CA1", "From": "+12025550101"}
    signature = twilio_signature(TOKEN, "https://voice.example.com/twilio/voice", params)
    assert not RequestValidator(TOKEN).validate(changed, params, signature)


def test_a_missing_param_or_another_token_fails_validation() -> None:
    url = "https://voice.example.com/twilio/voice"
    params = {"CallSid": "CA1", "From": "+12025550101"}
    signature = twilio_signature(TOKEN, url, params)
    assert not RequestValidator(TOKEN).validate(url, {"CallSid": "CA1"}, signature)
    assert not RequestValidator("another-token").validate(url, params, signature)


def test_repeated_param_names_sign_like_the_validator() -> None:
    url = "https://voice.example.com/cb"
    pairs = [("StatusCallbackEvent", "ringing"), ("StatusCallbackEvent", "answered"), ("To", "+1")]

    class MultiDict(dict[str, str]):
        def getall(self, name: str) -> list[str]:
            return [value for key, value in pairs if key == name]

    form = MultiDict(pairs)
    assert RequestValidator(TOKEN).validate(url, form, twilio_signature(TOKEN, url, pairs))


def test_endpoints_map_public_urls_to_the_actual_server() -> None:
    endpoints = Endpoints("http://127.0.0.1:8123", "https://abc.ngrok.app")
    assert endpoints.public_for("/twilio/voice") == "https://abc.ngrok.app/twilio/voice"
    assert (
        endpoints.actual("https://abc.ngrok.app/twilio/voice")
        == "http://127.0.0.1:8123/twilio/voice"
    )
    assert (
        endpoints.actual("wss://abc.ngrok.app/twilio/media") == "ws://127.0.0.1:8123/twilio/media"
    )
    assert endpoints.actual("wss://elsewhere.example/media") == "wss://elsewhere.example/media"
    same = Endpoints("http://127.0.0.1:8123")
    assert same.actual("wss://127.0.0.1:8123/twilio/media") == "ws://127.0.0.1:8123/twilio/media"
    prefixed = Endpoints("http://127.0.0.1:9000/app", "https://example.com/voice-app")
    assert prefixed.actual("https://example.com/voice-app/twilio/voice?x=1") == (
        "http://127.0.0.1:9000/app/twilio/voice?x=1"
    )
    assert prefixed.actual("https://example.com/other") == "https://example.com/other"
