"""Signatures checked as Twilio computes them; stream tokens single-use, bound and short-lived."""

import pytest
from twilio.request_validator import RequestValidator

from telephony.twilio.security import SignatureChecker, StreamTokens, pseudonym

TOKEN = "0123456789abcdef0123456789abcdef"
CALL = "CA" + "a" * 32
OTHER_CALL = "CA" + "b" * 32
ACCOUNT = "AC" + "c" * 32


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def sign(url: str, params: dict[str, str]) -> str:
    signature: str = RequestValidator(TOKEN).compute_signature(url, params)
    return signature


def test_webhook_signature_must_match_url_and_every_parameter() -> None:
    checker = SignatureChecker(TOKEN)
    url = "https://voice.example.com/twilio/voice"
    form = {"CallSid": CALL, "From": "+15550100", "To": "+15550199"}
    signature = sign(url, form)
    assert checker.webhook_valid(url, form, signature)
    assert not checker.webhook_valid(url.replace("https", "http"), form, signature)
    assert not checker.webhook_valid(url + "/", form, signature)
    assert not checker.webhook_valid(url, {**form, "From": "+15550101"}, signature)
    assert not checker.webhook_valid(url, form, None)
    assert not checker.webhook_valid(url, form, sign(url, form)[:-2] + "==")


def test_upgrade_signature_accepts_the_url_with_or_without_a_trailing_slash() -> None:
    checker = SignatureChecker(TOKEN)
    url = "wss://voice.example.com/twilio/media"
    assert checker.upgrade_valid(url, sign(url, {}))
    assert checker.upgrade_valid(url, sign(url + "/", {}))
    assert not checker.upgrade_valid(url, sign("wss://evil.example.com/twilio/media", {}))
    assert not checker.upgrade_valid(url, "")


def test_stream_token_verifies_for_its_call_and_account_only() -> None:
    """Checking is stateless: that a token is used once is the shared ledger's business."""
    tokens = StreamTokens(b"secret", ttl_s=60)
    token = tokens.mint(CALL, ACCOUNT)
    assert tokens.verify(token.text, OTHER_CALL, ACCOUNT) is None
    assert tokens.verify(token.text, CALL, "AC" + "d" * 32) is None
    assert tokens.verify(token.text, CALL, ACCOUNT) == token.nonce


def test_a_token_minted_by_one_worker_is_good_at_another() -> None:
    """Workers share the auth token, not memory: the webhook and the stream may hit either."""
    webhook_worker, stream_worker = StreamTokens(b"auth", ttl_s=60), StreamTokens(b"auth", ttl_s=60)
    token = webhook_worker.mint(CALL, ACCOUNT)
    assert stream_worker.verify(token.text, CALL, ACCOUNT) == token.nonce


def test_stream_token_expires() -> None:
    clock = FakeClock()
    tokens = StreamTokens(b"secret", ttl_s=60, clock=clock)
    token = tokens.mint(CALL, ACCOUNT)
    clock.now += 62
    assert tokens.verify(token.text, CALL, ACCOUNT) is None


def test_stream_token_carries_at_least_128_random_bits_and_resists_tampering() -> None:
    tokens = StreamTokens(b"secret", ttl_s=60)
    first, second = tokens.mint(CALL, ACCOUNT), tokens.mint(CALL, ACCOUNT)
    assert first.text != second.text
    assert first.nonce != second.nonce
    version, expires, nonce, mac = first.text.split(".")
    assert nonce == first.nonce
    assert len(nonce) >= 22  # 16 bytes in unpadded base64
    forged = f"{version}.{int(expires) + 3600}.{nonce}.{mac}"
    assert tokens.verify(forged, CALL, ACCOUNT) is None
    assert StreamTokens(b"other secret", ttl_s=60).verify(first.text, CALL, ACCOUNT) is None
    for garbage in ("", "v1", "v1.x.y.z", "v2." + first.text[3:]):
        assert tokens.verify(garbage, CALL, ACCOUNT) is None


def test_a_malformed_token_is_refused_without_an_exception() -> None:
    """A token arrives in ``start`` with nothing but the upgrade signature, which is the same
    for every stream: whatever it holds, the answer is None, never an error."""
    tokens = StreamTokens(b"secret", ttl_s=60)
    genuine = tokens.mint(CALL, ACCOUNT).text
    _, expires, nonce, mac = genuine.split(".")
    hostile: list[object] = [
        f"v1.{'9' * 5000}.{nonce}.{mac}",  # int() refuses more than 4300 digits
        f"v1.\u00b2\u00b3.{nonce}.{mac}",  # str.isdigit() says yes, int() says no
        f"v1.\u0661\u0662.{nonce}.{mac}",  # Arabic-Indic digits: int() says yes
        f"v1.0{expires}.{nonce}.{mac}",  # the same expiry, written differently
        f"v1.{expires}.{nonce}.{mac}\n",
        f" {genuine}",
        f"v1.{expires}.{nonce}.{mac[:-1]}\ud800",
        f"v1.{expires}.{nonce}.{mac[:-1]}\u00e9",
        genuine + "." + mac,
        None,
        12,
    ]
    for token in hostile:
        assert tokens.verify(token, CALL, ACCOUNT) is None, repr(token)[:40]
    assert tokens.verify(genuine, CALL + "\n", ACCOUNT) is None
    assert tokens.verify(genuine, CALL, ACCOUNT + "\n") is None


def test_a_token_is_only_minted_for_real_sids() -> None:
    tokens = StreamTokens(b"secret", ttl_s=60)
    with pytest.raises(ValueError, match="bound to a CallSid"):
        tokens.mint(CALL + "\n", ACCOUNT)


def test_pseudonym_is_stable_keyed_and_hides_the_number() -> None:
    number = "+15550100"
    assert pseudonym(b"k", number) == pseudonym(b"k", number)
    assert pseudonym(b"k", number) != pseudonym(b"other", number)
    assert "5550100" not in pseudonym(b"k", number)
